/**
 * A client's HTTP/1.x request as the lean server (connection.ts) hands it to the request path:
 * the fields of node:http's IncomingMessage that stickyd reads (method, url, httpVersion,
 * rawHeaders, rawTrailers, socket, complete; `headers` made on first use, from rawHeaders, as node
 * makes it), and the body as a stream.Readable fed by the parser.
 *
 * What node:http does with the body, this does too: a chunk the consumer has no room for pauses
 * the socket until it reads again; a body nobody read is dropped when its response is finished;
 * a request whose connection closes before its response finished is destroyed ('aborted', and
 * 'error' only for a consumer that listens for it).
 *
 * A request without a body (no Content-Length, no Transfer-Encoding: most of them) never touches
 * the stream machinery unless someone reads it: its end is pushed on the first read.
 */
import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';

/** What a request asks of its connection. */
export interface RequestSource {
  /** The consumer wants more: resume reading the socket (unless the connection holds it). */
  readStart(): void;
  /** The consumer has no room: stop reading the socket. */
  readStop(): void;
}

type HeaderLineAdder = (this: { joinDuplicateHeaders: boolean }, field: string, value: string, dest: IncomingHttpHeaders) => void;
/** node's own rule for turning header lines into the `headers` object (duplicates, set-cookie, cookie). */
const addHeaderLine = (IncomingMessage.prototype as unknown as { _addHeaderLine: HeaderLineAdder })._addHeaderLine;

export class Http1Request extends Readable {
  /** node's IncomingMessage field: what `_addHeaderLine` reads. */
  readonly joinDuplicateHeaders = false;
  httpVersion: string;
  rawTrailers: string[] = [];
  /** The whole message (body and trailers) has been parsed. */
  complete = false;
  aborted = false;
  /** The body is dropped as it arrives: its response is finished and nobody read it. */
  dumped = false;
  /** Someone read the body (node's `_consuming`): it is not dropped when the response finishes. */
  consuming = false;
  /** The parser will push the body's end (a body was announced); else it is pushed on the first read. */
  private readonly bodyAnnounced: boolean;
  private headersObject: IncomingHttpHeaders | null = null;
  private endPushed = false;

  constructor(
    private readonly source: RequestSource,
    readonly socket: Socket,
    public method: string,
    public url: string,
    readonly httpVersionMajor: number,
    readonly httpVersionMinor: number,
    public rawHeaders: string[],
    readonly upgrade: boolean,
    bodyAnnounced: boolean,
  ) {
    super({ highWaterMark: socket.readableHighWaterMark });
    // As node's IncomingMessage: no read-ahead until someone reads (else the stream's own read(0)
    // would count as a consumer and an unread body would never be dropped).
    (this as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore = true;
    this.httpVersion = httpVersionMajor === 1 && httpVersionMinor === 1 ? '1.1' : `${httpVersionMajor}.${httpVersionMinor}`;
    this.bodyAnnounced = bodyAnnounced;
  }

  /** node:http's alias. */
  get connection(): Socket {
    return this.socket;
  }

  get headers(): IncomingHttpHeaders {
    if (this.headersObject === null) {
      const dest: IncomingHttpHeaders = {};
      const raw = this.rawHeaders;
      // node's parser stops at 2000 entries (its MAX_HEADER_PAIRS) for this object.
      const n = Math.min(raw.length, 2000);
      for (let i = 0; i + 1 < n; i += 2) addHeaderLine.call(this, raw[i]!, raw[i + 1]!, dest);
      this.headersObject = dest;
    }
    return this.headersObject;
  }

  set headers(value: IncomingHttpHeaders) {
    this.headersObject = value;
  }

  /** A body chunk from the parser. */
  body(chunk: Buffer): void {
    if (this.dumped) return;
    if (!this.push(chunk)) this.source.readStop();
  }

  /** The message is complete (after its body and trailers). */
  ended(trailers: string[] | null): void {
    this.complete = true;
    if (trailers !== null) this.rawTrailers = trailers;
    // The end is pushed now when a body was announced or someone reads; else on the first read.
    if (!this.dumped && (this.bodyAnnounced || this.consuming || this.readableFlowing !== null)) this.pushEnd();
  }

  private pushEnd(): void {
    if (this.endPushed) return;
    this.endPushed = true;
    this.push(null);
  }

  override read(size?: number): unknown {
    if (!this.consuming) {
      (this as unknown as { _readableState: { readingMore: boolean } })._readableState.readingMore = false;
      this.consuming = true;
    }
    return super.read(size);
  }

  override _read(): void {
    if (this.complete) {
      this.pushEnd();
      return;
    }
    this.source.readStart();
  }

  /** Its response is finished and nobody read the body: drop what is buffered and what is still to come. */
  dump(): void {
    if (this.dumped) return;
    this.dumped = true;
    this.removeAllListeners('data');
    if (this.readableLength > 0) this.resume();
    if (!this.complete) this.source.readStart();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.readableEnded || !this.complete) {
      this.aborted = true;
      this.emit('aborted');
    }
    // As node's IncomingMessage: the error is emitted only to a consumer that listens for it.
    cb(this.listenerCount('error') > 0 ? err : null);
  }
}

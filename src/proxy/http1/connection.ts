/**
 * One client connection of the lean HTTP/1.x server (server.ts): node's llhttp request parser
 * driven directly, with node:http's connection semantics (node's _http_server.js), which the
 * request path, the access log and the conformance suite against httpd were built on:
 *
 * - Bytes reach the parser through ClientInput (client-input.ts): httpd's strict request line
 *   (400 before the parser sees it) and RequestReadTimeout's header stage (408). So the socket
 *   is read with 'data' events, not in node's "consumed" mode (the parser reading the socket in
 *   C++: in a bare proxy node:http cost 1.51x a consuming llhttp server and 1.40x one reading
 *   'data' events): the checks need each request line's bytes before the parser takes them, and
 *   llhttp itself accepts runs of spaces, `RTSP/1.0` and `ICE/1.0` there.
 * - Pipelined requests are handed to the handler as they are parsed; their responses go out in
 *   order (a response waits, buffered, for the ones before it). When responses pile up beyond
 *   the socket's high-water mark, reading stops until they drain.
 * - Keep-alive: the request's (HTTP/1.1 unless `Connection: close`; HTTP/1.0 with
 *   `Connection: keep-alive`); after a response that closes the connection it is ended once the
 *   response is out. An idle connection is closed after `keepalivetimeout` plus node's one
 *   second of grace (node's keepAliveTimeoutBuffer); the timer stops when the next request's
 *   header block is complete.
 * - MaxKeepAliveRequests: the last allowed response says `Connection: close`, and a request
 *   pipelined behind it is never handed to the handler (httpd closes after the last allowed
 *   response; node's own maxRequestsPerSocket would answer 503 and stay open).
 * - `Expect: 100-continue` (HTTP/1.1): `100 Continue` at once, then the request; another
 *   expectation gets 417 and never reaches the handler (node's default).
 * - Upgrade and CONNECT: the parser lets go, the socket (with what followed the header block) goes
 *   to the listener's handler.
 * - Refusals: a parse error (ambiguous or broken framing, bare LF, obs-fold, ...), a header block
 *   over maxheadersize (431), a chunk extension too long (413), a request not complete within
 *   `requesttimeout` (408, checked by the listener), are counted and answered with a raw error
 *   response and the connection closed; no answer when a response has started already.
 */
import type { Socket } from 'node:net';
import type { ServerConfig } from '../../config/types.js';
import { socketFacts, withForwardedProtoHttps } from '../../edge/messages.js';
import { ClientInput } from '../client-input.js';
import { HTTPParser, METHOD_NAMES, requestParser, type ParseError, type Parser } from './llhttp-request.js';
import { Http1Request, type RequestSource } from './request.js';
import { Http1Response, RE_TE_CHUNKED, type ResponseSink } from './response.js';

/** What a connection needs from its listener (server.ts). */
export interface ConnectionOwner {
  readonly settings: ServerConfig;
  /** MaxKeepAliveRequests now (a reload changes it for the next request). */
  readonly maxKeepAliveRequests: number;
  /** A request for the handler; `keepalives` = requests this connection served before. */
  request(req: Http1Request, res: Http1Response, keepalives: number): void;
  /** Upgrade or CONNECT: the socket is the handler's now. */
  switchProtocols(req: Http1Request, socket: Socket, head: Buffer): void;
  /** Count and answer a refusal (a parse error, a timeout, a reset); `active`: the response writing now, if any. */
  clientError(err: Error & { code?: string }, socket: Socket, active: Http1Response | null): void;
  /** ClientInput refused the request line or the header block came too slowly. */
  refuse(socket: Socket, status: 400 | 408): void;
  /** The connection is over (closed, or handed to an Upgrade). */
  forget(conn: Http1Connection): void;
}

/** node's rule for "the client asked for 100 Continue". */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;
/** node's keepAliveTimeoutBuffer: the idle timer runs this much past keepalivetimeout. */
const KEEP_ALIVE_GRACE_MS = 1000;

/** Parsers of closed connections, for the next ones (node keeps a free list of 1000). */
const freeParsers: Parser[] = [];

type OwnedParser = Parser & { conn: Http1Connection | null };

export class Http1Connection implements RequestSource, ResponseSink {
  private parser: OwnedParser | null;
  private readonly input: ClientInput;
  /** The request whose body the parser is reading (until its message is complete). */
  private incoming: Http1Request | null = null;
  /** Requests whose response has not finished, in order (node's state.incoming). */
  private readonly requests: Http1Request[] = [];
  /** Responses waiting for their turn (node's state.outgoing). */
  private readonly queue: Http1Response[] = [];
  /** The response writing to the socket now (node's socket._httpMessage). */
  private active: Http1Response | null = null;
  /** Bytes buffered by waiting responses. */
  private outgoingData = 0;
  /** Reading stopped because responses pile up (node's socket._paused). */
  private heldForOutput = false;
  /** Requests handed to the handler so far (httpd's c->keepalives, MaxKeepAliveRequests). */
  private served = 0;
  /** performance.now() when the message being received began; -1 between messages. */
  messageStart = -1;
  /** Header fields and target of a header block that came in several reads. */
  private fields: string[] = [];
  private url = '';
  /** The request of an Upgrade or CONNECT, handed over after the parser returns. */
  private switching: Http1Request | null = null;
  private idleTimerSet = false;
  private errored = false;
  /** A TLS connection: its requests carry X-Forwarded-Proto: https (edge/messages.ts). */
  private readonly secure: boolean;
  /** Strict-Transport-Security for every response on this connection, or null (edge/messages.ts). */
  readonly hsts: string | null;

  constructor(readonly socket: Socket, private readonly owner: ConnectionOwner) {
    const s = owner.settings;
    // What the listener set on the socket before handing it over (fixed for the connection).
    const facts = socketFacts(socket);
    this.secure = facts?.secure === true;
    this.hsts = facts?.hsts ?? null;
    const parser = (freeParsers.pop() ?? newParser()) as OwnedParser;
    requestParser(parser, s.maxheadersize);
    parser.conn = this;
    this.parser = parser;
    this.input = ClientInput.feeding(socket, (chunk) => this.execute(chunk), () => this.parser !== null, {
      maxHeadSize: s.maxheadersize,
      header: s.requestreadtimeout.header,
      refuse: (status) => owner.refuse(socket, status),
    });
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
  }

  get keepAliveTimeout(): number {
    return this.owner.settings.keepalivetimeout;
  }

  /** Nothing is being received and no response is being written (node's closeIdleConnections). */
  get idle(): boolean {
    return this.messageStart < 0 && (this.active === null || this.active.finished);
  }

  private execute(chunk: Buffer): void {
    const parser = this.parser;
    if (parser === null || this.errored) return;
    const ret = parser.execute(chunk);
    if (typeof ret !== 'number') {
      this.fail(ret);
      return;
    }
    if (this.switching !== null) this.handOver(chunk.subarray(ret));
  }

  // ---- the parser's callbacks (called with the parser as `this`, see newParser) ----

  messageBegin(): void {
    this.messageStart = performance.now();
  }

  headers(fields: string[], url: string): void {
    // A header block in several reads: node keeps at most 2000 entries of it.
    const room = 2000 - this.fields.length;
    if (room >= fields.length) for (const f of fields) this.fields.push(f);
    else for (let i = 0; i < room; i++) this.fields.push(fields[i]!);
    this.url += url;
  }

  headersComplete(major: number, minor: number, fields: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    if (fields === undefined) {
      fields = this.fields;
      this.fields = [];
    }
    if (url === undefined) {
      url = this.url;
      this.url = '';
    }
    const socket = this.socket;
    if (this.idleTimerSet) {
      socket.setTimeout(0);
      this.idleTimerSet = false;
    }
    // One pass over the fields for what the connection needs: is a body announced, Expect, TE.
    let body = false;
    let expect: string | undefined;
    let te: string | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      switch (name.length) {
        case 2:
          if (major === 1 && minor === 0 && (name === 'TE' || name.toLowerCase() === 'te')) te = te === undefined ? fields[i + 1]! : `${te}, ${fields[i + 1]!}`;
          break;
        case 6:
          if (major === 1 && minor === 1 && name.toLowerCase() === 'expect') expect = expect === undefined ? fields[i + 1]! : `${expect}, ${fields[i + 1]!}`;
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') body = true;
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') body = true;
          break;
      }
    }
    // On TLS the client's X-Forwarded-Proto is replaced (also for an Upgrade or CONNECT).
    if (this.secure) fields = withForwardedProtoHttps(fields);
    const req = new Http1Request(this, socket, METHOD_NAMES[method] ?? 'GET', url, major, minor, fields, upgrade, body);
    this.incoming = req;
    if (upgrade) {
      // Upgrade (the listener always takes it) or CONNECT: the parser stops after this header block.
      this.switching = req;
      return 2;
    }
    this.requests.push(req);
    // Responses pile up (a client pipelining faster than it reads): stop reading for now.
    if (!this.heldForOutput && (socket.writableNeedDrain || this.outgoingData >= socket.writableHighWaterMark)) {
      this.heldForOutput = true;
      socket.pause();
    }
    // An HTTP/1.0 response is close-delimited unless the client offered TE: chunked.
    const res = new Http1Response(this, req, keepAlive, !(major < 1 || (major === 1 && minor < 1)) || (te !== undefined && RE_TE_CHUNKED.test(te)));
    if (this.active === null) {
      this.active = res;
      res.assign(socket);
    } else {
      this.queue.push(res);
    }
    if (expect !== undefined) {
      if (CONTINUE.test(expect)) {
        res.expectContinue = true;
        res.writeContinue();
      } else {
        // node's default for an expectation it does not know (no handler sees the request).
        res.writeHead(417);
        res.end();
        return 0;
      }
    }
    // The handler has the request: ClientInput's header stage waits until its response closes.
    this.input.requestStarted();
    res.counted = true;
    const served = this.served++;
    const max = this.owner.maxKeepAliveRequests;
    // Pipelined past MaxKeepAliveRequests: never handled; the connection closes after the last
    // allowed response, which says Connection: close.
    if (max > 0 && served >= max) return 0;
    if (max > 0 && served + 1 >= max) res.shouldKeepAlive = false;
    this.owner.request(req, res, served);
    return 0;
  }

  body(chunk: Buffer): void {
    this.incoming?.body(chunk);
  }

  messageComplete(): void {
    this.messageStart = -1;
    const req = this.incoming;
    this.incoming = null;
    let trailers: string[] | null = null;
    if (this.fields.length > 0) {
      trailers = this.fields;
      this.fields = [];
      this.url = '';
    }
    req?.ended(trailers);
    this.readStart();
  }

  // ---- RequestSource ----

  readStart(): void {
    const socket = this.socket;
    if (!this.heldForOutput && socket.readable) socket.resume();
  }

  readStop(): void {
    this.socket.pause();
  }

  // ---- ResponseSink ----

  pendingData(delta: number): void {
    this.outgoingData += delta;
    this.onDrain();
  }

  isActive(res: Http1Response): boolean {
    return this.active === res;
  }

  /** A response finished (node's resOnFinish). */
  finished(res: Http1Response): void {
    const req = this.requests[0] === res.req ? this.requests.shift()! : res.req;
    // A body nobody read is dropped so that the next request can be read.
    if (!req.consuming) req.dump();
    if (this.active === res) this.active = null;
    res.detach();
    process.nextTick(emitClose, res);
    const socket = this.socket;
    if (res._last) {
      (socket as Socket & { destroySoon(): void }).destroySoon();
      return;
    }
    const next = this.queue.shift();
    if (next === undefined) {
      const timeout = this.owner.settings.keepalivetimeout;
      if (timeout > 0) {
        socket.setTimeout(timeout + KEEP_ALIVE_GRACE_MS);
        this.idleTimerSet = true;
      }
      return;
    }
    this.active = next;
    next.assign(socket);
  }

  // ---- the socket ----

  /** A response the handler was given closed: ClientInput may time the next header block. */
  closed(): void {
    this.input.requestEnded();
  }

  private readonly onDrain = (): void => {
    if (this.heldForOutput && this.outgoingData <= this.socket.writableHighWaterMark) {
      this.heldForOutput = false;
      this.socket.resume();
    }
    this.active?.drained();
  };

  private readonly onEnd = (): void => {
    const parser = this.parser;
    if (parser === null) return;
    const err = parser.finish();
    if (err !== undefined) this.fail(err);
    else this.socket.end();
  };

  private readonly onTimeout = (): void => {
    this.socket.destroy();
  };

  private readonly onError = (err: Error): void => {
    this.fail(err);
  };

  /** A parse error, a timeout or a socket error: the listener counts and answers it, once. */
  fail(err: ParseError | (Error & { code?: string })): void {
    if (this.errored) return;
    this.errored = true;
    this.messageStart = -1;
    this.owner.clientError(err, this.socket, this.active);
  }

  private readonly onClose = (): void => {
    this.release();
    const aborted = new Error('aborted') as Error & { code: string };
    aborted.code = 'ECONNRESET';
    for (const req of this.requests.splice(0)) req.destroy(aborted);
    for (const res of this.queue.splice(0)) res.destroy();
    const res = this.active;
    this.active = null;
    res?.emitClose();
  };

  /** Let go of the parser and the socket's events (closed, or handed to an Upgrade). */
  private release(): void {
    const parser = this.parser;
    if (parser === null) return;
    this.parser = null;
    this.messageStart = -1;
    parser.conn = null;
    if (freeParsers.length < 1000) freeParsers.push(parser);
    else setImmediate(() => parser.close());
    this.owner.forget(this);
  }

  /** Upgrade or CONNECT: the socket, and the bytes after the header block, go to the handler. */
  private handOver(head: Buffer): void {
    const req = this.switching!;
    this.switching = null;
    const socket = this.socket;
    socket.removeListener('end', this.onEnd);
    socket.removeListener('close', this.onClose);
    socket.removeListener('drain', this.onDrain);
    socket.removeListener('timeout', this.onTimeout);
    socket.removeListener('error', this.onError);
    this.release();
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    this.owner.switchProtocols(req, socket, head);
  }
}

function emitClose(res: Http1Response): void {
  res.emitClose();
}

// The parser's callbacks, shared by every parser: `this` is the parser, `conn` its connection.
type Self = { conn: Http1Connection | null };

function onMessageBegin(this: Self): void {
  this.conn?.messageBegin();
}

function onHeaders(this: Self, fields: string[], url: string): void {
  this.conn?.headers(fields, url);
}

function onHeadersComplete(this: Self, major: number, minor: number, fields: string[] | undefined, method: number, url: string | undefined, _status: unknown, _text: unknown, upgrade: boolean, keepAlive: boolean): number {
  return this.conn?.headersComplete(major, minor, fields, method, url, upgrade, keepAlive) ?? 1;
}

function onBody(this: Self, chunk: Buffer): void {
  this.conn?.body(chunk);
}

function onMessageComplete(this: Self): void {
  this.conn?.messageComplete();
}

function newParser(): Parser {
  const p = new HTTPParser();
  p[HTTPParser.kOnMessageBegin] = onMessageBegin;
  p[HTTPParser.kOnHeaders] = onHeaders;
  p[HTTPParser.kOnHeadersComplete] = onHeadersComplete;
  p[HTTPParser.kOnBody] = onBody;
  p[HTTPParser.kOnMessageComplete] = onMessageComplete;
  return p;
}

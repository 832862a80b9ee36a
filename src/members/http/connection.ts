/**
 * One keep-alive connection to an HTTP member (mod_proxy's proxy_conn_rec): it carries one request
 * at a time: writes the request head and body, parses the response with llhttp (llhttp.ts), and
 * hands head, body chunks and the end to the attempt (attempt.ts) that owns the request. Then it
 * goes back to its pool (connector.ts) or closes.
 *
 * Timing follows the member's `timeout` the way undici applied it before (apache-semantics §7.2): one timer
 * from the moment the request goes out, pushed back while the body is being written into a full
 * socket and once it is all written; it then waits for the response head ('timeout'), or, while
 * the body was still being written, says the send timed out ('send-timeout', 504); while the body
 * arrives it is pushed back by every chunk. An idle connection closes after `ttl`, or earlier when
 * the member's Keep-Alive header says it will close it sooner (its timeout less 2 s), so the pool
 * drops a connection before the member does.
 *
 * The connection closes after the response when the member asks for it (llhttp's keep-alive
 * verdict), after HEAD and Upgrade requests and with disablereuse (the request said "close"), and
 * when the response ended before the request body was all sent.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { BackendError } from '../connector.js';
import { expectsPayload } from './request-head.js';
import { HTTPParser, responseParser, type OnHeadersComplete, type Parser, type ParseError } from './llhttp.js';
import { wholeResponse, type WholeResponse } from './whole-response.js';

/** A member header block may be long (Tomcat's large cookies): more than node's 16 KiB default. */
const MAX_HEADER_SIZE = 64 * 1024;
/** How much earlier than the member's own keep-alive timeout an idle connection is closed. */
const KEEPALIVE_THRESHOLD_MS = 2000;
const KEEPALIVE_TIMEOUT = /timeout=(\d+)/;

/** What the connection tells the request it carries (HttpAttempt). */
export interface ConnectionUser {
  /** A status line and header block (1xx interim ones too); `headers` flat [name, value, ...]. */
  onHead(status: number, statusText: string, headers: string[]): void;
  /** A chunk of the body; false: the consumer is full (the connection pauses until resume()). */
  onData(chunk: Buffer): boolean;
  /** The response is complete; the connection is back in its pool (or closing). */
  onComplete(): void;
  /** The member switched protocols (101): the socket is the caller's now. */
  onUpgrade(status: number, headers: string[], socket: Socket): void;
  /** The request failed (at any point: before the head, or mid-body). */
  onFailed(err: BackendError): void;
  /** Bytes written to the member for this request, once it is over (bytraffic, §3.4). */
  onSent(bytes: number): void;
}

/** What the connection tells its pool. */
export interface ConnectionOwner {
  /** The connection finished a request and can take another. */
  released(c: MemberConnection): void;
  /** The connection closed, or was handed over to a tunnel: forget it. */
  gone(c: MemberConnection): void;
}

/** The request a connection sends: its head (request-head.ts, without framing) and body. */
export interface OutgoingRequest {
  method: string;
  head: string;
  body: Readable | null;
  bodyLength: number | null;
  upgrade: boolean;
  /** Close the connection after this request (disablereuse, HEAD, Upgrade). */
  close: boolean;
}

const enum Phase {
  Idle,
  /** The request (body) is being written. */
  Sending,
  /** Sent; waiting for the response head. */
  Head,
  /** Head delivered; the body is arriving. */
  Body,
  Closed,
}

export class MemberConnection {
  /** Requests this connection completed: a request on a connection that has served is on a *reused* one (§4.1). */
  served = 0;
  private phase = Phase.Idle;
  private user: ConnectionUser | null = null;
  private readonly parser: Parser;
  /** Header pairs llhttp handed over before the head was complete (more than 32 of them). */
  private partialHeaders: string[] = [];
  private closeAfter = false;
  private method = '';
  private upgrading = false;
  /** A 101 parsed in the current read: the head to hand over with the socket. */
  private switched: { status: number; headers: string[] } | null = null;
  /** Bytes of the current request written to the member (bytraffic, §3.4). */
  private written = 0;
  // The request body being sent.
  private body: Readable | null = null;
  private bodyLength: number | null = null;
  private bodySent = 0;
  private bodyHead = '';
  private bodyPaused = false;
  private requestSent = false;
  /** llhttp has seen nothing of the current response: a whole one may be read without it. */
  private parserFresh = true;
  private readTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private idleMs: number;
  /** The socket's last error, for the message when it closes. */
  private lastError: Error | null = null;

  constructor(
    readonly socket: Socket,
    /** The TLS server name this connection was opened for ('' for none): a request for another name needs another connection. */
    readonly servername: string,
    private readonly owner: ConnectionOwner,
    private readonly timeout: number,
    private readonly ttl: number,
  ) {
    this.idleMs = ttl;
    const parser = (this.parser = responseParser(MAX_HEADER_SIZE));
    parser[HTTPParser.kOnHeaders] = this.onHeaders;
    parser[HTTPParser.kOnHeadersComplete] = this.onHeadersComplete;
    parser[HTTPParser.kOnBody] = this.onBody;
    parser[HTTPParser.kOnMessageComplete] = this.onMessageComplete;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  /** Usable for another request: open, idle, and the member has not closed its side. */
  get usable(): boolean {
    return this.phase === Phase.Idle && !this.socket.destroyed && !this.socket.readableEnded;
  }

  /** Send `request`; what happens to it is told to `user`. */
  send(request: OutgoingRequest, user: ConnectionUser): void {
    this.user = user;
    this.phase = Phase.Sending;
    // Trailers of the previous response came through kOnHeaders too: not this response's.
    if (this.partialHeaders.length > 0) this.partialHeaders = [];
    this.closeAfter = request.close;
    this.method = request.method;
    this.upgrading = request.upgrade;
    this.requestSent = false;
    this.parserFresh = true;
    this.armRead();
    const body = request.body;
    if (body === null) {
      const head = `${request.head}${expectsPayload(request.method) ? 'content-length: 0\r\n' : ''}\r\n`;
      this.written = head.length;
      this.socket.write(head, 'latin1');
      // The timer armed above now waits for the head.
      this.requestSent = true;
      this.phase = Phase.Head;
      return;
    }
    this.written = 0;
    // The head goes out with the body's first bytes, when its framing is known: an empty body
    // is sent as none (content-length: 0 for methods that expect one), a body of unknown length
    // chunked.
    this.body = body;
    this.bodyLength = request.bodyLength;
    this.bodySent = 0;
    this.bodyHead = request.head;
    this.bodyPaused = false;
    body.on('data', this.onBodyData);
    body.once('end', this.onBodyEnd);
    body.once('error', this.onBodyError);
  }

  /** The consumer has room again for body chunks. */
  resume(): void {
    if (this.phase === Phase.Body) this.socket.resume();
  }

  /** Give the request up (client gone, consumer dropped the body): the connection is closed. */
  abort(): void {
    if (this.user === null) return;
    this.detachUser();
    this.socket.destroy();
  }

  /** Close an idle connection (pool closing, ttl). */
  close(): void {
    this.socket.destroy();
  }

  // --- the request body ---------------------------------------------------------------------

  private readonly onBodyData = (chunk: Buffer): void => {
    // The body goes on while the response arrives (a member may answer before it read it all).
    if (chunk.length === 0 || this.body === null) return;
    const socket = this.socket;
    const chunked = this.bodyLength === null;
    socket.cork();
    if (this.bodySent === 0) this.writeText(chunked ? `${this.bodyHead}transfer-encoding: chunked\r\n` : `${this.bodyHead}content-length: ${this.bodyLength}\r\n\r\n`);
    // Each chunk's size line starts with the CRLF that ends what came before (header block or chunk).
    if (chunked) this.writeText(`\r\n${chunk.length.toString(16)}\r\n`);
    this.bodySent += chunk.length;
    this.written += chunk.length;
    const room = socket.write(chunk);
    socket.uncork();
    if (this.bodyLength !== null && this.bodySent > this.bodyLength) {
      return this.fail(new BackendError('aborted', `the request body did not arrive whole: more than its Content-Length ${this.bodyLength}`));
    }
    if (!room) {
      this.bodyPaused = true;
      this.body!.pause();
      this.readTimer?.refresh();
    }
  };

  private readonly onDrain = (): void => {
    if (!this.bodyPaused || this.body === null) return;
    this.bodyPaused = false;
    this.body.resume();
  };

  private readonly onBodyEnd = (): void => {
    if (this.body === null) return;
    const length = this.bodyLength;
    if (this.bodySent === 0) {
      if (length !== null && length > 0) return this.fail(new BackendError('aborted', `the request body did not arrive whole: 0 of ${length} bytes`));
      this.writeText(`${this.bodyHead}${expectsPayload(this.method) ? 'content-length: 0\r\n' : ''}\r\n`);
    } else if (length === null) {
      this.writeText('\r\n0\r\n\r\n');
    } else if (this.bodySent !== length) {
      return this.fail(new BackendError('aborted', `the request body did not arrive whole: ${this.bodySent} of ${length} bytes`));
    }
    this.unhookBody();
    this.sentWhole();
  };

  private readonly onBodyError = (err: Error): void => {
    const why = err.name === 'BodyReplayError' ? 'the request body did not arrive whole' : "the client's request body failed";
    this.fail(new BackendError('aborted', `${why}: ${err.message}`, { cause: err }));
  };

  private unhookBody(): void {
    const body = this.body;
    if (body === null) return;
    this.body = null;
    body.removeListener('data', this.onBodyData);
    body.removeListener('end', this.onBodyEnd);
    body.removeListener('error', this.onBodyError);
    // An error after this point (the client gone mid-way) must not be unhandled.
    body.on('error', ignore);
  }

  /** Request text (latin1: a byte per character), counted. */
  private writeText(text: string): void {
    this.written += text.length;
    this.socket.write(text, 'latin1');
  }

  /** The whole request is written: now the head is awaited (unless it came already). */
  private sentWhole(): void {
    this.requestSent = true;
    if (this.phase === Phase.Sending) this.phase = Phase.Head;
    this.readTimer?.refresh();
  }

  // --- the response ---------------------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    if (this.parserFresh && this.phase === Phase.Head && this.method !== 'HEAD' && !this.upgrading) {
      const whole = wholeResponse(chunk);
      if (whole !== null) return this.onWhole(whole, chunk);
    }
    this.parserFresh = false;
    const ret = this.parser.execute(chunk);
    if (this.switched !== null) {
      this.handOver(typeof ret === 'number' ? chunk.subarray(ret) : null);
      return;
    }
    if (typeof ret !== 'number') {
      // Garbage, or bytes where no response was expected (an idle connection).
      this.fail(new BackendError('protocol', `invalid response from the member: ${parseMessage(ret)}`, { reusedConnection: this.served > 0 }));
      this.socket.destroy();
    }
  };

  /** A whole response in one read (whole-response.ts): what llhttp's callbacks would have done. */
  private onWhole(whole: WholeResponse, chunk: Buffer): void {
    const user = this.user!;
    user.onHead(whole.status, whole.statusText, whole.headers);
    if (this.user === null) return;
    if (!this.closeAfter) this.keepAliveHint(whole.headers);
    this.phase = Phase.Body;
    // The body is complete: whether the consumer is full matters no more (goIdle reads on).
    if (whole.bodyStart < chunk.length) user.onData(chunk.subarray(whole.bodyStart));
    this.onMessageComplete();
  }

  private readonly onHeaders = (headers: string[]): void => {
    for (const h of headers) this.partialHeaders.push(h);
  };

  private readonly onHeadersComplete: OnHeadersComplete = (_major, _minor, headers, _method, _url, status, statusText, upgrade, keepAlive) => {
    const user = this.user;
    if (user === null || (this.phase !== Phase.Sending && this.phase !== Phase.Head)) return -1;
    if (headers === undefined) {
      headers = this.partialHeaders;
      this.partialHeaders = [];
    }
    // A 100 Continue nobody asked for (stickyd sends no Expect), or a switch nobody asked for.
    if (status === 100 || (upgrade && !this.upgrading)) {
      this.fail(new BackendError('protocol', `invalid response from the member: unexpected ${status === 100 ? '100 Continue' : 'protocol switch'}`, { reusedConnection: this.served > 0 }));
      return -1;
    }
    if (upgrade) {
      this.switched = { status, headers };
      return 2;
    }
    user.onHead(status, statusText, headers);
    // 1xx interim responses (103 Early Hints) are counted by the user and not relayed; the final one follows.
    if (status < 200) return 1;
    if (!keepAlive) this.closeAfter = true;
    else if (!this.closeAfter) this.keepAliveHint(headers);
    if (this.user === null) return -1; // the head's consumer gave the request up at once
    this.phase = Phase.Body;
    this.readTimer?.refresh();
    return this.method === 'HEAD' ? 1 : 0;
  };

  private readonly onBody = (chunk: Buffer): void => {
    const user = this.user;
    if (user === null) return;
    this.readTimer?.refresh();
    if (!user.onData(chunk)) this.socket.pause();
  };

  private readonly onMessageComplete = (): void => {
    const user = this.user;
    // 1xx: its end; the final response is still to come. A 101: handed over after the read.
    if (user === null || this.phase !== Phase.Body) return;
    this.served++;
    this.detachUser();
    // Released before the user hears of it: the user's completion frees a connection slot, and
    // the request waiting for that slot may take this very connection.
    if (this.closeAfter || !this.requestSent) this.socket.destroy();
    else this.goIdle();
    user.onComplete();
  };

  /** Keep-Alive: timeout=N (the member closes idle connections after N s): close ours earlier. */
  private keepAliveHint(headers: string[]): void {
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
      const m = KEEPALIVE_TIMEOUT.exec(headers[i + 1]!);
      if (m === null) return;
      const ms = Math.min(Number(m[1]) * 1000 - KEEPALIVE_THRESHOLD_MS, this.ttl);
      if (ms <= 0) this.closeAfter = true;
      else if (ms !== this.idleMs) {
        this.idleMs = ms;
        if (this.idleTimer !== null) clearTimeout(this.idleTimer);
        this.idleTimer = null;
      }
      return;
    }
  }

  /** A 101: stop being a pooled connection; the socket, with what came after the head, is the user's. */
  private handOver(rest: Buffer | null): void {
    const { status, headers } = this.switched!;
    this.switched = null;
    const user = this.user!;
    this.detachUser();
    this.phase = Phase.Closed;
    const socket = this.socket;
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    socket.removeListener('error', this.onError);
    socket.removeListener('close', this.onClose);
    socket.removeListener('drain', this.onDrain);
    this.stopTimers();
    this.parser.close();
    this.owner.gone(this);
    // Nothing may be read before the tunnel listens (it pipes, which resumes the socket).
    socket.pause();
    if (rest !== null && rest.length > 0) socket.unshift(rest);
    user.onUpgrade(status, headers, socket);
  }

  // --- the connection -------------------------------------------------------------------------

  private readonly onEnd = (): void => {
    // A close-delimited body ends here (llhttp completes it); a body cut short is an error.
    if (this.phase === Phase.Body) {
      const err = this.parser.finish();
      if (err !== undefined && this.user !== null) {
        this.fail(new BackendError('protocol', `the member closed the connection mid-body: ${parseMessage(err)}`, { reusedConnection: this.served > 0 }));
      }
    }
    this.socket.destroy();
  };

  private readonly onError = (err: Error): void => {
    this.lastError = err;
  };

  private readonly onClose = (): void => {
    if (this.user !== null) {
      const err = this.lastError;
      const code = (err as NodeJS.ErrnoException | null)?.code;
      const detail = err !== null ? `: ${err.message}${code !== undefined ? ` (${code})` : ''}` : '';
      this.fail(
        this.phase === Phase.Body
          ? new BackendError('closed', `the member closed the connection mid-body${detail}`, { cause: err, reusedConnection: this.served > 0 })
          : new BackendError('closed', `the member closed the connection without a response${detail}`, { cause: err, reusedConnection: this.served > 0 }),
      );
    }
    this.phase = Phase.Closed;
    this.stopTimers();
    this.parser.close();
    this.owner.gone(this);
  };

  /** The request failed: tell the user once, and close the connection. */
  private fail(err: BackendError): void {
    const user = this.user;
    if (user === null) return;
    this.detachUser();
    this.socket.destroy();
    user.onFailed(err);
  }

  /** The current request is over for this connection (completed, failed or given up). */
  private detachUser(): void {
    const user = this.user!;
    this.user = null;
    this.unhookBody();
    if (this.phase !== Phase.Closed) this.phase = Phase.Idle;
    user.onSent(this.written);
  }

  private goIdle(): void {
    this.phase = Phase.Idle;
    // A paused socket (the consumer was full at the last chunk) must read again to see a close.
    this.socket.resume();
    if (this.idleTimer === null) this.idleTimer = setTimeout(this.onIdleTimeout, this.idleMs).unref();
    else this.idleTimer.refresh();
    this.owner.released(this);
  }

  private readonly onIdleTimeout = (): void => {
    if (this.phase === Phase.Idle) this.socket.destroy();
  };

  private armRead(): void {
    if (this.readTimer === null) this.readTimer = setTimeout(this.onReadTimeout, this.timeout).unref();
    else this.readTimer.refresh();
  }

  private readonly onReadTimeout = (): void => {
    const reused = { reusedConnection: this.served > 0 };
    switch (this.phase) {
      case Phase.Sending:
        return this.fail(new BackendError('send-timeout', 'timed out sending the request body to the member', reused));
      case Phase.Head:
        return this.fail(new BackendError('timeout', 'no response from the member within its timeout', reused));
      case Phase.Body:
        return this.fail(new BackendError('timeout', 'the member stopped sending within its timeout', reused));
      default:
    }
  };

  private stopTimers(): void {
    if (this.readTimer !== null) clearTimeout(this.readTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
  }
}

function ignore(): void {}

function parseMessage(err: ParseError): string {
  return `${err.reason ?? err.message} (${err.code})`;
}

/**
 * One attempt on an HTTP member, as undici's dispatch handler: it takes the response head, and
 * after it is the response body (DeliveredBody) that undici's parser writes straight into the
 * consumer's sink, with undici's pause/resume for back-pressure.
 *
 * undici failures become BackendError kinds the attempt loop understands (members/connector.ts).
 * What happened before undici handed the request to a connected socket (onConnect) is a connect
 * failure: nothing was sent, the attempt loop may fail over — except a TLS handshake that failed
 * after the TCP connection was made (kind 'tls': 500, member in error, no failover, as httpd).
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { MemberTlsError } from '../../tls/member.js';
import { DeliveredBody } from '../body.js';
import { BackendError, type Attempt, type ClientGoneListener, type MemberResponse, type UpgradeOutcome } from '../connector.js';

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

/**
 * Whether the socket a request went out on had served earlier requests. Apache takes a member
 * that closes without answering on a *reused* connection as the keep-alive race (no error state),
 * on a fresh one as a member failure (apache-semantics §4.1). undici does not tell a request handler which
 * socket it got, but it publishes `undici:client:sendHeaders` with the socket synchronously right
 * after calling the handler's onConnect; the handler is recognised by the abort function undici
 * gave both.
 */
const kServed = Symbol('stickyd.requestsServed');
let connecting: HttpAttempt | null = null;
diagnostics.subscribe('undici:client:sendHeaders', (message) => {
  const h = connecting;
  connecting = null;
  if (h === null) return;
  const { request, socket } = message as { request: { abort?: unknown }; socket: Socket & Record<symbol, number | undefined> };
  if (request.abort !== h.abortFn) return;
  const served = socket[kServed] ?? 0;
  socket[kServed] = served + 1;
  h.reusedConnection = served > 0;
  // undici publishes this just before it writes the request head: what the socket has written
  // from here on, until the attempt ends, is this request (one request at a time per connection).
  h.sentFrom(socket);
});

/** undici's raw header list (names and values as bytes) as a flat list of latin1 strings. */
function headerList(raw: Buffer[] | string[] | null): string[] {
  if (raw === null) return [];
  const n = raw.length - (raw.length % 2);
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = latin1(raw[i]!);
  return out;
}

function latin1(b: Buffer | string): string {
  return typeof b === 'string' ? b : b.toString('latin1');
}

/** Length of a status line as received, without its CRLF: "HTTP/1.1 200 OK" (httpd adds `len` of that line). */
export function statusLineLength(statusText: string): number {
  return 'HTTP/1.1 200 '.length + statusText.length;
}

/** What the attempt resolves with: a response (send), or an upgrade's outcome. */
export type Settle = ((r: MemberResponse) => void) | ((r: UpgradeOutcome) => void);

/** undici's dispatch handler for one attempt; after the head it is the response body too. */
export class HttpAttempt extends DeliveredBody implements ClientGoneListener {
  abortFn: ((err?: Error) => void) | null = null;
  reusedConnection = false;
  /** The member connection this attempt's request went out on, and its bytesWritten before it. */
  private socket: Socket | null = null;
  private writtenBefore = 0;
  private resumeFn: (() => void) | null = null;
  private connected = false;
  private requestSent = false;
  private settled = false;
  private finished = false;
  private abortReason: BackendError | null = null;

  constructor(
    private readonly attempt: Attempt,
    private readonly resolve: Settle,
    private readonly reject: (e: BackendError) => void,
    /** An Upgrade request: resolves with an UpgradeOutcome. */
    private readonly upgrading: boolean,
    /** Told once when the attempt is over (its connection slot is free again). */
    private readonly done: () => void,
  ) {
    super();
  }

  /** Abort from outside (client gone, no slot). */
  abort(reason: BackendError): void {
    if (this.finished) return;
    this.abortReason ??= reason;
    if (this.abortFn !== null) this.abortFn(reason);
    else this.fail(reason);
  }

  clientGone(): void {
    this.abort(new BackendError('aborted', 'the client went away'));
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.abortReason !== null) {
      abort(this.abortReason);
      return;
    }
    this.connected = true;
    connecting = this;
  }

  onRequestSent(): void {
    this.requestSent = true;
  }

  /** undici is about to write this attempt's request on `socket`. */
  sentFrom(socket: Socket): void {
    this.socket = socket;
    this.writtenBefore = socket.bytesWritten;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // bytraffic (§3.4): mod_proxy_http adds each status line it reads, interim 1xx ones too.
    this.attempt.traffic?.addRead(statusLineLength(statusText));
    // 1xx interim responses (103 Early Hints) are not relayed; wait for the final one.
    if (statusCode < 200) return true;
    this.resumeFn = resume;
    this.settled = true;
    const response: MemberResponse = { status: statusCode, statusText, headers: headerList(rawHeaders), body: this, reusedConnection: this.reusedConnection };
    if (this.upgrading) (this.resolve as (r: UpgradeOutcome) => void)({ kind: 'response', response });
    else (this.resolve as (r: MemberResponse) => void)(response);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.deliver(chunk);
  }

  onComplete(): void {
    this.finish();
    this.complete();
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    this.finish();
    this.settled = true;
    (this.resolve as (r: UpgradeOutcome) => void)({ kind: 'upgraded', status: statusCode, headers: headerList(rawHeaders), socket, reusedConnection: this.reusedConnection });
  }

  onError(err: Error): void {
    this.fail(err);
  }

  resume(): void {
    this.resumeFn?.();
  }

  destroy(err?: Error): void {
    // The consumer dropped the body before it ended: abort the member request.
    this.dropped = true;
    if (!this.finished) this.abortFn?.(err ?? new BackendError('aborted', 'the client went away'));
  }

  private fail(err: Error): void {
    const wasFinished = this.finished;
    this.finish();
    if (!this.settled) {
      this.settled = true;
      this.reject(this.classify(err));
    } else if (!wasFinished) {
      this.bodyFailed(err);
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.attempt.client.unwatch(this);
    if (this.socket !== null && this.attempt.traffic !== null) {
      this.attempt.traffic.addTransferred(this.socket.bytesWritten - this.writtenBefore);
      this.socket = null;
    }
    this.done();
  }

  /** undici error → BackendError kind (members/connector.ts, apache-semantics §4.1/§4.2). */
  private classify(err: Error): BackendError {
    if (err instanceof BackendError) return err;
    const code = (err as { code?: string }).code ?? '';
    const msg = `${err.message}${code ? ` (${code})` : ''}`;
    if (this.attempt.client.aborted) return new BackendError('aborted', 'the client went away', { cause: err });
    if (err instanceof MemberTlsError) return new BackendError('tls', `TLS handshake with the member failed: ${msg}`, { cause: err });
    if (!this.connected) {
      if (DNS_CODES.has(code)) return new BackendError('dns', `cannot resolve the member's host name: ${msg}`, { cause: err });
      return new BackendError('connect', `cannot connect to the member: ${msg}`, { cause: err });
    }
    const reused = { cause: err, reusedConnection: this.reusedConnection };
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      // undici's head timer also runs while the body is being written and the member does not
      // read it: that is a send timeout (504), not a read timeout (502).
      return this.requestSent
        ? new BackendError('timeout', 'no response from the member within its timeout', reused)
        : new BackendError('send-timeout', 'timed out sending the request body to the member', reused);
    }
    if (code === 'UND_ERR_BODY_TIMEOUT') return new BackendError('timeout', 'the member stopped sending within its timeout', reused);
    if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') {
      return new BackendError('closed', `the member closed the connection without a response: ${msg}`, reused);
    }
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || err.name === 'BodyReplayError') {
      return new BackendError('aborted', `the request body did not arrive whole: ${msg}`, { cause: err });
    }
    if (code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_INFO') {
      return new BackendError('protocol', `invalid response from the member: ${msg}`, reused);
    }
    // The request body stream failed: the client went away while uploading.
    const body = this.attempt.body;
    if (body !== null && body.destroyed && body.errored === err) {
      return new BackendError('aborted', `the client's request body failed: ${msg}`, { cause: err });
    }
    return new BackendError('protocol', `the member request failed: ${msg}`, reused);
  }
}

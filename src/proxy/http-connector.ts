/**
 * The HTTP member transport (mod_proxy_http's role), for http:// and https:// members: one undici
 * Pool per member, keep-alive
 * connections, requests sent through undici's low-level `dispatch` API. On the request path
 * (`forward`) the response body goes from undici's parser straight into the client response (a
 * BodySink, with undici's pause/resume for back-pressure): no stream layer in between. Generic
 * callers (`request`, health checks) get the body as a Readable.
 *
 * Member settings (apache-semantics §7.2) map to the pool like this:
 * - `max` → connections; `disablereuse` → pipelining 0 (a connection per request);
 * - `ttl` → idle connections are closed after it (default 4 s: below the usual backend
 *   keep-alive timeouts, so the pool drops a connection before the backend does and the
 *   "request sent on a connection the backend is closing" race stays rare);
 * - `connectiontimeout` → connect timeout; `timeout` → response-head and body-read timeouts;
 * - `keepalive` → TCP SO_KEEPALIVE on member sockets;
 * - `acquire` → wait at most that long for a free connection slot, else kind 'acquire'.
 *
 * undici failures become BackendError kinds the attempt loop understands (connector.ts). What
 * happened before undici handed the request to a connected socket (onConnect) is a connect
 * failure: nothing was sent, the attempt loop may fail over — except a TLS handshake that failed
 * after the TCP connection was made (kind 'tls': 500, member in error, no failover, as httpd).
 *
 * https:// members (tls/member.ts has the SSLProxy* semantics): the pool keeps TLS connections
 * alive like plain ones and resumes TLS sessions when it opens new ones; SNI is the host the
 * request's Host header names (the member's, or the client's with preservehost), and undici
 * opens a new connection when that name changes, as httpd does.
 */
import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { Readable, type Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildConnector, Pool } from 'undici';
import type { MemberConfig, MemberTlsConfig } from '../config/types.js';
import { DEFAULT_MEMBER_TLS, MemberTlsError, memberTlsOptions, peerProblem } from '../tls/member.js';
import { BackendError, type BackendRequest, type BackendResponse, type ClientAbort, type ClientGoneListener, type MemberConnector } from './connector.js';

/** The TLS settings, files' contents included, as a short digest: a renewed CA or client certificate needs new connections. */
function tlsDigest(t: MemberTlsConfig | undefined): string | null {
  return t === undefined ? null : createHash('sha256').update(JSON.stringify(t)).digest('base64url');
}

/** Connection-level settings: a change of any of these needs a new connector (reload). */
export function httpConnectionSettings(c: MemberConfig): string {
  return JSON.stringify([c.scheme, c.host, c.port, c.timeout, c.connectiontimeout, c.max, c.ttl, c.disablereuse, c.acquire, c.keepalive, tlsDigest(c.tls)]);
}

/** An Upgrade request's result: the member switched protocols, or answered normally. */
export type UpgradeOutcome =
  | { kind: 'upgraded'; status: number; headers: Array<[string, string]>; socket: Duplex; reusedConnection: boolean }
  | { kind: 'response'; response: BackendResponse };

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
let connecting: ForwardHandler | null = null;
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

function headerTuples(raw: Buffer[] | string[] | null): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (raw === null) return out;
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([latin1(raw[i]!), latin1(raw[i + 1]!)]);
  return out;
}

function latin1(b: Buffer | string): string {
  return typeof b === 'string' ? b : b.toString('latin1');
}

/** Body bytes undici may parse before the consumer attaches (a few microtasks after the head); then it pauses. */
const EARLY_LIMIT = 64 * 1024;

/**
 * One attempt on an HTTP member in the shapes undici takes, so that nothing is converted per
 * request (the request path builds it; `request()` and `upgrade()` build it from a BackendRequest).
 */
export interface HttpAttempt {
  method: string;
  /** Path and query to send. */
  path: string;
  /** [name, value, name, value, ...]: hop-by-hop headers removed, Host first. */
  headers: string[];
  body: Readable | null;
  /** The client: when it goes away, the member request is aborted. */
  client: ClientAbort;
  /**
   * Where the attempt's bytes are counted for bytraffic (the member). As mod_proxy_http counts
   * (apache-semantics §3.4): `transferred` gets every byte written to the member for this request (request
   * line, every header line undici writes, body and its chunk framing), `read` each status line
   * without its CRLF (interim 1xx ones too); the body bytes read are the consumer's to count.
   */
  traffic?: TrafficCounter;
}

/**
 * httpd's per-worker byte counters (worker->s->transferred / read), read by lbmethod bytraffic:
 * the member, whose counters live in the shared scoreboard, so they only grow by atomic adds.
 */
export interface TrafficCounter {
  addTransferred(bytes: number): void;
  addRead(bytes: number): void;
}

/** Length of a status line as received, without its CRLF: "HTTP/1.1 200 OK" (httpd adds `len` of that line). */
export function statusLineLength(statusText: string): number {
  return 'HTTP/1.1 200 '.length + statusText.length;
}

/** Where a forwarded response body goes: each chunk as undici's parser hands it over. */
export interface BodySink {
  /** A chunk of the body; false: the sink is full, the member's socket pauses until `resume()`. */
  write(chunk: Buffer): boolean;
  /** The body is complete. */
  end(): void;
  /** The member failed mid-body (reset, read timeout, invalid framing): the body is incomplete. */
  fail(err: Error): void;
}

/**
 * A response body delivered straight into one sink, without a stream in between: a Readable per
 * response (push, buffering, 'data'/'end' on later ticks) was a fifth of the proxy's CPU.
 */
export interface ForwardedBody {
  /** Deliver the body to `sink` (once): what arrived already at once, the rest as it comes. */
  attach(sink: BodySink): void;
  /** The sink has room again. */
  resume(): void;
  /** The consumer drops the body: abort the member request unless the body is complete. */
  destroy(err?: Error): void;
}

/** A member's response to `forward()`: head parsed, body to be attached. */
export interface ForwardedResponse extends Omit<BackendResponse, 'body'> {
  body: ForwardedBody;
  reusedConnection: boolean;
}

/** How a request's response is handed over: a direct body (forward), a Readable (request), or an upgrade. */
type HandlerMode = 'forward' | 'request' | 'upgrade';

/** A Readable over a ForwardedBody, for consumers that want a stream (health checks, upgrade refusals). */
class MemberBody extends Readable {
  constructor(private readonly source: ForwardedBody) {
    super();
    source.attach({
      write: (chunk) => this.push(chunk),
      end: () => this.push(null),
      fail: (err) => this.destroy(err),
    });
  }

  override _read(): void {
    this.source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.source.destroy(err ?? undefined);
    callback(err);
  }
}

/** The AbortSignal of a BackendRequest as the ClientAbort an attempt watches (generic `request()` callers). */
class SignalAbort implements ClientAbort {
  private listener: ClientGoneListener | null = null;

  constructor(private readonly signal: AbortSignal) {}

  get aborted(): boolean {
    return this.signal.aborted;
  }

  watch(listener: ClientGoneListener): void {
    if (this.listener === null) this.signal.addEventListener('abort', this.onAbort, { once: true });
    this.listener = listener;
  }

  unwatch(listener: ClientGoneListener): void {
    if (this.listener !== listener) return;
    this.listener = null;
    this.signal.removeEventListener('abort', this.onAbort);
  }

  private readonly onAbort = (): void => {
    const l = this.listener;
    this.listener = null;
    l?.clientGone();
  };
}

/** undici's dispatch handler for one attempt; after the head it is the response body too. */
class ForwardHandler implements ForwardedBody, ClientGoneListener {
  abortFn: ((err?: Error) => void) | null = null;
  reusedConnection = false;
  /** `acquire`: this attempt holds one of the connector's slots until it finishes. */
  holdsSlot = false;
  /** `acquire`: set while the attempt waits for a slot; dispatches it. */
  grant: (() => void) | null = null;
  /** `acquire`: the attempt's deadline while it waits for a slot. */
  waitTimer: NodeJS.Timeout | null = null;
  /** The member connection this attempt's request went out on, and its bytesWritten before it. */
  private socket: Socket | null = null;
  private writtenBefore = 0;
  private resumeFn: (() => void) | null = null;
  private connected = false;
  private requestSent = false;
  private settled = false;
  private finished = false;
  private abortReason: BackendError | null = null;
  private sink: BodySink | null = null;
  /** Body chunks parsed before a sink was attached (they come with the head, in the same read). */
  private early: Buffer[] | null = null;
  private earlyBytes = 0;
  /** The body completed, or failed, before a sink was attached. */
  private ended = false;
  private bodyError: Error | null = null;
  /** The consumer destroyed the body: it is told nothing more. */
  private dropped = false;

  constructor(
    private readonly connector: HttpConnector,
    private readonly attempt: HttpAttempt,
    private readonly resolve: (r: ForwardedResponse | BackendResponse | UpgradeOutcome) => void,
    private readonly reject: (e: BackendError) => void,
    private readonly mode: HandlerMode,
  ) {}

  /** Abort from outside (client gone, acquire timeout). */
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
    const traffic = this.attempt.traffic;
    if (traffic !== undefined) traffic.addRead(statusLineLength(statusText));
    // 1xx interim responses (103 Early Hints) are not relayed; wait for the final one.
    if (statusCode < 200) return true;
    this.resumeFn = resume;
    this.settled = true;
    const headers = headerTuples(rawHeaders);
    if (this.mode === 'forward') {
      this.resolve({ status: statusCode, statusText, headers, body: this, reusedConnection: this.reusedConnection });
      return true;
    }
    const response: BackendResponse = { status: statusCode, statusText, headers, body: new MemberBody(this), reusedConnection: this.reusedConnection };
    this.resolve(this.mode === 'upgrade' ? { kind: 'response', response } : response);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.sink !== null) return this.sink.write(chunk);
    (this.early ??= []).push(chunk);
    this.earlyBytes += chunk.length;
    return this.earlyBytes < EARLY_LIMIT;
  }

  onComplete(): void {
    this.finish();
    if (this.sink !== null) this.sink.end();
    else this.ended = true;
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    this.finish();
    this.settled = true;
    this.resolve({ kind: 'upgraded', status: statusCode, headers: headerTuples(rawHeaders), socket, reusedConnection: this.reusedConnection });
  }

  onError(err: Error): void {
    this.fail(err);
  }

  attach(sink: BodySink): void {
    this.sink = sink;
    const early = this.early;
    let room = true;
    if (early !== null) {
      this.early = null;
      for (const chunk of early) room = sink.write(chunk);
    }
    if (this.bodyError !== null) sink.fail(this.bodyError);
    else if (this.ended) sink.end();
    // undici paused when too much came before the sink: go on once the sink has room.
    else if (early !== null && room) this.resume();
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
    } else if (!wasFinished && !this.dropped) {
      // The member failed mid-body.
      if (this.sink !== null) this.sink.fail(err);
      else {
        this.ended = true;
        this.bodyError = err;
      }
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.attempt.client.unwatch(this);
    if (this.socket !== null && this.attempt.traffic !== undefined) {
      this.attempt.traffic.addTransferred(this.socket.bytesWritten - this.writtenBefore);
      this.socket = null;
    }
    if (this.holdsSlot) {
      this.holdsSlot = false;
      this.connector.releaseSlot();
    } else if (this.grant !== null) {
      // Given up while waiting for a slot (client gone): leave the queue, so that the slot goes
      // to an attempt that still wants it.
      this.connector.stopWaiting(this);
    }
  }

  /** undici error → BackendError kind (connector.ts, apache-semantics §4.1/§4.2). */
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

/** A failure after the TCP connection was made: the TLS handshake's (or the checks after it). */
function handshakeFailure(err: Error & { code?: string }): MemberTlsError {
  return err instanceof MemberTlsError ? err : new MemberTlsError(err.message, err.code ?? 'ERR_TLS_HANDSHAKE', { cause: err });
}

/**
 * undici's connector with our own connect timer: undici's runs on its coarse timer wheel (about a
 * second of resolution), and `connectiontimeout` may be given in milliseconds (apache-semantics §7.2). For an
 * https:// member the timer covers the TLS handshake too, and a failure once the TCP connection
 * stands is a MemberTlsError (kind 'tls'), not a connect failure.
 */
function preciseConnector(timeout: number, keepAlive: boolean, tls: MemberTlsConfig | null): buildConnector.connector {
  const connect = buildConnector({ timeout: 0, keepAlive, ...(tls !== null ? memberTlsOptions(tls) : {}) });
  return (options, callback) => {
    let done = false;
    let tcpConnected = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      socket?.destroy();
      callback(
        tcpConnected
          ? handshakeFailure(Object.assign(new Error(`the TLS handshake did not complete within ${timeout} ms`), { code: 'ETIMEDOUT' }))
          : Object.assign(new Error(`connect timed out after ${timeout} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
        null,
      );
    }, timeout);
    // undici's connector returns the socket it creates (its type says void).
    const socket = connect(options, (err, s) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err !== null) {
        callback(tls !== null && tcpConnected ? handshakeFailure(err) : err, null);
        return;
      }
      if (tls !== null) {
        const hostname = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
        const problem = peerProblem(tls, s as TLSSocket, options.servername || hostname);
        if (problem !== null) {
          (s as Socket).destroy();
          callback(problem, null);
          return;
        }
      }
      callback(null, s as Socket);
    }) as unknown as Socket | undefined;
    if (tls !== null) socket?.once('connect', () => (tcpConnected = true));
  };
}

export class HttpConnector implements MemberConnector {
  readonly config: MemberConfig;
  private readonly pool: Pool;
  private active = 0;
  /** Attempts waiting for a connection slot when `acquire` is set. */
  private readonly waiters: ForwardHandler[] = [];
  private closed = false;

  constructor(config: MemberConfig) {
    this.config = config;
    const secure = config.scheme === 'https';
    const origin = `${secure ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    this.pool = new Pool(origin, {
      connections: config.max,
      pipelining: config.disablereuse ? 0 : 1,
      keepAliveTimeout: config.ttl,
      keepAliveMaxTimeout: config.ttl,
      headersTimeout: config.timeout,
      bodyTimeout: config.timeout,
      // Backends such as Tomcat may send large cookies: allow more than undici's 16 KiB default.
      maxHeaderSize: 64 * 1024,
      connect: preciseConnector(config.connectiontimeout, config.keepalive, secure ? (config.tls ?? DEFAULT_MEMBER_TLS) : null),
    });
    // Connection errors are reported per request; an 'error' without a listener must not crash.
    this.pool.on('connectionError', () => {});
  }

  /**
   * The request path's attempt: resolves once the response head arrived, with a body that writes
   * straight into the sink the caller attaches; rejects with a BackendError.
   */
  forward(attempt: HttpAttempt): Promise<ForwardedResponse> {
    return this.send(attempt, 'forward', null) as Promise<ForwardedResponse>;
  }

  /** MemberConnector's generic attempt (health checks): the body as a Readable. */
  request(req: BackendRequest): Promise<BackendResponse> {
    return this.send(httpAttempt(req), 'request', null) as Promise<BackendResponse>;
  }

  /**
   * Send an Upgrade request for a tunnel. `attempt.headers` carries the client's Upgrade header;
   * undici writes `Connection: upgrade` and `Upgrade` itself.
   */
  upgrade(attempt: HttpAttempt): Promise<UpgradeOutcome> {
    let protocol = 'websocket';
    const headers: string[] = [];
    for (let i = 0; i < attempt.headers.length; i += 2) {
      const name = attempt.headers[i]!;
      if (name.length === 7 && name.toLowerCase() === 'upgrade') protocol = attempt.headers[i + 1]!;
      else headers.push(name, attempt.headers[i + 1]!);
    }
    return this.send({ ...attempt, headers, body: null }, 'upgrade', protocol) as Promise<UpgradeOutcome>;
  }

  private send(attempt: HttpAttempt, mode: HandlerMode, upgrade: string | null): Promise<ForwardedResponse | BackendResponse | UpgradeOutcome> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new BackendError('connect', 'the member connector is closed (configuration reloaded)'));
        return;
      }
      if (attempt.client.aborted) {
        reject(new BackendError('aborted', 'the client went away'));
        return;
      }
      const handler = new ForwardHandler(this, attempt, resolve, reject, mode);
      attempt.client.watch(handler);
      if (this.config.acquire === null) this.dispatch(handler, attempt, upgrade);
      else this.acquireSlot(handler, attempt, upgrade);
    });
  }

  private dispatch(handler: ForwardHandler, attempt: HttpAttempt, upgrade: string | null): void {
    try {
      this.pool.dispatch(
        { path: attempt.path, method: attempt.method, headers: attempt.headers, body: attempt.body, upgrade, reset: this.config.disablereuse },
        handler as never,
      );
    } catch (err) {
      handler.onError(err as Error);
    }
  }

  /** `acquire`: a slot within `acquire` ms, else kind 'acquire' (apache-semantics §4.1: 503, error state, failover). */
  private acquireSlot(handler: ForwardHandler, attempt: HttpAttempt, upgrade: string | null): void {
    if (this.active < this.config.max) {
      this.active++;
      handler.holdsSlot = true;
      this.dispatch(handler, attempt, upgrade);
      return;
    }
    handler.waitTimer = setTimeout(() => {
      // Not yet counted as active: finishing the handler must not release a slot.
      this.stopWaiting(handler);
      handler.abort(new BackendError('acquire', `no free connection to the member within acquire=${this.config.acquire} ms`));
    }, this.config.acquire!);
    handler.grant = () => {
      this.stopWaiting(handler);
      this.active++;
      handler.holdsSlot = true;
      this.dispatch(handler, attempt, upgrade);
    };
    this.waiters.push(handler);
  }

  /** An attempt leaves the queue for a slot (granted one, timed out, or given up). */
  stopWaiting(handler: ForwardHandler): void {
    if (handler.waitTimer !== null) clearTimeout(handler.waitTimer);
    handler.waitTimer = null;
    handler.grant = null;
    const i = this.waiters.indexOf(handler);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** An attempt that held a slot finished: the next waiter gets it. */
  releaseSlot(): void {
    this.active--;
    this.waiters[0]?.grant?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }

  async destroy(): Promise<void> {
    this.closed = true;
    await this.pool.destroy();
  }
}

/** A BackendRequest (pairs, AbortSignal) as an HttpAttempt. */
function httpAttempt(req: BackendRequest): HttpAttempt {
  const headers: string[] = [];
  for (const [name, value] of req.headers) headers.push(name, value);
  return { method: req.method, path: req.path, headers, body: req.body, client: new SignalAbort(req.signal) };
}

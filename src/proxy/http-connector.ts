/**
 * The HTTP member transport (mod_proxy_http's role): one undici Pool per member, keep-alive
 * connections, requests sent through undici's low-level `dispatch` API so that the response
 * body is streamed without an extra buffering layer.
 *
 * Member settings (spec §7.2) map to the pool like this:
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
 * failure: nothing was sent, the attempt loop may fail over.
 */
import diagnostics from 'node:diagnostics_channel';
import { Readable, type Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import type { MemberConfig } from '../config/types.js';
import { BackendError, type BackendRequest, type BackendResponse, type MemberConnector } from './connector.js';

/** Connection-level settings: a change of any of these needs a new connector (reload). */
export function httpConnectionSettings(c: MemberConfig): string {
  return JSON.stringify([c.scheme, c.host, c.port, c.timeout, c.connectiontimeout, c.max, c.ttl, c.disablereuse, c.acquire, c.keepalive]);
}

/** An Upgrade request's result: the member switched protocols, or answered normally. */
export type UpgradeOutcome =
  | { kind: 'upgraded'; status: number; headers: Array<[string, string]>; socket: Duplex; reusedConnection: boolean }
  | { kind: 'response'; response: BackendResponse };

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

/**
 * Whether the socket a request went out on had served earlier requests. Apache takes a member
 * that closes without answering on a *reused* connection as the keep-alive race (no error state),
 * on a fresh one as a member failure (spec §4.1). undici does not tell a request handler which
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
  const { request, socket } = message as { request: { abort?: unknown }; socket: Record<symbol, number | undefined> };
  if (request.abort !== h.abortFn) return;
  const served = socket[kServed] ?? 0;
  socket[kServed] = served + 1;
  h.reusedConnection = served > 0;
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

/** The response body: undici pushes into it, backpressure pauses undici's parser. */
class MemberBody extends Readable {
  constructor(private readonly handler: ForwardHandler) {
    super();
  }

  override _read(): void {
    this.handler.resumeFn?.();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.handler.bodyDestroyed(err);
    callback(err);
  }
}

/** undici's dispatch handler for one attempt. */
class ForwardHandler {
  abortFn: ((err?: Error) => void) | null = null;
  resumeFn: (() => void) | null = null;
  reusedConnection = false;
  private connected = false;
  private requestSent = false;
  private settled = false;
  private finished = false;
  private body: MemberBody | null = null;
  private abortReason: BackendError | null = null;

  constructor(
    private readonly req: BackendRequest,
    private readonly resolve: (r: BackendResponse | UpgradeOutcome) => void,
    private readonly reject: (e: BackendError) => void,
    private readonly done: () => void,
    private readonly upgrade: boolean,
  ) {}

  /** Abort from outside (client gone, acquire timeout). */
  abort(reason: BackendError): void {
    if (this.finished) return;
    this.abortReason ??= reason;
    if (this.abortFn !== null) this.abortFn(reason);
    else this.fail(reason);
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

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx interim responses (103 Early Hints) are not relayed; wait for the final one.
    if (statusCode < 200) return true;
    this.resumeFn = resume;
    this.body = new MemberBody(this);
    this.settled = true;
    const response: BackendResponse = { status: statusCode, statusText, headers: headerTuples(rawHeaders), body: this.body, reusedConnection: this.reusedConnection };
    this.resolve(this.upgrade ? { kind: 'response', response } : response);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body!.push(chunk);
  }

  onComplete(): void {
    this.finish();
    this.body?.push(null);
  }

  onUpgrade(statusCode: number, rawHeaders: Buffer[] | string[] | null, socket: Duplex): void {
    this.finish();
    this.settled = true;
    this.resolve({ kind: 'upgraded', status: statusCode, headers: headerTuples(rawHeaders), socket, reusedConnection: this.reusedConnection });
  }

  onError(err: Error): void {
    this.fail(err);
  }

  bodyDestroyed(err: Error | null): void {
    // The consumer dropped the body before it ended: abort the member request.
    if (!this.finished) this.abortFn?.(err ?? new BackendError('aborted', 'the client went away'));
  }

  private fail(err: Error): void {
    const wasFinished = this.finished;
    this.finish();
    if (!this.settled) {
      this.settled = true;
      this.reject(this.classify(err));
    } else if (!wasFinished && this.body !== null && !this.body.destroyed) {
      this.body.destroy(err);
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.req.signal.removeEventListener('abort', this.onSignal);
    this.done();
  }

  readonly onSignal = (): void => {
    this.abort(new BackendError('aborted', 'the client went away'));
  };

  /** undici error → BackendError kind (connector.ts, spec §4.1/§4.2). */
  private classify(err: Error): BackendError {
    if (err instanceof BackendError) return err;
    const code = (err as { code?: string }).code ?? '';
    const msg = `${err.message}${code ? ` (${code})` : ''}`;
    if (this.req.signal.aborted) return new BackendError('aborted', 'the client went away', { cause: err });
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
    if (this.req.body !== null && this.req.body.destroyed && this.req.body.errored === err) {
      return new BackendError('aborted', `the client's request body failed: ${msg}`, { cause: err });
    }
    return new BackendError('protocol', `the member request failed: ${msg}`, reused);
  }
}

/**
 * undici's connector with our own connect timer: undici's runs on its coarse timer wheel (about a
 * second of resolution), and `connectiontimeout` may be given in milliseconds (spec §7.2).
 */
function preciseConnector(timeout: number, keepAlive: boolean): buildConnector.connector {
  const connect = buildConnector({ timeout: 0, keepAlive });
  return (options, callback) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      socket?.destroy();
      callback(Object.assign(new Error(`connect timed out after ${timeout} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }), null);
    }, timeout);
    // undici's connector returns the socket it creates (its type says void).
    const socket = connect(options, (err, s) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err !== null) callback(err, null);
      else callback(null, s as Socket);
    }) as unknown as Socket | undefined;
  };
}

/** Waiters for a connection slot when `acquire` is set. */
interface SlotWaiter {
  grant: () => void;
}

export class HttpConnector implements MemberConnector {
  readonly config: MemberConfig;
  private readonly pool: Pool;
  private active = 0;
  private readonly waiters: SlotWaiter[] = [];
  private closed = false;

  constructor(config: MemberConfig) {
    this.config = config;
    const origin = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
    this.pool = new Pool(origin, {
      connections: config.max,
      pipelining: config.disablereuse ? 0 : 1,
      keepAliveTimeout: config.ttl,
      keepAliveMaxTimeout: config.ttl,
      headersTimeout: config.timeout,
      bodyTimeout: config.timeout,
      // Backends such as Tomcat may send large cookies: allow more than undici's 16 KiB default.
      maxHeaderSize: 64 * 1024,
      connect: preciseConnector(config.connectiontimeout, config.keepalive),
    });
    // Connection errors are reported per request; an 'error' without a listener must not crash.
    this.pool.on('connectionError', () => {});
  }

  request(req: BackendRequest): Promise<BackendResponse> {
    return this.send(req, null) as Promise<BackendResponse>;
  }

  /**
   * Send an Upgrade request for a tunnel. `req.headers` carries the client's Upgrade header;
   * undici writes `Connection: upgrade` and `Upgrade` itself.
   */
  upgrade(req: BackendRequest): Promise<UpgradeOutcome> {
    let protocol = 'websocket';
    const headers = req.headers.filter(([name, value]) => {
      if (name.length !== 7 || name.toLowerCase() !== 'upgrade') return true;
      protocol = value;
      return false;
    });
    return this.send({ ...req, headers, body: null }, protocol) as Promise<UpgradeOutcome>;
  }

  private send(req: BackendRequest, upgrade: string | null): Promise<BackendResponse | UpgradeOutcome> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new BackendError('connect', 'the member connector is closed (configuration reloaded)'));
        return;
      }
      if (req.signal.aborted) {
        reject(new BackendError('aborted', 'the client went away'));
        return;
      }
      const limited = this.config.acquire !== null;
      // With `acquire`, a slot is released when the attempt ends, but only if one was granted.
      const slot = { granted: false };
      const done = limited ? () => { if (slot.granted) this.releaseSlot(); } : noop;
      const handler = new ForwardHandler(req, resolve, reject, done, upgrade !== null);
      req.signal.addEventListener('abort', handler.onSignal, { once: true });
      const headers: string[] = [];
      for (const [name, value] of req.headers) headers.push(name, value);
      const dispatch = (): void => {
        try {
          this.pool.dispatch(
            { path: req.path, method: req.method, headers, body: req.body, upgrade, reset: this.config.disablereuse },
            handler as never,
          );
        } catch (err) {
          handler.onError(err as Error);
        }
      };
      if (!limited) {
        dispatch();
        return;
      }
      this.acquireSlot(handler, () => { slot.granted = true; dispatch(); });
    });
  }

  /** `acquire`: a slot within `acquire` ms, else kind 'acquire' (spec §4.1: 503, error state, failover). */
  private acquireSlot(handler: ForwardHandler, dispatch: () => void): void {
    if (this.active < this.config.max) {
      this.active++;
      dispatch();
      return;
    }
    let timer: NodeJS.Timeout | null = null;
    const waiter: SlotWaiter = {
      grant: () => {
        if (timer !== null) clearTimeout(timer);
        this.active++;
        dispatch();
      },
    };
    this.waiters.push(waiter);
    timer = setTimeout(() => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      // Not yet counted as active: the handler's done() must not release a slot.
      handler.abort(new BackendError('acquire', `no free connection to the member within acquire=${this.config.acquire} ms`));
    }, this.config.acquire!);
  }

  private releaseSlot(): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      this.active--;
      next.grant();
    } else {
      this.active--;
    }
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

function noop(): void {}

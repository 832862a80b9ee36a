/**
 * The HTTP member transport (mod_proxy_http's role), for http:// and https:// members: one undici
 * Pool per member, keep-alive connections, requests sent through undici's low-level `dispatch`
 * API with a handler (attempt.ts) whose body goes from undici's parser straight into the
 * consumer's sink.
 *
 * Member settings (apache-semantics §7.2) map to the pool like this:
 * - `max` → connections, and the member's connection slots (slots.ts); `disablereuse` →
 *   pipelining 0 (a connection per request);
 * - `ttl` → idle connections are closed after it (default 4 s: below the usual backend
 *   keep-alive timeouts, so the pool drops a connection before the backend does and the
 *   "request sent on a connection the backend is closing" race stays rare);
 * - `connectiontimeout` → connect timeout (connect.ts); `timeout` → response-head and body-read timeouts;
 * - `keepalive` → TCP SO_KEEPALIVE on member sockets;
 * - `acquire` → wait at most that long for a free connection slot, else kind 'acquire'.
 *
 * https:// members (tls/member.ts has the SSLProxy* semantics): the pool keeps TLS connections
 * alive like plain ones and resumes TLS sessions when it opens new ones; SNI is the host the
 * request's Host header names (the member's, or the client's with preservehost), and undici
 * opens a new connection when that name changes, as httpd does.
 */
import { createHash } from 'node:crypto';
import { Pool } from 'undici';
import type { MemberConfig, MemberTlsConfig } from '../../config/types.js';
import { memberHostHeader } from '../../proxy/headers.js';
import { DEFAULT_MEMBER_TLS } from '../../tls/member.js';
import { BackendError, type Attempt, type MemberConnector, type MemberResponse, type UpgradeOutcome } from '../connector.js';
import { ConnectionSlots, type SlotWaiter } from '../slots.js';
import { HttpAttempt, type Settle } from './attempt.js';
import { preciseConnector } from './connect.js';

/** The TLS settings, files' contents included, as a short digest: a renewed CA or client certificate needs new connections. */
function tlsDigest(t: MemberTlsConfig | undefined): string | null {
  return t === undefined ? null : createHash('sha256').update(JSON.stringify(t)).digest('base64url');
}

/** Connection-level settings: a change of any of these needs a new connector (reload). */
export function httpConnectionSettings(c: MemberConfig): string {
  return JSON.stringify([c.scheme, c.host, c.port, c.timeout, c.connectiontimeout, c.max, c.ttl, c.disablereuse, c.acquire, c.keepalive, tlsDigest(c.tls)]);
}

interface DispatchOptions {
  path: string;
  method: string;
  headers: string[];
  body: Attempt['body'];
  upgrade: string | null;
  reset: boolean;
}

export class HttpConnector implements MemberConnector {
  readonly config: MemberConfig;
  private readonly pool: Pool;
  private readonly slots: ConnectionSlots;
  /** The member's own Host header value (host[:port]), for requests without ProxyPreserveHost. */
  private readonly memberHost: string;
  private closed = false;
  private readonly releaseSlot = (): void => this.slots.release();

  constructor(config: MemberConfig) {
    this.config = config;
    const secure = config.scheme === 'https';
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const origin = `${secure ? 'https' : 'http'}://${host}:${config.port}`;
    this.memberHost = memberHostHeader(config.host, config.port, secure ? 443 : 80);
    this.slots = new ConnectionSlots(config.max, config.acquire, origin);
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

  /** One attempt: resolves once the response head arrived; rejects with a BackendError. */
  send(attempt: Attempt): Promise<MemberResponse> {
    return new Promise((resolve, reject) => {
      this.start(attempt, { path: attempt.path, method: attempt.method, headers: this.headers(attempt), body: attempt.body, upgrade: null, reset: this.config.disablereuse }, resolve, reject);
    });
  }

  /**
   * An Upgrade request for a tunnel. `attempt.headers` carries the client's Upgrade header;
   * undici writes `Connection: upgrade` and `Upgrade` itself.
   */
  upgrade(attempt: Attempt): Promise<UpgradeOutcome> {
    let protocol = 'websocket';
    const headers = ['Host', this.host(attempt)];
    for (let i = 0; i < attempt.headers.length; i += 2) {
      const name = attempt.headers[i]!;
      if (name.length === 7 && name.toLowerCase() === 'upgrade') protocol = attempt.headers[i + 1]!;
      else headers.push(name, attempt.headers[i + 1]!);
    }
    return new Promise((resolve, reject) => {
      this.start(attempt, { path: attempt.path, method: attempt.method, headers, body: null, upgrade: protocol, reset: this.config.disablereuse }, resolve, reject);
    });
  }

  /** Host first (ProxyPreserveHost, apache-semantics §8), then the forwarded headers. */
  private headers(attempt: Attempt): string[] {
    const forwarded = attempt.headers;
    const out = new Array<string>(forwarded.length + 2);
    out[0] = 'Host';
    out[1] = this.host(attempt);
    for (let i = 0; i < forwarded.length; i++) out[i + 2] = forwarded[i]!;
    return out;
  }

  private host(attempt: Attempt): string {
    return attempt.preserveHost && attempt.clientHost !== null ? attempt.clientHost : this.memberHost;
  }

  /** Take a connection slot (or wait for one, slots.ts), then dispatch. */
  private start(attempt: Attempt, options: DispatchOptions, settle: Settle, reject: (e: BackendError) => void): void {
    if (this.closed) return reject(new BackendError('connect', 'the member connector is closed (configuration reloaded)'));
    if (attempt.client.aborted) return reject(new BackendError('aborted', 'the client went away'));
    if (this.slots.tryTake()) {
      const h = new HttpAttempt(attempt, settle, reject, options.upgrade !== null, this.releaseSlot);
      attempt.client.watch(h);
      this.dispatch(options, h);
      return;
    }
    // Every slot is taken: queue. The attempt releases its slot when done, or leaves the queue
    // when it ends while waiting (client gone, acquire ran out).
    let holds = false;
    const waiter: SlotWaiter = {
      granted: () => {
        holds = true;
        this.dispatch(options, h);
      },
      refused: (err) => h.abort(err),
    };
    const h = new HttpAttempt(attempt, settle, reject, options.upgrade !== null, () => {
      if (holds) this.slots.release();
      else this.slots.leave(waiter);
    });
    attempt.client.watch(h);
    this.slots.take(waiter);
  }

  private dispatch(options: DispatchOptions, handler: HttpAttempt): void {
    try {
      this.pool.dispatch(options, handler as never);
    } catch (err) {
      handler.onError(err as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // Requests already waiting for a slot are served first, as undici's own queue would be.
    await this.slots.noneWaiting();
    await this.pool.close();
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.slots.close(new BackendError('connect', 'the member connector is closed'));
    await this.pool.destroy();
  }
}

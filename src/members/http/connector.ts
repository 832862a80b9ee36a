/**
 * The HTTP member transport (mod_proxy_http's role), for http:// and https:// members: a pool of
 * keep-alive connections per member (connection.ts), each carrying one request at a time, the
 * request head written and the response parsed by stickyd itself (request-head.ts, llhttp.ts),
 * the response body handed from the parser straight into the consumer's sink (attempt.ts).
 *
 * Until December 2026 this was an undici Pool. In a minimal node:http proxy, undici's client was
 * about a quarter of the CPU per request, and a plain client instead took that much off (measured
 * paired, README "Performance"); this transport also knows which connection a request went out
 * on, without diagnostics-channel tricks.
 *
 * Member settings (apache-semantics §7.2) map to the pool like this:
 * - `max` → the member's connection slots (slots.ts), and so its connections; `disablereuse` →
 *   "connection: close" and a connection per request;
 * - `ttl` → idle connections are closed after it (default 4 s: below the usual backend
 *   keep-alive timeouts, so the pool drops a connection before the backend does and the
 *   "request sent on a connection the backend is closing" race stays rare);
 * - `connectiontimeout` → connect timeout (connect.ts); `timeout` → response-head, send and
 *   body-read timeouts (connection.ts);
 * - `keepalive` → TCP SO_KEEPALIVE on member sockets;
 * - `acquire` → wait at most that long for a free connection slot, else kind 'acquire'.
 *
 * https:// members (tls/member.ts has the SSLProxy* semantics): connections stay alive like plain
 * ones and resume TLS sessions when new ones open; SNI is the host the request's Host header
 * names (the member's, or the client's with preservehost), and a request for another name gets a
 * connection opened for that name, as httpd does.
 */
import { createHash } from 'node:crypto';
import type { MemberConfig, MemberTlsConfig } from '../../config/types.js';
import { memberHostHeader } from '../../proxy/headers.js';
import { DEFAULT_MEMBER_TLS, MemberTlsError } from '../../tls/member.js';
import { BackendError, isDnsFailure, type Attempt, type MemberConnector, type MemberResponse, type UpgradeOutcome } from '../connector.js';
import { ConnectionSlots, type SlotWaiter } from '../slots.js';
import { HttpAttempt, type Settle } from './attempt.js';
import { MemberDialer, serverName } from './connect.js';
import { MemberConnection, type ConnectionOwner, type OutgoingRequest } from './connection.js';
import { headerContentLength, requestHead } from './request-head.js';

/** The TLS settings, files' contents included, as a short digest: a renewed CA or client certificate needs new connections. */
function tlsDigest(t: MemberTlsConfig | undefined): string | null {
  return t === undefined ? null : createHash('sha256').update(JSON.stringify(t)).digest('base64url');
}

/** Connection-level settings: a change of any of these needs a new connector (reload). */
export function httpConnectionSettings(c: MemberConfig): string {
  return JSON.stringify([c.scheme, c.host, c.port, c.timeout, c.connectiontimeout, c.max, c.ttl, c.disablereuse, c.acquire, c.keepalive, tlsDigest(c.tls)]);
}

/**
 * A connection that could not be opened, as the attempt loop sees it: nothing was sent. A TLS
 * handshake that failed once the TCP connection stood is 'tls' (500, no failover, as httpd); a
 * name that does not resolve is 'dns' (the same).
 */
function connectFailure(err: Error): BackendError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const msg = `${err.message}${code ? ` (${code})` : ''}`;
  if (err instanceof MemberTlsError) return new BackendError('tls', `TLS handshake with the member failed: ${msg}`, { cause: err });
  if (isDnsFailure(code)) return new BackendError('dns', `cannot resolve the member's host name: ${msg}`, { cause: err });
  return new BackendError('connect', `cannot connect to the member: ${msg}`, { cause: err });
}

export class HttpConnector implements MemberConnector, ConnectionOwner {
  readonly config: MemberConfig;
  private readonly dialer: MemberDialer;
  private readonly slots: ConnectionSlots;
  private readonly secure: boolean;
  /** The member's own Host header value (host[:port]), for requests without ProxyPreserveHost. */
  private readonly memberHost: string;
  /** Every open connection, and the idle ones among them (the most recently used last). */
  private readonly connections = new Set<MemberConnection>();
  private readonly idle: MemberConnection[] = [];
  private closed = false;
  /** Told when the last connection is gone (graceful close). */
  private drained: (() => void) | null = null;
  private readonly releaseSlot = (): void => this.slots.release();

  constructor(config: MemberConfig) {
    this.config = config;
    this.secure = config.scheme === 'https';
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const origin = `${this.secure ? 'https' : 'http'}://${host}:${config.port}`;
    this.memberHost = memberHostHeader(config.host, config.port, this.secure ? 443 : 80);
    this.slots = new ConnectionSlots(config.max, config.acquire, origin);
    this.dialer = new MemberDialer(config.host, config.port, config.connectiontimeout, config.keepalive, this.secure ? (config.tls ?? DEFAULT_MEMBER_TLS) : null);
  }

  /** One attempt: resolves once the response head arrived; rejects with a BackendError. */
  send(attempt: Attempt): Promise<MemberResponse> {
    return new Promise((resolve, reject) => this.start(attempt, attempt.headers, null, resolve, reject));
  }

  /**
   * An Upgrade request for a tunnel. `attempt.headers` carries the client's Upgrade header; the
   * request head gets `connection: upgrade` and that Upgrade, written by the transport.
   */
  upgrade(attempt: Attempt): Promise<UpgradeOutcome> {
    let protocol = 'websocket';
    const headers: string[] = [];
    for (let i = 0; i < attempt.headers.length; i += 2) {
      const name = attempt.headers[i]!;
      if (name.length === 7 && name.toLowerCase() === 'upgrade') protocol = attempt.headers[i + 1]!;
      else headers.push(name, attempt.headers[i + 1]!);
    }
    return new Promise((resolve, reject) => this.start(attempt, headers, protocol, resolve, reject));
  }

  /** Take a connection slot (or wait for one, slots.ts), then send on a pooled or new connection. */
  private start(attempt: Attempt, headers: readonly string[], upgrade: string | null, settle: Settle, reject: (e: BackendError) => void): void {
    if (this.closed) return reject(new BackendError('connect', 'the member connector is closed (configuration reloaded)'));
    if (attempt.client.aborted) return reject(new BackendError('aborted', 'the client went away'));
    // Host first (ProxyPreserveHost, apache-semantics §8). HEAD and Upgrade requests close their
    // connection afterwards, as they did through undici: a member that sends a body after HEAD
    // anyway, or one that switches protocols, cannot spoil a pooled connection.
    const host = attempt.preserveHost && attempt.clientHost !== null ? attempt.clientHost : this.memberHost;
    const close = this.config.disablereuse || upgrade !== null || attempt.method === 'HEAD';
    const request: OutgoingRequest = {
      method: attempt.method,
      head: requestHead(attempt.method, attempt.path, host, upgrade !== null ? 'upgrade' : close ? 'close' : 'keep-alive', upgrade, headers),
      body: attempt.body,
      bodyLength: attempt.body === null ? null : (attempt.bodyLength ?? headerContentLength(headers)),
      upgrade: upgrade !== null,
      close,
    };
    const servername = this.secure ? serverName(host, this.config.host) : '';
    if (this.slots.tryTake()) {
      const h = new HttpAttempt(attempt, settle, reject, upgrade !== null, this.releaseSlot);
      attempt.client.watch(h);
      this.dispatch(h, request, servername);
      return;
    }
    // Every slot is taken: queue. The attempt releases its slot when done, or leaves the queue
    // when it ends while waiting (client gone, acquire ran out).
    let holds = false;
    const waiter: SlotWaiter = {
      granted: () => {
        holds = true;
        this.dispatch(h, request, servername);
      },
      refused: (err) => h.abort(err),
    };
    const h = new HttpAttempt(attempt, settle, reject, upgrade !== null, () => {
      if (holds) this.slots.release();
      else this.slots.leave(waiter);
    });
    attempt.client.watch(h);
    this.slots.take(waiter);
  }

  /** The attempt holds a slot: send on an idle connection for its server name, or open one. */
  private dispatch(h: HttpAttempt, request: OutgoingRequest, servername: string): void {
    if (h.over) return;
    const pooled = this.takeIdle(servername);
    if (pooled !== null) return h.start(pooled, request);
    const socket = this.dialer.dial(servername, (err, s) => {
      h.onAbandon = null;
      if (err !== null) return h.abort(connectFailure(err));
      if (h.over) return s!.destroy();
      const c = new MemberConnection(s!, servername, this, this.config.timeout, this.config.ttl);
      this.connections.add(c);
      h.start(c, request);
    });
    h.onAbandon = () => socket.destroy();
  }

  /** The most recently used idle connection for `servername`; null: a new one must be opened. */
  private takeIdle(servername: string): MemberConnection | null {
    const idle = this.idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const c = idle[i]!;
      if (c.servername !== servername) continue;
      idle.splice(i, 1);
      if (c.usable) return c;
      c.close();
    }
    // Connections for other names would keep the member above `max` with the new one: the
    // longest idle gives way.
    if (idle.length > 0 && this.connections.size >= this.config.max) idle.shift()!.close();
    return null;
  }

  // ConnectionOwner

  released(c: MemberConnection): void {
    if (this.closed) c.close();
    else this.idle.push(c);
  }

  gone(c: MemberConnection): void {
    this.connections.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.connections.size === 0 && this.drained !== null) {
      const drained = this.drained;
      this.drained = null;
      drained();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // Requests already waiting for a slot are served first, as a pool serves its queue before it closes.
    await this.slots.noneWaiting();
    for (const c of this.idle.splice(0)) c.close();
    if (this.connections.size === 0) return;
    // Busy connections close as their requests end (released() while closed).
    await new Promise<void>((resolve) => (this.drained = resolve));
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.slots.close(new BackendError('connect', 'the member connector is closed'));
    this.idle.length = 0;
    for (const c of [...this.connections]) c.close();
  }
}

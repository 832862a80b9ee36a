/**
 * The contract between the attempt loop and a member's transport: one attempt of one request →
 * the member's response head and a body to attach, or a BackendError. mod_proxy has a scheme
 * handler per protocol (mod_proxy_http, mod_proxy_ajp); stickyd has a connector per member, HTTP
 * (members/http/, its own transport on node's llhttp) or AJP/1.3 (members/ajp/), both behind this one interface, as
 * Caddy's reverse proxy has one `Transport http.RoundTripper` with fastcgi as a sibling. The
 * attempt loop never asks which protocol a member speaks. Both report failures as a BackendError
 * whose `kind` tells the attempt loop what Apache would do (apache-semantics §4.1, §4.2).
 */
import type { Duplex, Readable } from 'node:stream';

/** Facts about the client connection, forwarded as headers (HTTP) or request attributes (AJP). */
export interface ClientInfo {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The client connection is TLS (a TLS listener): AJP's is_ssl, Tomcat's request.isSecure(). */
  secure: boolean;
  /** `ServerName`, for AJP's server_name and X-Forwarded-Server. */
  serverName: string;
}

/** Told when the client goes away: the owner of the member request in flight. */
export interface ClientGoneListener {
  clientGone(): void;
}

/**
 * The client's side of a request, as the request path hands it to a connector (and to the
 * response relay): whether the client went away, and one listener to tell when it does. It
 * stands in for an AbortSignal, which costs an AbortController, an EventTarget dispatch and about
 * 1 KiB for every request, while almost no request is ever aborted; code that waits on timers
 * and sockets at once (AJP's pool and CPing, the balancer `timeout`) asks for `signal`, made on
 * first use.
 */
export interface ClientAbort {
  readonly aborted: boolean;
  /** `listener` is told (once) when the client goes away; it replaces the previous one. */
  watch(listener: ClientGoneListener): void;
  /** Stop telling `listener` (no-op when another one has taken its place). */
  unwatch(listener: ClientGoneListener): void;
  /** An AbortSignal that fires when the client goes away (made on first use). */
  readonly signal: AbortSignal;
}

/**
 * httpd's per-worker byte counters (worker->s->transferred / read), read by lbmethod bytraffic:
 * the member, whose counters live in the shared scoreboard, so they only grow by atomic adds.
 * Each connector adds what its httpd module counts (apache-semantics §3.4): mod_proxy_http every
 * byte written to the member and each status line read; mod_proxy_ajp the body bytes only, both
 * ways. The response body's bytes are counted by whoever relays it.
 */
export interface TrafficCounter {
  addTransferred(bytes: number): void;
  addRead(bytes: number): void;
}

/** One attempt of one request on one member, after mount mapping: what every connector is given. */
export interface Attempt {
  method: string;
  /** Protocol version of the client request ("1.1", "1.0"); AJP forwards it, HTTP always sends 1.1. */
  httpVersion: string;
  /** Path and query to send: the member's basepath + the rest of the request path + "?query". */
  path: string;
  /**
   * The request headers as a proxy forwards them (HTTP), flat [name, value, ...]: hop-by-hop
   * headers removed, X-Forwarded-* set, without Host: the connector puts the Host its member
   * gets first (ProxyPreserveHost, apache-semantics §8).
   */
  headers: readonly string[];
  /** The client's Host header (null: none), for ProxyPreserveHost. */
  clientHost: string | null;
  /** ProxyPreserveHost: send the client's Host rather than the member's. */
  preserveHost: boolean;
  /**
   * The client's headers exactly as received (node's rawHeaders), for AJP: mod_proxy_ajp sends
   * r->headers_in unchanged (the client's Host, no X-Forwarded-*; the client's address travels
   * as an attribute).
   */
  clientHeaders: readonly string[];
  /**
   * The body for this attempt, or null when the request has none. The attempt loop hands every
   * attempt a fresh stream that replays what earlier attempts consumed and then continues reading
   * from the client, so a failover after a failed connect sends the whole body.
   */
  body: Readable | null;
  /** Content-Length of the body when the client gave one; null when chunked or no body. */
  bodyLength: number | null;
  /** The client: when it goes away, the member request is aborted. */
  client: ClientAbort;
  info: ClientInfo;
  /**
   * The session route the request asked for (httpd's "session-route" note, set when a sticky route
   * was extracted), "" when none; AJP sends it as the jvm_route attribute.
   */
  route: string;
  /** Where the attempt's bytes are counted for bytraffic (the member); null: not counted. */
  traffic: TrafficCounter | null;
}

/** Where a member's response body goes: each chunk as the transport hands it over. */
export interface BodySink {
  /** A chunk of the body; false: the sink is full, the member's socket pauses until `resume()`. */
  write(chunk: Buffer): boolean;
  /** The body is complete. */
  end(): void;
  /**
   * Optional: the whole body, complete, in one chunk (a small response that arrived with its
   * head): instead of write() then end(), so that it can go out in one write as well.
   */
  whole?(chunk: Buffer): void;
  /** The member failed mid-body (reset, read timeout, invalid framing): the body is incomplete. */
  fail(err: Error): void;
}

/**
 * A member's response body, delivered straight into one sink without a stream in between: a
 * Readable per response (push, buffering, 'data'/'end' on later ticks) was a fifth of the proxy's
 * CPU.
 */
export interface ResponseBody {
  /** Deliver the body to `sink` (once): what arrived already at once, the rest as it comes. */
  attach(sink: BodySink): void;
  /** The sink has room again. */
  resume(): void;
  /** The consumer drops the body: abort the member request unless the body is complete. */
  destroy(err?: Error): void;
}

/** A member's response: head parsed, body to be attached. */
export interface MemberResponse {
  status: number;
  statusText: string;
  /**
   * Response headers in order, flat [name, value, ...] as node's writeHead takes them (no pairs
   * to build and take apart again on every response), repeated names (Set-Cookie) kept as
   * separate entries.
   */
  headers: string[];
  body: ResponseBody;
  /**
   * The request went out on a pooled connection that had served before. httpd resets a member's
   * error_time and retries only when it opens a connection (ap_proxy_connect_backend,
   * apache-semantics §4.3), so the attempt loop does that only when this is false.
   */
  reusedConnection: boolean;
}

/** An Upgrade request's result: the member switched protocols, or answered normally. */
export type UpgradeOutcome =
  | {
      kind: 'upgraded';
      status: number;
      /** flat [name, value, ...] */
      headers: string[];
      /** The member connection, paused (pipe or resume it), with what followed the 101 still to be read. */
      socket: Duplex;
      reusedConnection: boolean;
    }
  | { kind: 'response'; response: MemberResponse };

/**
 * Why one attempt failed, in the terms of apache-semantics §4.1/§4.2:
 * - `connect`: refused, unreachable, or connect timeout: nothing was sent. → member in error, failover (503 if none left).
 * - `dns`: the member's host name cannot be resolved. httpd's handler returns 500 here (apache-semantics §4.1):
 *   → member in error, **no** failover, 500 "Proxy Error".
 * - `tls`: the TCP connection stood but the TLS handshake with an https:// member failed (bad or
 *   unverifiable certificate, wrong name, no common protocol, not TLS at all). httpd returns 500
 *   "Error during SSL Handshake with remote server" (mod_ssl's SSL_connect_rv note) → like `dns`.
 * - `acquire`: no pool slot within `acquire`. Nothing was sent. → same as connect.
 * - `ping`: CPing (AJP) or 100-continue probe got no answer within `ping`. Nothing was sent. → same as connect.
 * - `timeout`: no response (status line / AJP headers) within the member `timeout`. → 502; error state only with failontimeout.
 * - `send-timeout`: writing the request body to the member timed out. → 504.
 * - `closed`: the member closed the connection before a response. → 502 (error state per apache-semantics §4.1 rules).
 * - `protocol`: the member sent something that is not a valid response. → 502.
 * - `aborted`: the client went away; nothing is answered.
 */
export type BackendErrorKind = 'connect' | 'dns' | 'tls' | 'acquire' | 'ping' | 'timeout' | 'send-timeout' | 'closed' | 'protocol' | 'aborted';

/** getaddrinfo's codes for a host name that does not resolve: kind 'dns', whatever the transport. */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME']);

export function isDnsFailure(code: string | undefined): boolean {
  return code !== undefined && DNS_CODES.has(code);
}

export class BackendError extends Error {
  readonly kind: BackendErrorKind;
  /** True when the failure happened on a connection that had served an earlier request (keep-alive race; no §4.3 reset either). */
  readonly reusedConnection: boolean;

  constructor(kind: BackendErrorKind, message: string, options: { cause?: unknown; reusedConnection?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackendError';
    this.kind = kind;
    this.reusedConnection = options.reusedConnection ?? false;
  }

  /** Nothing reached the member, so the attempt loop may fail over (apache-semantics §4.6). */
  get nothingSent(): boolean {
    return this.kind === 'connect' || this.kind === 'acquire' || this.kind === 'ping';
  }
}

/** The transport to one member. One instance per member URL; it survives config reloads while the member exists. */
export interface MemberConnector {
  /** One attempt. Resolves once the response head arrived; rejects with a BackendError. */
  send(attempt: Attempt): Promise<MemberResponse>;
  /**
   * Optional capability: an Upgrade request for a tunnel (mod_proxy_http's `upgrade=`). A
   * transport without it (AJP has no protocol switch) cannot take one.
   */
  upgrade?(attempt: Attempt): Promise<UpgradeOutcome>;
  /** Stop accepting requests; resolve once in-flight requests finished and connections are closed. */
  close(): Promise<void>;
  /** Close everything now. */
  destroy(): Promise<void>;
}

/**
 * The ClientAbort of a request that no client connection waits for (health checks, tools,
 * tests): it goes away when `signal` fires.
 */
export class SignalClient implements ClientAbort {
  private listener: ClientGoneListener | null = null;

  constructor(readonly signal: AbortSignal) {}

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

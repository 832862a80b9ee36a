/**
 * What the attempt loop needs from a member's transport: one try of one request. mod_proxy has a
 * scheme handler per protocol (mod_proxy_http, mod_proxy_ajp); stickyd has a connector per member:
 * HTTP (undici Pool, proxy/http-connector.ts) or AJP/1.3 (ajp/connector.ts). Both report failures
 * as a BackendError whose `kind` tells the attempt loop what Apache would do (apache-semantics §4.1, §4.2).
 */
import type { Readable } from 'node:stream';

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
 * The client's side of a request, as the request path hands it to an HTTP member's connector (and
 * to the response relay): whether the client went away, and one listener to tell when it does.
 * It stands in for an AbortSignal, which costs an AbortController, an EventTarget dispatch and
 * about 1 KiB for every request, while almost no request is ever aborted; code that needs a real
 * signal (AJP, waits) asks the Exchange for one, which makes it on first use.
 */
export interface ClientAbort {
  readonly aborted: boolean;
  /** `listener` is told (once) when the client goes away; it replaces the previous one. */
  watch(listener: ClientGoneListener): void;
  /** Stop telling `listener` (no-op when another one has taken its place). */
  unwatch(listener: ClientGoneListener): void;
}

/** One request as it goes to one member, after mount mapping and header rewriting. */
export interface BackendRequest {
  method: string;
  /** Protocol version of the client request ("1.1", "1.0"); AJP forwards it, HTTP always sends 1.1. */
  httpVersion: string;
  /** Path and query to send: the member's basepath + the rest of the request path + "?query". */
  path: string;
  /** Headers to send, hop-by-hop headers already removed, Host and X-Forwarded-* already set. Order is kept; names as the client sent them. */
  headers: Array<[name: string, value: string]>;
  /**
   * The body for this attempt, or null when the request has none. The attempt loop hands every
   * attempt a fresh stream that replays what earlier attempts consumed and then continues reading
   * from the client, so a failover after a failed connect sends the whole body.
   */
  body: Readable | null;
  /** Content-Length of the body when the client gave one; null when chunked or no body. */
  bodyLength: number | null;
  client: ClientInfo;
  /**
   * The session route the request asked for (httpd's "session-route" note, set when a sticky route
   * was extracted), "" when none; AJP sends it as the jvm_route attribute.
   */
  route: string;
  /** Aborted when the client goes away: the connector must abort the member request. */
  signal: AbortSignal;
}

export interface BackendResponse {
  status: number;
  statusText: string;
  /** Response headers in order, repeated names (Set-Cookie) kept as separate entries. */
  headers: Array<[name: string, value: string]>;
  /** The response body; ends when the member's response ends. Destroy it to abort. */
  body: Readable;
  /**
   * The request went out on a pooled connection that had served before. httpd resets a member's
   * error_time and retries only when it opens a connection (ap_proxy_connect_backend, apache-semantics §4.3),
   * so the attempt loop does that only when this is not true. Absent: a new connection.
   */
  reusedConnection?: boolean;
}

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
  request(req: BackendRequest): Promise<BackendResponse>;
  /** Stop accepting requests; resolve once in-flight requests finished and connections are closed. */
  close(): Promise<void>;
  /** Close everything now. */
  destroy(): Promise<void>;
}

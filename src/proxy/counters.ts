/**
 * Counters of the request path, for the metrics endpoint: malformed client input is answered and
 * counted (never forwarded), member failures are counted by kind. Plain numbers, incremented in
 * place: cheap enough for the hot path.
 */
import type { BackendErrorKind } from '../members/connector.js';

/** Why the client side refused or dropped a request. */
export type ClientErrorReason =
  | 'bad-request' // 400: a request line httpd refuses, unparsable or ambiguous framing (CL+TE, bad chunking, ...)
  | 'header-too-large' // 431
  | 'timeout' // 408: RequestReadTimeout (header or body too slow) / requesttimeout
  | 'bad-path' // 400/404 from the path rules (bad %-escape, %2F, "..")
  | 'reset'; // the client reset the connection mid-request

export class ProxyCounters {
  /** Requests that reached the proxy handler (after parsing). */
  requests = 0;
  /** Tunnels (Upgrade) established. */
  tunnels = 0;
  readonly clientErrors: Record<ClientErrorReason, number> = { 'bad-request': 0, 'header-too-large': 0, timeout: 0, 'bad-path': 0, reset: 0 };
  readonly backendErrors: Record<BackendErrorKind, number> = {
    connect: 0,
    dns: 0,
    tls: 0,
    acquire: 0,
    ping: 0,
    timeout: 0,
    'send-timeout': 0,
    closed: 0,
    protocol: 0,
    aborted: 0,
  };
}

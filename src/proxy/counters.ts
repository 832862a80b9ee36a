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
  | 'reset' // the client reset the connection mid-request
  | 'tls-handshake' // a TLS handshake that failed (no common protocol or cipher, a bad ClientHello, ...)
  | 'tls-timeout' // a TLS handshake not finished within RequestReadTimeout handshake=
  | 'plain-http' // plain HTTP sent to a TLS listener (answered 400)
  | 'h2-rapid-reset' // an HTTP/2 connection closed for resetting too many streams (server.http2.maxresets)
  | 'h2-flood' // an HTTP/2 connection closed for a flood: PING/SETTINGS (maxcontrolframes), CONTINUATION, unacknowledged frames
  | 'h2-protocol'; // an HTTP/2 connection closed for another protocol error

export class ProxyCounters {
  /** Requests that reached the proxy handler (after parsing). */
  requests = 0;
  /** Tunnels (Upgrade) established. */
  tunnels = 0;
  readonly clientErrors: Record<ClientErrorReason, number> = {
    'bad-request': 0,
    'header-too-large': 0,
    timeout: 0,
    'bad-path': 0,
    reset: 0,
    'tls-handshake': 0,
    'tls-timeout': 0,
    'plain-http': 0,
    'h2-rapid-reset': 0,
    'h2-flood': 0,
    'h2-protocol': 0,
  };
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

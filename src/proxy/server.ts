/**
 * What the HTTP/1.x server (http1/server.ts, every listener's, plain and TLS) shares with the
 * listener: the handlers a request goes to, the refusals written straight on a client socket
 * (answerClientError, refuseInput, refuseConnect, rawErrorResponse), how often request timeouts
 * are checked, and listen().
 *
 * The refusals, as node:http answered them: node's parser (llhttp) runs in its strict mode
 * (`insecureHTTPParser` is never enabled), so ambiguous framing (Content-Length together with
 * Transfer-Encoding, repeated or malformed Content-Length, Transfer-Encoding other than a final
 * "chunked", bad chunk sizes, bare LF line ends, obs-fold) fails to parse and is answered 400
 * before any handler sees it: nothing of such a request is ever forwarded. Request lines httpd's
 * strict parser refuses get 400 from ClientInput (client-input.ts) before the parser sees them.
 * Oversized header blocks get 431, a chunk extension too long 413, a header block or a request
 * that does not arrive in time 408. Every refusal is counted (ProxyCounters.clientErrors).
 */
import { STATUS_CODES } from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import { socketHsts } from '../edge/messages.js';
import type { ClientRequest, ClientResponse } from './client-messages.js';
import type { ClientErrorReason, ProxyCounters } from './counters.js';
import { errorPage } from './error-page.js';

export interface ListenerHandlers {
  /** A parsed request; `keepalives` = requests this connection served before (httpd's c->keepalives). */
  request(req: ClientRequest, res: ClientResponse, keepalives: number): void;
  /** A request with `Connection: upgrade` + `Upgrade`: the parser hands over the raw socket. */
  upgrade(req: ClientRequest, socket: Duplex, head: Buffer): void;
  /** A request the listener answered itself on the socket (CONNECT's 405), for the access log. */
  answered?(req: ClientRequest, res: null, answer: { status: number; bytes: number; startMs: number; started: number }): void;
}

/**
 * How often the HTTP/1.x server checks `requesttimeout` (as node checks its requestTimeout): the
 * timeout is only as exact as this, so a fraction of it (bounded: checks walk every connection).
 */
export function checkingInterval(s: ServerConfig): number {
  if (!(s.requesttimeout > 0)) return 30_000;
  return Math.min(1000, Math.max(50, Math.floor(s.requesttimeout / 10)));
}

/**
 * A raw HTTP/1.1 error response for a connection the parser gave up on, or a request refused
 * before any response object exists. `hsts`: the TLS listener's Strict-Transport-Security, which
 * httpd's `Header always set` puts on such error responses too (mod_headers' error filter).
 */
export function rawErrorResponse(status: number, hsts: string | null = null): string {
  const body = errorPage(status);
  const sts = hsts === null ? '' : `Strict-Transport-Security: ${hsts}\r\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${sts}Content-Type: text/html; charset=iso-8859-1\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Map node's client errors to a status and a counter. */
function classifyClientError(code: string | undefined): { status: number; reason: ClientErrorReason } | null {
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'header-too-large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'timeout' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, reason: 'bad-request' };
    default:
      return { status: 400, reason: 'bad-request' };
  }
}

/** ClientInput refused a request line (400) or the header block came too slowly (408). */
export function refuseInput(socket: Duplex, counters: ProxyCounters, status: 400 | 408): void {
  // Not writable: the parser refused the bytes before it, answered and counted that.
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  counters.clientErrors[status === 408 ? 'timeout' : 'bad-request']++;
  socket.end(rawErrorResponse(status, socketHsts(socket)));
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * CONNECT is a forward-proxy method; a reverse proxy (ProxyRequests Off) does not serve it.
 * Counted and logged like any request (httpd logs its 405 too).
 */
export function refuseConnect(req: ClientRequest, socket: Duplex, handlers: ListenerHandlers, counters: ProxyCounters): void {
  const startMs = Date.now();
  const started = performance.now();
  counters.requests++;
  socket.on('error', () => {});
  socket.end(rawErrorResponse(405, socketHsts(socket)));
  handlers.answered?.(req, null, { status: 405, bytes: Buffer.byteLength(errorPage(405)), startMs, started });
}

/**
 * A connection the parser gave up on (or that failed): counted, answered with a raw error
 * response and closed, unless a response of ours has started on it (`inFlight`), then just cut.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex, inFlight: { headersSent?: boolean } | null, counters: ProxyCounters): void {
  socket.on('error', () => {});
  const c = classifyClientError(err.code);
  if (c === null) {
    counters.clientErrors.reset++;
    socket.destroy();
    return;
  }
  counters.clientErrors[c.reason]++;
  if (!socket.writable || (inFlight !== null && inFlight.headersSent === true)) {
    socket.destroy();
    return;
  }
  socket.end(rawErrorResponse(c.status, socketHsts(socket)));
  // Do not wait for the client to close its side.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * Start listening; resolves with the bound address. `reusePort`: SO_REUSEPORT, so that each worker
 * thread has a listening socket of its own on the same address and the kernel spreads new
 * connections over them (Linux; node ≥ 22.12).
 */
export function listen(server: net.Server, address: string, port: number, reusePort = false): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port, host: address, reusePort }, () => {
      server.off('error', onError);
      // Errors after listening (e.g. EMFILE on accept) must not crash the daemon.
      server.on('error', () => {});
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * The client side of TLS listeners: one node:http server per `listen` entry, with the limits of
 * `server:` (core and mod_reqtimeout equivalents). Plain listeners have a leaner server of their
 * own with the same behaviour (http1/server.ts), which shares the refusals below
 * (answerClientError, refuseInput, refuseConnect) and ClientInput.
 *
 * Every connection's bytes pass a ClientInput (client-input.ts) before node's parser: request
 * lines httpd's strict parser refuses get 400 and never reach the parser (node's takes some of
 * them, e.g. a line without HTTP version, as HTTP/0.9 with headers), and the header block must
 * arrive at RequestReadTimeout's rate (`server.requestreadtimeout.header`), else 408. The body's
 * rate is the request handler's to enforce (body-prefetch.ts), with `requesttimeout` as node's
 * upper bound for a whole request.
 *
 * Node's parser (llhttp) runs in its strict mode: `insecureHTTPParser` is never enabled, so
 * ambiguous framing (Content-Length together with Transfer-Encoding, repeated or malformed
 * Content-Length, Transfer-Encoding other than a final "chunked", bad chunk sizes, bare LF line
 * ends, obs-fold) fails to parse and is answered 400 before any handler sees it: nothing of such a
 * request is ever forwarded. Oversized header blocks get 431, a header block or a request that
 * does not arrive in time 408. Every refusal is counted (ProxyCounters.clientErrors).
 */
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServerConfig } from '../config/types.js';
import { ClientInput } from './client-input.js';
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

const kServed = Symbol('stickyd.requestsServed');
const kInput = Symbol('stickyd.clientInput');
/** MaxKeepAliveRequests of a listener (a reload changes it in place). */
const kMaxKeepAlive = Symbol('stickyd.maxKeepAliveRequests');
/** The `server:` settings new connections get (a reload changes them in place). */
const kSettings = Symbol('stickyd.serverSettings');
type Listener = http.Server & { [kMaxKeepAlive]?: number; [kSettings]?: ServerConfig };

/**
 * How often node checks its request timer: it is only as exact as this, so a fraction of it
 * (bounded: checks walk every connection).
 */
export function checkingInterval(s: ServerConfig): number {
  if (!(s.requesttimeout > 0)) return 30_000;
  return Math.min(1000, Math.max(50, Math.floor(s.requesttimeout / 10)));
}

/** A raw HTTP/1.1 error response for a connection node's parser gave up on. */
export function rawErrorResponse(status: number): string {
  const body = errorPage(status);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
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

/** node:http's request and response classes, when the listener extends them (edge/messages.ts). */
export interface ListenerClasses {
  IncomingMessage: typeof http.IncomingMessage;
  ServerResponse: typeof http.ServerResponse;
}

export function createListener(settings: ServerConfig, handlers: ListenerHandlers, counters: ProxyCounters, classes?: ListenerClasses): http.Server {
  const server = http.createServer({
    ...classes,
    maxHeaderSize: settings.maxheadersize,
    insecureHTTPParser: false,
    // The handler answers a missing Host itself, so that the refusal is counted like the others.
    requireHostHeader: false,
    joinDuplicateHeaders: false,
    connectionsCheckingInterval: checkingInterval(settings),
    ...timeouts(settings),
    keepAliveTimeout: settings.keepalivetimeout,
  });
  // MaxKeepAliveRequests is counted here rather than with node's maxRequestsPerSocket: node answers
  // requests past the limit with 503 and leaves the connection open, while httpd closes the
  // connection after the last allowed response, so a request pipelined behind it is never answered
  // (the client sends it again on a new connection).
  (server as Listener)[kMaxKeepAlive] = settings.maxkeepaliverequests;
  (server as Listener)[kSettings] = settings;

  // Registered after node's own 'connection' listener (the Server constructor's), which has put
  // its parser on the socket by now.
  server.on('connection', (socket: Socket & { [kInput]?: ClientInput }) => {
    const s = (server as Listener)[kSettings] ?? settings;
    const input = ClientInput.attach(socket, {
      maxHeadSize: s.maxheadersize,
      header: s.requestreadtimeout.header,
      refuse: (status) => refuseInput(socket, counters, status),
    });
    // node's parser was not where ClientInput looks for it (a node release that changed its
    // internals): never serve a connection unchecked.
    if (input === null) {
      counters.clientErrors['bad-request']++;
      socket.destroy();
      return;
    }
    socket[kInput] = input;
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as typeof req.socket & { [kServed]?: number; [kInput]?: ClientInput };
    const input = socket[kInput];
    if (input !== undefined) {
      input.requestStarted();
      res.on('close', () => input.requestEnded()); // once per response: 'on' spares once's wrapper
    }
    const served = socket[kServed] ?? 0;
    socket[kServed] = served + 1;
    const max = (server as Listener)[kMaxKeepAlive] ?? 0;
    if (max > 0 && served >= max) return; // pipelined past the limit: the connection closes after the last allowed response
    // The last allowed response says Connection: close, and node ends the connection after it.
    if (max > 0 && served + 1 >= max) res.shouldKeepAlive = false;
    handlers.request(req, res, served);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    handlers.upgrade(req, socket, head);
  });

  server.on('connect', (req: IncomingMessage, socket: Duplex) => refuseConnect(req, socket, handlers, counters));

  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    answerClientError(err, socket, inFlight ?? null, counters);
  });

  return server;
}

/** ClientInput refused a request line (400) or the header block came too slowly (408). */
export function refuseInput(socket: Duplex, counters: ProxyCounters, status: 400 | 408): void {
  // Not writable: the parser refused the bytes before it, answered and counted that.
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  counters.clientErrors[status === 408 ? 'timeout' : 'bad-request']++;
  socket.end(rawErrorResponse(status));
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
  socket.end(rawErrorResponse(405));
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
  socket.end(rawErrorResponse(c.status));
  // Do not wait for the client to close its side.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function timeouts(s: ServerConfig): { requestTimeout: number; headersTimeout: number } {
  // The header block's time is ClientInput's (RequestReadTimeout header=); node's own header
  // timer is only the bound for a whole request (node requires headersTimeout <= requestTimeout).
  return { requestTimeout: s.requesttimeout, headersTimeout: s.requesttimeout };
}

/**
 * Apply changed limits to a running server (reload). They take effect for new connections and
 * requests; the checking interval keeps the value the server was created with.
 */
export function applyServerSettings(server: http.Server, s: ServerConfig): void {
  const t = timeouts(s);
  server.requestTimeout = t.requestTimeout;
  server.headersTimeout = t.headersTimeout;
  server.keepAliveTimeout = s.keepalivetimeout;
  (server as Listener)[kMaxKeepAlive] = s.maxkeepaliverequests;
  (server as Listener)[kSettings] = s;
  (server as http.Server & { maxHeaderSize?: number }).maxHeaderSize = s.maxheadersize;
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

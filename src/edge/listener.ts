/**
 * One `listen` entry: the listening socket and what each connection on it speaks.
 *
 *   TCP connection ─┬─ TLS listener: first byte a TLS handshake? ── no ─→ 400 "plain HTTP to an SSL port"
 *                   │     └ yes: TLS (SNI picks the certificate, ALPN the protocol; handshake timeout)
 *                   │          ├ ALPN h2 ─────────────────→ HTTP/2 (node:http2, compatibility API)
 *                   │          └ http/1.1 or no ALPN ─────→ HTTP/1.x
 *                   └─ plain listener: with h2c, the HTTP/2 preface → HTTP/2; anything else → HTTP/1.x
 *
 * HTTP/1.x, over TLS or plain TCP, is one server: stickyd's own (proxy/http1/: node's llhttp
 * driven directly with node:http's semantics, the strict request line and the limits of
 * `server:`). What TLS adds to its messages (X-Forwarded-Proto: https, HSTS) comes from the facts
 * the listener sets on each connection's socket (edge/messages.ts, kEdge).
 *
 * Each request, whatever its protocol, goes to the same handler (proxy/handler.ts) — or, on a
 * listener with `redirect`, gets the redirect. The listening socket is a plain net.Server and the
 * protocol servers never listen themselves: connections are handed to them (node's TLS and HTTP/2
 * servers by `emit('connection')`, the documented way to inject one; the HTTP/1.x server by
 * Http1Server.connection), so a reload can switch a listener between plain and TLS, or
 * change its protocols, certificates or limits, without closing the port. Connections already open
 * keep what they negotiated; new handshakes get the new certificates.
 *
 * TLS: the contexts, SNI, stapling and ticket keys are tls/listener.ts (ListenerTls); the ticket
 * key comes from a TicketKeyProvider, the same key in every worker thread so that a session
 * resumes whichever worker the kernel gives the new connection to.
 */
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { ListenConfig, ListenProtocol, ServerConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { ClientRequest, ClientResponse } from '../proxy/client-messages.js';
import type { ProxyCounters } from '../proxy/counters.js';
import { errorPage } from '../proxy/error-page.js';
import { listen, rawErrorResponse, type ListenerHandlers } from '../proxy/server.js';
import { Http1Server } from '../proxy/http1/server.js';
import { ListenerTls } from '../tls/listener.js';
import type { TicketKeyProvider } from '../tls/tickets.js';
import { HandshakeDeadline } from './handshake-deadline.js';
import { H2Guard } from './h2-limits.js';
import { ExtendedConnectSocket, newWebsocketKey, upgradeRequestOf } from './h2-websocket.js';
import { hstsValue } from './hsts.js';
import { EdgeH2Request, EdgeH2Response, kEdge, resetByUs, socketHsts, type EdgeFacts, type WithEdge } from './messages.js';
import { sendRedirect } from './redirect.js';
import { sniff } from './sniff.js';

/** The key of a listen entry: a reload keeps a listener whose address and port stay. */
export function listenKey(l: Pick<ListenConfig, 'address' | 'port'>): string {
  return `${l.address}|${l.port}`;
}

/** What a request on the listener turns into (the Serving's runtime, read per request). */
export interface EdgeHandlers extends ListenerHandlers {
  /** The listener answered a request itself (a redirect, a refused CONNECT), for the access log. */
  answered(req: ClientRequest, res: ClientResponse | null, answer: { status: number; bytes: number; startMs: number; started: number }): void;
  /** ServerName, for a redirect to a request without Host. */
  serverName(): string;
}

/** mod_ssl's answer to plain HTTP on a TLS port (ssl_engine_io.c), as httpd words it. */
export const PLAIN_HTTP_REASON = "You're speaking plain HTTP to an SSL-enabled server port. Instead use the HTTPS scheme to access this URL, please.";

function plainHttpResponse(): string {
  const body = errorPage(400, PLAIN_HTTP_REASON);
  return `HTTP/1.1 400 Bad Request\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** The protocols offered, as the listener serves them. */
interface Mode {
  tls: boolean;
  h2: boolean;
  http1: boolean;
  /** Plain listener with h2c: look for the HTTP/2 preface. */
  h2c: boolean;
}

function modeOf(l: ListenConfig): Mode {
  const protocols: readonly ListenProtocol[] = l.protocols ?? ['http/1.1'];
  const tlsOn = l.tls !== undefined;
  return { tls: tlsOn, h2: protocols.includes(tlsOn ? 'h2' : 'h2c'), http1: protocols.includes('http/1.1'), h2c: !tlsOn && protocols.includes('h2c') };
}

const noop = (): void => {};

export class EdgeListener {
  readonly front: net.Server;
  /** HTTP/1.x, over TLS and plain TCP: stickyd's lean server (proxy/http1/). */
  private readonly http1: Http1Server;
  private h2: http2.Http2Server | null = null;
  private tlsServer: tls.Server | null = null;
  private listenerTls: ListenerTls | null = null;
  /** Every TCP connection accepted, until it closes (what a graceful stop waits for). */
  private readonly connections = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** Plain connections whose first bytes have not come yet (h2c: HTTP/2 preface or HTTP/1.x?). */
  private readonly sniffing = new Set<net.Socket>();
  /** TCP connections whose TLS handshake has not finished, with their deadline. */
  private readonly handshakes = new Map<net.Socket, HandshakeDeadline>();
  private mode: Mode;
  private facts: EdgeFacts;
  private drainWaiters: Array<() => void> = [];
  private closing = false;

  constructor(
    private entry: ListenConfig,
    private settings: ServerConfig,
    private readonly handlers: EdgeHandlers,
    private readonly counters: ProxyCounters,
    private readonly tickets: TicketKeyProvider,
    private readonly logger?: Logger,
  ) {
    this.mode = modeOf(entry);
    this.facts = this.factsOf(entry);
    const http1Handlers: ListenerHandlers = {
      request: (req, res, keepalives) => this.onRequest(req, res, keepalives),
      upgrade: (req, socket, head) => {
        if (this.entry.redirect !== undefined) {
          socket.on('error', noop);
          socket.end(rawErrorResponse(400, socketHsts(socket)));
          return;
        }
        handlers.upgrade(req, socket, head);
      },
      answered: (req, res, answer) => handlers.answered(req, res, answer),
    };
    this.http1 = new Http1Server(settings, http1Handlers, counters);
    if (this.mode.tls) this.buildTls();
    this.front = net.createServer({ noDelay: true }, (raw) => this.onConnection(raw));
  }

  /** Listen on `address:port` (SO_REUSEPORT with worker threads). */
  listen(reusePort: boolean): Promise<AddressInfo> {
    return listen(this.front, this.entry.address, this.entry.port, reusePort);
  }

  /**
   * A reload: new settings for new connections and requests (certificates, protocols, limits,
   * redirect). Connections already open keep what they negotiated.
   */
  update(entry: ListenConfig, settings: ServerConfig): void {
    const h2Changed = JSON.stringify(settings.http2) !== JSON.stringify(this.settings.http2) || settings.maxheadersize !== this.settings.maxheadersize;
    this.entry = entry;
    this.settings = settings;
    this.mode = modeOf(entry);
    this.facts = this.factsOf(entry);
    this.http1.update(settings);
    // New HTTP/2 connections get the new settings; open ones keep the server they came to.
    if (h2Changed) this.h2 = null;
    const previous = this.listenerTls;
    if (this.mode.tls) this.buildTls();
    else {
      this.tlsServer = null;
      this.listenerTls = null;
    }
    // Handshakes in flight finish on the server they started on (without further key rotations).
    previous?.close();
  }

  private factsOf(entry: ListenConfig): EdgeFacts {
    return { secure: entry.tls !== undefined, hsts: entry.tls?.hsts ? hstsValue(entry.tls.hsts) : null };
  }

  /** The TLS server for new handshakes: contexts, SNI, stapling and ticket keys of the current entry. */
  private buildTls(): void {
    const t = this.entry.tls!;
    const source = t.sessiontickets ? this.tickets.source(listenKey(this.entry), t.ticketkeyrotation) : null;
    const edge = new ListenerTls(t, source);
    const alpn: string[] = [];
    if (this.mode.h2) alpn.push('h2');
    if (this.mode.http1) alpn.push('http/1.1');
    const server = new tls.Server({
      ...edge.serverOptions(),
      ALPNProtocols: alpn,
      // The handshake's time is HandshakeDeadline's (RequestReadTimeout handshake=, from the
      // connection's start); node's own timer only as a bound far behind it.
      handshakeTimeout: 2 ** 31 - 1,
    });
    edge.attach(server);
    server.on('secureConnection', (socket: tls.TLSSocket) => this.onSecure(socket));
    server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      socket.destroy();
      if (err.code === 'ECONNRESET') {
        this.counters.clientErrors.reset++;
        return;
      }
      this.counters.clientErrors['tls-handshake']++;
      this.logger?.debug({ err }, `TLS handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${err.message}`);
    });
    this.tlsServer = server;
    this.listenerTls = edge;
  }

  /** The certificate a handshake for `servername` gets now (tests, logs). */
  certificateFor(servername: string | null): ReturnType<ListenerTls['certificateFor']> | null {
    return this.listenerTls?.certificateFor(servername) ?? null;
  }

  private onConnection(raw: net.Socket): void {
    this.connections.add(raw);
    raw.on('error', noop);
    raw.once('close', () => this.forget(raw));
    const mode = this.mode;
    if (mode.tls) {
      const deadline = new HandshakeDeadline(this.settings.requestreadtimeout.handshake, raw, () => {
        this.counters.clientErrors['tls-timeout']++;
        raw.destroy();
      });
      this.handshakes.set(raw, deadline);
      deadline.start();
      this.first(raw, false, (kind) => {
        if (kind === 'tls' && this.tlsServer !== null) {
          this.tlsServer.emit('connection', raw);
          return;
        }
        this.endHandshake(raw);
        this.plainHttpOnTls(raw);
      });
      return;
    }
    raw[kEdge as never] = this.facts as never;
    if (mode.h2c) {
      this.first(raw, true, (kind) => {
        if (kind === 'h2' && mode.h2) this.toH2(raw);
        else {
          this.http1.connection(raw);
          raw.resume();
        }
      });
      return;
    }
    this.http1.connection(raw);
  }

  private forget(raw: net.Socket): void {
    this.endHandshake(raw);
    this.connections.delete(raw);
    if (this.connections.size === 0 && this.drainWaiters.length > 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  private endHandshake(raw: net.Socket): void {
    const d = this.handshakes.get(raw);
    if (d === undefined) return;
    d.stop();
    this.handshakes.delete(raw);
  }

  /**
   * Read the first bytes, put them back and say what they are. A connection that sends nothing
   * waits here: on a TLS listener the handshake deadline runs, on a plain one the header stage
   * of RequestReadTimeout (as ClientInput would have run it).
   */
  private first(raw: net.Socket, expectPreface: boolean, then: (kind: 'tls' | 'h2' | 'http') => void): void {
    let head: Buffer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | null = null;
    const stage = this.settings.requestreadtimeout.header;
    if (!this.mode.tls && stage.timeout > 0) {
      timer = setTimeout(() => {
        cleanup();
        this.counters.clientErrors.timeout++;
        raw.end(rawErrorResponse(408));
        setTimeout(() => raw.destroy(), 1000).unref();
      }, stage.timeout).unref();
    }
    const cleanup = (): void => {
      raw.off('data', onData);
      this.sniffing.delete(raw);
      if (timer !== null) clearTimeout(timer);
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const kind = sniff(head, expectPreface);
      if (kind === 'more') return;
      cleanup();
      raw.pause();
      raw.unshift(head);
      then(kind);
    };
    this.sniffing.add(raw);
    raw.on('data', onData);
    raw.once('close', cleanup);
  }

  /** mod_ssl's 400 for plain HTTP on a TLS port; what the client still sends is read and dropped. */
  private plainHttpOnTls(raw: net.Socket): void {
    this.counters.clientErrors['plain-http']++;
    raw.on('data', noop);
    raw.resume();
    raw.end(plainHttpResponse());
    setTimeout(() => raw.destroy(), 1000).unref();
  }

  private onSecure(socket: tls.TLSSocket): void {
    const raw = (socket as tls.TLSSocket & { _parent?: net.Socket })._parent;
    if (raw !== undefined) this.endHandshake(raw);
    (socket as WithEdge<tls.TLSSocket>)[kEdge] = this.facts;
    const mode = this.mode;
    if (socket.alpnProtocol === 'h2' && mode.h2) {
      this.toH2(socket);
    } else if (mode.http1) {
      this.http1.connection(socket);
    } else {
      // [h2] only, and a client without ALPN h2: nothing it could speak is offered.
      socket.destroy();
    }
  }

  private onRequest(req: ClientRequest, res: ClientResponse, keepalives: number): void {
    if (this.entry.redirect !== undefined) {
      this.redirect(req, res);
      return;
    }
    this.handlers.request(req, res, keepalives);
  }

  /** `redirect`: answer, then log it as any request (no balancer, no member). */
  private redirect(req: ClientRequest, res: ClientResponse): void {
    const startMs = Date.now();
    const started = performance.now();
    this.counters.requests++;
    const answer = sendRedirect(this.entry.redirect!, req, res, this.handlers.serverName());
    res.once('close', () => this.handlers.answered(req, res, { ...answer, startMs, started }));
  }

  private toH2(socket: net.Socket): void {
    (this.h2 ??= this.createH2()).emit('connection', socket);
  }

  /** The HTTP/2 server for new connections, with the current settings and limits. */
  private createH2(): http2.Http2Server {
    const h = this.settings.http2;
    const server = http2.createServer({
      settings: {
        maxConcurrentStreams: h.maxsessionstreams,
        initialWindowSize: h.windowsize,
        maxHeaderListSize: this.settings.maxheadersize,
        enableConnectProtocol: h.websockets,
      },
      Http2ServerRequest: EdgeH2Request,
      Http2ServerResponse: EdgeH2Response,
    });
    server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      const r = req as unknown as ClientRequest;
      const s = res as unknown as ClientResponse;
      if (this.entry.redirect !== undefined) this.redirect(r, s);
      // An HTTP/2 stream is a fresh exchange: what httpd's mod_http2 gives the proxy for each
      // stream (a secondary connection that served nothing before).
      else this.handlers.request(r, s, 0);
    });
    // CONNECT (node's compatibility API emits it instead of 'request'): with :protocol websocket,
    // RFC 8441's WebSocket over HTTP/2; anything else is not for a reverse proxy.
    server.on('connect', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => this.onConnect(req, res));
    server.on('session', (session: http2.ServerHttp2Session) => this.onSession(session));
    return server as unknown as http2.Http2Server;
  }

  /** An HTTP/2 CONNECT: with `:protocol: websocket` a WebSocket for the member (h2-websocket.ts). */
  private onConnect(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
    const protocol = req.headers[':protocol'];
    if (this.entry.redirect !== undefined || !this.settings.http2.websockets || typeof protocol !== 'string' || protocol.toLowerCase() !== 'websocket') {
      // A plain CONNECT asks for a forward proxy; another :protocol for something stickyd does not
      // tunnel. Logged like any request stickyd answers itself (no balancer, no member).
      const startMs = Date.now();
      const started = performance.now();
      this.counters.requests++;
      const status = typeof protocol === 'string' ? 501 : 405;
      const r = req as unknown as ClientRequest & { url?: string };
      const s = res as unknown as ClientResponse;
      // A plain CONNECT has no :path: its target is the authority, as in httpd's request line.
      if (typeof protocol !== 'string') r.url = req.authority;
      s.once('close', () => this.handlers.answered(r, s, { status, bytes: 0, startMs, started }));
      res.writeHead(status, {});
      res.end();
      return;
    }
    const key = newWebsocketKey();
    const socket = new ExtendedConnectSocket(req, res, key);
    this.handlers.upgrade(upgradeRequestOf(req, (req as unknown as ClientRequest).rawHeaders, key), socket, Buffer.alloc(0));
  }

  private onSession(session: http2.ServerHttp2Session): void {
    const facts = ((session.socket as WithEdge<net.Socket>)[kEdge]) ?? this.facts;
    (session as WithEdge<http2.ServerHttp2Session>)[kEdge] = facts;
    this.sessions.add(session);
    let open = 0;
    let tripped = false;
    const h = this.settings.http2;
    const guard = new H2Guard(h, (why) => {
      tripped = true;
      this.counters.clientErrors[why === 'rapid-reset' ? 'h2-rapid-reset' : 'h2-flood']++;
      this.logger?.warn(`HTTP/2 client ${session.socket?.remoteAddress ?? ''} ${why === 'rapid-reset' ? `reset more than ${h.maxresets} streams in 10 s (server.http2.maxresets)` : `sent more than ${h.maxcontrolframes} PING/SETTINGS frames in 10 s (server.http2.maxcontrolframes)`}: GOAWAY ENHANCE_YOUR_CALM, connection closed`);
      // GOAWAY first, and the connection cut a moment later: what the client sent meanwhile is
      // read (and ignored: no new stream is accepted after a GOAWAY), so that closing does not
      // reset the TCP connection over unread bytes and lose the GOAWAY on its way.
      const calm = http2.constants.NGHTTP2_ENHANCE_YOUR_CALM;
      session.goaway(calm);
      // destroy(code) (node's typings know only destroy(error, code)).
      setTimeout(() => (session.destroy as unknown as (code: number) => void).call(session, calm), 100).unref();
    });
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      open++;
      // Reset by the client before its response ended; not a reset of stickyd's own (a member
      // that failed mid-body, a WebSocket cancelled: resetStream) nor a stream already destroyed.
      stream.once('aborted', () => {
        if (!stream.destroyed && !resetByUs(stream)) guard.reset();
      });
      stream.once('close', () => open--);
    });
    session.on('ping', () => guard.controlFrame());
    session.on('remoteSettings', () => guard.controlFrame());
    session.on('error', (err: Error & { code?: string }) => {
      // Our own GOAWAY ENHANCE_YOUR_CALM (destroy with a code) comes back as an error: counted already.
      if (tripped) return;
      const flood = /flood|CONTINUATION/i.test(err.message);
      this.counters.clientErrors[flood ? 'h2-flood' : 'h2-protocol']++;
      this.logger?.debug({ err }, `HTTP/2 connection from ${facts.secure ? 'a TLS' : 'a plain'} client closed: ${err.message}`);
    });
    session.once('close', () => this.sessions.delete(session));
    // KeepAliveTimeout for an HTTP/2 connection with no stream open (mod_http2 does the same).
    session.setTimeout(this.settings.keepalivetimeout, () => {
      if (open === 0) session.close();
    });
    if (this.closing) session.close();
  }

  /** Stop accepting connections (open ones go on). */
  stopAccepting(): void {
    this.closing = true;
    this.front.close(noop);
    this.http1.stop();
  }

  /**
   * Close what is idle now: HTTP/1 keep-alive connections between requests, HTTP/2 connections
   * (GOAWAY: their open streams finish, no new ones start), and connections still in their TLS
   * handshake or before their first byte (on a TLS listener and on a plain one with h2c, where
   * the first bytes decide between HTTP/2 and HTTP/1.x: left open, such a connection held a
   * graceful stop until the header stage's 408).
   */
  closeIdle(): void {
    this.http1.closeIdleConnections();
    for (const s of this.sessions) s.close();
    for (const raw of this.handshakes.keys()) raw.destroy();
    for (const raw of this.sniffing) raw.destroy();
  }

  /** Cut every connection of this listener. */
  closeAll(): void {
    this.http1.closeAllConnections();
    for (const s of this.sessions) s.destroy();
    for (const raw of this.connections) raw.destroy();
  }

  /** Resolves once every connection accepted has closed. */
  drained(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Connections open now (tests). */
  get connectionCount(): number {
    return this.connections.size;
  }
}

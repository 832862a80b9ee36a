/**
 * The HTTP/1.x server of every listener, over plain TCP and over TLS (the TLSSocket after the
 * handshake, edge/listener.ts): it replaces node:http's server. Measured on one core, node:http's
 * server side cost about a third of stickyd's CPU per request; this one drives node's own llhttp
 * request parser (the same parser, in the same strict mode) with a connection (connection.ts), a
 * request (request.ts) and a response (response.ts) that do only what the request path uses, and
 * do it as node:http did: the same refusals and status codes, the same head (Date, Connection,
 * Keep-Alive, chunked framing), the same keep-alive, pipelining, 100-continue and timeouts. See
 * connection.ts for the list. On a TLS connection the request carries X-Forwarded-Proto: https and
 * every response the listener's HSTS, from the facts the listener set on the socket
 * (edge/messages.ts).
 *
 * What the listener adds over its connections:
 * - `requesttimeout`: a request (header block and body) that is not complete this long after it
 *   began gets 408 (node's requestTimeout, checked as often as node checks it).
 * - graceful stop: closeIdleConnections() closes connections between requests; closeAll() cuts
 *   the rest.
 * - a reload's settings: new connections get the new maxheadersize and header stage, every
 *   connection's next request the new MaxKeepAliveRequests and keep-alive timeout.
 */
import type { Socket } from 'node:net';
import type { ServerConfig } from '../../config/types.js';
import type { ProxyCounters } from '../counters.js';
import { answerClientError, checkingInterval, refuseConnect, refuseInput, type ListenerHandlers } from '../server.js';
import { Http1Connection, type ConnectionOwner } from './connection.js';
import type { Http1Request } from './request.js';
import type { Http1Response } from './response.js';

export class Http1Server implements ConnectionOwner {
  private readonly connections = new Set<Http1Connection>();
  /** The requesttimeout check; null once the listener has stopped and its last connection closed. */
  private checker: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    public settings: ServerConfig,
    private readonly handlers: ListenerHandlers,
    private readonly counters: ProxyCounters,
  ) {
    this.check();
  }

  /** One timer for all connections, as often as node checks its own (server.ts). */
  private check(): void {
    this.checker ??= setInterval(() => this.expire(), checkingInterval(this.settings)).unref();
  }

  /**
   * The listener stopped accepting (a reload removed it, or the daemon stops): the connections
   * it has go on, and the requesttimeout check with them, until the last one closes.
   */
  stop(): void {
    this.stopped = true;
    this.endCheck();
  }

  private endCheck(): void {
    if (this.stopped && this.connections.size === 0 && this.checker !== null) {
      clearInterval(this.checker);
      this.checker = null;
    }
  }

  /** The requesttimeout check runs (tests). */
  get checking(): boolean {
    return this.checker !== null;
  }

  get maxKeepAliveRequests(): number {
    return this.settings.maxkeepaliverequests;
  }

  /** A new client connection: plain TCP, or a TLSSocket after its handshake. */
  connection(socket: Socket): void {
    // A TLS handshake may end after the listener stopped: that connection is checked too.
    this.check();
    this.connections.add(new Http1Connection(socket, this));
  }

  /** A reload: new connections and requests get these settings. */
  update(settings: ServerConfig): void {
    this.settings = settings;
  }

  request(req: Http1Request, res: Http1Response, keepalives: number): void {
    this.handlers.request(req, res, keepalives);
  }

  switchProtocols(req: Http1Request, socket: Socket, head: Buffer): void {
    if (req.method === 'CONNECT') refuseConnect(req, socket, this.handlers, this.counters);
    else this.handlers.upgrade(req, socket, head);
  }

  clientError(err: Error & { code?: string }, socket: Socket, active: Http1Response | null): void {
    answerClientError(err, socket, active, this.counters);
  }

  refuse(socket: Socket, status: 400 | 408): void {
    refuseInput(socket, this.counters, status);
  }

  forget(conn: Http1Connection): void {
    this.connections.delete(conn);
    this.endCheck();
  }

  /** requesttimeout: 408 for requests that began too long ago and are still not complete. */
  private expire(): void {
    const timeout = this.settings.requesttimeout;
    if (!(timeout > 0)) return;
    const deadline = performance.now() - timeout;
    for (const c of this.connections) {
      if (c.messageStart >= 0 && c.messageStart < deadline) {
        const err = new Error('Request timeout') as Error & { code: string };
        err.code = 'ERR_HTTP_REQUEST_TIMEOUT';
        c.fail(err);
      }
    }
  }

  /** Close connections with nothing in progress (between requests, or before the first). */
  closeIdleConnections(): void {
    for (const c of this.connections) if (c.idle) c.socket.destroy();
  }

  closeAllConnections(): void {
    for (const c of this.connections) c.socket.destroy();
  }
}

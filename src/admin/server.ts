/**
 * The admin listener: a node:http server of its own (admin.address:admin.port, loopback by
 * default), separate from the proxy's listeners so that the manager is never reachable through a
 * proxied path.
 *
 *   GET /healthz            200 "ok" while the process runs                     no token
 *   GET /readyz             200, or 503 with the reasons (readiness.ts)          no token
 *   /balancer-manager       the manager page and its forms (manager.ts)         Basic or Bearer
 *   GET /dashboard[/data|/stream]  the live dashboard (dashboard/routes.ts)      Basic or Bearer
 *   GET /metrics            Prometheus text (metrics.ts)                        Bearer or Basic
 *   /api/balancers..., /api/status, /api/reload   the JSON API (api.ts)         Bearer only
 *
 * With admin.token set, everything but the two probes needs it (401 with WWW-Authenticate);
 * without one (allowed on loopback only) everything is open. Before any of that, every path
 * answers only requests whose Host names this listener, else 421 (host.ts: DNS rebinding).
 *
 * With `admin.tls` the listener speaks HTTPS, HTTP/2 (ALPN h2) and HTTP/1.1, with the listeners'
 * TLS blocks (tls/listener.ts: SNI, stapling, a rotated ticket key of its own); a reload that
 * changes the certificates gives new handshakes the new ones (AdminListener.updateTls).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { ListenTlsConfig } from '../config/types.js';
import { ListenerTls } from '../tls/listener.js';
import { TicketKeyRotator } from '../tls/tickets.js';
import { handleApi, isApiPath } from './api.js';
import { authorized, type AuthScheme } from './auth.js';
import type { AdminContext } from './context.js';
import { handleDashboard, isDashboardPath } from './dashboard/routes.js';
import { hostAllowed } from './host.js';
import { send, sendJsonError, sendText } from './http.js';
import { changeFromManager, showManager } from './manager.js';
import { MANAGER_PATH } from './page.js';
import { readiness } from './readiness.js';

export interface BoundAdmin {
  address: string;
  port: number;
}

/** Which credentials each area takes, and how a 401 asks for them. */
const AREAS: Record<'manager' | 'dashboard' | 'metrics' | 'api', { schemes: AuthScheme[]; challenge: string }> = {
  // Browsers prompt for Basic; the token is the password (any user name).
  manager: { schemes: ['basic', 'bearer'], challenge: 'Basic realm="stickyd balancer-manager", charset="UTF-8"' },
  // The manager's realm: a browser that has the manager open sends the same credentials, unasked.
  dashboard: { schemes: ['basic', 'bearer'], challenge: 'Basic realm="stickyd balancer-manager", charset="UTF-8"' },
  metrics: { schemes: ['bearer', 'basic'], challenge: 'Bearer realm="stickyd metrics"' },
  api: { schemes: ['bearer'], challenge: 'Bearer realm="stickyd admin API"' },
};

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendText(res, 405, `method not allowed; allowed: ${allow}`, { Allow: allow });
}

async function route(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://admin.invalid');
  } catch {
    return sendText(res, 400, 'bad request target');
  }
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const readOnlyMethod = method === 'GET' || method === 'HEAD';

  const { address, allowedhosts } = ctx.admin;
  if (!hostAllowed(req.headers.host, { address, allowedhosts, servername: ctx.target.config.server.servername })) {
    // The Host is the attacker's name in a DNS rebinding attack; it is shown (quoted, cut short)
    // so that an operator who reached the listener under a new name knows what to add.
    const shown = JSON.stringify(String(req.headers.host).slice(0, 100));
    const why = `misdirected request: the Host ${shown} is not a name of this admin listener (add it to admin.allowedhosts)`;
    ctx.logger?.debug(`admin listener: refused ${method} ${path} for Host ${shown} (421)`);
    if (isApiPath(path)) return sendJsonError(res, 421, why);
    return sendText(res, 421, why);
  }

  if (path === '/healthz') {
    if (!readOnlyMethod) return methodNotAllowed(res, 'GET, HEAD');
    return sendText(res, 200, 'ok');
  }
  if (path === '/readyz') {
    if (!readOnlyMethod) return methodNotAllowed(res, 'GET, HEAD');
    const r = readiness(ctx.target);
    return sendText(res, r.ready ? 200 : 503, r.ready ? 'ready' : `not ready\n${r.reasons.join('\n')}`);
  }

  const area = path === MANAGER_PATH ? 'manager' : isDashboardPath(path) ? 'dashboard' : path === '/metrics' ? 'metrics' : isApiPath(path) ? 'api' : null;
  const { schemes, challenge } = AREAS[area ?? 'manager'];
  if (!authorized(req, ctx.admin.token, schemes)) {
    const headers = { 'WWW-Authenticate': challenge };
    const why = req.headers.authorization === undefined ? 'this needs the admin token' : 'the admin token is wrong';
    if (area === 'api') return sendJsonError(res, 401, `${why}: send Authorization: Bearer <token>`, undefined, headers);
    return sendText(res, 401, `${why} (admin.token)`, headers);
  }

  switch (area) {
    case 'manager':
      if (readOnlyMethod) return showManager(ctx, req, res, url.searchParams);
      if (method === 'POST') return changeFromManager(ctx, req, res);
      return methodNotAllowed(res, 'GET, HEAD, POST');
    case 'dashboard':
      return handleDashboard(ctx, req, res, path);
    case 'metrics': {
      if (!readOnlyMethod) return methodNotAllowed(res, 'GET, HEAD');
      const { contentType, body } = await ctx.metrics.render();
      return send(res, 200, contentType, body);
    }
    case 'api':
      return handleApi(ctx, req, res, path);
    default:
      if (path === '/' && readOnlyMethod) {
        res.writeHead(302, { Location: MANAGER_PATH, 'Content-Length': '0' });
        res.end();
        return;
      }
      return sendText(res, 404, `not found: ${path} (see ${MANAGER_PATH}, /dashboard, /api/balancers, /metrics, /healthz, /readyz)`);
  }
}

/** A running admin listener: its server, and with TLS what makes its handshakes. */
export interface AdminListener {
  server: Server;
  bound: BoundAdmin;
  /** null for plain HTTP. */
  tls: { edge: ListenerTls; tickets: TicketKeyRotator | null } | null;
  sockets: Set<Socket>;
}

function onRequest(context: () => AdminContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const ctx = context();
    // HTTP/2 has :authority where HTTP/1.1 has Host (RFC 9113 §8.3.1): the Host checks read it there.
    if (req.httpVersion === '2.0' && req.headers.host === undefined) req.headers.host = req.headers[':authority'] as string | undefined;
    route(ctx, req, res).catch((err: unknown) => {
      ctx.logger?.error({ err }, `admin request ${req.method} ${req.url} failed`);
      if (!res.headersSent) sendText(res, 500, 'internal error (see the daemon log)');
      else res.destroy();
    });
  };
}

/**
 * Starts the admin listener. `context()` is read per request, so a reload's new admin settings
 * (token, readonly) and balancers apply at once. With `tls` it speaks HTTPS (h2 and http/1.1).
 */
export async function startAdminServer(address: string, port: number, context: () => AdminContext, tls?: ListenTlsConfig | null): Promise<AdminListener> {
  let server: Server;
  let tlsParts: AdminListener['tls'] = null;
  if (!tls) {
    const plain = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 });
    plain.on('request', onRequest(context));
    plain.on('clientError', (_err, socket) => {
      socket.on('error', () => {});
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
    server = plain;
  } else {
    const tickets = tls.sessiontickets ? new TicketKeyRotator({ period: tls.ticketkeyrotation }) : null;
    tickets?.start();
    const edge = new ListenerTls(tls, tickets);
    const secure = http2.createSecureServer({ ...edge.serverOptions(), allowHTTP1: true, ALPNProtocols: ['h2', 'http/1.1'] });
    edge.attach(secure);
    secure.on('request', onRequest(context) as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void);
    secure.setTimeout(30_000);
    server = secure;
    tlsParts = { edge, tickets };
  }
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        server.on('error', () => {});
        resolve();
      });
    });
  } catch (err) {
    // A port that cannot be had (a reload keeps the old listener): the ticket key's rotation timer
    // and the certificate subscription would otherwise live on for a listener that never was.
    tlsParts?.edge.close();
    tlsParts?.tickets?.stop();
    throw err;
  }
  const info = server.address() as AddressInfo;
  return { server, bound: { address: info.address, port: info.port }, tls: tlsParts, sockets };
}

/** New certificates for new handshakes (a reload); connections open go on. */
export function updateAdminTls(listener: AdminListener, tls: ListenTlsConfig): void {
  listener.tls?.edge.update(tls);
}

/** Closes the listener and its connections. */
export function closeAdminServer(listener: AdminListener): Promise<void> {
  return new Promise((resolve) => {
    listener.server.close(() => resolve());
    for (const s of listener.sockets) s.destroy();
    if (listener.tls !== null) {
      listener.tls.edge.close();
      listener.tls.tickets?.stop();
    }
  });
}

/**
 * The request side of a cluster node, as one Connect/Express middleware: Tomcat's
 * JvmRouteBinderValve + ReplicationValve + the session part of Request/Response.
 *
 * Per request:
 * 1. The presented id: `;jsessionid=` path parameter (stripped from req.url so routes match the
 *    plain path), overridden by the session cookie (requested-id.ts).
 * 2. Route binder (route-binder.ts): a foreign route for a session held here → renamed to our
 *    route; `req.originalSessionId` = the id the client sent; the new cookie goes out even when the
 *    id came from the URL (Tomcat's default tracking modes: cookie + URL).
 * 3. `req.session` (http-session.ts): the request's copy; created on the first stored attribute.
 * 4. Response headers: Set-Cookie `JSESSIONID=<id>; Path=/; HttpOnly` for a new/renamed id,
 *    replacing any Set-Cookie of that name the app set.
 * 5. `res.end`: the request's changes are merged and replicated (unless the decoded path fully
 *    matches `filter`). 'async' ends the response at once; 'ack'/'sync' hold the end of the response
 *    (the whole `end` call, like express-session holds its last chunk) until every live peer
 *    acknowledged or `syncTimeout` passed. A failure is logged and counted; with
 *    `onReplicationFailure: 'error'` the response becomes a 503 if its headers are still unsent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { SessionManager } from '../managers/manager.js';
import type { ResolvedNodeOptions } from '../options.js';
import { readCookieValues, replaceSetCookie, serializeSessionCookie } from '../session/cookie.js';
import { isFilteredRequest } from '../session/filters.js';
import { isPlausibleSessionId, type RandomSource } from '../session/id.js';
import { extractUrlSessionId, sessionUriParamName } from '../session/url.js';
import { createSessionView, type HttpSession } from './http-session.js';
import { RequestSession } from './request-session.js';
import { resolveRequestedId } from './requested-id.js';
import { bindRoute } from './route-binder.js';

/** What the middleware adds to the request. */
export interface ClusterRequest extends IncomingMessage {
  session: HttpSession;
  /** The id the client presented when the route binder renamed it (Tomcat's JvmRouteOriginalSessionID). */
  originalSessionId?: string;
}

export type NextFunction = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;

export interface MiddlewareContext {
  manager: SessionManager;
  options: ResolvedNodeOptions;
  log: Logger;
  random?: RandomSource;
}

const HANDLED = Symbol('stickyd.cluster.handled');

export function isSecureRequest(req: IncomingMessage): boolean {
  return (req as { secure?: boolean }).secure === true || (req.socket as TLSSocket).encrypted === true;
}

export function createMiddleware(ctx: MiddlewareContext): Middleware {
  const { manager, options, log } = ctx;
  const cookieName = options.cookie.name;
  const uriParam = sessionUriParamName(cookieName);

  return function clusterSession(req, res, next) {
    const r = req as ClusterRequest & { [HANDLED]?: true };
    if (r[HANDLED]) return next();
    r[HANDLED] = true;
    // next() runs the rest of the app: whatever it throws must not become an unhandled rejection.
    prepare(r, res)
      .then(() => next(), next)
      .catch((err: unknown) => manager.reportError('session middleware', err));
  };

  async function prepare(req: ClusterRequest, res: ServerResponse): Promise<void> {
    // 1. The presented id.
    const fromUrl = extractUrlSessionId(req.url ?? '/', uriParam);
    if (fromUrl.id !== null) req.url = fromUrl.url;
    const urlId = fromUrl.id !== null && isPlausibleSessionId(fromUrl.id) ? fromUrl.id : null;
    const cookieIds = readCookieValues(req.headers.cookie, cookieName).filter(isPlausibleSessionId);
    const requested = resolveRequestedId(cookieIds, urlId, (id) => manager.knows(id));
    const replicate = !isFilteredRequest(options.filter, req.url ?? '/');

    const state = new RequestSession(manager, options.jvmRoute, log, ctx.random, () => res.headersSent);

    // 2. Route binder, then the plain lookup.
    if (requested) {
      let bound = false;
      if (options.jvmRouteBinder) {
        const b = await bindRoute(manager, requested.id, options.jvmRoute);
        if (b.kind !== 'none') {
          bound = true;
          req.originalSessionId = b.originalId;
          state.attach(b.session);
          state.cookieNeeded = true;
          if (b.kind === 'renamed') state.pending.push(b.replication);
        }
      }
      if (!bound) {
        const s = await manager.findSession(requested.id);
        if (s) state.attach(s);
      }
    }

    // 3. req.session.
    req.session = createSessionView(state);

    // 4. Set-Cookie just before the headers go out (also covers implicit headers of write/end).
    const writeHead = res.writeHead;
    let headersHooked = false;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      if (!headersHooked) {
        headersHooked = true;
        const s = state.session;
        if (state.cookieNeeded && s && s.valid) {
          replaceSetCookie(res, cookieName, serializeSessionCookie(s.id, options.cookie, isSecureRequest(req)));
        }
      }
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as ServerResponse['writeHead'];

    // 5. Replicate at the end of the response.
    const end = res.end;
    let ending = false;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      if (ending) return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
      ending = true;
      const outcome = state.finish(replicate);
      if (options.sendOptions === 'async') return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
      outcome
        .then(
          (o) => {
            if (!o.ok && options.onReplicationFailure === 'error' && !res.headersSent) {
              respondUnavailable(res, end, o.error.message);
            } else {
              (end as (...a: unknown[]) => ServerResponse).apply(res, args);
            }
          },
          (err: unknown) => {
            manager.reportError('session replication', err);
            (end as (...a: unknown[]) => ServerResponse).apply(res, args);
          },
        )
        .catch((err: unknown) => manager.reportError('ending the response', err));
      return this;
    } as ServerResponse['end'];

    // A client that goes away before the response ends still completes the request (Tomcat does).
    res.once('close', () => {
      if (!ending) {
        ending = true;
        state.finish(replicate).catch((err: unknown) => manager.reportError('session replication', err));
      }
    });
  }
}

function respondUnavailable(res: ServerResponse, end: ServerResponse['end'], reason: string): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.statusCode = 503;
  const body = `503 Service Unavailable: session replication failed (${reason})\n`;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  (end as (...a: unknown[]) => ServerResponse).call(res, body);
}

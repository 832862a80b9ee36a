/**
 * Makes express-session routable by a sticky proxy (cluster-semantics §3.3). Put it BEFORE `session(...)`:
 *
 *   app.use(node.cookieAdapter({ secret }));
 *   app.use(session({ store: node.store(), genid: node.genid, name: 'JSESSIONID', secret, ... }));
 *
 * Why it is needed: express-session always signs its cookie — the value is
 * `s:<id>.<base64 HMAC>` (URL-encoded `s%3A…`) — and ignores unsigned ones. A proxy that takes the
 * route after the FIRST dot (mod_proxy_balancer, stickyd) then reads `<route>.<signature>` and never
 * matches a member. express-session has no option to turn signing off, so this adapter translates
 * at the edges, and the client only ever sees Tomcat's `JSESSIONID=<32 HEX>.<route>`:
 * - request: the unsigned id (cookie, or `;jsessionid=` path parameter, Tomcat's order) is handed
 *   to express-session as the signed cookie it expects (`secret` must be express-session's, first
 *   entry if it is a list; it never leaves the process);
 * - response: express-session's signed Set-Cookie is rewritten to the bare id (attributes kept);
 * - route binder: a foreign-route id for a session this node holds is renamed to our route before
 *   express-session loads it (`req.originalSessionId` = the presented id) and the new cookie is set.
 * Security then rests on the id's 128 random bits, as in Tomcat.
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { SessionManager } from '../managers/manager.js';
import type { ResolvedNodeOptions } from '../options.js';
import { readCookieValues, serializeSessionCookie } from '../session/cookie.js';
import { isPlausibleSessionId } from '../session/id.js';
import { extractUrlSessionId, sessionUriParamName } from '../session/url.js';
import { isSecureRequest, type Middleware } from './middleware.js';
import { resolveRequestedId } from './requested-id.js';
import { bindRoute } from './route-binder.js';

export interface CookieAdapterOptions {
  /** express-session's `secret` (the first one when it is an array). */
  secret: string | string[];
  /** The cookie name given to express-session. Default: the node's cookie name (JSESSIONID). */
  name?: string;
}

export interface CookieAdapterContext {
  manager: SessionManager;
  options: ResolvedNodeOptions;
  log: Logger;
  ready: Promise<void>;
}

/** cookie-signature's `sign`: `<value>.<base64 HMAC-SHA256 without '=' padding>`. */
export function signCookieValue(value: string, secret: string): string {
  return `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;
}

/** `s%3A<id>.<sig>` (or `s:<id>.<sig>`) → `<id>`; anything else is returned unchanged. */
export function unsignedValue(raw: string): string {
  let v = raw;
  try {
    v = decodeURIComponent(raw);
  } catch {
    return raw;
  }
  if (!v.startsWith('s:')) return raw;
  const dot = v.lastIndexOf('.');
  return dot > 2 ? v.slice(2, dot) : raw;
}

export function createCookieAdapter(ctx: CookieAdapterContext, adapter: CookieAdapterOptions): Middleware {
  const secret = Array.isArray(adapter.secret) ? adapter.secret[0] : adapter.secret;
  if (typeof secret !== 'string' || secret === '') throw new TypeError('cookieAdapter needs express-session\'s secret');
  const { manager, options } = ctx;
  const name = adapter.name ?? options.cookie.name;
  const uriParam = sessionUriParamName(name);

  /** Rewrites signed Set-Cookie lines for our cookie into bare ids. */
  function unsignSetCookie(value: unknown): unknown {
    const rewrite = (line: string) => {
      const eq = line.indexOf('=');
      if (eq < 0 || line.slice(0, eq).trim() !== name) return line;
      const semi = line.indexOf(';', eq);
      const raw = semi < 0 ? line.slice(eq + 1) : line.slice(eq + 1, semi);
      return `${name}=${unsignedValue(raw)}${semi < 0 ? '' : line.slice(semi)}`;
    };
    if (Array.isArray(value)) return value.map((l) => (typeof l === 'string' ? rewrite(l) : l));
    return typeof value === 'string' ? rewrite(value) : value;
  }

  async function prepare(req: IncomingMessage & { originalSessionId?: string; sessionID?: string; session?: unknown }, res: ServerResponse): Promise<void> {
    await ctx.ready;
    const fromUrl = extractUrlSessionId(req.url ?? '/', uriParam);
    if (fromUrl.id !== null) req.url = fromUrl.url;
    const urlId = fromUrl.id !== null && isPlausibleSessionId(fromUrl.id) ? fromUrl.id : null;
    // Unsigned ids; a signed one (a client from before the adapter) is read as its id.
    const cookieIds = readCookieValues(req.headers.cookie, name).map(unsignedValue).filter(isPlausibleSessionId);
    const requested = resolveRequestedId(cookieIds, urlId, (id) => manager.knows(id));

    let id = requested?.id ?? null;
    let cookieNeeded = false;
    if (requested && options.jvmRouteBinder) {
      const b = await bindRoute(manager, requested.id, options.jvmRoute);
      if (b.kind !== 'none') {
        req.originalSessionId = b.originalId;
        id = b.session.id;
        cookieNeeded = true;
      }
    }

    // Hand express-session the id as the signed cookie it accepts (all other cookies untouched).
    const others = (req.headers.cookie ?? '')
      .split(';')
      .map((p) => p.trim())
      .filter((p) => p !== '' && p.slice(0, Math.max(0, p.indexOf('='))).trim() !== name);
    if (id !== null) others.push(`${name}=${encodeURIComponent(`s:${signCookieValue(id, secret!)}`)}`);
    if (others.length > 0) req.headers.cookie = others.join('; ');
    else delete req.headers.cookie;

    // Outgoing: bare ids only, whatever order the middlewares' header hooks run in.
    const setHeader = res.setHeader;
    res.setHeader = function (this: ServerResponse, header: string, value: number | string | readonly string[]) {
      const v = header.toLowerCase() === 'set-cookie' ? (unsignSetCookie(value) as typeof value) : value;
      return setHeader.call(this, header, v);
    } as ServerResponse['setHeader'];

    if (cookieNeeded) {
      // express-session sees its own cookie id and sets no cookie: the binder's new id needs one,
      // unless the app regenerated the session meanwhile (then express-session's cookie stands).
      const writeHead = res.writeHead;
      let done = false;
      res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
        if (!done) {
          done = true;
          const prev = res.getHeader('Set-Cookie');
          const lines = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
          const current = req.sessionID ?? id;
          if (current && !lines.some((l) => l.trim().startsWith(`${name}=`))) {
            const cookie = (req.session as { cookie?: { serialize?: (n: string, v: string) => string } } | undefined)?.cookie;
            const line = typeof cookie?.serialize === 'function'
              ? cookie.serialize(name, current)
              : serializeSessionCookie(current, { ...options.cookie, name }, isSecureRequest(req));
            res.setHeader('Set-Cookie', [...lines, line]);
          }
        }
        return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
      } as ServerResponse['writeHead'];
    }
  }

  return (req, res, next) => {
    // next() runs the rest of the app: whatever it throws must not become an unhandled rejection.
    prepare(req, res)
      .then(() => next(), next)
      .catch((err: unknown) => ctx.manager.reportError('cookie adapter', err));
  };
}

/**
 * Who may use the admin listener, and whether a browser request is what it claims to be.
 *
 * - The token (admin.token): the JSON API and metrics take `Authorization: Bearer <token>`; the
 *   balancer-manager also takes HTTP Basic with the token as the password (any user name), which
 *   every browser can send without JavaScript. Without a configured token (loopback only, the
 *   config loader makes sure) everything is open, like an Apache `<Location /balancer-manager>`
 *   without `Require`.
 * - Same-origin: a browser sends Basic credentials along with any request to the page, also one a
 *   foreign site makes it send. So a change (POST) must carry an `Origin` (or, when a browser sends
 *   none, a `Referer`) whose host is the request's Host: httpd's Referer check (apache-semantics §6,
 *   "Protection" 2), with the port compared too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type AuthScheme = 'bearer' | 'basic';

/** Compares secrets in constant time (digests, so the length does not leak either). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token the request presents through one of `schemes`; null when it presents none. */
export function presentedToken(req: IncomingMessage, schemes: readonly AuthScheme[]): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && schemes.includes('bearer')) return value;
  if (scheme === 'basic' && schemes.includes('basic')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? null : decoded.slice(colon + 1);
  }
  return null;
}

/** The request may use the admin listener: no token configured, or the right one presented. */
export function authorized(req: IncomingMessage, token: string, schemes: readonly AuthScheme[]): boolean {
  if (token === '') return true;
  const given = presentedToken(req, schemes);
  return given !== null && sameSecret(given, token);
}

/** The host (name and port) of an absolute URL, lower-cased; null when it has none. */
function hostOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.host === '' ? null : u.host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * The request comes from a page of this admin listener: its Origin (or, without one, its
 * Referer) names the host the request was sent to.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const host = req.headers.host?.toLowerCase();
  if (host === undefined || host === '') return false;
  const origin = req.headers.origin;
  if (origin !== undefined) return hostOf(origin) === host;
  const referer = req.headers.referer;
  if (referer !== undefined) return hostOf(referer) === host;
  return false;
}

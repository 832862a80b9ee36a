/**
 * Session ids, Tomcat style (cluster-semantics §3.1): `<32 uppercase hex chars>.<jvmRoute>`. The hex part is
 * 16 bytes (Tomcat's default `sessionIdLength`) from the operating system's CSPRNG: an id is the
 * only credential a client presents, so its unpredictability is the session's security (the cookie
 * is deliberately unsigned so that proxies can route on it, cluster-semantics §3.3).
 */
import { randomBytes } from 'node:crypto';

/** Where random bytes come from. Default: node:crypto's `randomBytes` (the OS CSPRNG). */
export type RandomSource = (size: number) => Buffer;

export const defaultRandomSource: RandomSource = randomBytes;

/** Tomcat's `sessionIdLength`: 16 random bytes = 32 hex chars = 128 bits. */
export const SESSION_ID_BYTES = 16;

const HEX_PART = /^[0-9A-F]{32}$/;

/** A route is what a proxy matches against a member's `route`: no separators a cookie or URL would split. */
export function isValidRoute(route: string): boolean {
  return typeof route === 'string' && route.length > 0 && route.length <= 64 && /^[A-Za-z0-9_.~-]+$/.test(route);
}

/** A new id `<HEX>.<route>` (the route is appended only when non-empty, as Tomcat does). */
export function generateSessionId(route: string, random: RandomSource = defaultRandomSource): string {
  const hex = random(SESSION_ID_BYTES).toString('hex').toUpperCase();
  if (!HEX_PART.test(hex)) throw new Error('random source must return 16 bytes');
  return route ? `${hex}.${route}` : hex;
}

/**
 * Splits an id at its FIRST dot, the way JvmRouteBinderValve and mod_proxy_balancer read it
 * (cluster-semantics §3.2 step 3, §3.3): `{ base: 'ABC', route: 'jvm_a' }`; no dot → `route: null`.
 */
export function splitSessionId(id: string): { base: string; route: string | null } {
  const dot = id.indexOf('.');
  return dot < 0 ? { base: id, route: null } : { base: id.slice(0, dot), route: id.slice(dot + 1) };
}

/** The same session under another route: `<base>.<route>` (the binder's rename, cluster-semantics §3.2 step 4). */
export function withRoute(id: string, route: string): string {
  const { base } = splitSessionId(id);
  return route ? `${base}.${route}` : base;
}

/**
 * Is this text acceptable as a session id presented by a client? We only look ids up, never trust
 * them, but a bounded, printable shape keeps junk out of logs, maps and cluster messages.
 */
export function isPlausibleSessionId(id: string): boolean {
  return id.length > 0 && id.length <= 200 && /^[\x21-\x7e]+$/.test(id) && !/[;,"\\]/.test(id);
}

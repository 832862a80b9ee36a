/**
 * The session cookie, as Tomcat writes and reads it (cluster-semantics §3.1): `JSESSIONID=<id>; Path=/; HttpOnly`
 * (+ `Secure`, `SameSite`, `Domain` when configured), no Max-Age/Expires (a browser-session cookie).
 * The value is the bare id, never signed or URL-encoded, so a proxy can split it at the first dot.
 */
import type { ServerResponse } from 'node:http';

export interface SessionCookieOptions {
  /** Cookie name. Default `JSESSIONID`. */
  name: string;
  /** `Path`. Default `/` (Tomcat: the context path; `/` for the ROOT context). */
  path: string;
  /** `HttpOnly`. Default true (Tomcat's `useHttpOnly`). */
  httpOnly: boolean;
  /** `Secure`: true, false, or 'auto' = only when the request came over TLS (Tomcat's default behaviour). */
  secure: boolean | 'auto';
  /** `SameSite`; omitted by default, as Tomcat's default cookie processor does. */
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** `Domain`; omitted by default (host-only cookie). */
  domain?: string;
}

/** RFC 6265 token: what a cookie name may contain. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isValidCookieName(name: string): boolean {
  return TOKEN.test(name);
}

/**
 * Every value of cookie `name` in a Cookie header, in header order (several are possible: a parent
 * path's cookie and ours, or a stale duplicate). Values are returned raw: Tomcat does not URL-decode
 * session ids, and a quoted value has its quotes removed (RFC 6265 cookie-value).
 */
export function readCookieValues(header: string | string[] | undefined, name: string): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join('; ') : header;
  const out: string[] = [];
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value !== '') out.push(value);
  }
  return out;
}

/** `name=id; Path=/; HttpOnly[; Secure][; SameSite=x][; Domain=d]` for a response. */
export function serializeSessionCookie(id: string, options: SessionCookieOptions, requestIsSecure: boolean): string {
  let text = `${options.name}=${id}; Path=${options.path}`;
  if (options.domain) text += `; Domain=${options.domain}`;
  if (options.httpOnly) text += '; HttpOnly';
  if (options.secure === true || (options.secure === 'auto' && requestIsSecure)) text += '; Secure';
  if (options.sameSite) text += `; SameSite=${options.sameSite}`;
  return text;
}

/** The cookie name a `Set-Cookie` line sets. */
function setCookieName(line: string): string {
  const eq = line.indexOf('=');
  return (eq < 0 ? line : line.slice(0, eq)).trim();
}

/**
 * Puts `cookie` into the response's Set-Cookie header, replacing any earlier Set-Cookie for the same
 * name (Tomcat's `Request.changeSessionId` replaces rather than adds, so the client never sees two
 * session cookies in one response). No-op once the headers are sent.
 */
export function replaceSetCookie(res: ServerResponse, name: string, cookie: string): void {
  if (res.headersSent) return;
  const prev = res.getHeader('Set-Cookie');
  const lines = prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)];
  res.setHeader('Set-Cookie', [...lines.filter((l) => setCookieName(l) !== name), cookie]);
}

/**
 * ProxyPassReverse, ProxyPassReverseCookiePath and ProxyPassReverseCookieDomain (apache-semantics §8;
 * httpd proxy_util.c ap_proxy_location_reverse_map / ap_proxy_cookie_reverse_map).
 */
import type { CookieRewrite, ReverseRule } from '../config/types.js';

/** What the location rewrite needs to know about the client's request. */
export interface PublicOrigin {
  /** The request's Host header, or null when it had none. */
  host: string | null;
  /** Port the client connected to (used when Host has no port). */
  localPort: number;
  /** ServerName, used when the request had no Host. */
  serverName: string;
}

/** The members of a balancer, in configuration order (the live list: the manager may add some); `name` is the member URL. */
export type MemberUrls = (balancer: string) => ReadonlyArray<{ readonly name: string }> | undefined;

function startsWithIgnoreCase(s: string, prefix: string): boolean {
  return s.length >= prefix.length && s.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

/** `scheme://` at the start: ap_is_url. */
function isAbsoluteUrl(u: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(u);
}

/**
 * ap_construct_url with UseCanonicalName Off: `http://` + the Host header's host (lower-cased) and
 * port; without a port in Host the connection's local port; ":80" is left out.
 */
export function absoluteUrl(path: string, origin: PublicOrigin): string {
  let hostname: string;
  let port: number = origin.localPort;
  const host = origin.host;
  if (host === null || host === '') {
    hostname = origin.serverName;
  } else if (host.charCodeAt(0) === 0x5b /* [ */) {
    const end = host.indexOf(']');
    hostname = end < 0 ? host : host.slice(0, end + 1);
    const p = end < 0 ? '' : host.slice(end + 1);
    if (p.startsWith(':') && p.length > 1) port = Number(p.slice(1));
  } else {
    const colon = host.lastIndexOf(':');
    hostname = colon < 0 ? host : host.slice(0, colon);
    if (colon >= 0 && colon < host.length - 1) port = Number(host.slice(colon + 1));
  }
  hostname = hostname.toLowerCase();
  return `http://${hostname}${port === 80 || !Number.isFinite(port) ? '' : `:${port}`}${path}`;
}

export class ReverseMap {
  constructor(
    private readonly rules: readonly ReverseRule[],
    private readonly cookiePaths: readonly CookieRewrite[],
    private readonly cookieDomains: readonly CookieRewrite[],
    private readonly memberUrls: MemberUrls,
  ) {}

  get hasLocationRules(): boolean {
    return this.rules.length > 0;
  }

  get hasCookieRules(): boolean {
    return this.cookiePaths.length > 0 || this.cookieDomains.length > 0;
  }

  /**
   * Rewrite a Location / Content-Location / URI / Destination value. Entries are tried in order
   * and the first match wins (§8). A `balancer://` entry matches when a member URL is a
   * case-insensitive prefix of the value (followed, case-sensitively, by the entry's own path when
   * it has one). A relative result is made absolute with the request's host.
   */
  location(url: string, origin: PublicOrigin): string {
    for (const rule of this.rules) {
      if (rule.balancer !== null) {
        const members = this.memberUrls(rule.balancer);
        if (members === undefined) continue;
        // The entry's own path, unless it is empty or just "/".
        const urlpart = rule.url === '' || rule.url === '/' ? null : rule.url;
        for (const { name: member } of members) {
          if (urlpart !== null) {
            const m = member.endsWith('/') ? member.slice(0, -1) : member;
            if (startsWithIgnoreCase(url, m) && url.startsWith(urlpart, m.length)) {
              return this.finish(rule.path + url.slice(m.length + urlpart.length), origin);
            }
          } else if (startsWithIgnoreCase(url, member)) {
            const rest = url.slice(member.length);
            // A public path of just "/" does not double the slash.
            const u = rule.path === '/' && rest.startsWith('/') ? rest : rule.path + rest;
            return this.finish(u, origin);
          }
        }
      } else {
        const real = rule.url;
        if (real === '') continue;
        let part = url;
        if (real.startsWith('/')) {
          // A path entry compares against the path part of an absolute value.
          const s = url.indexOf('://');
          if (s >= 0) {
            const slash = url.indexOf('/', s + 3);
            if (slash >= 0) part = url.slice(slash);
          }
        }
        if (startsWithIgnoreCase(part, real)) return this.finish(rule.path + part.slice(real.length), origin);
      }
    }
    return url;
  }

  private finish(u: string, origin: PublicOrigin): string {
    return isAbsoluteUrl(u) ? u : absoluteUrl(u, origin);
  }

  /**
   * Rewrite the Path and Domain attributes of a Set-Cookie value. Every `;`-separated token is
   * examined (leading spaces skipped, names case-insensitive); for the path the first rule whose
   * internal path is a case-sensitive string prefix replaces the whole value, for the domain the
   * first rule whose internal domain is a case-insensitive prefix (§8). The rest of the value is
   * kept byte for byte.
   */
  cookie(value: string): string {
    let pathAt = -1;
    let pathEnd = -1;
    let newPath: string | null = null;
    let domainAt = -1;
    let domainEnd = -1;
    let newDomain: string | null = null;
    let pos = 0;
    while (pos <= value.length) {
      let end = value.indexOf(';', pos);
      if (end < 0) end = value.length;
      let t = pos;
      while (t < end && isSpace(value.charCodeAt(t))) t++;
      if (end - t >= 5 && value.slice(t, t + 5).toLowerCase() === 'path=') {
        const v = value.slice(t + 5, end);
        pathAt = t + 5;
        pathEnd = end;
        newPath = null;
        for (const r of this.cookiePaths) {
          if (v.startsWith(r.internal)) { newPath = r.public; break; }
        }
      } else if (end - t >= 7 && value.slice(t, t + 7).toLowerCase() === 'domain=') {
        const v = value.slice(t + 7, end);
        domainAt = t + 7;
        domainEnd = end;
        newDomain = null;
        for (const r of this.cookieDomains) {
          if (startsWithIgnoreCase(v, r.internal)) { newDomain = r.public; break; }
        }
      }
      pos = end + 1;
    }
    if (newPath === null && newDomain === null) return value;
    const edits: Array<[number, number, string]> = [];
    if (newPath !== null) edits.push([pathAt, pathEnd, newPath]);
    if (newDomain !== null) edits.push([domainAt, domainEnd, newDomain]);
    edits.sort((a, b) => b[0] - a[0]);
    let out = value;
    for (const [s, e, v] of edits) out = out.slice(0, s) + v + out.slice(e);
    return out;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

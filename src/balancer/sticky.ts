/**
 * Sticky sessions (apache-semantics §2): where the session value comes from, which part of it is the route, and
 * which member a route names. The lookups copy httpd's C string handling on purpose, quirks included,
 * because clients and backends in the field depend on what Apache does with their URLs and cookies.
 */
import type { StickySessionConfig } from '../config/types.js';
import { isCSpace } from './cnum.js';
import { Flag } from './flags.js';
import { retry, type Member } from './member.js';

/** C strings end at the first NUL: text after it is invisible to httpd's lookups. */
function cString(s: string): string {
  const nul = s.indexOf('\0');
  return nul === -1 ? s : s.slice(0, nul);
}

/** apr_strtok's first token: skip leading delimiters, then read up to the next delimiter; null if none. */
function firstToken(s: string, delims: string): string | null {
  let start = 0;
  while (start < s.length && delims.includes(s[start]!)) start++;
  if (start === s.length) return null;
  let end = start;
  while (end < s.length && !delims.includes(s[end]!)) end++;
  return s.slice(start, end);
}

/**
 * get_path_param (B:139-163, apache-semantics §2.2): the value of `name=` in the internal URL. The search is a
 * plain substring search (so "xjsessionid=" matches "jsessionid"); an occurrence needs "=" and at
 * least one character after it. The value is the first strtok token over "?&" (";?&" with
 * scolonpathdelim), which skips leading delimiters and returns null when only delimiters follow.
 * After an occurrence without "=", httpd resumes the search one character past the end of the name,
 * so an occurrence starting right there is skipped.
 */
export function pathParam(url: string, name: string, scolonpathdelim: boolean): string | null {
  const text = cString(url);
  const delims = scolonpathdelim ? ';?&' : '?&';
  let at = text.indexOf(name);
  while (at !== -1) {
    let end = at + name.length;
    if (text[end] === '=') {
      end++;
      if (end < text.length) return firstToken(text.slice(end), delims);
    }
    at = text.indexOf(name, end + 1);
  }
  return null;
}

/**
 * get_cookie_param (B:165-197, apache-semantics §2.2): the value of cookie `name` in the Cookie header. An
 * occurrence counts at the start of the header or after ';', ',' or a blank; blanks may follow the
 * name; then "=" and at least one character. The value runs to the first ';', then is cut at the
 * first ','. No unquoting. As in httpd, after a rejected occurrence that passed the boundary test
 * the search resumes two characters past the character examined for "=".
 */
export function cookieParam(cookie: string, name: string): string | null {
  const text = cString(cookie);
  let at = text.indexOf(name);
  while (at !== -1) {
    let next = at + 1;
    const before = text[at - 1];
    if (at === 0 || before === ';' || before === ',' || isCSpace(before)) {
      let pos = at + name.length;
      while (pos < text.length && isCSpace(text[pos])) pos++;
      const isEquals = text[pos] === '=';
      pos++;
      if (isEquals && pos < text.length) {
        let value = text.slice(pos);
        const semi = value.indexOf(';');
        if (semi !== -1) value = value.slice(0, semi);
        const comma = value.indexOf(',');
        if (comma !== -1) value = value.slice(0, comma);
        return value;
      }
      next = pos + 1;
    }
    at = text.indexOf(name, next);
  }
  return null;
}

/** The session value found for a request and the name that produced it (BALANCER_SESSION_STICKY). */
export interface SessionRoute {
  /** The stickysession name that matched: the URL parameter name if found in the URL, else the cookie name. */
  stickyName: string;
  /** The route: the text after the first separator (or the whole value with stickysessionsep Off). May be "". */
  route: string;
}

/**
 * The route a request asks for (B:272-305, apache-semantics §2.2-2.3): the URL parameter first; the cookie only
 * if the URL gave no value. A value without the separator yields no route at all, and a URL value
 * shadows the cookie even then. `internalUrl` is httpd's internal URL, `balancer://name/rest?query`.
 */
export function sessionRoute(
  sticky: StickySessionConfig,
  separator: string | null,
  scolonpathdelim: boolean,
  internalUrl: string,
  cookie: string | undefined,
): SessionRoute | null {
  let stickyName = sticky.param;
  let value = pathParam(internalUrl, sticky.param, scolonpathdelim);
  if (value === null && cookie !== undefined) {
    stickyName = sticky.cookie;
    value = cookieParam(cookie, sticky.cookie);
  }
  if (value === null) return null;
  if (separator === null) return { stickyName, route: value };
  const sep = value.indexOf(separator);
  return sep === -1 ? null : { stickyName, route: value.slice(sep + 1) };
}

/**
 * find_route_worker (B:201-270, apache-semantics §2.4): the usable member whose route equals `route`. Regular
 * members are searched first, then hot standbys (H), each in configuration order; lbset plays no
 * part, and draining or spare members are found like any other. A matching member that is unusable
 * gets retry() and, if still unusable, its `redirect` route is looked up the same way. httpd starts
 * the depth at 1 and follows a redirect only while the depth is below the member count, so a chain
 * through every member works and a redirect cycle ends after members − 1 hops.
 */
export function findRouteMember(members: readonly Member[], route: string, now: number, depth = 1): Member | null {
  for (const standbyPass of [false, true]) {
    for (const m of members) {
      if (m.has(Flag.HOT_STANDBY) !== standbyPass) continue;
      if (m.route === '' || m.route !== route) continue;
      if (m.usable) return m;
      retry(m, now);
      if (m.usable) return m;
      if (m.redirect !== '' && depth < members.length) {
        // The redirect lookup only ever returns a usable member; httpd's extra retry() on its result is moot.
        const target = findRouteMember(members, m.redirect, now, depth + 1);
        if (target !== null) return target;
      }
    }
  }
  return null;
}

/**
 * The ProxyPass table (apache-semantics §8, httpd mod_proxy.c proxy_trans/alias_match): rules are tried in
 * configuration order, the first match wins, and a `!` rule means "not proxied" (stickyd then
 * answers 404: it serves nothing itself).
 *
 * Steps 3 and 4 of the path pipeline (request-path.ts):
 * - rules are matched against the **servlet** form of the path, the one a Tomcat member maps
 *   (path parameters stripped, dots resolved), where httpd matches the decoded form. An exclusion
 *   therefore holds for every spelling Tomcat reads as the same path. httpd does this only for
 *   rules with `mapping=servlet`; stickyd fronts Tomcat and does it always (README, "Differences
 *   from Apache").
 * - the rest of the path after the matched prefix is cut from the **decoded** form (path
 *   parameters and all: a `;jsessionid=` after the prefix still reaches the sticky lookup and the
 *   member), and sent to the member **canonicalised** as ProxyPass does by default (canon.ts), or
 *   as the client wrote it (the **raw** form) for a `nocanon` rule.
 */
import type { ProxyPassRule } from '../config/types.js';
import { canonicalPath } from './canon.js';
import { decodedOffsetAfter, rawOffset, type RequestPath } from './request-path.js';

/**
 * httpd's alias_match: the number of chars of `uri` the prefix `alias` matches, or 0.
 * A run of "/" in the alias matches a run of one or more "/" in the URI; other chars compare
 * literally (case-sensitive). The match must end at a path-segment boundary unless the alias
 * itself ends with "/", so "/app" matches "/app" and "/app/x" but not "/apple".
 */
export function aliasMatch(uri: string, alias: string): number {
  let a = 0;
  let u = 0;
  const aliasLen = alias.length;
  const uriLen = uri.length;
  while (a < aliasLen && u < uriLen) {
    if (alias.charCodeAt(a) === 0x2f) {
      if (uri.charCodeAt(u) !== 0x2f) return 0;
      while (a < aliasLen && alias.charCodeAt(a) === 0x2f) a++;
      while (u < uriLen && uri.charCodeAt(u) === 0x2f) u++;
    } else if (uri.charCodeAt(u++) !== alias.charCodeAt(a++)) {
      return 0;
    }
  }
  // The URI ended before the alias did ("/" against "/examples").
  if (u === uriLen && a !== aliasLen) return 0;
  // The last alias path component must have matched all the way.
  if (alias.charCodeAt(a - 1) !== 0x2f && u < uriLen && uri.charCodeAt(u) !== 0x2f) return 0;
  return u;
}

/** Where a request goes: the rule, and the path parts the attempt loop needs. */
export interface MountTarget {
  rule: ProxyPassRule;
  /**
   * The path after `balancer://name` for the sticky lookup (§2.2): the rule's backend path plus
   * the decoded rest of the request path, plus "?" + the raw query when there was one.
   */
  stickyUrl: string;
  /**
   * What follows the member's basepath on the wire: backend path + the rest canonicalised (or
   * raw with `nocanon`) + "?" + the raw query.
   */
  forwardPath: string;
}

export class MountTable {
  readonly rules: readonly ProxyPassRule[];
  /** Rule paths in the bytes-as-chars form of RequestPath (UTF-8 bytes as latin1 chars). */
  private readonly prefixes: string[];

  constructor(rules: readonly ProxyPassRule[]) {
    this.rules = rules;
    this.prefixes = rules.map((r) => Buffer.from(r.path, 'utf8').toString('latin1'));
  }

  /**
   * The first rule whose prefix matches, or null when none does. An `exclude` rule is returned
   * as such: the caller answers 404.
   */
  resolve(path: RequestPath): MountTarget | { rule: ProxyPassRule; excluded: true } | null {
    for (let i = 0; i < this.rules.length; i++) {
      // Step 3: match on the servlet form.
      const len = aliasMatch(path.servlet, this.prefixes[i]!);
      if (len === 0) continue;
      const rule = this.rules[i]!;
      if (rule.exclude) return { rule, excluded: true };
      // Step 4: the rest, from the decoded form (for stickiness) and for the wire.
      const at = decodedOffsetAfter(path, len);
      let restDecoded = path.decoded.slice(at);
      let restWire = rule.nocanon ? path.raw.slice(rawOffset(path, at)) : canonicalPath(restDecoded);
      const base = rule.backendpath;
      // `ProxyPass / balancer://c` would glue "x" to "balancer://c"; supply the missing "/". The
      // path parameters of the prefix's last segment (`/app;jsessionid=x`) stay glued to it.
      const first = restWire.charCodeAt(0);
      if (restWire !== '' && first !== 0x2f && first !== 0x3b /* ; */ && (base === '' || base.charCodeAt(base.length - 1) !== 0x2f)) {
        restDecoded = '/' + restDecoded;
        restWire = '/' + restWire;
      }
      const query = path.query === null ? '' : '?' + path.query;
      return { rule, stickyUrl: base + restDecoded + query, forwardPath: base + restWire + query };
    }
    return null;
  }
}

/** The path sent to a member: its basepath + the mount's forward path; never empty (B:393-412). */
export function memberPath(basepath: string, forwardPath: string): string {
  const p = basepath + forwardPath;
  if (p === '' || p.charCodeAt(0) === 0x3f /* ? */) return '/' + p;
  return p;
}

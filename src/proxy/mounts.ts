/**
 * The ProxyPass table (apache-semantics §8, httpd mod_proxy.c proxy_trans/alias_match): rules are tried in
 * configuration order against the decoded request path, the first match wins, and a `!` rule
 * means "not proxied" (stickyd then answers 404: it serves nothing itself).
 */
import type { ProxyPassRule } from '../config/types.js';
import { rawOffset, type RequestPath } from './request-path.js';

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
  /** What follows the member's basepath on the wire: backend path + raw rest + "?" + query. */
  forwardPath: string;
}

export class MountTable {
  readonly rules: readonly ProxyPassRule[];
  /** Rule paths in the decoded-bytes form of RequestPath.decoded (UTF-8 bytes as latin1 chars). */
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
    const { decoded } = path;
    for (let i = 0; i < this.rules.length; i++) {
      const len = aliasMatch(decoded, this.prefixes[i]!);
      if (len === 0) continue;
      const rule = this.rules[i]!;
      if (rule.exclude) return { rule, excluded: true };
      let restDecoded = decoded.slice(len);
      let restRaw = path.raw.slice(rawOffset(path, len));
      const base = rule.backendpath;
      // `ProxyPass / balancer://c` would glue "x" to "balancer://c"; supply the missing "/".
      if (restRaw !== '' && restRaw.charCodeAt(0) !== 0x2f && (base === '' || base.charCodeAt(base.length - 1) !== 0x2f)) {
        restDecoded = '/' + restDecoded;
        restRaw = '/' + restRaw;
      }
      const query = path.query === null ? '' : '?' + path.query;
      return { rule, stickyUrl: base + restDecoded + query, forwardPath: base + restRaw + query };
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

/**
 * `ProxyPassMatch` (and `ProxyPass ~`, and ProxyPass inside `<LocationMatch>`) → a prefix rule,
 * when the regular expression is only an anchored prefix. stickyd's mount table has prefix rules
 * only (apache-semantics §8), so anything that really needs a regular expression is refused with the reason.
 *
 * Accepted: `^` + literal path + optionally `(.*)` or `.*` + optionally `$`. The literal may escape
 * punctuation (`\.`, `\/`, `\-`); any other regular-expression syntax is refused.
 *
 * What httpd does with a match (proxy_trans_match in mod_proxy.c): it substitutes `$1`... in the
 * target URL; when the URL contains no substitution at all, it appends the whole request path
 * instead. So, for a literal prefix P:
 * - `^P(.*)$` + `balancer://c/x$1` → prefix P → `balancer://c/x` (P + rest goes to /x + rest);
 * - `^P` + `balancer://c` → prefix P → `balancer://c` + P (the whole path is appended).
 * A `$1` anywhere but at the end, or any other `$N`, cannot be expressed.
 *
 * One difference remains and is reported: a ProxyPass prefix matches whole path segments
 * (`/app` matches `/app` and `/app/x`, not `/apple`), a regular expression does not. When P ends
 * with `/` the two agree.
 */

export type PrefixConversion =
  | { ok: true; path: string; url: string; note: string | null }
  | { ok: false; reason: string };

/** Characters that are syntax in a POSIX extended / PCRE regular expression. */
const SPECIAL = new Set(['.', '[', ']', '(', ')', '*', '+', '?', '{', '}', '|', '^', '$', '\\']);

/** The literal text of `source` if it is one, else null. */
function literal(source: string): string | null {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i] as string;
    if (c === '\\') {
      const next = source[i + 1];
      // `\d`, `\w`, `\b`... are classes or assertions, not the letter.
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return null;
      out += next;
      i++;
    } else if (SPECIAL.has(c)) {
      return null;
    } else {
      out += c;
    }
  }
  return out;
}

export function regexToPrefix(regex: string, url: string): PrefixConversion {
  const notPrefix = { ok: false as const, reason: `the regular expression "${regex}" is not an anchored prefix such as ^/app(.*)$, and stickyd has prefix rules only` };
  if (!regex.startsWith('^')) return notPrefix;
  let body = regex.slice(1);
  if (body.endsWith('$') && !body.endsWith('\\$')) body = body.slice(0, -1);
  let group = false;
  if (body.endsWith('(.*)')) {
    group = true;
    body = body.slice(0, -4);
  } else if (body.endsWith('.*') && !body.endsWith('\\.*')) {
    body = body.slice(0, -2);
  } else if (regex.endsWith('$')) {
    // `^/app$` matches one path exactly; a prefix rule would match everything below it too.
    if (literal(body) === null) return notPrefix;
    return { ok: false, reason: `"${regex}" matches one path exactly, and stickyd has prefix rules only` };
  }
  const prefix = literal(body);
  if (prefix === null || !prefix.startsWith('/')) return notPrefix;

  let target: string;
  if (url === '!') {
    target = '!';
  } else if (!url.includes('$')) {
    target = url + prefix;
  } else if (group && url.endsWith('$1') && !url.slice(0, -2).includes('$')) {
    target = url.slice(0, -2);
  } else {
    return { ok: false, reason: `the target "${url}" uses regular-expression substitutions other than a final $1 for (.*)` };
  }
  const note = prefix.endsWith('/')
    ? null
    : `converted to the prefix rule ${prefix}, which matches whole path segments: unlike the regular expression it does not match paths such as ${prefix}x`;
  return { ok: true, path: prefix, url: target, note };
}

/**
 * Shell wildcards in `Include` paths, as httpd matches them (apr_fnmatch with APR_FNM_PERIOD, one
 * path segment at a time): `*` any run of characters, `?` one character, `[abc]`, `[a-z]`,
 * `[!x]` / `[^x]` a class, `\c` the character c itself. A leading `.` in a name is only matched by
 * a pattern that starts with a literal `.`, so `*.conf` does not pick up `.hidden.conf`.
 */

/** apr_fnmatch_test(): does the text contain a wildcard (`*`, `?`, or `[` with a later `]`)? */
export function hasWildcard(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
    } else if (c === '*' || c === '?') {
      return true;
    } else if (c === '[' && text.indexOf(']', i + 1) > i) {
      return true;
    }
  }
  return false;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/** The segment pattern as an anchored RegExp. */
function segmentRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      re += (pattern[++i] as string).replace(REGEX_SPECIAL, '\\$&');
    } else if (c === '*') {
      re += '.*';
    } else if (c === '?') {
      re += '.';
    } else if (c === '[' && pattern.indexOf(']', i + 2) > i) {
      // A `]` right after `[` (or `[!`) is a member of the class, as in POSIX.
      let j = i + 1;
      let negate = false;
      if (pattern[j] === '!' || pattern[j] === '^') {
        negate = true;
        j++;
      }
      const close = pattern.indexOf(']', j + 1);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      const body = pattern.slice(j, close).replace(/[\\\]^]/g, '\\$&');
      re += `[${negate ? '^' : ''}${body}]`;
      i = close;
    } else {
      re += c.replace(REGEX_SPECIAL, '\\$&');
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/** Does the file name (one path segment) match the pattern? */
export function fnmatch(pattern: string, name: string): boolean {
  if (name.startsWith('.') && !pattern.startsWith('.')) return false;
  return segmentRegExp(pattern).test(name);
}

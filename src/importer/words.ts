/**
 * Splitting a directive's arguments into words the way httpd's ap_getword_conf() does
 * (server/util.c in 2.4.62):
 *
 * - Words are separated by white space.
 * - A word that *starts* with `"` or `'` runs to the matching quote; inside it `\"` (or `\'`)
 *   stands for the quote and `\\` for one backslash; any other backslash is kept as it is.
 * - In an unquoted word `\\` stands for one backslash and every other character is literal, so
 *   `a"b"` is the word `a"b"`.
 *
 * httpd silently lets a quoted word run to the end of the line when its closing quote is missing;
 * that is nearly always a typing mistake that swallows the following arguments, so we refuse it.
 *
 * `ProxyHCExpr` reads its expression with ap_getword_conf2(), which also accepts `{...}` (nested
 * braces allowed) as a quote; `braces: true` selects that reading.
 */

export class WordSyntaxError extends Error {
  override name = 'WordSyntaxError';
}

function unescape(text: string, quote: string | null): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '\\' && (next === '\\' || (quote !== null && next === quote))) {
      out += next;
      i++;
    } else {
      out += c;
    }
  }
  return out;
}

const SPACE = /\s/;

/** The start of an argument, for messages: `"balancer://c...`. */
function excerpt(text: string, start: number): string {
  const rest = text.slice(start);
  return rest.length > 24 ? `${rest.slice(0, 24)}...` : rest;
}

export function configWords(text: string, options: { braces?: boolean } = {}): string[] {
  const words: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    while (i < n && SPACE.test(text[i] as string)) i++;
    if (i >= n) return words;
    const first = text[i] as string;
    if (first === '"' || first === "'") {
      let end = i + 1;
      while (end < n && text[end] !== first) {
        end += text[end] === '\\' && (text[end + 1] === first || text[end + 1] === '\\') ? 2 : 1;
      }
      if (end >= n) throw new WordSyntaxError(`unterminated quoted argument ${excerpt(text, i)}: the closing ${first} is missing`);
      words.push(unescape(text.slice(i + 1, end), first));
      i = end + 1;
    } else if (first === '{' && options.braces) {
      let depth = 1;
      let end = i + 1;
      while (end < n) {
        const c = text[end];
        if (c === '}' && --depth === 0) break;
        if (c === '{') depth++;
        end += c === '\\' && text[end + 1] === '\\' ? 2 : 1;
      }
      if (end >= n) throw new WordSyntaxError(`unterminated {...} argument ${excerpt(text, i)}: the closing } is missing`);
      words.push(unescape(text.slice(i + 1, end), null));
      i = end + 1;
    } else {
      let end = i;
      while (end < n && !SPACE.test(text[end] as string)) end++;
      words.push(unescape(text.slice(i, end), null));
      i = end;
    }
  }
}

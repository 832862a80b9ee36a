/**
 * httpd's ap_escape_logitem (server/util.c, with gen_test_char's T_ESCAPE_LOGITEM): what a log
 * line may not carry as it is. A byte that is not printable ASCII (below 0x20, 0x7f, 0x80 and
 * up), `"` and `\` is escaped: `\b \n \r \t \v`, `\"`, `\\`, and every other one as `\xhh` (lower
 * case). So a request cannot forge a second line or end a quoted field early.
 *
 * Text from the network arrives from node's parser as latin1 (one code unit per byte, 0..255), so
 * a code unit is httpd's byte. A code unit above 0xff can only come from configuration text; it is
 * escaped as the bytes of its UTF-8 encoding, which is what httpd would have read from the file.
 *
 * `putLogItem` writes the same escaped text straight into a batch Buffer (ascii.ts).
 */
import { NO } from './ascii.js';

const HEX = '0123456789abcdef';

function escapeByte(b: number): string {
  switch (b) {
    case 0x08:
      return '\\b';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
    case 0x22:
      return '\\"';
    case 0x5c:
      return '\\\\';
    default:
      return `\\x${HEX[b >> 4]}${HEX[b & 0xf]}`;
  }
}

function needsEscape(c: number): boolean {
  return c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c;
}

/** `s` as httpd writes a log item. The common case (nothing to escape) returns `s` itself. */
export function escapeLogItem(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (needsEscape(s.charCodeAt(i))) return escapeFrom(s, i);
  }
  return s;
}

function escapeFrom(s: string, start: number): string {
  let out = s.slice(0, start);
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!needsEscape(c)) {
      out += s[i];
    } else if (c <= 0xff) {
      out += escapeByte(c);
    } else {
      // Configuration text: the UTF-8 bytes (a surrogate pair is one code point).
      const cp = s.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += escapeByte(b);
    }
  }
  return out;
}

/**
 * escapeLogItem(s) written into `into` from `at` (its text is ASCII); returns where it ends, or NO
 * (ascii.ts) for configuration text above 0xff (escapeLogItem's UTF-8 case) or when it does not fit.
 */
export function putLogItem(s: string, into: Uint8Array, at: number): number {
  if (at < 0) return NO;
  const n = s.length;
  // Room for the rest unescaped is checked here, and again before each escape (up to 4 bytes).
  if (at + n > into.length) return NO;
  let p = at;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!needsEscape(c)) {
      into[p++] = c;
      continue;
    }
    if (c > 0xff || p + 4 + (n - i - 1) > into.length) return NO;
    const e = escapeByte(c);
    for (let k = 0; k < e.length; k++) into[p++] = e.charCodeAt(k);
  }
  return p;
}

/**
 * C library number parsing as httpd's balancer-manager applies it to form values (`atoi`, `atof`,
 * `isspace`). The manager never rejects a malformed number: `atoi("2x")` is 2 and `atoi("x")` is 0,
 * and the range check that follows decides whether the value is used (apache-semantics §6). Reproducing that
 * keeps a form post to stickyd doing what the same post does to Apache.
 */

/** C `isspace` in the "C" locale: space, \t, \n, \v, \f, \r. */
export function isCSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

/** The longest prefix strtod/strtol would read: blanks, sign, digits (and, for decimals, fraction and exponent). */
const INTEGER = /^[ \t\n\v\f\r]*([+-]?\d+)/;
const DECIMAL = /^[ \t\n\v\f\r]*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;

/** C `atoi`: the leading integer, 0 when there is none. */
export function atoi(text: string | number | boolean): number {
  if (typeof text === 'boolean') return text ? 1 : 0;
  const m = INTEGER.exec(String(text));
  if (!m) return 0;
  const n = Number.parseInt(m[1]!, 10);
  // atoi's overflow is undefined behaviour; clamping to int keeps every later range check false.
  return Math.max(-2147483648, Math.min(2147483647, n));
}

/**
 * C `atof`: the leading decimal number, 0 when there is none. "inf", "nan" and hex floats, which
 * glibc would read, are taken as 0: httpd then converts them to int, which is undefined behaviour.
 */
export function atof(text: string | number): number {
  const m = DECIMAL.exec(String(text));
  return m ? Number.parseFloat(m[1]!) : 0;
}

/** `(int)(d)` for the values the manager sees: truncation toward zero. */
export function toCInt(d: number): number {
  if (!Number.isFinite(d)) return 0;
  return Math.trunc(d);
}

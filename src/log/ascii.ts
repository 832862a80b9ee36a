/**
 * Writing an access line straight into the batch's Buffer (batch.ts), piece by piece, as ASCII
 * bytes: no string is built for the line, none is flattened and UTF-8 encoded afterwards. Under
 * load that string path (a rope of some thirty pieces, flattened, then encoded by a call into C++,
 * all of it young garbage) cost the daemon more than the rest of the access log together.
 *
 * Each writer takes the offset to write at and returns the offset after what it wrote, or NO when
 * it cannot write its piece here: a character that is not plain ASCII (or that needs a JSON
 * escape), or no room left in the Buffer. NO passes through every later writer, so a line's
 * encoder checks once, at its end; then the line is written as a string instead (the general path,
 * which handles everything). What a writer puts in the Buffer is exactly the UTF-8 of the text the
 * string path would have written.
 */

/** The piece cannot be written here: write the whole line as a string. */
export const NO = -1;

/** The UTF-8 bytes of constant text (keys, literals of a LogFormat), made once. */
export function bytesOf(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function putBytes(bytes: Uint8Array, into: Uint8Array, at: number): number {
  if (at < 0) return NO;
  const n = bytes.length;
  if (at + n > into.length) return NO;
  for (let i = 0; i < n; i++) into[at + i] = bytes[i]!;
  return at + n;
}

/** `s` when every code unit is ASCII (below 0x80: one byte each, its own UTF-8). */
export function putAscii(s: string, into: Uint8Array, at: number): number {
  if (at < 0) return NO;
  const n = s.length;
  if (at + n > into.length) return NO;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return NO;
    into[at + i] = c;
  }
  return at + n;
}

/**
 * `s` as a JSON string literal, quotes included, when it needs no escape: ASCII without control
 * characters, `"` and `\` (JSON.stringify leaves DEL as it is, and so does this).
 */
export function putJsonString(s: string, into: Uint8Array, at: number): number {
  if (at < 0) return NO;
  const n = s.length;
  if (at + n + 2 > into.length) return NO;
  into[at] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x80 || c === 0x22 || c === 0x5c) return NO;
    into[at + 1 + i] = c;
  }
  into[at + n + 1] = 0x22;
  return at + n + 2;
}

/** The decimal digits of a safe integer ≥ 0, filled in from the last. */
function putDigits(v: number, into: Uint8Array, at: number): number {
  let len = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) len++;
  if (at + len > into.length) return NO;
  let p = at + len;
  do {
    const q = Math.floor(v / 10);
    into[--p] = 0x30 + (v - q * 10);
    v = q;
  } while (v > 0);
  return at + len;
}

/**
 * `String(n)`: an integer digit by digit, a number of at most three decimals (a duration, rounded
 * to the microsecond) as its integer part, "." and its decimals without trailing zeros. Both are
 * exactly what String writes for them (below 1e9 a double that is k/1000 has no shorter form than
 * k/1000's decimals); anything else goes through String.
 */
export function putNumber(n: number, into: Uint8Array, at: number): number {
  if (at < 0) return NO;
  if (Number.isInteger(n)) {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return putDigits(n, into, at); // -0 too: "0"
  } else if (n > 0 && n < 1e9) {
    const k = Math.round(n * 1000);
    if (k / 1000 === n) {
      const whole = Math.floor(k / 1000);
      let p = putDigits(whole, into, at);
      if (p < 0 || p + 4 > into.length) return NO;
      let frac = k - whole * 1000; // 1..999: n is not an integer
      into[p++] = 0x2e;
      into[p++] = 0x30 + Math.floor(frac / 100);
      frac %= 100;
      if (frac === 0) return p;
      into[p++] = 0x30 + Math.floor(frac / 10);
      frac %= 10;
      if (frac === 0) return p;
      into[p++] = 0x30 + frac;
      return p;
    }
  }
  return putAscii(String(n), into, at);
}

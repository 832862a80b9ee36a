/**
 * The common case of a member response, read without llhttp: a whole `HTTP/1.1` response with a
 * Content-Length body that arrived in one read, nothing before or after it, every byte of its head
 * plainly valid. Handing such a response to llhttp costs three calls from C++ into JavaScript
 * and a copy of the body; reading it here costs a scan of its head (paired on one core, the
 * minimal proxy with llhttp for its responses needed 8-10 % more CPU per request than with a scan
 * like this one).
 *
 * It accepts only what llhttp accepts and reads the same from it: anything else (another version,
 * a 1xx, 204 or 304, Transfer-Encoding, a Connection header other than keep-alive, no or more
 * than one Content-Length, a body cut short or followed by more bytes, a character outside the
 * plain ranges below, a head over 16 KiB) returns null, and the connection gives the very same
 * bytes to llhttp, which has seen nothing of this response yet. test/proxy/whole-response.test.ts
 * holds it to llhttp's reading of every response it accepts.
 */

export interface WholeResponse {
  status: number;
  statusText: string;
  /** flat [name, value, ...] as llhttp gives them (latin1). */
  headers: string[];
  /** Offset of the body in the chunk; the body runs to the chunk's end. */
  bodyStart: number;
}

const MAX_HEAD = 16 * 1024;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** RFC 9110 tchar, as a table. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** "HTTP/1.1 " */
const VERSION = [0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x20];

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A visible character or a space (no obs-text, no control character). */
function isPlain(c: number): boolean {
  return c >= SP && c <= 0x7e;
}

/** The response in `chunk`, if it is a whole one in the plain form above; else null. */
export function wholeResponse(chunk: Buffer): WholeResponse | null {
  const n = chunk.length;
  if (n < 17) return null;
  for (let i = 0; i < 9; i++) if (chunk[i] !== VERSION[i]) return null;
  const d0 = chunk[9]!;
  const d1 = chunk[10]!;
  const d2 = chunk[11]!;
  if (!isDigit(d0) || !isDigit(d1) || !isDigit(d2) || d0 < 0x32) return null;
  const status = (d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30);
  // No body by definition: llhttp's business.
  if (status === 204 || status === 304) return null;
  let p = 12;
  let statusText = '';
  if (chunk[p] === SP) {
    const start = ++p;
    while (p < n && isPlain(chunk[p]!)) p++;
    statusText = chunk.toString('latin1', start, p);
  }
  if (chunk[p] !== CR || chunk[p + 1] !== LF) return null;
  p += 2;
  const headers: string[] = [];
  let contentLength = -1;
  for (;;) {
    if (p + 1 >= n || p > MAX_HEAD) return null;
    if (chunk[p] === CR) {
      if (chunk[p + 1] !== LF) return null;
      p += 2;
      break;
    }
    const nameStart = p;
    while (p < n && TCHAR[chunk[p]!] === 1) p++;
    if (p === nameStart || chunk[p] !== COLON) return null;
    const nameEnd = p++;
    while (chunk[p] === SP || chunk[p] === HTAB) p++;
    const valueStart = p;
    while (p < n && (isPlain(chunk[p]!) || chunk[p] === HTAB)) p++;
    if (chunk[p] !== CR || chunk[p + 1] !== LF) return null;
    const valueEnd = p;
    // Trailing whitespace in a value: leave its trimming to llhttp.
    if (valueEnd > valueStart && (chunk[valueEnd - 1] === SP || chunk[valueEnd - 1] === HTAB)) return null;
    p += 2;
    const name = chunk.toString('latin1', nameStart, nameEnd);
    const value = chunk.toString('latin1', valueStart, valueEnd);
    const length = nameEnd - nameStart;
    if (length === 14 || length === 17 || length === 10 || length === 16) {
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        if (contentLength !== -1 || value.length === 0 || value.length > 15) return null;
        for (let i = 0; i < value.length; i++) if (!isDigit(value.charCodeAt(i))) return null;
        contentLength = Number(value);
      } else if (lower === 'transfer-encoding') {
        return null;
      } else if ((lower === 'connection' || lower === 'proxy-connection') && value.toLowerCase() !== 'keep-alive') {
        // llhttp reads both for the keep-alive verdict.
        return null;
      }
    }
    headers.push(name, value);
  }
  if (contentLength === -1 || n - p !== contentLength) return null;
  return { status, statusText, headers, bodyStart: p };
}

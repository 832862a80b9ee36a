/**
 * The request path, from the request target to the forms the rest of the request path needs. The
 * pipeline, top to bottom (each step names the form it works on):
 *
 *   1. raw         the request target as the client wrote it, split into path and query
 *                  (parseRequestPath; absolute-form loses its scheme and authority).
 *   2. decoded     httpd's r->uri: %-decoded, dot segments removed, runs of "/" merged
 *                  (decodeAndNormalize). ProxyPass prefixes matched this in httpd, and the sticky
 *                  lookup of apache-semantics §2.2 reads it.
 *   3. servlet     the path as a Tomcat member will see it: ";parameters" stripped from every
 *                  segment, then "." and ".." resolved again (servletView). stickyd matches
 *                  ProxyPass rules, exclusions above all, on this form (mounts.ts), so that
 *                  `/app/..;/manager` or `/manager;x/html` cannot slip past `/manager !`.
 *   4. forwarded   what follows the matched prefix, cut from the decoded path and canonicalised
 *                  as ProxyPass does by default (canon.ts), or cut from the raw path for a
 *                  `nocanon` rule (mounts.ts).
 *
 * Refusals, as httpd (default `AllowEncodedSlashes Off`) and Tomcat give them: a malformed escape
 * is 400, an encoded "/" or NUL is 404 (httpd's answer; Tomcat refuses them too), a backslash
 * (raw or %5C) is 400 (Tomcat's answer: it could otherwise be read as a separator by a member
 * configured to allow it; httpd forwards it), climbing above the root with ".." is 400 in the
 * decoded and in the servlet form. Decoded bytes are one char each (latin1), so byte-wise
 * comparisons stay byte-wise.
 */

export class PathError extends Error {
  override name = 'PathError';
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

export interface RequestPath {
  /** Form 1 after normalisation: %-encoded as the client sent it, dot segments removed, "/" runs merged (for `nocanon`). */
  raw: string;
  /** Form 2: the %-decoded path (one char per byte), httpd's r->uri. */
  decoded: string;
  /** The query string without "?" (raw), or null when the request target had no "?". */
  query: string | null;
  /** rawOffsets[i] = offset in `raw` where decoded char i starts; null when raw === decoded. */
  rawOffsets: Int32Array | null;
  /** Form 3: the servlet view of `decoded` (path parameters stripped, dots resolved). */
  servlet: string;
  /**
   * servletOffsets[i] = offset in `decoded` of servlet char i (a "/" maps to the "/" before the
   * segment that follows it); null when servlet === decoded.
   */
  servletOffsets: Int32Array | null;
}

/** Offset in `p.raw` that corresponds to offset `i` of `p.decoded`. */
export function rawOffset(p: RequestPath, i: number): number {
  return p.rawOffsets === null ? i : p.rawOffsets[i]!;
}

/**
 * Offset in `p.decoded` where the rest of the path after the first `n` chars of `p.servlet` begins.
 * A segment's path parameters stay with the rest (`/app;jsessionid=x/y` after `/app` leaves
 * `;jsessionid=x/y`), as httpd's `mapping=servlet` forwards them.
 */
export function decodedOffsetAfter(p: RequestPath, n: number): number {
  if (p.servletOffsets === null || n === 0) return n;
  return p.servletOffsets[n - 1]! + 1;
}

/**
 * Parse a request target (node's `req.url`: origin-form, or absolute-form for requests written
 * like `GET http://host/path`). Throws PathError for targets httpd refuses.
 */
export function parseRequestPath(target: string): RequestPath {
  let path = target;
  if (path.charCodeAt(0) !== 0x2f /* / */) {
    // absolute-form: with ProxyRequests Off httpd serves it as a local path (RFC 9112 §3.2.2).
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(path);
    if (m === null) throw new PathError(400, `request target "${target.slice(0, 100)}" is not a path`);
    path = path.slice(m[0].length);
    if (path === '' || path.charCodeAt(0) === 0x3f /* ? */) path = '/' + path;
    if (path.charCodeAt(0) !== 0x2f) throw new PathError(400, `request target "${target.slice(0, 100)}" is not a path`);
  }
  let query: string | null = null;
  const q = path.indexOf('?');
  if (q >= 0) {
    query = path.slice(q + 1);
    path = path.slice(0, q);
  }
  const p = decodeAndNormalize(path, query);
  if (p.decoded.indexOf('\\') >= 0) throw new PathError(400, 'the path contains a backslash ("\\" or %5C)');
  servletView(p);
  return p;
}

/** Step 2: the decoded form (and the raw one with the same dot segments removed). */
function decodeAndNormalize(path: string, query: string | null): RequestPath {
  // Fast path: nothing to decode, no dot segment, no run of slashes.
  if (path.indexOf('%') < 0 && path.indexOf('/.') < 0 && path.indexOf('//') < 0) {
    return { raw: path, decoded: path, query, rawOffsets: null, servlet: path, servletOffsets: null };
  }
  const rawSegs = path.split('/');
  const decSegs = rawSegs.map(decodeSegment);
  const outRaw: string[] = [''];
  const outDec: string[] = [''];
  const last = rawSegs.length - 1;
  for (let i = 1; i <= last; i++) {
    const d = decSegs[i]!;
    // MergeSlashes: an empty segment inside the path is a doubled "/"; a final one is the trailing "/".
    if (rawSegs[i] === '' && i < last) continue;
    if (d === '.' || d === '..') {
      if (d === '..') {
        if (outRaw.length <= 1) throw new PathError(400, 'the path climbs above the root ("..")');
        outRaw.pop();
        outDec.pop();
      }
      // A trailing dot segment leaves a trailing slash ("/a/b/.." is "/a/").
      if (i === last) {
        outRaw.push('');
        outDec.push('');
      }
      continue;
    }
    outRaw.push(rawSegs[i]!);
    outDec.push(d);
  }
  const raw = outRaw.join('/');
  const decoded = outDec.join('/');
  if (raw === decoded) return { raw, decoded, query, rawOffsets: null, servlet: decoded, servletOffsets: null };
  // Map every decoded offset (and the end) to its raw offset.
  const offsets = new Int32Array(decoded.length + 1);
  let r = 0;
  let d = 0;
  while (r < raw.length) {
    offsets[d++] = r;
    r += raw.charCodeAt(r) === 0x25 /* % */ ? 3 : 1;
  }
  offsets[d] = raw.length;
  return { raw, decoded, query, rawOffsets: offsets, servlet: decoded, servletOffsets: null };
}

/**
 * Step 3: the servlet view of the decoded path, what Tomcat maps (CoyoteAdapter: path parameters
 * removed from each segment, then "//", "/./" and "/../" normalised; a path that climbs above the
 * root is refused). The decoded form has no dot segment and no run of "/" left, so only paths
 * with a ";" change here; `/app/..;/manager` becomes `/manager`, `/manager;x/html`
 * `/manager/html`, `/;x/a` `/a`.
 */
function servletView(p: RequestPath): void {
  const d = p.decoded;
  if (d.indexOf(';') < 0) return;
  // The segments kept: [start of the name in d, end of the name in d, d offset of the "/" before].
  const kept: Array<[number, number, number]> = [];
  let trailing = false;
  for (let sep = 0; sep < d.length; ) {
    const start = sep + 1;
    let end = d.indexOf('/', start);
    if (end < 0) end = d.length;
    const semi = d.indexOf(';', start);
    const nameEnd = semi >= 0 && semi < end ? semi : end;
    const name = d.slice(start, nameEnd);
    const last = end === d.length;
    if (name === '..') {
      if (kept.length === 0) throw new PathError(400, 'the path climbs above the root (".." with a path parameter)');
      kept.pop();
      trailing = last;
    } else if (name === '.' || name === '') {
      // "." or an empty name (";x" alone, or what follows a final "/"): nothing to map; as the
      // last segment it leaves a final "/".
      trailing = last;
    } else {
      kept.push([start, nameEnd, sep]);
      trailing = false;
    }
    sep = end;
  }
  let servlet = '';
  const offsets: number[] = [];
  for (const [start, nameEnd, sep] of kept) {
    servlet += '/' + d.slice(start, nameEnd);
    offsets.push(sep);
    for (let i = start; i < nameEnd; i++) offsets.push(i);
  }
  if (trailing || kept.length === 0) {
    servlet += '/';
    offsets.push(d.length - 1);
  }
  if (servlet === d) return;
  p.servlet = servlet;
  p.servletOffsets = Int32Array.from(offsets);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** %-decode one path segment (no "/" inside). */
function decodeSegment(seg: string): string {
  if (seg.indexOf('%') < 0) return seg;
  let out = '';
  let start = 0;
  for (let i = seg.indexOf('%'); i >= 0; i = seg.indexOf('%', start)) {
    const hi = hexValue(seg.charCodeAt(i + 1));
    const lo = hexValue(seg.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) throw new PathError(400, `malformed %-escape "${seg.slice(i, i + 3)}" in the path`);
    const byte = hi * 16 + lo;
    // AllowEncodedSlashes Off (the default): httpd answers 404 for %2F, and for %00.
    if (byte === 0x2f) throw new PathError(404, 'the path contains an encoded "/" (%2F)');
    if (byte === 0) throw new PathError(404, 'the path contains an encoded NUL (%00)');
    out += seg.slice(start, i) + String.fromCharCode(byte);
    start = i + 3;
  }
  return out + seg.slice(start);
}

/**
 * The request path as mod_proxy sees it. httpd matches ProxyPass rules against `r->uri`, which is
 * the path after dot-segment removal and %-decoding (apache-semantics §8, §2.2), while the member receives the
 * path the client wrote. We keep both: the decoded form for matching and for the sticky lookup,
 * the raw form (still %-encoded) for what is sent on, and a map between their offsets so that the
 * part after a matched prefix can be cut from the raw path at the same place.
 *
 * Decoding follows httpd's ap_unescape_url with the default `AllowEncodedSlashes Off`: a malformed
 * escape is 400, an encoded "/" or NUL is 404. Dot segments ("." and "..", also when written as
 * %2e) are removed as RFC 3986 §5.2.4 says, and runs of "/" are merged into one (httpd's
 * ap_normalize_path with the default `MergeSlashes On`, checked against httpd: `//app//x` reaches
 * the member as `.../x`); climbing above the root is 400. Decoded bytes become one char each
 * (latin1), so byte-wise comparisons stay byte-wise.
 */

export class PathError extends Error {
  override name = 'PathError';
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

export interface RequestPath {
  /** The path to forward: %-encoded as the client sent it, dot segments removed. */
  raw: string;
  /** The %-decoded path (one char per byte). */
  decoded: string;
  /** The query string without "?", or null when the request target had no "?". */
  query: string | null;
  /** rawOffsets[i] = offset in `raw` where decoded char i starts; null when raw === decoded. */
  rawOffsets: Int32Array | null;
}

/** Offset in `p.raw` that corresponds to offset `i` of `p.decoded`. */
export function rawOffset(p: RequestPath, i: number): number {
  return p.rawOffsets === null ? i : p.rawOffsets[i]!;
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
  // Fast path: nothing to decode, no dot segment, no run of slashes.
  if (path.indexOf('%') < 0 && path.indexOf('/.') < 0 && path.indexOf('//') < 0) {
    return { raw: path, decoded: path, query, rawOffsets: null };
  }
  return slowPath(path, query);
}

function slowPath(path: string, query: string | null): RequestPath {
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
  if (raw === decoded) return { raw, decoded, query, rawOffsets: null };
  // Map every decoded offset (and the end) to its raw offset.
  const offsets = new Int32Array(decoded.length + 1);
  let r = 0;
  let d = 0;
  while (r < raw.length) {
    offsets[d++] = r;
    r += raw.charCodeAt(r) === 0x25 /* % */ ? 3 : 1;
  }
  offsets[d] = raw.length;
  return { raw, decoded, query, rawOffsets: offsets };
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

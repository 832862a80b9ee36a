/**
 * Whether a member's response is compressed for this client, and how its head changes
 * (mod_deflate's and mod_brotli's rules, nginx's for the ETag):
 *
 * A response is *compressible* when it has a body that nobody transformed yet and that the
 * configuration wants: not 1xx/204/304/206 (nor a Content-Range), no Content-Encoding (it is
 * encoded already), no `Cache-Control: no-transform`, a Content-Type whose media type (without
 * parameters) is listed, and — when Content-Length says how long it is — at least `minlength`
 * bytes. A compressible response gets `Vary: Accept-Encoding` whatever this client accepts,
 * because another client would get another representation (mod_deflate does the same).
 *
 * It is *compressed* when, in addition, the request is not HEAD (no body to compress), has no
 * Range (a range of the identity body was asked for), and Accept-Encoding picks a coding
 * (negotiate.ts). Then:
 * - Content-Encoding names the coding; Content-Length, Accept-Ranges and Content-MD5 go (the
 *   length is unknown until the end, ranges and digests would be of the identity body): the body
 *   goes out chunked (HTTP/1.1) or until the connection closes (HTTP/1.0);
 * - a strong ETag is weakened, `"abc"` → `W/"abc"`, as nginx does. The compressed bytes are not
 *   the member's bytes, so the strong validator would be a lie; a weak one says "same content".
 *   If-None-Match uses the weak comparison (RFC 9110 §13.1.2), so the member still answers 304
 *   to `If-None-Match: W/"abc"` with no request rewriting — unlike Apache's `"abc-gzip"` suffix,
 *   which no member recognises (Apache documents that it defeats 304s). A 304 to such a request
 *   carries the weak form back, so the client's cache keeps matching.
 */
import type { CompressionAlgorithm, CompressionConfig } from '../../config/types.js';
import { chooseEncoding } from './negotiate.js';

/** What the policy reads from the request, in one pass over its raw headers. */
export interface RequestFacts {
  method: string;
  /** Accept-Encoding values joined with ","; null when absent. */
  acceptEncoding: string | null;
  range: boolean;
  /** If-None-Match values joined with ","; null when absent. */
  ifNoneMatch: string | null;
}

export function requestFacts(method: string, raw: readonly string[]): RequestFacts {
  let acceptEncoding: string | null = null;
  let ifNoneMatch: string | null = null;
  let range = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 5:
        if (name.toLowerCase() === 'range') range = true;
        break;
      case 13:
        if (name.toLowerCase() === 'if-none-match') ifNoneMatch = ifNoneMatch === null ? raw[i + 1]! : `${ifNoneMatch}, ${raw[i + 1]!}`;
        break;
      case 15:
        if (name.toLowerCase() === 'accept-encoding') acceptEncoding = acceptEncoding === null ? raw[i + 1]! : `${acceptEncoding}, ${raw[i + 1]!}`;
        break;
    }
  }
  return { method, acceptEncoding, range, ifNoneMatch };
}

/** The response head as the member sent it: status and a flat [name, value, ...] list (edited in place). */
export interface ResponseHead {
  status: number;
  headers: string[];
}

/** Index of the first header named `name` (lower case) in a flat list, -1 when none. */
function headerIndex(headers: readonly string[], name: string): number {
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.length === name.length && headers[i]!.toLowerCase() === name) return i;
  return -1;
}

function headerValue(headers: readonly string[], name: string): string | null {
  const i = headerIndex(headers, name);
  return i < 0 ? null : headers[i + 1]!;
}

function removeHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.length === name.length && headers[i]!.toLowerCase() === name) headers.splice(i, 2);
}

/** The media type without parameters, lower-cased: `Text/HTML; charset=utf-8` → `text/html`. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Is `type` one of `types` (exact, or `text/*` for every text type)? */
export function typeListed(type: string, types: readonly string[]): boolean {
  if (type === '') return false;
  const slash = type.indexOf('/');
  const wildcard = slash > 0 ? `${type.slice(0, slash)}/*` : null;
  return types.some((t) => t === type || t === wildcard);
}

function hasToken(value: string, token: string): boolean {
  return value.split(',').some((t) => t.trim().toLowerCase() === token);
}

/** Add `Accept-Encoding` to Vary unless it is there already (or Vary is `*`); merged into the existing line. */
export function mergeVary(headers: string[]): void {
  let last = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (name.length !== 4 || name.toLowerCase() !== 'vary') continue;
    if (hasToken(value, 'accept-encoding') || hasToken(value, '*')) return;
    last = i;
  }
  if (last < 0) headers.push('Vary', 'Accept-Encoding');
  else headers[last + 1] = headers[last + 1]!.trim() === '' ? 'Accept-Encoding' : `${headers[last + 1]!}, Accept-Encoding`;
}

/** `"abc"` → `W/"abc"`; a weak ETag or none stays. */
function weakenEtag(headers: string[]): void {
  const i = headerIndex(headers, 'etag');
  if (i < 0) return;
  const value = headers[i + 1]!.trim();
  if (value.startsWith('"')) headers[i + 1] = `W/${value}`;
}

/** Does If-None-Match list the weak form of `etag` (a strong `"abc"`)? */
function asksForWeakForm(ifNoneMatch: string, etag: string): boolean {
  const weak = `W/${etag.trim()}`;
  return ifNoneMatch.split(',').some((t) => t.trim() === weak);
}

export type Decision =
  /** Leave the response alone. */
  | { kind: 'pass' }
  /** Compressible, but not for this request: Vary added. */
  | { kind: 'vary' }
  /** Compress with `coding`; `length` is the member's Content-Length, or null. */
  | { kind: 'compress'; coding: CompressionAlgorithm; length: number | null };

/**
 * Decide, and edit the head accordingly (Vary, Content-Encoding, Content-Length, ETag ...).
 * `settings` are the rule's (undefined: compression is off for it).
 */
export function applyPolicy(settings: CompressionConfig | undefined, request: RequestFacts, head: ResponseHead): Decision {
  if (settings === undefined) return { kind: 'pass' };
  const { status, headers } = head;
  const cacheControl = headerValue(headers, 'cache-control');
  if (cacheControl !== null && hasToken(cacheControl, 'no-transform')) return { kind: 'pass' };
  if (headerValue(headers, 'content-encoding') !== null) return { kind: 'pass' };
  const type = mediaType(headerValue(headers, 'content-type') ?? '');

  if (status === 304) {
    // No body; keep the validators consistent with the compressed 200 the client holds.
    const etag = headerValue(headers, 'etag');
    if (etag !== null && etag.trim().startsWith('"') && request.ifNoneMatch !== null && asksForWeakForm(request.ifNoneMatch, etag)) {
      weakenEtag(headers);
      mergeVary(headers);
    } else if (typeListed(type, settings.types)) {
      mergeVary(headers);
    }
    return { kind: 'pass' };
  }
  if (status < 200 || status === 204 || status === 206 || headerValue(headers, 'content-range') !== null) return { kind: 'pass' };
  if (!typeListed(type, settings.types)) return { kind: 'pass' };
  const lengthText = headerValue(headers, 'content-length');
  const length = lengthText !== null && /^\d+$/.test(lengthText.trim()) ? Number(lengthText) : null;
  if (length !== null && (length < settings.minlength || length === 0)) return { kind: 'pass' };

  mergeVary(headers);
  if (request.method === 'HEAD' || request.range) return { kind: 'vary' };
  const coding = chooseEncoding(request.acceptEncoding, settings.algorithms);
  if (coding === null) return { kind: 'vary' };

  removeHeader(headers, 'content-length');
  removeHeader(headers, 'accept-ranges');
  removeHeader(headers, 'content-md5');
  headers.push('Content-Encoding', coding);
  weakenEtag(headers);
  return { kind: 'compress', coding, length };
}

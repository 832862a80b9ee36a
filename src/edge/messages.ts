/**
 * What the edge adds to the request and response objects of the listeners, so that the request
 * path (proxy/handler.ts) sees the same shapes whatever the protocol and whether the connection
 * is TLS. HTTP/1.x runs on stickyd's lean server (proxy/http1/) over plain and TLS connections
 * alike, which applies the first two points below from the connection's EdgeFacts
 * (http1/connection.ts, http1/response.ts); HTTP/2 runs on node:http2's compatibility API,
 * extended here:
 *
 * - On a TLS connection the request carries `X-Forwarded-Proto: https`, replacing whatever the
 *   client sent (Apache's recipe in an SSL virtual host, `RequestHeader set X-Forwarded-Proto
 *   https`): a member can trust it, and a client cannot claim https over plain HTTP through a TLS
 *   listener. Plain listeners leave the header as the client sent it, as httpd does (whatever
 *   is in front of stickyd may have set it).
 * - With `hsts`, every response on a TLS listener carries Strict-Transport-Security, replacing a
 *   member's (`Header always set`); never on plain HTTP (RFC 6797 §7.2).
 * - HTTP/2 requests look like HTTP/1.1 ones to the handler (EdgeH2Request.rawHeaders): the
 *   pseudo-headers are dropped, `:authority` becomes `Host` (RFC 9113 §8.3.1, as mod_http2 does),
 *   and the `cookie` fields a client may split (RFC 9113 §8.2.3) are joined with "; " into one
 *   Cookie header before the route is looked for in it. A body without content-length is
 *   marked `transfer-encoding: chunked`, as it would be in HTTP/1.1 (the field is hop-by-hop:
 *   the member gets the body with a length or chunked, never this field as sent).
 * - HTTP/2 responses drop the reason phrase (HTTP/2 has none; node would warn about it) and keep
 *   the head as text for LogFormat's `%{…}o`.
 */
import http2 from 'node:http2';
import type { Socket } from 'node:net';

/**
 * What a connection's listener adds to its messages: set on the socket (HTTP/1.x) or the session
 * (HTTP/2) when the listener dispatches it, and fixed for the connection's life (a reload's new
 * HSTS applies to the connections that come after it).
 */
export interface EdgeFacts {
  /** The connection is TLS. */
  readonly secure: boolean;
  /** The Strict-Transport-Security value, or null (plain connections always null). */
  readonly hsts: string | null;
}

export const kEdge = Symbol('stickyd.edge');

/** Set on a stream stickyd itself resets: the rapid-reset guard counts only the client's resets. */
const kResetByUs = Symbol('stickyd.resetByUs');

/** RST_STREAM `code` on `stream` from stickyd's side (unless the stream is over already). */
export function resetStream(stream: http2.Http2Stream, code: number): void {
  if (stream.destroyed || stream.closed) return;
  (stream as http2.Http2Stream & { [kResetByUs]?: true })[kResetByUs] = true;
  stream.close(code);
}

/** Whether stickyd reset `stream` itself (resetStream). */
export function resetByUs(stream: http2.Http2Stream): boolean {
  return (stream as http2.Http2Stream & { [kResetByUs]?: true })[kResetByUs] === true;
}

export type WithEdge<T> = T & { [kEdge]?: EdgeFacts };

const XFP = 'x-forwarded-proto';

/** `raw` (flat name/value list) with X-Forwarded-Proto: https instead of any the client sent. */
export function withForwardedProtoHttps(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === XFP.length && name.toLowerCase() === XFP) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push('X-Forwarded-Proto', 'https');
  return out;
}

/** Flat header list or object, with Strict-Transport-Security set to `value` (replacing the member's). */
function withHsts(headers: unknown, value: string): unknown {
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      return [...(headers as Array<[string, string]>).filter(([n]) => n.toLowerCase() !== 'strict-transport-security'), ['Strict-Transport-Security', value]];
    }
    const out: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === 'strict-transport-security') continue;
      out.push(headers[i] as string, headers[i + 1] as string);
    }
    out.push('Strict-Transport-Security', value);
    return out;
  }
  const obj: Record<string, unknown> = {};
  if (headers !== null && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'strict-transport-security') obj[k] = v;
  }
  obj['Strict-Transport-Security'] = value;
  return obj;
}

const kRaw = Symbol('stickyd.rawHeaders');

/** The facts of an HTTP/2 stream's session (undefined once the session is gone). */
function factsOf(stream: http2.ServerHttp2Stream): EdgeFacts | undefined {
  return (stream.session as WithEdge<http2.ServerHttp2Session> | undefined)?.[kEdge];
}

/** The facts the listener set on a client socket (undefined: none, as for a plain connection). */
export function socketFacts(socket: unknown): EdgeFacts | undefined {
  return (socket as WithEdge<Socket> | null | undefined)?.[kEdge];
}

/**
 * The Strict-Transport-Security value for answers written straight on a client socket (an
 * HTTP/1.1 Upgrade's error pages and refusals, which no response object carries), or null.
 */
export function socketHsts(socket: unknown): string | null {
  return socketFacts(socket)?.hsts ?? null;
}

/** An HTTP/2 request as the request path reads an HTTP/1.1 one (see the top of this file; the accessor is defined below). */
export class EdgeH2Request extends http2.Http2ServerRequest {}

const baseRawHeaders = Object.getOwnPropertyDescriptor(http2.Http2ServerRequest.prototype, 'rawHeaders')!.get!;

Object.defineProperty(EdgeH2Request.prototype, 'rawHeaders', {
  configurable: true,
  enumerable: true,
  get(this: EdgeH2Request & { [kRaw]?: string[] }): string[] {
    return (this[kRaw] ??= translateH2Headers(baseRawHeaders.call(this) as string[], factsOf(this.stream)?.secure === true, !this.stream.endAfterHeaders));
  },
});

/**
 * HTTP/2 fields as the request path reads HTTP/1.1 ones. `body`: the HEADERS frame did not end
 * the stream, so a body follows; without content-length it is framed like a chunked one (its
 * length is known only at its end), which is how the request path decides to read a body.
 */
export function translateH2Headers(raw: readonly string[], secure: boolean, body: boolean): string[] {
  let authority: string | null = null;
  let host: string | null = null;
  let cookie: string | null = null;
  let length = false;
  const rest: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':authority' && authority === null) authority = value;
      continue;
    }
    // node lower-cases HTTP/2 field names (they must be lower case on the wire).
    if (name === 'cookie') {
      cookie = cookie === null ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === 'host') {
      host ??= value;
      continue;
    }
    // RFC 9113 §8.2.2: never in HTTP/2 (node refuses such a request already).
    if (name === 'transfer-encoding') continue;
    if (name === 'content-length') length = true;
    rest.push(name, value);
  }
  // RFC 9113 §8.3.1: :authority, else a Host field (a request with both: :authority wins).
  const out: string[] = [];
  const h = authority ?? host;
  if (h !== null) out.push('host', h);
  if (cookie !== null) out.push('cookie', cookie);
  for (const x of rest) out.push(x);
  if (body && !length) out.push('transfer-encoding', 'chunked');
  return secure ? withForwardedProtoHttps(out) : out;
}

const kHead = Symbol('stickyd.head');

/** An HTTP/2 response: writeHead as the handler calls it, HSTS, and the head kept for the access log. */
export class EdgeH2Response extends http2.Http2ServerResponse {
  [kHead]: string | null = null;
  /** An HTTP/2 connection stays open after a response (LogFormat %X, %k). */
  readonly shouldKeepAlive = true;

  override writeHead(statusCode: number, reason?: unknown, headers?: unknown): this {
    // HTTP/2 has no reason phrase: leave it out (node warns when one is given).
    if (typeof reason !== 'string' && reason !== undefined) headers = reason;
    // Connection-specific fields have no place in HTTP/2 (RFC 9113 §8.2.2): the request path
    // strips the member's already; this drops the `Connection: close` it adds to its own pages.
    headers = withoutConnectionFields(headers);
    const hsts = factsOf(this.stream)?.hsts ?? null;
    if (hsts !== null) headers = withHsts(headers, hsts);
    super.writeHead(statusCode, headers as http2.OutgoingHttpHeaders);
    this[kHead] = headText(statusCode, headers);
    return this;
  }

  /**
   * A response cut short (the member failed mid-body, the request path gave up on it) ends its
   * stream with RST_STREAM INTERNAL_ERROR (RFC 9113 §7), the HTTP/2 counterpart of the closed
   * connection an HTTP/1.1 client gets. node's own destroy() without an error resets with
   * NO_ERROR, which a client may take for a complete response when only part of the body came.
   */
  override destroy(err?: Error): this {
    resetStream(this.stream, http2.constants.NGHTTP2_INTERNAL_ERROR);
    return super.destroy(err);
  }
}

// The head as an HTTP/1-style text for LogFormat's `%{Name}o` (log/access-format.ts reads
// `_header`, as node's HTTP/1 response has it); the status line is HTTP/2's.
Object.defineProperty(EdgeH2Response.prototype, '_header', {
  configurable: true,
  get(this: { [kHead]?: string | null }): string | null {
    return this[kHead] ?? null;
  },
});

const CONNECTION_FIELDS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function withoutConnectionFields(headers: unknown): unknown {
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) return (headers as Array<[string, string]>).filter(([n]) => !CONNECTION_FIELDS.has(n.toLowerCase()));
    const out: unknown[] = [];
    for (let i = 0; i < headers.length; i += 2) if (!CONNECTION_FIELDS.has(String(headers[i]).toLowerCase())) out.push(headers[i], headers[i + 1]);
    return out;
  }
  if (headers !== null && typeof headers === 'object') {
    return Object.fromEntries(Object.entries(headers).filter(([n]) => !CONNECTION_FIELDS.has(n.toLowerCase())));
  }
  return headers;
}

function headText(status: number, headers: unknown): string {
  let text = `HTTP/2.0 ${status}\r\n`;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) for (const [n, v] of headers as Array<[string, string]>) text += `${n}: ${v}\r\n`;
    else for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  } else if (headers !== null && typeof headers === 'object') {
    for (const [n, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v]) text += `${n}: ${one}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * The request as it goes on the wire to an HTTP member: request line, Host first (ProxyPreserveHost,
 * apache-semantics §8), Connection, the forwarded headers in order and case as received, then the
 * body's framing. The wire form is the one stickyd sent through undici before it had its own
 * transport (names the transport writes itself in lower case), so members see what they saw.
 *
 * The body's framing is the transport's, never the client's: the client side already de-framed
 * the body (headers.ts drops Transfer-Encoding); a Content-Length among the forwarded headers is
 * taken out and written again as the body that is actually sent has it.
 */

/** Methods whose semantics anticipate a body: an empty one is sent as `content-length: 0` (RFC 9110 §8.6). */
const EXPECTS_PAYLOAD = new Set(['PUT', 'POST', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH']);

/** The value of a Content-Length among `headers` (the request path adds one to a chunked body that arrived whole), else null. */
export function headerContentLength(headers: readonly string[]): number | null {
  for (let i = 0; i < headers.length; i += 2) {
    if (isContentLength(headers[i]!)) return Number(headers[i + 1]);
  }
  return null;
}

function isContentLength(name: string): boolean {
  return name.length === 14 && (name.charCodeAt(0) | 0x20) === 0x63 && name.toLowerCase() === 'content-length';
}

export function expectsPayload(method: string): boolean {
  return EXPECTS_PAYLOAD.has(method);
}

/**
 * The request line and header lines, each ending in CRLF, without the blank line: the framing
 * header (if any) and the blank line follow once the body's start is known (see BodyWriter).
 * `connection` is "keep-alive", "close", or for a tunnel "upgrade" (with `upgrade` the protocol).
 */
export function requestHead(method: string, path: string, host: string, connection: string, upgrade: string | null, headers: readonly string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: ${connection}\r\n`;
  if (upgrade !== null) head += `upgrade: ${upgrade}\r\n`;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    // The body's length is written by the transport (above): skip the client's.
    if (isContentLength(name)) continue;
    head += `${name}: ${headers[i + 1]!}\r\n`;
  }
  return head;
}

/**
 * What a new connection speaks, from its first bytes, before anything parses them:
 *
 * - `tls`: a TLS record of type handshake (22, then a version byte 3), i.e. a ClientHello;
 * - `h2`: the HTTP/2 connection preface (RFC 9113 §3.4, "PRI * HTTP/2.0..."), which a client
 *   sends first when it speaks HTTP/2 without TLS by prior knowledge (h2c);
 * - `http`: anything else: an HTTP/1.x request line, or garbage the HTTP parser answers;
 * - `more`: too few bytes to tell (a prefix of the preface).
 *
 * A TLS port sends `http` to the plain-HTTP answer (mod_ssl's "You're speaking plain HTTP to an
 * SSL-enabled server port"), a plain port with h2c sends `h2` to the HTTP/2 server.
 */

export type Sniffed = 'tls' | 'h2' | 'http' | 'more';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** TLS ContentType handshake (RFC 8446 §5.1). */
const HANDSHAKE = 0x16;

export function sniff(head: Buffer, expectPreface: boolean): Sniffed {
  if (head.length === 0) return 'more';
  if (head[0] === HANDSHAKE) {
    if (head.length < 2) return 'more';
    return head[1] === 0x03 ? 'tls' : 'http';
  }
  if (!expectPreface) return 'http';
  const n = Math.min(head.length, PREFACE.length);
  if (head.subarray(0, n).equals(PREFACE.subarray(0, n))) return n === PREFACE.length ? 'h2' : 'more';
  return 'http';
}

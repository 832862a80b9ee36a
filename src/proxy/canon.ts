/**
 * ProxyPass's default canonicalisation of the path sent to a member (httpd proxy_util.c
 * ap_proxy_canonenc with enc_path, run by mod_proxy_http's and mod_proxy_ajp's canon handlers
 * for a reverse-proxied request without `nocanon`).
 *
 * Its input is the %-decoded request path (httpd's r->uri, one char per byte here), so every byte
 * is re-encoded from scratch: letters, digits, "/" and the characters `~$-_.+!*'(),;:@&=` go out
 * as they are, every other byte as %XX with upper-case hex. What the client wrote does not
 * matter: `%7c` and `|` both reach the member as `%7C`, `%41` as `A`, `%3B` as `;` (so a member
 * sees an encoded semicolon as a path-parameter delimiter, as it does behind httpd), `%25` stays
 * `%25`. Verified against httpd 2.4.71 in test/conformance/canon.test.ts.
 */

/** Bytes that go out unencoded: alphanumerics, "/" (the reserved char of enc_path) and httpd's "allowed" set. */
const KEEP = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/~$-_.+!*\'(),;:@&=') KEEP[c.charCodeAt(0)] = 1;

const HEX = '0123456789ABCDEF';

/** ap_proxy_canonenc(path, enc_path) of a decoded path (chars are bytes, 0..255). */
export function canonicalPath(decoded: string): string {
  let i = 0;
  // Fast path: nothing to encode (the common case), return the input itself.
  while (i < decoded.length && KEEP[decoded.charCodeAt(i)] === 1) i++;
  if (i === decoded.length) return decoded;
  let out = decoded.slice(0, i);
  for (; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i) & 0xff;
    out += KEEP[c] === 1 ? decoded[i] : `%${HEX[c >> 4]}${HEX[c & 15]}`;
  }
  return out;
}

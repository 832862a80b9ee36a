// ProxyPass's default canonicalisation of the forwarded path (httpd ap_proxy_canonenc, enc_path):
// every byte of the decoded path re-encoded from scratch. test/conformance/canon.test.ts compares
// what members receive through httpd and stickyd.
import { describe, expect, it } from 'vitest';
import { canonicalPath } from '../../src/proxy/canon.js';

describe('canonicalPath (ap_proxy_canonenc with enc_path)', () => {
  it.each([
    ['/plain/path-1_2.3', '/plain/path-1_2.3'],
    ['/~$-_.+!*\'(),;:@&=', '/~$-_.+!*\'(),;:@&='],
    ['/a|b', '/a%7Cb'],
    ['/a b', '/a%20b'],
    ['/a%b', '/a%25b'],
    ['/a?b#c', '/a%3Fb%23c'],
    ['/[x]{y}^`"<>', '/%5Bx%5D%7By%7D%5E%60%22%3C%3E'],
    ['/\t\u007f', '/%09%7F'],
    ['/\u00c3\u00a9', '/%C3%A9'],
  ])('%j → %s', (decoded, wire) => {
    expect(canonicalPath(decoded)).toBe(wire);
  });
});

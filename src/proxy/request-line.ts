/**
 * The request line as httpd 2.4 reads it with `HttpProtocolOptions Strict Require1.0`
 * (server/protocol.c ap_parse_request_line): `method SP request-target SP HTTP/d.d CRLF`, one
 * space exactly between the three parts, nothing around them. Everything else is 400 before
 * anything is forwarded: a line without an HTTP version (HTTP/0.9, which httpd takes by default
 * and node's parser reads as a request whose header lines follow), `HTTP/0.9` written out,
 * `HTTP/1.1x`, `http/1.1`, runs of spaces, a tab as separator, a fragment (`#`) in the target.
 *
 * Checked against the real httpd 2.4.71 with `HttpProtocolOptions Strict Require1.0`: every shape
 * in test/proxy/request-line.test.ts gets 400 there and the connection is closed at once.
 * Methods node's parser does not know (and lower-case ones) are refused by the parser itself.
 */

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERSION = /^HTTP\/([0-9])\.[0-9]$/;
// Control characters, space and DEL; bytes above 0x7F are node's parser's to refuse.
const TARGET_BAD = /[\x00-\x20\x7f#]/;

/**
 * Why `line` (the bytes up to, not including, the LF, one char per byte) is not a request line
 * httpd's strict parser accepts; null when it is one.
 */
export function requestLineProblem(line: string): string | null {
  if (line.charCodeAt(line.length - 1) !== 0x0d) return 'the request line ends in a bare LF';
  const text = line.slice(0, -1);
  const parts = text.split(' ');
  if (parts.length < 3) return parts.length === 2 ? 'the request line has no HTTP version (HTTP/0.9 is not served)' : 'the request line is not "method target version"';
  if (parts.length > 3 || parts.some((p) => p === '')) return 'the request line has extra spaces';
  const [method, target, version] = parts as [string, string, string];
  if (!METHOD.test(method)) return 'the method is not a token';
  if (TARGET_BAD.test(target)) return target.includes('#') ? 'the request target contains a fragment ("#")' : 'the request target contains a control character';
  const v = VERSION.exec(version);
  if (v === null) return `"${version.slice(0, 20)}" is not an HTTP version`;
  if (v[1] === '0') return 'HTTP/0.9 is not served';
  return null;
}

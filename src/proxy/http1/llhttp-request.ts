/**
 * node's own HTTP/1.1 parser (llhttp, the one node:http's server runs) as a REQUEST parser, for the
 * client side's lean server (connection.ts). Strict: it is initialised without any lenient flag,
 * exactly as node:http initialises it with `insecureHTTPParser: false`, so what a client may send
 * (framing, line ends, header syntax, chunk syntax) is what it was under node:http.
 *
 * The parser class is the one members/http/llhttp.ts loads from node's internal `_http_common`
 * (and checks at load) for member responses; this module adds what the request side needs.
 *
 * The parser reports a request's method as llhttp's method number; node maps it with a table it
 * does not export. The table is rebuilt here at load by parsing one request line per method name
 * node knows (http.METHODS). (PRI, the HTTP/2 preface, is not a method llhttp reports: it stops
 * with HPE_PAUSED_H2_UPGRADE, which the connection answers 400 as node:http did.)
 */
import { METHODS } from 'node:http';
import { createRequire } from 'node:module';
import { HTTPParser, type Parser } from '../../members/http/llhttp.js';

export { HTTPParser };
export type { Parser, ParseError } from '../../members/http/llhttp.js';

/** node's header checks, which node:http's writeHead validates with; checked at load like the parser. */
interface Common {
  _checkIsHttpToken?: (s: string) => boolean;
  _checkInvalidHeaderChar?: (s: string) => boolean;
}

const common = createRequire(import.meta.url)('_http_common') as Common;
if (typeof common._checkIsHttpToken !== 'function' || typeof common._checkInvalidHeaderChar !== 'function') {
  throw new Error(`node ${process.version}: _http_common's header checks are not what stickyd calls (node's internals changed)`);
}

export const checkIsHttpToken = common._checkIsHttpToken!;
export const checkInvalidHeaderChar = common._checkInvalidHeaderChar!;

/** A fresh request parser: strict (no lenient flags), header block up to `maxHeaderSize` bytes. */
export function requestParser(parser: Parser, maxHeaderSize: number): Parser {
  parser.initialize(HTTPParser.REQUEST, {}, maxHeaderSize, HTTPParser.kLenientNone ?? 0);
  return parser;
}

/** llhttp's method numbers → names, found by parsing `NAME / HTTP/1.1` for every name node knows. */
function methodTable(): string[] {
  const table: string[] = [];
  const p = new HTTPParser();
  let seen = -1;
  p[HTTPParser.kOnHeadersComplete] = (_ma: number, _mi: number, _h: unknown, method: number): number => {
    seen = method;
    return 1;
  };
  p[HTTPParser.kOnMessageComplete] = () => {};
  p[HTTPParser.kOnBody] = () => {};
  p[HTTPParser.kOnHeaders] = () => {};
  p[HTTPParser.kOnMessageBegin] = () => {};
  for (const name of METHODS) {
    p.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone ?? 0);
    seen = -1;
    p.execute(Buffer.from(`${name} / HTTP/1.1\r\nHost: x\r\n\r\n`, 'latin1'));
    if (seen >= 0) table[seen] = name;
  }
  p.close();
  if (table[1] !== 'GET' || table[2] !== 'HEAD' || table[3] !== 'POST') {
    throw new Error(`node ${process.version}: llhttp's method numbers are not what stickyd expects (node's internals changed)`);
  }
  return table;
}

export const METHOD_NAMES: readonly string[] = methodTable();

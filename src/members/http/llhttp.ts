/**
 * node's own HTTP/1.1 parser (llhttp in C++, the one node:http uses), loaded once for both of
 * stickyd's uses: as a RESPONSE parser for the member responses the HTTP transport reads (here),
 * and as a REQUEST parser for the client side's HTTP/1.x server (proxy/http1/llhttp-request.ts).
 * It is the parser undici runs too (as WebAssembly), so what members may send (strict framing,
 * one Content-Length, no bare LF, ...) is exactly what it was before stickyd had its own
 * transport; driven directly it costs a fraction of undici's or node:http's client machinery
 * around it.
 *
 * node exposes it only through the internal module `_http_common` (as node:http's client and
 * server use it). Its shape is checked here once, at load, so that a node release that changed it
 * fails loudly at start (and test/proxy/http-connector.test.ts with it), never mid-request.
 */
import { createRequire } from 'node:module';

/** An llhttp parse error, as `execute` and `finish` return it. */
export interface ParseError extends Error {
  code: string;
  reason?: string;
  bytesParsed?: number;
}

/** One parser instance (node's `HTTPParser`). The callbacks are set by index (kOnHeadersComplete, ...). */
export interface Parser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Parses `chunk`: the bytes parsed, or the error that stopped it. */
  execute(chunk: Buffer): number | ParseError;
  /** The connection ended: completes a close-delimited body, or says what was incomplete. */
  finish(): ParseError | undefined;
  close(): void;
  [callback: number]: unknown;
}

interface ParserClass {
  new (): Parser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kLenientNone: number;
}

/**
 * kOnHeadersComplete(versionMajor, versionMinor, headers, method, url, statusCode, statusMessage,
 * upgrade, shouldKeepAlive) → 0: a body may follow; 1: no body (HEAD, 1xx); 2: no body, the
 * connection switches protocols. `headers` is undefined when they came through kOnHeaders first.
 */
export type OnHeadersComplete = (
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined,
  method: undefined,
  url: undefined,
  statusCode: number,
  statusMessage: string,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number;

function load(): ParserClass {
  const common = createRequire(import.meta.url)('_http_common') as { HTTPParser?: ParserClass };
  const P = common.HTTPParser;
  if (
    typeof P !== 'function' ||
    typeof P.REQUEST !== 'number' ||
    typeof P.RESPONSE !== 'number' ||
    typeof P.kOnMessageBegin !== 'number' ||
    typeof P.kOnHeadersComplete !== 'number' ||
    typeof P.kOnBody !== 'number' ||
    typeof P.kOnMessageComplete !== 'number' ||
    typeof P.kOnHeaders !== 'number' ||
    typeof P.prototype.execute !== 'function' ||
    typeof P.prototype.finish !== 'function'
  ) {
    throw new Error(`node ${process.version}: _http_common.HTTPParser is not the parser stickyd drives (node's internals changed)`);
  }
  return P;
}

export const HTTPParser = load();

/** A fresh response parser: strict (no lenient flags), header block up to `maxHeaderSize` bytes. */
export function responseParser(maxHeaderSize: number): Parser {
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.RESPONSE, {}, maxHeaderSize, HTTPParser.kLenientNone ?? 0);
  return parser;
}

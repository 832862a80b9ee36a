// The member response read without llhttp (members/http/whole-response.ts) must read exactly what
// llhttp reads, and accept only what llhttp accepts: every response it accepts, among real ones and
// thousands of mutated ones, is parsed by llhttp too and compared field by field.
import { describe, expect, it } from 'vitest';
import { HTTPParser, responseParser } from '../../src/members/http/llhttp.js';
import { wholeResponse } from '../../src/members/http/whole-response.js';

interface LlhttpReading {
  status: number;
  statusText: string;
  headers: string[];
  body: Buffer;
  keepAlive: boolean;
  messages: number;
  error: string | null;
  parsed: number;
}

function llhttp(bytes: Buffer): LlhttpReading {
  const parser = responseParser(64 * 1024);
  const r: LlhttpReading = { status: 0, statusText: '', headers: [], body: Buffer.alloc(0), keepAlive: false, messages: 0, error: null, parsed: 0 };
  const partial: string[] = [];
  const body: Buffer[] = [];
  parser[HTTPParser.kOnHeaders] = (h: string[]) => partial.push(...h);
  parser[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, headers: string[] | undefined, _m: unknown, _u: unknown, status: number, text: string, _up: boolean, keepAlive: boolean) => {
    r.status = status;
    r.statusText = text;
    r.headers = headers ?? partial.splice(0);
    r.keepAlive = keepAlive;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (b: Buffer) => body.push(Buffer.from(b));
  parser[HTTPParser.kOnMessageComplete] = () => {
    r.messages++;
  };
  const ret = parser.execute(bytes);
  if (typeof ret === 'number') r.parsed = ret;
  else r.error = ret.code;
  r.body = Buffer.concat(body);
  parser.close();
  return r;
}

/** Holds the fast reading to llhttp's; returns whether the fast path took the response. */
function check(bytes: Buffer): boolean {
  const fast = wholeResponse(bytes);
  if (fast === null) return false;
  const slow = llhttp(bytes);
  const what = JSON.stringify(bytes.toString('latin1'));
  expect(slow.error, what).toBeNull();
  expect(slow.messages, what).toBe(1);
  expect(slow.parsed, what).toBe(bytes.length);
  expect(slow.keepAlive, what).toBe(true);
  expect(fast.status, what).toBe(slow.status);
  expect(fast.statusText, what).toBe(slow.statusText);
  expect(fast.headers, what).toEqual(slow.headers);
  expect(bytes.subarray(fast.bodyStart).equals(slow.body), what).toBe(true);
  return true;
}

const REAL = [
  // nginx
  'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 19:55:23 GMT\r\nContent-Type: text/plain\r\nContent-Length: 17\r\nConnection: keep-alive\r\nKeep-Alive: timeout=300\r\n\r\nhello from jvm_a\n',
  // node:http
  'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nDate: Mon, 07 Dec 2026 19:55:23 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nhello',
  // Tomcat
  'HTTP/1.1 302 \r\nSet-Cookie: JSESSIONID=3F1C2A.jvm_a; Path=/app; HttpOnly\r\nLocation: /app/login\r\nContent-Length: 0\r\nDate: Mon, 07 Dec 2026 19:55:23 GMT\r\n\r\n',
  'HTTP/1.1 404\r\nContent-Type: text/html;charset=utf-8\r\nContent-Language: en\r\nContent-Length: 3\r\n\r\nnot',
  'HTTP/1.1 500 Internal Server Error\r\nX-Empty:\r\nX-Tab:\tv\twith tab\r\ncontent-length: 00002\r\n\r\nab',
];

describe('a whole member response read without llhttp', () => {
  it('takes the usual responses (nginx, node, Tomcat) and reads them as llhttp does', () => {
    for (const r of REAL) expect(check(Buffer.from(r, 'latin1')), r).toBe(true);
  });

  it('leaves to llhttp what is not plainly whole and valid', () => {
    const refused = [
      'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', // another version
      'HTTP/1.1 204 No Content\r\n\r\n', // no body by definition
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n',
      'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\n\r\nok', // no Content-Length: delimited by the close
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok', // cut short
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nok', // more after it
      'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nX: a \r\nContent-Length: 2\r\n\r\nok', // trailing space
      'HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\n folded\r\nContent-Length: 2\r\n\r\nok',
      'HTTP/1.1 200 OK\r\nX: caf\xe9\r\nContent-Length: 2\r\n\r\nok', // obs-text
      'HTTP/1.1 200 OK\nContent-Length: 2\n\nok', // bare LF
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r',
    ];
    for (const r of refused) expect(wholeResponse(Buffer.from(r, 'latin1')), r).toBeNull();
  });

  it('mutated responses: whatever it takes, llhttp reads the same (20,000 cases)', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const bytesOf = [0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x00, 0x7f, 0x80, 0xff, 0x61, 0x30, 0x39, 0x2d, 0x2c, 0x22, 0x3b];
    let taken = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = Buffer.from(REAL[rand(REAL.length)]!, 'latin1');
      let bytes = Buffer.from(base);
      const edits = 1 + rand(3);
      for (let e = 0; e < edits; e++) {
        const at = rand(bytes.length);
        const kind = rand(3);
        const b = bytesOf[rand(bytesOf.length)]!;
        if (kind === 0) bytes[at] = b;
        else if (kind === 1) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([b]), bytes.subarray(at)]);
        else bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
      }
      if (check(bytes)) taken++;
    }
    // Some mutations leave a valid response (an edit in a value or the body): the comparison is not empty.
    expect(taken).toBeGreaterThan(1000);
  });
});

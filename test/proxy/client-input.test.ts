// ClientInput's two dependencies on node's internals and its fast path (src/proxy/client-input.ts):
// node:http's parser listener must be found on every client socket (else every connection would
// be refused: this test says why, loudly), and the byte-level request-line check must accept only
// what requestLineProblem() accepts.
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { nodeParserListener, strictRequestLine } from '../../src/proxy/client-input.js';
import { requestLineProblem } from '../../src/proxy/request-line.js';

describe("node:http's parser listener", () => {
  it(`is found on a server socket on this node (${process.version}): one 'data' listener, socketOnData, with the parser attached`, async () => {
    const server = http.createServer();
    const found = new Promise<boolean>((resolve) => server.once('connection', (s: net.Socket) => {
      resolve(nodeParserListener(s) !== null);
      s.destroy();
    }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    c.on('error', () => {});
    expect(await found, 'node:http no longer puts one bound socketOnData listener on its sockets: ClientInput must be adapted to this node release').toBe(true);
    c.destroy();
    await new Promise((r) => server.close(r));
  });

  it('is not taken from a socket with another data listener, or none', () => {
    const s = new net.Socket();
    expect(nodeParserListener(s)).toBeNull();
    s.on('data', function socketOnData() {});
    expect(nodeParserListener(s)).toBeNull();
  });
});

describe('the byte-level request-line check (fast path)', () => {
  const ok = ['GET / HTTP/1.1', 'POST /a/b?c=d&e=%20 HTTP/1.0', 'OPTIONS * HTTP/1.1', 'GET http://h:1/x HTTP/1.1', 'M-SEARCH /\u00e9 HTTP/1.1', 'GET / HTTP/2.0', 'CONNECT h:443 HTTP/1.1'];
  const bad = ['GET /', 'GET / ', 'GET  / HTTP/1.1', 'GET /  HTTP/1.1', ' GET / HTTP/1.1', 'GET / HTTP/1.1 ', 'GET\t/ HTTP/1.1', 'GET /a#b HTTP/1.1',
    'GET / HTTP/0.9', 'GET / HTTP/1.1x', 'GET / http/1.1', 'GET / HTTP/11', 'GET /a\u0001 HTTP/1.1', 'GET /a\u007f HTTP/1.1', 'G(T / HTTP/1.1', 'GET / HTTP/1.1 x', ''];
  const line = (text: string, cr = true) => Buffer.from(`${text}${cr ? '\r' : ''}\n`, 'latin1');

  it('passes the lines requestLineProblem accepts', () => {
    for (const text of ok) {
      expect(requestLineProblem(`${text}\r`), text).toBeNull();
      const b = line(text);
      expect(strictRequestLine(b, 0, b.length - 1), text).toBe(true);
    }
  });

  it('never passes a line requestLineProblem refuses (bare LF included), at any offset in a read', () => {
    const cases = [...bad.map((t) => line(t)), ...ok.map((t) => line(t, false))];
    // Every prefix and one-byte change of the good lines too: the fast path may send a good line
    // the slow way, never a bad one through.
    for (const text of ok) {
      const b = line(text);
      for (let k = 0; k < b.length - 1; k++) {
        for (const x of [0x00, 0x09, 0x20, 0x23, 0x30, 0x41, 0x7f, 0xff]) {
          const m = Buffer.from(b);
          m[k] = x;
          cases.push(m);
        }
      }
    }
    let passed = 0;
    for (const b of cases) {
      const padded = Buffer.concat([Buffer.from('xx'), b]);
      const lf = padded.indexOf(0x0a, 2);
      if (lf < 0) continue;
      const verdict = requestLineProblem(padded.toString('latin1', 2, lf));
      if (strictRequestLine(padded, 2, lf)) {
        passed++;
        expect(verdict, JSON.stringify(padded.toString('latin1', 2, lf))).toBeNull();
      }
    }
    // The fast path did take lines (the good ones at least): the loop above checked something.
    expect(passed).toBeGreaterThanOrEqual(ok.length);
  });
});

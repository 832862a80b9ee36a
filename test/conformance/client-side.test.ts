// The client side, httpd vs stickyd, over raw TCP: request lines httpd refuses with
// `HttpProtocolOptions Strict Require1.0` (stickyd always reads them that way), and
// RequestReadTimeout's body stage with the prefetch: a slow small body never reaches a member,
// both fronts answer 408 and close.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { patience } from '../helpers/patience.js';
import { startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Front, type Pair } from './harness/pair.js';

let pair: Pair;
let backends: Backend[];

interface RawResult {
  /** The status code of the first response, 0 for none. */
  status: number;
  /** The front closed the connection. */
  closed: boolean;
  /** Complete requests the member received meanwhile. */
  forwarded: number;
}

/**
 * Write `data` (pieces `gapMs` apart) and keep the connection open until the front closes it, or
 * `waitMs` (at least PATIENCE_MS: every case here expects the close) passed.
 */
function raw(front: Front, data: string[], waitMs: number, gapMs = 50): Promise<RawResult> {
  const port = front === 'apache' ? pair.apache.port : pair.stickyd.port;
  const before = backends.reduce((n, b) => n + b.received.length, 0);
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(out);
      resolve({ status: status ? Number(status[1]) : 0, closed, forwarded: backends.reduce((n, b) => n + b.received.length, 0) - before });
    };
    const timer = setTimeout(done, patience(waitMs));
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('end', () => {
      closed = true;
      done();
    });
    s.on('error', done);
    let i = 0;
    const next = (): void => {
      if (i >= data.length || s.destroyed) return;
      s.write(data[i++]!);
      setTimeout(next, gapMs);
    };
    next();
  });
}

async function both(data: string[], waitMs: number): Promise<Record<Front, RawResult>> {
  return { apache: await raw('apache', data, waitMs), stickyd: await raw('stickyd', data, waitMs) };
}

describeConformance('conformance: the client side (request lines, RequestReadTimeout, prefetch)', () => {
  beforeAll(async () => {
    backends = await Promise.all(['a'].map(startBackend));
    const [a] = backends as [Backend];
    pair = await startPair(
      `
ServerName front.test
HttpProtocolOptions Strict Require1.0
RequestReadTimeout header=20-40,MinRate=500 body=1,MinRate=100000
<Proxy balancer://c>
  BalancerMember ${a.url}
</Proxy>
ProxyPass / balancer://c/
`,
      backends,
    );
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it.each([
    ['no version, alone', ['GET /\r\n']],
    ['no version, then header lines', ['GET /\r\nHost: x\r\n\r\n']],
    ['no version with a trailing space, then header lines', ['GET / \r\nHost: x\r\n\r\n']],
    ['HTTP/0.9 written out', ['GET / HTTP/0.9\r\nHost: x\r\n\r\n']],
    ['HTTP/1.1x', ['GET / HTTP/1.1x\r\nHost: x\r\n\r\n']],
    ['lower-case http/1.1', ['GET / http/1.1\r\nHost: x\r\n\r\n']],
    ['two spaces before the target', ['GET  / HTTP/1.1\r\nHost: x\r\n\r\n']],
    ['two spaces before the version', ['GET /  HTTP/1.1\r\nHost: x\r\n\r\n']],
    ['a space after the version', ['GET / HTTP/1.1 \r\nHost: x\r\n\r\n']],
    ['a fragment', ['GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n']],
    ['split over packets', ['GET /', '\r\nHost: x\r\n\r\n']],
  ])('%s: 400 and close, nothing forwarded, on both', async (_name, data) => {
    const r = await both(data, 3_000);
    expect(r.apache).toEqual({ status: 400, closed: true, forwarded: 0 });
    expect(r.stickyd).toEqual(r.apache);
  });

  it('a well-formed request passes on both', async () => {
    const r = await both(['GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], 3_000);
    expect(r.apache).toEqual({ status: 200, closed: true, forwarded: 1 });
    expect(r.stickyd).toEqual(r.apache);
  });

  it('a small body that stops coming: 408 and close, and nothing reached the member (prefetch)', async () => {
    const r = await both(['POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789'], 5_000);
    expect(r.apache).toEqual({ status: 408, closed: true, forwarded: 0 });
    expect(r.stickyd).toEqual(r.apache);
  });

  it('a body larger than the prefetch that stops coming: 408 and close on both', async () => {
    const r = await both([`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(20_000)}`], 5_000);
    expect(r.apache).toEqual({ status: 408, closed: true, forwarded: 0 });
    expect(r.stickyd).toEqual(r.apache);
  });
});

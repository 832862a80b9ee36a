// The client side (server.ts) against raw sockets: ambiguous or malformed requests are refused and
// never forwarded, limits answer 431/408, a client that goes away aborts the member request, and a
// member that sends garbage gets the client a 502 without harming the daemon.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/patience.js';
import { cleanup, echoed, rawExchange, request, sleep, startBackend, startProxy, startRawBackend, type Backend } from './helpers.js';

afterEach(cleanup);

async function setup(server = '') {
  const backend = await startBackend('a');
  const proxy = await startProxy(`${server}balancers:\n  c1:\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
  return { backend, proxy };
}

/** Nothing of the request reached the member: no request, and no connection even. */
function nothingForwarded(b: Backend): void {
  expect(b.received).toHaveLength(0);
  expect(b.connections).toBe(0);
}

describe('ambiguous framing and malformed requests: 400, nothing forwarded', () => {
  const cases: Array<[string, string]> = [
    ['Content-Length with Transfer-Encoding (CL.TE smuggling)', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG'],
    ['Transfer-Encoding with Content-Length (TE.CL order)', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n'],
    ['duplicate equal Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nA'],
    ['conflicting Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nAB'],
    ['Content-Length list', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nA'],
    ['Content-Length with a sign', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\nA'],
    ['Transfer-Encoding not ending in chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding: xchunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n'],
    ['two Transfer-Encoding headers', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n'],
    ['whitespace before the colon', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding folded onto the next line (obs-fold)', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n'],
    ['obs-fold in any header', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n'],
    ['bad chunk size', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'],
    ['bare LF in chunk framing', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n'],
    ['bare LF line ends', 'GET / HTTP/1.1\nHost: x\n\n'],
    ['bare LF inside the header block', 'GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n'],
    ['bare CR line ends', 'GET / HTTP/1.1\rHost: x\r\r'],
    ['NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n'],
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n'],
    ['Transfer-Encoding in an HTTP/1.0 request', 'POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['a request line that is not HTTP', 'HELLO\r\n\r\n'],
  ];

  it.each(cases)('%s', async (_name, data) => {
    const { backend, proxy } = await setup();
    const answer = await rawExchange(proxy.port, data);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    nothingForwarded(backend);
    expect(proxy.daemon.counters.clientErrors['bad-request']).toBe(1);
  });

  it('a valid request on the same proxy still works afterwards', async () => {
    const { backend, proxy } = await setup();
    await rawExchange(proxy.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG');
    expect((await request(`${proxy.url}/ok`)).status).toBe(200);
    expect(backend.received.map((r) => r.url)).toEqual(['/ok']);
  });
});

describe('client-side limits', () => {
  it('a header block over maxheadersize: 431', async () => {
    const { backend, proxy } = await setup('server: { servername: proxy.test, maxheadersize: 1024 }\n');
    const answer = await rawExchange(proxy.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    nothingForwarded(backend);
    expect(proxy.daemon.counters.clientErrors['header-too-large']).toBe(1);
  });

  it('headers that do not arrive within requestreadtimeout.header (slowloris): 408', async () => {
    const { backend, proxy } = await setup('server: { servername: proxy.test, requestreadtimeout: { header: 300ms } }\n');
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(proxy.port, '127.0.0.1');
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.write('GET / HTTP/1.1\r\nHost: x\r\n');
      // Trickle a header line now and then, never finishing the block.
      const t = setInterval(() => s.write('X-A: 1\r\n'), 100);
      s.on('close', () => clearInterval(t));
      setTimeout(() => s.destroy(), 5000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    nothingForwarded(backend);
    expect(proxy.daemon.counters.clientErrors.timeout).toBe(1);
  });

  it('a body that does not arrive within requesttimeout (the bound whatever the rate): 408, nothing forwarded', async () => {
    const { backend, proxy } = await setup('server: { servername: proxy.test, requestreadtimeout: { body: 0 }, requesttimeout: 500ms }\n');
    const answer = await new Promise<string>((resolve) => {
      const s = net.connect(proxy.port, '127.0.0.1');
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab');
      setTimeout(() => s.destroy(), 5000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    await sleep(100);
    expect(backend.received).toHaveLength(0);
  });

  it('maxkeepaliverequests: the last allowed response says Connection: close, the connection closes, and no further request is forwarded or answered', async () => {
    const { backend, proxy } = await setup('server: { servername: proxy.test, maxkeepaliverequests: 2 }\n');
    // rawExchange resolves when the connection closes (or after the wait): httpd closes it after /2.
    const answer = await rawExchange(proxy.port, 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n', 3000);
    const heads = answer.split(/(?=HTTP\/1\.1 \d{3} )/).map((r) => r.split('\r\n\r\n')[0]!);
    expect(heads).toHaveLength(2); // node's own limit would answer /3 with a 503
    expect(heads[0]).toMatch(/^HTTP\/1\.1 200 [^]*Connection: keep-alive/);
    expect(heads[1]).toMatch(/^HTTP\/1\.1 200 [^]*Connection: close/);
    expect(backend.received.map((r) => r.url)).toEqual(['/1', '/2']);
  });

  it('maxkeepaliverequests: sequential requests on one connection get the same treatment', async () => {
    const { backend, proxy } = await setup('server: { servername: proxy.test, maxkeepaliverequests: 2 }\n');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`${proxy.url}/${i}`, { agent }, resolve).on('error', reject));
      ports.push(res.socket.localPort!);
      res.resume();
      await new Promise((r) => res.on('end', r));
      expect(res.statusCode).toBe(200);
      expect(res.headers.connection).toBe(i === 2 ? 'close' : 'keep-alive');
    }
    agent.destroy();
    expect(ports[0]).toBe(ports[1]);
    expect(ports[2]).not.toBe(ports[1]); // a new connection after the limit
    expect(backend.received.map((r) => r.url)).toEqual(['/1', '/2', '/3']);
  });
});

describe('a client that goes away', () => {
  it('aborts the member request', async () => {
    let memberSawClose: () => void = () => {};
    const closed = new Promise<void>((r) => (memberSawClose = r));
    const backend = await startBackend('slow', (_req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) memberSawClose();
      });
    });
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const req = http.request(`${proxy.url}/slow`, { agent: false });
    req.on('error', () => {});
    req.end();
    while (backend.received.length === 0) await sleep(10);
    req.destroy();
    await closed;
    await eventually('the access record of the cut request', () => proxy.records.length > 0);
    expect(proxy.records.at(-1)).toMatchObject({ status: null, member: backend.url });
    expect(proxy.daemon.balancers.get('c1')!.members[0]!.busy).toBe(0);
  });

  it('mid-upload: the member sees its request aborted too', async () => {
    let aborted: () => void = () => {};
    const seen = new Promise<void>((r) => (aborted = r));
    const backend = await startBackend('a');
    backend.server.removeAllListeners('request');
    backend.server.on('request', (req: http.IncomingMessage) => {
      req.on('data', () => {});
      req.on('close', () => {
        if (!req.complete) aborted();
      });
    });
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const s = net.connect(proxy.port, '127.0.0.1');
    s.on('error', () => {});
    // More than the 16 KiB prefetch, so the member request has started.
    s.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'a'.repeat(20_000));
    await sleep(100);
    s.destroy();
    // The member's request closes before it was complete: stickyd aborted it.
    await expect(seen).resolves.toBeUndefined();
  });
});

describe('a member that misbehaves: 502, never a crash', () => {
  const misbehaviour: Array<[string, (s: net.Socket) => void]> = [
    ['garbage instead of a response', (s) => s.once('data', () => s.end('this is not http at all\r\n\r\n'))],
    ['an invalid status line', (s) => s.once('data', () => s.end('HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n'))],
    ['half a header block, then close', (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Le'))],
    ['a reset after the request', (s) => s.once('data', () => s.resetAndDestroy())],
    ['a header with a bare LF', (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 0\r\n\r\n'))],
    ['CL and TE together', (s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'))],
    ['an unsolicited 100 Continue', (s) => s.once('data', () => s.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'))],
    // undici accepts these reason phrases, node refuses to write them: this used to crash the daemon.
    ['a reason phrase with DEL', (s) => s.once('data', () => s.end('HTTP/1.1 200 O\x7fK\r\nContent-Length: 0\r\n\r\n'))],
    ['a reason phrase with a control character', (s) => s.once('data', () => s.end('HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok'))],
  ];

  it.each(misbehaviour)('%s', async (_name, behave) => {
    const bad = await startRawBackend(behave);
    const good = await startBackend('good');
    const proxy = await startProxy(
      `balancers:\n  bad:\n    members: [{ url: ${bad.url} }]\n  good:\n    members: [{ url: ${good.url} }]\nproxypass:\n  - { path: /bad, url: balancer://bad/ }\n  - { path: /, url: balancer://good/ }\n`,
    );
    const reply = await request(`${proxy.url}/bad/x`);
    expect(reply.status).toBe(502);
    expect(echoed(await request(`${proxy.url}/ok`)).backend).toBe('good');
  });

  it('a body cut short after the head: the client sees a truncated response, the daemon carries on', async () => {
    const bad = await startRawBackend((s) => s.once('data', () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this')));
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${bad.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const outcome = await new Promise<string>((resolve) => {
      http.get(`${proxy.url}/`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(`complete:${body}`));
        res.on('error', () => resolve(`cut:${body}`));
        res.on('aborted', () => resolve(`cut:${body}`));
      }).on('error', () => resolve('cut'));
    });
    expect(outcome).toMatch(/^cut/);
    while (proxy.records.length === 0) await sleep(10);
    expect(proxy.records[0]!.status).toBe(200);
  });
});

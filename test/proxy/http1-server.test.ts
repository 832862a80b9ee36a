// The lean HTTP/1.x server of every listener (src/proxy/http1/) on raw sockets: what node:http's
// server did for stickyd and the request path relies on — pipelined requests answered in order,
// keep-alive and its end, the head node wrote (Date, Connection, Keep-Alive, chunked or
// close-delimited framing), bodiless responses, Expect: 100-continue, CONNECT, refusals counted.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ProxyCounters } from '../../src/proxy/counters.js';
import { Http1Server } from '../../src/proxy/http1/server.js';
import { eventually } from '../helpers/patience.js';
import { cleanup, rawExchange, sleep, startBackend, startProxy, type BackendHandler, rawClient } from './helpers.js';

afterEach(cleanup);

const clients: net.Socket[] = [];
afterEach(() => {
  for (const s of clients.splice(0)) s.destroy();
});

async function setup(handler: BackendHandler, server = '  servername: proxy.test\n') {
  const backend = await startBackend('a', handler);
  const proxy = await startProxy(`server:\n${server}balancers:\n  c1:\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
  return { backend, proxy };
}

/** Answers with its own path as the body (text/plain, with Content-Length). */
const path: BackendHandler = (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(req.url!) });
  res.end(req.url);
};

const client = (port: number) => rawClient(port, clients);

/** A chunked body decoded; throws on framing that is not exactly chunked with a last chunk. */
function unchunk(body: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!Number.isInteger(size)) throw new Error(`not a chunk size at ${at}: ${JSON.stringify(body.slice(at))}`);
    if (size === 0) {
      expect(body.slice(eol)).toBe('\r\n\r\n');
      return out;
    }
    out += body.slice(eol + 2, eol + 2 + size);
    expect(body.slice(eol + 2 + size, eol + 4 + size)).toBe('\r\n');
    at = eol + 4 + size;
  }
}

/** The heads (status line and fields) of the responses in `text`, in order. */
function heads(text: string): string[] {
  return text.split(/(?=HTTP\/1\.1 \d{3} )/).map((r) => r.slice(0, r.indexOf('\r\n\r\n')));
}

describe('the lean HTTP/1.x server of plain listeners', () => {
  it('answers pipelined requests in order, also when a later one is ready first at the member', async () => {
    const { proxy } = await setup((req, res) => {
      // /1 is answered last at the member, /3 first.
      const delay = req.url === '/1' ? 300 : req.url === '/2' ? 150 : 0;
      setTimeout(() => path(req, res, Buffer.alloc(0), undefined as never), delay);
    });
    const c = client(proxy.port);
    c.socket.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await c.closed;
    const text = c.received();
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
    expect([...text.matchAll(/\r\n\r\n(\/\d)/g)].map((m) => m[1])).toEqual(['/1', '/2', '/3']);
  });

  it('HTTP/1.1: Connection: keep-alive with Keep-Alive: timeout, one Date; the connection stays open for the next request', async () => {
    const { backend, proxy } = await setup(path, '  servername: proxy.test\n  keepalivetimeout: 7s\n');
    const c = client(proxy.port);
    c.socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually('the first response', () => c.received().endsWith('/a'));
    c.socket.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually('the second response', () => c.received().endsWith('/b'));
    const [first] = heads(c.received());
    expect(first).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(first).toMatch(/\r\nConnection: keep-alive\r\nKeep-Alive: timeout=7(\r\n|$)/);
    expect(first!.match(/\r\nDate: /g)).toHaveLength(1);
    expect(first).toMatch(/\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT/);
    expect(backend.received.map((r) => r.url)).toEqual(['/a', '/b']);
    expect(c.socket.destroyed).toBe(false);
  });

  it('Connection: close from the client: answered with Connection: close, then the connection is closed', async () => {
    const { proxy } = await setup(path);
    const c = client(proxy.port);
    c.socket.write('GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await c.closed;
    expect(heads(c.received())[0]).toMatch(/\r\nConnection: close(\r\n|$)/);
    expect(c.received()).not.toMatch(/Keep-Alive:/);
  });

  it('HTTP/1.0: closed after the response unless the client asks for keep-alive', async () => {
    const { proxy } = await setup(path);
    const once = client(proxy.port);
    once.socket.write('GET /a HTTP/1.0\r\n\r\n');
    await once.closed;
    expect(heads(once.received())[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*Connection: close/);

    const kept = client(proxy.port);
    kept.socket.write('GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await eventually('the response', () => kept.received().endsWith('/a'));
    kept.socket.write('GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    await eventually('the second response', () => kept.received().endsWith('/b'));
    expect(heads(kept.received())[0]).toMatch(/\r\nConnection: keep-alive\r\n/);
  });

  it('a member response without Content-Length: chunked to an HTTP/1.1 client, delimited by the close for an HTTP/1.0 one', async () => {
    const { proxy } = await setup((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('hello ');
      setTimeout(() => res.end('world'), 20);
    });
    const chunked = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(heads(chunked)[0]).toMatch(/\r\nTransfer-Encoding: chunked(\r\n|$)/);
    expect(unchunk(chunked.slice(chunked.indexOf('\r\n\r\n') + 4))).toBe('hello world');

    const old = await rawExchange(proxy.port, 'GET / HTTP/1.0\r\n\r\n');
    expect(heads(old)[0]).not.toMatch(/Transfer-Encoding|Content-Length/);
    expect(old.slice(old.indexOf('\r\n\r\n') + 4)).toBe('hello world');
  });

  it('HEAD, 204 and 304: the head only, and the connection stays usable', async () => {
    const { proxy } = await setup((req, res) => {
      if (req.url === '/204') res.writeHead(204).end();
      else if (req.url === '/304') res.writeHead(304, { ETag: '"x"' }).end();
      else path(req, res, Buffer.alloc(0), undefined as never);
    });
    const c = client(proxy.port);
    c.socket.write('HEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await c.closed;
    const text = c.received();
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 204', 'HTTP/1.1 304', 'HTTP/1.1 200']);
    const [head, noContent, notModified] = heads(text);
    expect(head).toMatch(/\r\nContent-Length: 5\r\n/);
    expect(noContent).not.toMatch(/Transfer-Encoding/);
    expect(notModified).not.toMatch(/Transfer-Encoding/);
    // Only the last response has a body.
    expect(text.split('\r\n\r\n').slice(1, -1).every((between) => between.startsWith('HTTP/1.1 '))).toBe(true);
    expect(text.endsWith('\r\n\r\n/last')).toBe(true);
  });

  it('Expect: 100-continue: 100 Continue before the body is sent, then the member\'s response', async () => {
    const { backend, proxy } = await setup((req, res, body) => {
      res.writeHead(200, { 'Content-Length': body.length });
      res.end(body);
    });
    const c = client(proxy.port);
    c.socket.write('POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n');
    await eventually('100 Continue', () => c.received().length > 0);
    expect(c.received()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    c.socket.write('hello');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhello$/);
    expect(backend.received[0]!.body.toString()).toBe('hello');
  });

  it('an expectation other than 100-continue: 417, nothing forwarded', async () => {
    const { backend, proxy } = await setup(path);
    const answer = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 417 Expectation Failed\r\n/);
    expect(backend.received).toHaveLength(0);
  });

  it('CONNECT: 405, counted and logged as a request', async () => {
    const { backend, proxy } = await setup(path);
    const answer = await rawExchange(proxy.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(backend.received).toHaveLength(0);
    await eventually('the access record', () => proxy.records.length === 1);
    expect(proxy.records[0]).toMatchObject({ method: 'CONNECT', url: 'example.com:443', status: 405 });
  });

  it('a request body nobody read (answered before the body was needed) is dropped, and the next request is read', async () => {
    const backend = await startBackend('a', path);
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /app, url: balancer://c1/app }\n`);
    const c = client(proxy.port);
    // /other is not proxied: 404 without reading the body, which is larger than the socket's buffers.
    const body = 'x'.repeat(300_000);
    c.socket.write(`POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /app/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    await c.closed;
    expect(c.received().match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 404', 'HTTP/1.1 200']);
    expect(c.received().endsWith('/app/next')).toBe(true);
  });

  it('an idle keep-alive connection is closed after keepalivetimeout (and node\'s one second of grace), not before', async () => {
    const { proxy } = await setup(path, '  servername: proxy.test\n  keepalivetimeout: 300ms\n');
    const c = client(proxy.port);
    c.socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually('the response', () => c.received().endsWith('/a'));
    await sleep(600);
    expect(c.socket.destroyed).toBe(false);
    await c.closed;
  });

  it('a parse error: 400 and close, counted once; a response already started is cut instead', async () => {
    const { proxy } = await setup((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
      if (req.url === '/slow') return; // never ends
      res.end();
    });
    // A response started, then garbage pipelined behind the request: no 400 written into it.
    const c = client(proxy.port);
    c.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually('the start of the response', () => c.received().includes('partial'));
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nAB');
    await c.closed;
    expect(c.received()).not.toMatch(/400 Bad Request/);
    expect(proxy.daemon.counters.clientErrors['bad-request']).toBe(1);

    const answer = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close/);
    expect(proxy.daemon.counters.clientErrors['bad-request']).toBe(2);
  });

  it('chunk extensions longer than node\'s limit: 413 and close, counted, nothing forwarded', async () => {
    const { backend, proxy } = await setup(path);
    const answer = await rawExchange(proxy.port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;${'e'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n[^]*Connection: close/);
    expect(backend.received).toHaveLength(0);
    expect(proxy.daemon.counters.clientErrors['bad-request']).toBe(1);
  });

  it('a client that resets its connection mid-request is counted as a reset', async () => {
    const { backend, proxy } = await setup(path);
    const c = client(proxy.port);
    c.socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc');
    await eventually('the request at the proxy', () => proxy.daemon.counters.requests === 1);
    c.socket.resetAndDestroy();
    await eventually('the reset counted', () => proxy.daemon.counters.clientErrors.reset === 1);
    expect(backend.received).toHaveLength(0);
  });

  it('serves node:http clients with keep-alive agents across many requests', async () => {
    const { proxy } = await setup(path);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      const bodies = await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise<string>((resolve, reject) => {
        http.get(`${proxy.url}/n${i}`, { agent }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        }).on('error', reject);
      })));
      expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `/n${i}`));
    } finally {
      agent.destroy();
    }
  });
});

describe('Http1Server after its listener stopped', () => {
  // A reload that removes a listener stops it accepting; its open connections finish what they
  // do, still under requesttimeout, and then nothing of that listener may keep running.
  const servers: net.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  async function listening(): Promise<{ http1: Http1Server; port: number; accepted: () => number }> {
    const config = parseConfig('listen: [{ port: 8080 }]\nbalancers: {}\n', '/test/stickyd.yaml');
    const http1 = new Http1Server(config.server, {} as never, new ProxyCounters());
    let accepted = 0;
    const front = net.createServer((socket) => {
      accepted++;
      http1.connection(socket);
    });
    servers.push(front);
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    return { http1, port: (front.address() as net.AddressInfo).port, accepted: () => accepted };
  }

  it('ends its requesttimeout check when the last connection closes, not before', async () => {
    const { http1, port, accepted } = await listening();
    const c = client(port);
    await eventually('the connection is taken', () => accepted() === 1);
    http1.stop();
    expect(http1.checking).toBe(true);
    c.socket.destroy();
    await eventually('the check ended', () => !http1.checking);
  });

  it('with no connection open, ends it at once', async () => {
    const { http1 } = await listening();
    expect(http1.checking).toBe(true);
    http1.stop();
    expect(http1.checking).toBe(false);
  });
});

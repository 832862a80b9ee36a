// The HTTP member connector against real sockets: streaming, pooling, and the BackendError kind of
// every failure (connector.ts; apache-semantics §4.1/§4.2).
import type net from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemberConfig } from '../../src/config/types.js';
import { BackendError } from '../../src/members/connector.js';
import { request, type BackendRequest, type StreamedResponse } from '../helpers/ajp-fixtures.js';
import { HttpConnector } from '../../src/members/http/connector.js';
import { blackholePort, cleanup, deadPort, sleep, startBackend, startRawBackend } from './helpers.js';

const connectors: HttpConnector[] = [];
afterEach(async () => {
  for (const c of connectors.splice(0)) await c.destroy();
  await cleanup();
});

function member(port: number, extra: Partial<MemberConfig> = {}): MemberConfig {
  return {
    url: `http://127.0.0.1:${port}`, scheme: 'http', host: '127.0.0.1', port, basepath: '', route: '', redirect: '',
    loadfactor: 1, lbset: 0, status: '', retry: 60_000, timeout: 5000, connectiontimeout: 5000, max: 8, ttl: 4000,
    disablereuse: false, acquire: null, keepalive: false, ping: 0, secret: '', hcmethod: 'None', hcuri: '',
    hcinterval: 30_000, hcpasses: 1, hcfails: 1, hcexpr: null, ...extra,
  };
}

function connector(config: MemberConfig): HttpConnector {
  const c = new HttpConnector(config);
  connectors.push(c);
  return c;
}

function req(path = '/', extra: Partial<BackendRequest> = {}): BackendRequest {
  return {
    method: 'GET', httpVersion: '1.1', path, headers: [['Host', 'member']], body: null, bodyLength: null,
    client: { remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, secure: false, serverName: 's' },
    route: '', signal: new AbortController().signal, ...extra,
  };
}

async function text(r: StreamedResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

async function failure(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BackendError) return e;
    throw e;
  }
  throw new Error('expected a BackendError');
}

describe('HttpConnector', () => {
  it('streams a large response and keeps the connection for the next request', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const b = await startBackend('a', (r, res) => res.end(r.url === '/big' ? big : 'small'));
    const c = connector(member(b.port));
    const first = await request(c, req('/big'));
    expect(first.status).toBe(200);
    expect((await text(first)).length).toBe(big.length);
    for (let i = 0; i < 3; i++) {
      // undici frees a connection for the pool a moment after the body ended.
      await sleep(5);
      expect(await text(await request(c, req('/s')))).toBe('small');
    }
    expect(b.connections).toBe(1);
  });

  it('disablereuse: a connection per request', async () => {
    const b = await startBackend('a', (_r, res) => res.end('ok'));
    const c = connector(member(b.port, { disablereuse: true }));
    for (let i = 0; i < 3; i++) await text(await request(c, req()));
    expect(b.connections).toBe(3);
    expect(b.received.every((r) => r.headers.connection === 'close')).toBe(true);
  });

  it('sends the request body as a stream and keeps header order and case', async () => {
    const b = await startBackend('a', (_r, res, body) => res.end(String(body.length)));
    const c = connector(member(b.port));
    const body = Readable.from([Buffer.alloc(1000, 1), Buffer.alloc(2000, 2)]);
    const r = await request(c, req('/up', { method: 'POST', body, headers: [['Host', 'h'], ['X-Zed', '1'], ['x-alpha', '2']] }));
    expect(await text(r)).toBe('3000');
    expect(b.received[0]!.rawHeaders.filter((_, i) => i % 2 === 0).filter((n) => n.startsWith('X') || n.startsWith('x'))).toEqual(['X-Zed', 'x-alpha']);
    expect(b.received[0]!.headers['transfer-encoding']).toBe('chunked');
  });

  it('refused connection: kind connect, nothing sent', async () => {
    const e = await failure(request(connector(member(await deadPort())), req()));
    expect(e.kind).toBe('connect');
    expect(e.nothingSent).toBe(true);
  });

  it('connect that does not complete within connectiontimeout: kind connect, nothing sent', async () => {
    const port = await blackholePort();
    const e = await failure(request(connector(member(port, { connectiontimeout: 300, timeout: 10_000 })), req()));
    expect(e.kind).toBe('connect');
    expect(e.nothingSent).toBe(true);
  });

  it('no response head within timeout: kind timeout', async () => {
    const silent = await startRawBackend(() => {});
    const e = await failure(request(connector(member(silent.port, { timeout: 200 })), req()));
    expect(e.kind).toBe('timeout');
    expect(e.nothingSent).toBe(false);
  });

  it('closed without a response: kind closed, reusedConnection tells a fresh from a reused connection', async () => {
    const fresh = await startRawBackend((s) => s.once('data', () => s.destroy()));
    const e1 = await failure(request(connector(member(fresh.port)), req()));
    expect([e1.kind, e1.reusedConnection]).toEqual(['closed', false]);

    const second = await startRawBackend((s: net.Socket) => {
      let n = 0;
      s.on('data', () => (n++ === 0 ? s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') : s.destroy()));
    });
    const c = connector(member(second.port));
    expect(await text(await request(c, req()))).toBe('ok');
    await sleep(5);
    const e2 = await failure(request(c, req()));
    expect([e2.kind, e2.reusedConnection]).toEqual(['closed', true]);
  });

  it('garbage: kind protocol', async () => {
    const g = await startRawBackend((s) => s.once('data', () => s.end('garbage\r\n\r\n')));
    expect((await failure(request(connector(member(g.port)), req()))).kind).toBe('protocol');
  });

  it('acquire: no free connection within acquire ms → kind acquire; the slot comes back afterwards', async () => {
    let release: () => void = () => {};
    const b = await startBackend('a', (r, res) => {
      if (r.url === '/hold') release = () => res.end('held');
      else res.end('ok');
    });
    const c = connector(member(b.port, { max: 1, acquire: 100 }));
    const held = request(c, req('/hold'));
    while (b.received.length === 0) await sleep(5);
    const e = await failure(request(c, req('/next')));
    expect(e.kind).toBe('acquire');
    expect(e.nothingSent).toBe(true);
    release();
    expect(await text(await held)).toBe('held');
    expect(await text(await request(c, req('/after')))).toBe('ok');
    expect(b.received.map((r) => r.url)).toEqual(['/hold', '/after']);
  });

  it('acquire: an attempt whose client goes away while it waits for a slot gives up its place; the slot is not lost', async () => {
    let release: () => void = () => {};
    const b = await startBackend('a', (r, res) => {
      if (r.url === '/hold') release = () => res.end('held');
      else res.end('ok');
    });
    const c = connector(member(b.port, { max: 1, acquire: 2000 }));
    const held = request(c, req('/hold'));
    while (b.received.length === 0) await sleep(5);
    const ac = new AbortController();
    const waiting = failure(request(c, req('/gone', { signal: ac.signal })));
    await sleep(20);
    ac.abort();
    expect((await waiting).kind).toBe('aborted');
    release();
    expect(await text(await held)).toBe('held');
    // The slot went back to the pool, not to the attempt that was given up.
    expect(await text(await request(c, req('/after')))).toBe('ok');
    expect(b.received.map((r) => r.url)).toEqual(['/hold', '/after']);
  });

  it('an abort signal before the response: kind aborted and the member connection is dropped', async () => {
    let closedAtMember: () => void = () => {};
    const closed = new Promise<void>((r) => (closedAtMember = r));
    const b = await startBackend('a', (_r, res) => res.on('close', () => closedAtMember()));
    const ac = new AbortController();
    const p = request(connector(member(b.port)), req('/', { signal: ac.signal }));
    while (b.received.length === 0) await sleep(5);
    ac.abort();
    expect((await failure(p)).kind).toBe('aborted');
    await closed;
  });

  it('destroying the response body mid-stream aborts the member request', async () => {
    let closedAtMember: () => void = () => {};
    const closed = new Promise<void>((r) => (closedAtMember = r));
    const b = await startBackend('a', (_r, res) => {
      res.write('first part');
      res.on('close', () => closedAtMember());
    });
    const r = await request(connector(member(b.port)), req());
    await new Promise((resolve) => r.body.once('data', resolve));
    r.body.destroy();
    // The member's response sees its connection close: the request was aborted there too.
    await expect(closed).resolves.toBeUndefined();
  });
});

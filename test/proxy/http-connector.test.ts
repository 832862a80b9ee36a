// The HTTP member connector against real sockets: streaming, pooling, and the BackendError kind of
// every failure (connector.ts; apache-semantics §4.1/§4.2).
import type net from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { MemberConfig } from '../../src/config/types.js';
import { BackendError, type UpgradeOutcome } from '../../src/members/connector.js';
import { attemptOf, request, type BackendRequest, type StreamedResponse } from '../helpers/ajp-fixtures.js';
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

  it("the wire form: host first (here the client's, as the fixture preserves it), then connection, the headers as given, the body framed by the transport", async () => {
    const heads: string[] = [];
    const raw = await startRawBackend((s) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        const end = got.indexOf('\r\n\r\n');
        if (end === -1 || !/\r\n0\r\n\r\n$|content-length: 3\r\n\r\nabc$|^GET[^]*\r\n\r\n$/.test(got)) return;
        heads.push(got);
        got = '';
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    const c = connector(member(raw.port));
    await text(await request(c, req('/g', { headers: [['Host', 'client.example'], ['X-A', '1'], ['content-Length', '99']] })));
    await text(await request(c, req('/p', { method: 'POST', body: Readable.from([Buffer.from('abc')]), bodyLength: 3 })));
    await text(await request(c, req('/c', { method: 'PUT', body: Readable.from([Buffer.from('ab'), Buffer.from('cde')]) })));
    expect(heads).toEqual([
      'GET /g HTTP/1.1\r\nhost: client.example\r\nconnection: keep-alive\r\nX-A: 1\r\n\r\n',
      'POST /p HTTP/1.1\r\nhost: member\r\nconnection: keep-alive\r\ncontent-length: 3\r\n\r\nabc',
      'PUT /c HTTP/1.1\r\nhost: member\r\nconnection: keep-alive\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n',
    ]);
    expect(raw.connections).toBe(1);
  });

  it("the member's Keep-Alive timeout: an idle connection is closed 2 s before it, whatever ttl says", async () => {
    let closedAt = 0;
    const raw = await startRawBackend((s) => {
      s.on('data', () => s.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=3\r\nContent-Length: 2\r\n\r\nok'));
      s.on('close', () => (closedAt = Date.now()));
    });
    const c = connector(member(raw.port, { ttl: 60_000 }));
    await text(await request(c, req()));
    const idleSince = Date.now();
    while (closedAt === 0 && Date.now() - idleSince < 5000) await sleep(20);
    // Closed by the pool after about 1 s (3 s - 2 s), not after ttl's 60 s, nor by the member.
    expect(closedAt - idleSince).toBeGreaterThanOrEqual(900);
    expect(closedAt - idleSince).toBeLessThan(2900);
  });

  it('a connection that saw a response with "Connection: close" is not reused; unexpected bytes on an idle one close it', async () => {
    const raw = await startRawBackend((s) => {
      s.on('data', () => {
        s.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    const c = connector(member(raw.port));
    await text(await request(c, req()));
    await text(await request(c, req()));
    expect(raw.connections).toBe(2);

    // A whole response nobody asked for, on an idle connection: that connection is dropped, and
    // the next request goes out on a new one rather than taking that response for its own.
    const chatty = await startRawBackend((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none');
        setTimeout(() => s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale'), 30);
      });
    });
    const c2 = connector(member(chatty.port));
    expect(await text(await request(c2, req()))).toBe('one');
    await sleep(100);
    // Had the idle connection kept the unasked-for response, this request would get 'stale'.
    expect(await text(await request(c2, req()))).toBe('one');
    expect(chatty.connections).toBe(2);
  });

  it('an Upgrade: the bytes the member sends right after its 101 reach the tunnel, none lost', async () => {
    const raw = await startRawBackend((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nFIRST-FRAME');
        s.on('data', (d: Buffer) => s.write(d));
      });
    });
    const c = connector(member(raw.port));
    const outcome: UpgradeOutcome = await c.upgrade(attemptOf(req('/ws', { headers: [['Host', 'h'], ['Upgrade', 'websocket']] })));
    expect(outcome.kind).toBe('upgraded');
    if (outcome.kind !== 'upgraded') return;
    expect(outcome.status).toBe(101);
    expect(outcome.headers).toEqual(['Upgrade', 'websocket', 'Connection', 'Upgrade']);
    const socket = outcome.socket;
    let got = '';
    // The socket comes paused (nothing may be read before its new owner listens): resume it.
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.resume();
    socket.write('echo');
    while (!got.includes('echo')) await sleep(5);
    expect(got).toBe('FIRST-FRAMEecho');
    socket.destroy();
  });

  it('a member that answers before it has read the body: the body still goes out whole, the response comes through', async () => {
    const raw = await startRawBackend((s) => {
      let got = '';
      let answered = false;
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (!answered && got.includes('\r\n\r\n')) {
          answered = true;
          // The head at once, the body once the request body has ended.
          s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
        }
        if (got.endsWith('\r\n0\r\n\r\n')) {
          // The body as sent: the chunk sizes after the header block (its last CRLF starts the first size line).
          const sizes = [...got.slice(got.indexOf('\r\n\r\n') + 2).matchAll(/\r\n([0-9a-f]+)\r\n/g)];
          const n = sizes.reduce((sum, m) => sum + parseInt(m[1]!, 16), 0);
          s.write(`5\r\n${String(n).padStart(5, '0')}\r\n0\r\n\r\n`);
        }
      });
    });
    const c = connector(member(raw.port));
    const body = new Readable({ read() {} });
    const pending = request(c, req('/up', { method: 'POST', body }));
    body.push(Buffer.alloc(100, 1));
    const r = await pending;
    expect(r.status).toBe(200);
    body.push(Buffer.alloc(200, 2));
    await sleep(20);
    body.push(Buffer.alloc(300, 3));
    body.push(null);
    expect(await text(r)).toBe('00600');
  });
});

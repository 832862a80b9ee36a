// RequestReadTimeout (server.requestreadtimeout) and the body prefetch, over real sockets: a client
// slower than MinRate gets 408 and its connection closed; a small body is read whole before any
// member is chosen, so clients still sending hold no member connection and a slow one never
// reaches a member at all; a larger body is streamed on after the prefetch, and cut (408, member
// request aborted) when the client falls below the rate, as httpd does.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/patience.js';
import { cleanup, request, sleep, startBackend, startProxy, type Backend, rawClient } from './helpers.js';

afterEach(cleanup);

const clients: net.Socket[] = [];
afterEach(() => {
  for (const s of clients.splice(0)) s.destroy();
});

async function setup(server: string, memberOptions = '') {
  const backend = await startBackend('a');
  const proxy = await startProxy(
    `server:\n  servername: proxy.test\n${server}balancers:\n  c1:\n    members: [{ url: ${backend.url}${memberOptions} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`,
  );
  return { backend, proxy };
}

const client = (port: number) => rawClient(port, clients);

/** Write `piece` every `everyMs` until the connection closes or `count` pieces went out. */
async function trickle(socket: net.Socket, piece: string, everyMs: number, count: number): Promise<void> {
  for (let i = 0; i < count && !socket.destroyed && socket.writable; i++) {
    socket.write(piece);
    await sleep(everyMs);
  }
}

function nothingReached(b: Backend): void {
  expect(b.received).toHaveLength(0);
  expect(b.connections).toBe(0);
}

describe('RequestReadTimeout header=', () => {
  it('a header block slower than MinRate: 408, nothing forwarded', async () => {
    const { backend, proxy } = await setup('  requestreadtimeout: { header: "300ms-5s,MinRate=100" }\n');
    const c = client(proxy.port);
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    // 8 bytes every 150 ms: about 53 bytes/s, below MinRate=100.
    await Promise.race([trickle(c.socket, 'X-A: 1\r\n', 150, 60), c.closed]);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*Connection: close/);
    nothingReached(backend);
    expect(proxy.daemon.counters.clientErrors.timeout).toBe(1);
  });

  it('a header block at MinRate or faster may take longer than the initial timeout', async () => {
    const { backend, proxy } = await setup('  requestreadtimeout: { header: "300ms-10s,MinRate=100" }\n');
    const c = client(proxy.port);
    c.socket.write('GET /slow-but-steady HTTP/1.1\r\nHost: x\r\nConnection: close\r\n');
    // 100 bytes every 100 ms (1000 bytes/s) for about a second: well past 300 ms.
    await trickle(c.socket, `X-Pad: ${'p'.repeat(91)}\r\n`, 100, 10);
    c.socket.write('\r\n');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(backend.received.map((r) => r.url)).toEqual(['/slow-but-steady']);
  });

  it('the maximum ends the extensions: a steady header block is cut there', async () => {
    const { backend, proxy } = await setup('  requestreadtimeout: { header: "200ms-600ms,MinRate=100" }\n');
    const c = client(proxy.port);
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await Promise.race([trickle(c.socket, `X-Pad: ${'p'.repeat(91)}\r\n`, 50, 200), c.closed]);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    nothingReached(backend);
  });

  it('a keep-alive connection: the stage starts with the next request\'s first byte, not when the connection idles', async () => {
    const { backend, proxy } = await setup('  requestreadtimeout: { header: "300ms" }\n  keepalivetimeout: 5s\n');
    const c = client(proxy.port);
    c.socket.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(600); // idle longer than the header stage: not a timeout
    c.socket.write('GET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually('the second request at the member', () => backend.received.length >= 2);
    expect(backend.received.map((r) => r.url)).toEqual(['/1', '/2']);
    c.socket.write('GET /3 HTTP/1.1\r\n'); // ...and never finished
    await c.closed;
    expect(c.received().match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 408']);
  });
});

describe('RequestReadTimeout body= and the prefetch', () => {
  it('a small body that stops coming: 408, and the member never saw a connection', async () => {
    const { backend, proxy } = await setup('  requestreadtimeout: { body: "300ms,MinRate=500" }\n');
    const c = client(proxy.port);
    c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*Connection: close/);
    nothingReached(backend);
    expect(proxy.daemon.counters.clientErrors.timeout).toBe(0); // counted as a request answered 408
    while (proxy.records.length === 0) await sleep(10);
    expect(proxy.records[0]).toMatchObject({ status: 408, member: null });
  });

  it('a body trickled below MinRate: 408, nothing forwarded', async () => {
    const { backend, proxy } = await setup('  requestreadtimeout: { body: "300ms,MinRate=500" }\n');
    const c = client(proxy.port);
    c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    // 10 bytes every 100 ms: 100 bytes/s, a fifth of MinRate.
    await Promise.race([trickle(c.socket, '0123456789', 100, 100), c.closed]);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    nothingReached(backend);
  });

  it('a body at MinRate or faster may take longer than the initial timeout', async () => {
    const { backend, proxy } = await setup('  requestreadtimeout: { body: "300ms,MinRate=1000" }\n');
    const c = client(proxy.port);
    c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n');
    // 500 bytes every 100 ms (5000 bytes/s) for about a second.
    await trickle(c.socket, 'b'.repeat(500), 100, 10);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(backend.received.map((r) => r.body.length)).toEqual([5000]);
  });

  it('many clients still sending small bodies do not hold the member\'s connections: a normal request is served at once', async () => {
    // max: 2 connections to the member. On a proxy that connects first, the slow uploads hold
    // both until requesttimeout (3 s here) and the GET waits for them.
    // The default body stage (20,MinRate=500) applies.
    const { backend, proxy } = await setup('  requesttimeout: 3s\n', ', max: 2');
    const slow = Array.from({ length: 6 }, () => client(proxy.port));
    for (const c of slow) c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
    await sleep(200);
    const reply = await request(`${proxy.url}/normal`);
    expect(reply.status).toBe(200);
    // Served while every slow client is still waiting, none of them answered.
    expect(slow.map((c) => c.received())).toEqual(slow.map(() => ''));
    expect(backend.received.map((r) => r.url)).toEqual(['/normal']);
    expect(backend.connections).toBe(1);
  });

  it('a body larger than the prefetch is streamed on, and cut when the client falls below MinRate: 408, the member request aborted', async () => {
    const member = await startBackend('big');
    member.server.removeAllListeners('request');
    const memberSaw = new Promise<{ bytes: number; complete: boolean }>((resolve) => {
      member.server.on('request', (req: http.IncomingMessage) => {
        let bytes = 0;
        req.on('data', (d: Buffer) => (bytes += d.length));
        req.on('close', () => resolve({ bytes, complete: req.complete }));
      });
    });
    const proxy = await startProxy(`server:\n  servername: proxy.test\n  requestreadtimeout: { body: "300ms,MinRate=100000" }\nbalancers:\n  c1:\n    members: [{ url: ${member.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const c = client(proxy.port);
    c.socket.write(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(20_000)}`);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    const saw = await memberSaw;
    expect(saw.complete).toBe(false);
    expect(saw.bytes).toBeGreaterThan(16 * 1024);
    expect(saw.bytes).toBeLessThanOrEqual(20_000);
  });

  it('a chunked body that arrives whole in the prefetch goes on with a Content-Length, as httpd sends it', async () => {
    const { backend, proxy } = await setup('');
    const c = client(proxy.port);
    c.socket.write('POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(backend.received[0]!.body.toString()).toBe('hello world');
    expect(backend.received[0]!.headers['content-length']).toBe('11');
    expect(backend.received[0]!.headers['transfer-encoding']).toBeUndefined();
  });

  it('a chunked body still coming after the prefetch stays chunked', async () => {
    const { backend, proxy } = await setup('');
    const c = client(proxy.port);
    c.socket.write(`POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4e20\r\n${'q'.repeat(20_000)}\r\n`);
    await sleep(200);
    c.socket.write(`4e20\r\n${'r'.repeat(20_000)}\r\n0\r\n\r\n`);
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(backend.received[0]!.body.length).toBe(40_000);
    expect(backend.received[0]!.headers['transfer-encoding']).toBe('chunked');
  });
});

// The member's response body on its way to the client (src/proxy/response-relay.ts): back-pressure,
// a client that goes away mid-body, a member that fails mid-body, and the byte counts (bytraffic,
// access log) — all against real sockets on 127.0.0.1.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, memberState, request, sleep, startBackend, startProxy, startRawBackend } from './helpers.js';

afterEach(cleanup);

function proxyTo(url: string) {
  return startProxy(`balancers:\n  c1:\n    members: [{ url: ${url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
}

describe('the response body', () => {
  it('reaches a client that reads late whole, and the member is held back meanwhile instead of buffered', async () => {
    const total = 64 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 0x61);
    let written = 0;
    const backend = await startBackend('big', (_req, res) => {
      res.writeHead(200, { 'Content-Length': String(total) });
      const more = (): void => {
        while (written < total) {
          written += piece.length;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    const proxy = await proxyTo(backend.url);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${proxy.url}/big`, { agent: false }, resolve).on('error', reject);
    });
    res.pause();
    await sleep(500);
    // Kernel socket buffers on both hops hold a few MiB at most; without back-pressure the proxy
    // would have read everything from the member into memory by now.
    const writtenBeforeReading = written;
    let received = 0;
    res.on('data', (c: Buffer) => (received += c.length));
    res.resume();
    await new Promise((r) => res.on('end', r));
    expect(writtenBeforeReading).toBeLessThan(total * 0.75);
    expect(received).toBe(total);
    while (proxy.records.length === 0) await sleep(10);
    expect(proxy.records[0]).toMatchObject({ status: 200, bytes: total });
  });

  it('arrives whole when the head and a large body come in the same packet', async () => {
    const body = Buffer.alloc(300_000, 0x62);
    const member = await startRawBackend((s: net.Socket) => s.once('data', () => {
      s.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]));
    }));
    const proxy = await proxyTo(member.url);
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(body.toString());
  });

  it('HEAD: the member\'s head, no body, 0 bytes in the access record', async () => {
    const backend = await startBackend('a', (_req, res) => {
      res.setHeader('Content-Length', '12');
      res.end('twelve bytes');
    });
    const proxy = await proxyTo(backend.url);
    const reply = await request(`${proxy.url}/`, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-length']).toBe('12');
    expect(reply.body).toBe('');
    while (proxy.records.length === 0) await sleep(10);
    expect(proxy.records[0]).toMatchObject({ method: 'HEAD', status: 200, bytes: 0 });
  });

  it('counts for bytraffic: member.read grows by the body size, the access record has the bytes sent', async () => {
    // Bodies of 1000 and 5000 bytes: same header block length (4-digit Content-Length).
    const backend = await startBackend('a', (req, res) => res.end('x'.repeat(req.url === '/small' ? 1000 : 5000)));
    const proxy = await proxyTo(backend.url);
    await request(`${proxy.url}/small`);
    const afterSmall = memberState(proxy, 'c1', backend.url);
    await request(`${proxy.url}/large`);
    const afterLarge = memberState(proxy, 'c1', backend.url);
    // Both heads have the same size h: read = h + 1000, then 2h + 6000.
    expect(afterSmall.read).toBeGreaterThan(1000);
    expect(afterLarge.read - 2 * afterSmall.read).toBe(4000);
    // The request side: two GETs of the same size (paths of the same length).
    expect(afterSmall.transferred).toBeGreaterThan(0);
    expect(afterLarge.transferred).toBe(2 * afterSmall.transferred);
    while (proxy.records.length < 2) await sleep(10);
    expect(proxy.records.map((r) => r.bytes)).toEqual([1000, 5000]);
  });
});

describe('a client that goes away mid-body', () => {
  it('aborts the member request; the record keeps the status and the bytes sent; the member is not busy', async () => {
    let memberSawClose: () => void = () => {};
    const closed = new Promise<void>((r) => (memberSawClose = r));
    const backend = await startBackend('slow', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first part;');
      res.on('close', () => {
        if (!res.writableFinished) memberSawClose();
      });
    });
    const proxy = await proxyTo(backend.url);
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${proxy.url}/`, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.setTimeout(5000, () => reject(new Error('no body')));
    });
    await closed;
    while (proxy.records.length === 0) await sleep(10);
    expect(proxy.records[0]).toMatchObject({ status: 200, bytes: 'first part;'.length, member: backend.url });
    expect(memberState(proxy, 'c1', backend.url).busy).toBe(0);
  });
});

describe('a member that fails mid-body', () => {
  it('a reset after part of the body: the client sees its connection cut, not a complete response', async () => {
    const member = await startRawBackend((s: net.Socket) => s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
      setTimeout(() => s.resetAndDestroy(), 50);
    }));
    const proxy = await proxyTo(member.url);
    const outcome = await new Promise<string>((resolve) => {
      http.get(`${proxy.url}/`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(`complete:${body}`));
        res.on('error', () => resolve(`cut:${body}`));
      }).on('error', () => resolve('cut'));
    });
    expect(outcome).toBe('cut:hello');
    while (proxy.records.length === 0) await sleep(10);
    expect(proxy.records[0]).toMatchObject({ status: 200, bytes: 5 });
  });
});

/**
 * The bench's floor (bench/lib/minimal-proxy.ts) over real sockets: a client that closes its
 * connection before the member has answered must not take the member connection with it. wrk
 * does that with up to 50 requests at the end of every run; the floor used to leave each such
 * member connection paused for good, and after some twenty runs its pool of 128 was full and it
 * answered about 10 req/s for the rest of the benchmark.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, waitForPort } from '../helpers/ports.js';
import { spawnTs, stopAll } from '../helpers/spawn.js';

/** More than the floor's pool holds per member (connections: 128). */
const ABANDONED = 140;

const servers: http.Server[] = [];

afterAll(async () => {
  await stopAll();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A member that answers after `delayMs` and keeps its connections open for a minute. */
async function slowMember(port: number, route: string, delayMs: number): Promise<void> {
  const server = http.createServer((_req, res) => {
    setTimeout(() => res.end(`hello from ${route}\n`), delayMs);
  });
  server.keepAliveTimeout = 60_000;
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
}

/** Sends one sticky request and closes the connection after `closeAfterMs`, unanswered. */
function abandon(port: number, route: string, closeAfterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: JSESSIONID=ABC.${route}\r\n\r\n`);
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, closeAfterMs);
    });
    socket.once('error', reject);
  });
}

function get(port: number, route: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { cookie: `JSESSIONID=ABC.${route}` }, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

// The floor, and its variant on undici's newer handler API (bench/instructions.ts measures it).
describe.each(['bench/lib/minimal-proxy.ts', 'bench/lib/minimal-proxy-undici8.ts'])('bench floor: %s', (script) => {
  it('still answers after more clients than its pool holds closed before their answer', async () => {
    const [proxy, a, b] = await freePorts(3);
    await slowMember(a!, 'jvm_a', 200);
    await slowMember(b!, 'jvm_b', 200);
    spawnTs(script, [String(proxy), `jvm_a=${a}`, `jvm_b=${b}`]);
    await waitForPort(proxy!, 20_000);
    expect(await get(proxy!, 'jvm_a', 5000)).toEqual({ status: 200, body: 'hello from jvm_a\n' });

    // Every one of them reaches the member (the pool opens up to 128 connections, the rest wait
    // in its queue) and is gone before the member answers.
    await Promise.all(Array.from({ length: ABANDONED }, () => abandon(proxy!, 'jvm_a', 50)));
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(await get(proxy!, 'jvm_a', 5000)).toEqual({ status: 200, body: 'hello from jvm_a\n' });
  });
});

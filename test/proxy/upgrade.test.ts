// Upgrade requests (WebSocket) tunnelled through the balancer, sticky included.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { eventually as until, patience } from '../helpers/patience.js';
import { cleanupWorkers, startWorkers } from '../workers/helpers.js';
import { cleanup, rawExchange, sleep, startBackend, startProxy } from './helpers.js';

afterEach(cleanup);

/** An HTTP backend with a WebSocket echo that prefixes its name; a 403 for the path /refuse. */
async function wsBackend(name: string) {
  const b = await startBackend(name);
  const wss = new WebSocketServer({ noServer: true });
  const closes: number[] = [];
  b.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (req.url?.startsWith('/refuse')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nno, sir');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => {
        const text = data.toString();
        if (text === 'bye') ws.close(4000, 'server says bye');
        else ws.send(`${name}:${text}`);
      });
      ws.on('close', (code) => closes.push(code));
    });
  });
  return Object.assign(b, { closes, wss });
}

function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function roundTrip(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve) => {
    ws.once('message', (d) => resolve(d.toString()));
    ws.send(text);
  });
}

async function cluster() {
  const a = await wsBackend('a');
  const b = await wsBackend('b');
  const proxy = await startProxy(
    `balancers:\n  c1:\n    stickysession: JSESSIONID|jsessionid\n    members:\n      - { url: ${a.url}, route: jvm_a }\n      - { url: ${b.url}, route: jvm_b }\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`,
  );
  return { a, b, proxy, wsUrl: `ws://127.0.0.1:${proxy.port}` };
}

describe('WebSocket through the proxy', () => {
  it('echoes through the tunnel and sticks to the member the session cookie names', async () => {
    const { proxy, wsUrl } = await cluster();
    for (let i = 0; i < 3; i++) {
      const ws = await open(`${wsUrl}/chat`, { Cookie: 'JSESSIONID=abc.jvm_b' });
      expect(await roundTrip(ws, `hello ${i}`)).toBe(`b:hello ${i}`);
      expect(await roundTrip(ws, 'again')).toBe('b:again');
      ws.close();
    }
    const ws = await open(`${wsUrl}/chat;jsessionid=abc.jvm_a`);
    expect(await roundTrip(ws, 'x')).toBe('a:x');
    ws.close();
    while (proxy.records.length < 4) await sleep(10);
    expect(proxy.records[0]).toMatchObject({ status: 101, memberRoute: 'jvm_b', sessionRoute: 'jvm_b', stickyName: 'JSESSIONID' });
    expect(proxy.daemon.counters.tunnels).toBe(4);
  });

  it('a client close reaches the member, a member close reaches the client; busy is released', async () => {
    const { a, b, proxy, wsUrl } = await cluster();
    const ws = await open(`${wsUrl}/`);
    await roundTrip(ws, 'hi');
    ws.close(1000);
    await until('the member to see the close', () => a.closes.length + b.closes.length > 0);
    expect([...a.closes, ...b.closes]).toEqual([1000]);

    const ws2 = await open(`${wsUrl}/`);
    const code = await new Promise<number>((resolve) => {
      ws2.once('close', (c) => resolve(c));
      ws2.send('bye');
    });
    expect(code).toBe(4000);
    await until('busy released', () => proxy.daemon.balancers.get('c1')!.members.every((m) => m.busy === 0));
  });

  // The idle timeout of a tunnel is max(server.timeout, member timeout) of silence either way.
  // Timing here is asserted from below only: a timeout never fires before its time, while when a
  // timer or a sleep fires late depends on the machine. So "still open at t" is shown by a close
  // that came no sooner than the longer timeout, and the gaps of the traffic are ten times shorter
  // than the timeout they must not reach (seconds of margin for a slow machine).
  describe('an idle tunnel is closed after the larger of server.timeout and the member timeout (httpd)', () => {
    async function idleCluster(serverTimeout: string, memberTimeout: string) {
      const a = await wsBackend('a');
      const proxy = await startProxy(
        `server: { servername: proxy.test, timeout: ${serverTimeout} }\nbalancers:\n  c1:\n    members:\n      - { url: ${a.url}, timeout: ${memberTimeout} }\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`,
      );
      const ws = await open(`ws://127.0.0.1:${proxy.port}/`);
      const openedAt = Date.now();
      const closed = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now())));
      // A tunnel that is never closed fails here, after a wait that is not about speed.
      const closedAt = () => Promise.race([closed, sleep(patience(0)).then(() => null)]);
      /** An echo through the tunnel; fails (instead of hanging) if the tunnel closes first. */
      const echo = (text: string) =>
        Promise.race([roundTrip(ws, text), closed.then(() => Promise.reject(new Error(`the tunnel closed before the echo of ${text}`)))]);
      return { a, proxy, openedAt, closedAt, echo };
    }

    it('server.timeout longer: open past the member timeout, traffic either way keeps it open, then closed on both sides', async () => {
      const { a, proxy, openedAt, closedAt, echo } = await idleCluster('4s', '400ms');
      // Client → member every 800 ms (twice the member timeout), and the member's echo back, for
      // longer than server.timeout: only silence counts.
      let last = openedAt;
      let i = 0;
      while (Date.now() - openedAt < 4800) {
        await sleep(800);
        expect(Date.now() - last).toBeGreaterThan(400); // a silence longer than the member timeout
        expect(await echo(`m${i}`)).toBe(`a:m${i}`);
        last = Date.now();
        i++;
      }
      const quietSince = last;
      const at = await closedAt();
      expect(at, 'the idle tunnel was never closed').not.toBeNull();
      expect(at! - quietSince).toBeGreaterThanOrEqual(3950);
      await until('the member side to be cut', () => a.closes.length > 0);
      expect(a.closes).toEqual([1006]); // the member's side was cut too, without a close frame
      await until('busy released', () => proxy.daemon.balancers.get('c1')!.members[0]!.busy === 0);
      expect(proxy.records.at(-1)).toMatchObject({ status: 101 });
    });

    it('member timeout longer: the member timeout decides', async () => {
      const { openedAt, closedAt } = await idleCluster('300ms', '3s');
      const at = await closedAt();
      expect(at, 'the idle tunnel was never closed').not.toBeNull();
      // Open well past server.timeout: the member timeout decided.
      expect(at! - openedAt).toBeGreaterThanOrEqual(2950);
    });
  });

  it('a member that does not switch protocols: its answer is relayed and the connection closed', async () => {
    const { wsUrl } = await cluster();
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`${wsUrl}/refuse`);
      ws.on('unexpected-response', (_req, r: http.IncomingMessage) => {
        let body = '';
        r.on('data', (c) => (body += c));
        r.on('end', () => resolve({ status: r.statusCode!, body }));
      });
      ws.on('error', () => {});
      setTimeout(() => reject(new Error('no answer')), 5000);
    });
    expect(res).toEqual({ status: 403, body: 'no, sir' });
  });

  it('no usable member: 503 on the raw connection', async () => {
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: "http://127.0.0.1:9", status: +D }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const answer = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 503 [^]*Connection: close/);
  });

  it('an ajp:// member cannot take an Upgrade: 502, and nothing connects to it', async () => {
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: "ajp://127.0.0.1:9" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const answer = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 502 /);
    expect(proxy.daemon.balancers.get('c1')!.members[0]!.usable).toBe(true);
  });
});

describe('WebSocket through two worker threads', { timeout: 120_000 }, () => {
  afterEach(cleanupWorkers);

  it('tunnels on either worker echo, stick to the cookie\'s member, and release busy on the shared state', async () => {
    const a = await wsBackend('a');
    const b = await wsBackend('b');
    const proxy = await startWorkers(
      `balancers:\n  c1:\n    stickysession: JSESSIONID|jsessionid\n    members:\n      - { url: ${a.url}, route: jvm_a }\n      - { url: ${b.url}, route: jvm_b }\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`,
    );
    // Each tunnel is a new connection; the access record (written when the tunnel ends) names its worker.
    const workers = new Set<number>();
    let tunnels = 0;
    while (workers.size < 2 && tunnels < 60) {
      tunnels++;
      const ws = await open(`ws://127.0.0.1:${proxy.port}/chat/${tunnels}`, { Cookie: 'JSESSIONID=abc.jvm_b' });
      expect(await roundTrip(ws, `hello ${tunnels}`)).toBe(`b:hello ${tunnels}`);
      ws.close(1000);
      workers.add(await proxy.workerOf(`/chat/${tunnels}`));
    }
    expect([...workers].sort((x, y) => x - y)).toEqual([1, 2]);
    expect(proxy.records.every((r) => r.status === 101 && r.memberRoute === 'jvm_b')).toBe(true);
    await until('the member to see every close', () => b.closes.length >= tunnels);
    expect(b.closes).toHaveLength(tunnels);
    const members = proxy.daemon.balancers.get('c1')!.members;
    await until('busy released', () => members.every((m) => m.busy === 0));
    expect(members.map((m) => [m.busy, m.elected])).toEqual([[0, 0], [0, tunnels]]);
    const figures = await proxy.supervised.figures.collect();
    expect(figures.counters.tunnels).toBe(tunnels);
  });
});

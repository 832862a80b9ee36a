// apache-semantics §9.7-§9.10: timeouts, failonstatus, a member closing without a response, the balancer timeout.
import http from 'node:http';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Flag, statusText } from '../../src/balancer/flags.js';
import { blackholePort, cleanup, echoed, keepAliveAgent, request, sleep, startBackend, startProxy, startRawBackend, type Proxy } from './helpers.js';

afterEach(cleanup);

function balancer(members: string, extra = ''): string {
  return `balancers:\n  c1:\n${extra}    members:\n${members}\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`;
}

function status(proxy: Proxy, url: string): string {
  return statusText(proxy.daemon.balancers.get('c1')!.member(url)!.status);
}

/** A backend that answers after `ms`. */
async function slowBackend(ms: number) {
  return startBackend('slow', (_req, res) => {
    const t = setTimeout(() => res.end('late'), ms);
    res.on('close', () => clearTimeout(t));
  });
}

describe('member timeout (§9.7)', () => {
  it('no response within the member timeout: 502 "Error reading from remote server", member not in error', async () => {
    const slow = await slowBackend(2000);
    const proxy = await startProxy(balancer(`      - { url: ${slow.url}, timeout: 300ms }`));
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(502);
    expect(reply.body).toContain('Error reading from remote server');
    expect(status(proxy, slow.url)).toBe('Init Ok ');
  });

  it('with failontimeout the member goes into error', async () => {
    const slow = await slowBackend(2000);
    const other = await startBackend('other');
    const proxy = await startProxy(balancer(`      - { url: ${slow.url}, timeout: 300ms }\n      - { url: ${other.url} }`, '    failontimeout: true\n'));
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(502);
    expect(status(proxy, slow.url)).toBe('Init Err ');
    // No failover happened: the request was sent.
    expect(other.received).toHaveLength(0);
    expect(echoed(await request(`${proxy.url}/`)).backend).toBe('other');
  });

  it('connectiontimeout against a blackholed address: the member goes into error and the request fails over', async () => {
    const hole = await blackholePort();
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${hole}, connectiontimeout: 300ms, timeout: 10s }\n      - { url: ${b.url} }`));
    const reply = await request(`${proxy.url}/`);
    expect(echoed(reply).backend).toBe('b');
    expect(status(proxy, `http://127.0.0.1:${hole}`)).toBe('Init Err ');
    expect(proxy.records[0]!.attempts).toBe(2);
  });

  it('a member that does not read the request body: 504 once the send times out', async () => {
    const stuck = await startRawBackend((s: net.Socket) => s.pause());
    const proxy = await startProxy(balancer(`      - { url: ${stuck.url}, timeout: 300ms }`));
    const size = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const statusCode = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${proxy.url}/upload`, { method: 'POST', agent: false, headers: { 'Content-Length': size } }, (res) => {
        resolve(res.statusCode!);
        res.resume();
        req.destroy();
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      let sent = 0;
      const pump = (): void => {
        while (sent < size) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(statusCode).toBe(504);
    expect(status(proxy, stuck.url)).toBe('Init Ok ');
  });
});

describe('failonstatus (§9.8)', () => {
  it('the client gets the member\'s own 500 body, the member goes into error and is skipped afterwards', async () => {
    const a = await startBackend('a', (_req, res) => {
      res.statusCode = 500;
      res.end('boom from a');
    });
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: ${a.url} }\n      - { url: ${b.url} }`, '    failonstatus: [500, 503]\n'));
    const first = await request(`${proxy.url}/`);
    expect(first.status).toBe(500);
    expect(first.body).toBe('boom from a');
    // httpd closes the client connection after a 500 (ap_status_drops_connection).
    expect(first.headers.connection).toBe('close');
    expect(status(proxy, a.url)).toBe('Init Err ');
    for (let i = 0; i < 3; i++) expect(echoed(await request(`${proxy.url}/`)).backend).toBe('b');
    expect(a.received).toHaveLength(1);
  });

  it('with every member in error, forcerecovery brings them back', async () => {
    const fail = (name: string) => startBackend(name, (_req, res) => {
      res.statusCode = 503;
      res.end(`down ${name}`);
    });
    const a = await fail('a');
    const b = await fail('b');
    const proxy = await startProxy(balancer(`      - { url: ${a.url} }\n      - { url: ${b.url} }`, '    failonstatus: "500,503"\n'));
    const bodies = [];
    for (let i = 0; i < 2; i++) bodies.push((await request(`${proxy.url}/`)).body);
    expect(bodies).toEqual(['down a', 'down b']);
    expect([status(proxy, a.url), status(proxy, b.url)]).toEqual(['Init Err ', 'Init Err ']);
    // Each later request still reaches a member and gets its own 503 body, never stickyd's "no member" page.
    for (let i = 0; i < 2; i++) bodies.push((await request(`${proxy.url}/`)).body);
    expect(bodies.slice(2).every((body) => body === 'down a' || body === 'down b')).toBe(true);
    expect(proxy.records.map((r) => r.attempts)).toEqual([1, 1, 1, 1]);
  });
});

describe('a member that closes without a response (§9.9)', () => {
  it('on a fresh client connection: 502, member not in error', async () => {
    const closer = await startRawBackend((s) => s.once('data', () => s.destroy()));
    const proxy = await startProxy(balancer(`      - { url: ${closer.url} }`));
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(502);
    expect(status(proxy, closer.url)).toBe('Init Ok ');
  });

  // httpd closes such a client connection WITHOUT ANY response (AH01104; see attempts.ts), so the
  // client can retry as after a keep-alive race; node's client reports "socket hang up".
  it('on a keep-alive client connection, new member connection: closed without a response, member in error', async () => {
    let conns = 0;
    const backend = await startRawBackend((s) => {
      const n = conns++;
      s.once('data', () => {
        if (n === 0) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
        else s.destroy();
      });
    });
    const proxy = await startProxy(balancer(`      - { url: ${backend.url} }`));
    const agent = keepAliveAgent();
    const sockets = new Set<net.Socket>();
    agent.on('free', (s: net.Socket) => sockets.add(s));
    const first = await request(`${proxy.url}/`, { agent });
    expect(first.status).toBe(200);
    await expect(request(`${proxy.url}/`, { agent })).rejects.toThrow(/socket hang up/);
    expect(sockets.size).toBe(1);
    expect(backend.connections).toBe(2);
    expect(status(proxy, backend.url)).toBe('Init Err ');
    while (proxy.records.length < 2) await sleep(5); // written when the connection has closed
    expect(proxy.records[1]).toMatchObject({ status: null, member: backend.url });
  });

  it('on a keep-alive client connection, reused member connection: closed without a response, member not in error (keep-alive race)', async () => {
    const backend = await startRawBackend((s) => {
      let n = 0;
      s.on('data', () => {
        if (n++ === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else s.destroy();
      });
    });
    const proxy = await startProxy(balancer(`      - { url: ${backend.url} }`));
    const agent = keepAliveAgent();
    expect((await request(`${proxy.url}/`, { agent })).status).toBe(200);
    await expect(request(`${proxy.url}/`, { agent })).rejects.toThrow(/socket hang up/);
    expect(backend.connections).toBe(1);
    expect(status(proxy, backend.url)).toBe('Init Ok ');
  });
});

describe('balancer timeout (§9.10)', () => {
  it('with every member disabled: 503 once the timeout has passed', async () => {
    const a = await startBackend('a');
    const proxy = await startProxy(balancer(`      - { url: ${a.url}, status: +D }`, '    timeout: 400ms\n'));
    const t0 = performance.now();
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(503);
    expect(reply.headers.connection).toBe('close');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400);
    expect(a.received).toHaveLength(0);
  });

  it('a member that becomes usable during the wait takes the request', async () => {
    const a = await startBackend('a');
    const proxy = await startProxy(balancer(`      - { url: ${a.url}, status: +D }`, '    timeout: 2s\n'));
    const pending = request(`${proxy.url}/`);
    await sleep(200);
    const m = proxy.daemon.balancers.get('c1')!.members[0]!;
    m.status &= ~Flag.DISABLED;
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(a.received).toHaveLength(1);
  });
});

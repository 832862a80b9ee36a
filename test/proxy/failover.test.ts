// apache-semantics §9.6: failover, request-body replay, maxattempts, forcerecovery, ignore-errors, retry, recovery.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { statusText } from '../../src/balancer/flags.js';
import { cleanup, deadPort, echoed, memberState, request, sleep, startBackend, startProxy, type Proxy } from './helpers.js';

afterEach(cleanup);

function balancer(members: string, extra = ''): string {
  return `balancers:\n  c1:\n${extra}    members:\n${members}\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`;
}

function status(proxy: Proxy, url: string): string {
  return statusText(proxy.daemon.balancers.get('c1')!.member(url)!.status);
}

describe('failover from a dead member (§9.6)', () => {
  it('answers from the next member and leaves the dead one in error', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${dead} }\n      - { url: ${b.url} }`));
    const reply = await request(`${proxy.url}/x`);
    expect(reply.status).toBe(200);
    expect(echoed(reply).backend).toBe('b');
    expect(status(proxy, `http://127.0.0.1:${dead}`)).toBe('Init Err ');
    expect(status(proxy, b.url)).toBe('Init Ok ');
    expect(proxy.records.at(-1)).toMatchObject({ status: 200, attempts: 2, member: b.url });
    // The member in error is skipped: the next requests make one attempt each.
    for (let i = 0; i < 3; i++) expect((await request(`${proxy.url}/x`)).status).toBe(200);
    expect(proxy.records.slice(-3).map((r) => r.attempts)).toEqual([1, 1, 1]);
    expect(memberState(proxy, 'c1', `http://127.0.0.1:${dead}`).elected).toBe(1);
  });

  it('replays a 100 KB POST body whole to the next member', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${dead} }\n      - { url: ${b.url} }`));
    const body = Buffer.alloc(100 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
    const reply = await request(`${proxy.url}/upload`, { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
    expect(reply.status).toBe(200);
    expect(b.received).toHaveLength(1);
    const got = b.received[0]!.body;
    expect(got.length).toBe(body.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    expect(proxy.records.at(-1)!.attempts).toBe(2);
  });

  it('replays a chunked (no Content-Length) body too; a small one arrives whole, so it goes on with a Content-Length as httpd sends it', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${dead} }\n      - { url: ${b.url} }`));
    const { default: http } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${proxy.url}/chunked`, { method: 'PUT', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.write('part one;');
      setTimeout(() => req.end('part two'), 50);
    });
    expect(status).toBe(200);
    expect(b.received[0]!.body.toString()).toBe('part one;part two');
    expect(b.received[0]!.headers['transfer-encoding']).toBeUndefined();
    expect(b.received[0]!.headers['content-length']).toBe('17');
  });
});

describe('maxattempts (§4.5) with dead members: connect attempts per request', () => {
  async function attemptsFor(members: number, maxattempts: string): Promise<{ proxy: Proxy; attempts: number[] }> {
    const lines: string[] = [];
    for (let i = 0; i < members; i++) lines.push(`      - { url: http://127.0.0.1:${await deadPort()} }`);
    const proxy = await startProxy(balancer(lines.join('\n'), maxattempts === '' ? '' : `    maxattempts: ${maxattempts}\n`));
    const statuses = [];
    for (let i = 0; i < 2; i++) statuses.push((await request(`${proxy.url}/`)).status);
    expect(statuses).toEqual([503, 503]);
    return { proxy, attempts: proxy.records.map((r) => r.attempts) };
  }

  it('one member, maxattempts unset: 1 attempt (the default is 0 retries with one member)', async () => {
    expect((await attemptsFor(1, '')).attempts).toEqual([1, 1]);
  });

  it('one member, maxattempts 0: 1 attempt', async () => {
    expect((await attemptsFor(1, '0')).attempts).toEqual([1, 1]);
  });

  it('one member, maxattempts 1: 2 attempts, forcerecovery revives it in between', async () => {
    const { proxy, attempts } = await attemptsFor(1, '1');
    expect(attempts).toEqual([2, 2]);
    const m = proxy.daemon.balancers.get('c1')!.members[0]!;
    expect(m.elected).toBe(4);
    expect(m.retries).toBeGreaterThan(0);
  });

  it('two members, default maxattempts (1): 2 attempts, again on the next request', async () => {
    expect((await attemptsFor(2, '')).attempts).toEqual([2, 2]);
  });
});

describe('forcerecovery (§4.4) with every member in error', () => {
  it('on (default): the next request tries the members again', async () => {
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${await deadPort()} }\n      - { url: http://127.0.0.1:${await deadPort()} }`));
    await request(`${proxy.url}/`);
    const second = await request(`${proxy.url}/`);
    expect(second.status).toBe(503);
    expect(proxy.records.map((r) => r.attempts)).toEqual([2, 2]);
  });

  it('off: the next request gets 503 at once, without a connect attempt and without BALANCER_* values', async () => {
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${await deadPort()} }\n      - { url: http://127.0.0.1:${await deadPort()} }`, '    forcerecovery: false\n'));
    await request(`${proxy.url}/`);
    const second = await request(`${proxy.url}/`);
    expect(second.status).toBe(503);
    expect(second.headers.connection).toBe('close');
    expect(proxy.records[1]).toMatchObject({ attempts: 0, member: null, memberRoute: null });
  });
});

describe('what resets a member\'s retries (§4.3: only opening a connection)', () => {
  it('requests over a reused member connection leave retries alone', async () => {
    const a = await startBackend('a', (_req, res) => {
      res.statusCode = 500;
      res.end('failing');
    });
    const proxy = await startProxy(balancer(`      - { url: ${a.url} }`, '    failonstatus: [500]\n'));
    for (let i = 0; i < 3; i++) expect((await request(`${proxy.url}/`)).status).toBe(500);
    // Requests 2 and 3 each found the member in error and forcerecovery took it out (retries++);
    // both went over the connection request 1 opened, so nothing reset the count.
    expect(a.connections).toBe(1);
    expect(memberState(proxy, 'c1', a.url).retries).toBe(2);
  });

  it('a request that opens a new connection resets them', async () => {
    const a = await startBackend('a', (_req, res) => {
      res.statusCode = 500;
      res.end('failing');
    });
    const proxy = await startProxy(balancer(`      - { url: ${a.url}, disablereuse: true }`, '    failonstatus: [500]\n'));
    for (let i = 0; i < 3; i++) expect((await request(`${proxy.url}/`)).status).toBe(500);
    expect(a.connections).toBe(3);
    expect(memberState(proxy, 'c1', a.url).retries).toBe(0);
  });
});

describe('a member with I (ignore errors)', () => {
  it('dead: the client gets 503 and the member stays usable ("Init Ign Ok ")', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${dead}, status: +I }\n      - { url: ${b.url} }`));
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(503);
    expect(status(proxy, `http://127.0.0.1:${dead}`)).toBe('Init Ign Ok ');
    // The loop stopped after the first attempt: the usable member ends it (§4.6).
    expect(proxy.records[0]!.attempts).toBe(1);
    expect(b.received).toHaveLength(0);
  });
});

describe('retry (§4.3)', () => {
  it('a member in error is not tried again before its retry time has passed, and is after', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const retry = 400;
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${dead}, retry: ${retry}ms }\n      - { url: ${b.url} }`));
    const deadUrl = `http://127.0.0.1:${dead}`;
    await request(`${proxy.url}/`);
    const m = proxy.daemon.balancers.get('c1')!.member(deadUrl)!;
    const retryAt = m.errorTime + retry; // the balancer clock is performance.timeOrigin + performance.now()
    const clock = (): number => performance.timeOrigin + performance.now();
    expect(m.elected).toBe(1);
    const log: Array<{ done: number; retried: boolean }> = [];
    for (let i = 0; i < 200 && m.elected === 1; i++) {
      expect((await request(`${proxy.url}/`)).status).toBe(200);
      log.push({ done: clock(), retried: m.elected > 1 });
      await sleep(20);
    }
    // Every request that was over before the retry time left the member alone ...
    const early = log.filter((e) => e.done < retryAt);
    expect(early.length).toBeGreaterThan(3);
    expect(early.every((e) => !e.retried)).toBe(true);
    // ... and one after it tried the member again.
    expect(log.at(-1)).toMatchObject({ retried: true });
    expect(log.at(-1)!.done).toBeGreaterThanOrEqual(retryAt);
  });

  it('retry 0: the dead member is tried at each pick and every request still succeeds', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: http://127.0.0.1:${dead}, retry: 0 }\n      - { url: ${b.url} }`));
    for (let i = 0; i < 4; i++) expect((await request(`${proxy.url}/`)).status).toBe(200);
    expect(memberState(proxy, 'c1', `http://127.0.0.1:${dead}`).elected).toBeGreaterThan(1);
  });

  it('recovers a member after its backend restarts', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const proxy = await startProxy(balancer(`      - { url: ${a.url}, retry: 200ms }\n      - { url: ${b.url} }`));
    expect(echoed(await request(`${proxy.url}/`)).backend).toBe('a');
    const port = a.port;
    await a.close();
    // a is down: its pick fails over to b and puts a in error.
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(echoed(await request(`${proxy.url}/`)).backend);
    expect(seen).toEqual(['b', 'b', 'b']);
    expect(status(proxy, a.url)).toBe('Init Err ');
    const again = await startBackend('a', undefined, port);
    await sleep(250);
    const after = [];
    for (let i = 0; i < 4; i++) after.push(echoed(await request(`${proxy.url}/`)).backend);
    expect(after).toContain('a');
    expect(again.received.length).toBeGreaterThan(0);
    expect(status(proxy, a.url)).toBe('Init Ok ');
  });
});

// Active health checks against real backends on 127.0.0.1 that die and come back (apache-semantics §3.1):
// C after hcfails, cleared after hcpasses, E cleared by a pass, S not checked, one check in
// flight per member, the methods and paths, AJP members, and a member in C getting no traffic.
import { afterEach, describe, expect, it } from 'vitest';
import { Flag, statusText } from '../../src/balancer/flags.js';
import type { Member } from '../../src/balancer/member.js';
import { startAjpServer, type AjpTestServer } from '../helpers/ajp-server.js';
import { cleanup, json, okHandler, request, sleep, startBackend, startStack, until, type Stack } from '../admin/fixtures.js';

const ajpServers: AjpTestServer[] = [];
afterEach(async () => {
  await cleanup();
  for (const s of ajpServers.splice(0)) await s.close();
});

function member(s: Stack, url: string, balancer = 'c1'): Member {
  return s.daemon.balancers.get(balancer)!.member(url)!;
}

function checksOf(s: Stack, m: Member) {
  return s.ops.health.status(m);
}

describe('a member that dies and comes back', () => {
  it('gets C after hcfails failed checks, receives no traffic meanwhile, and is cleared after hcpasses passes', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ${a.url}, hcmethod: TCP, hcinterval: 50ms, hcfails: 2, hcpasses: 2 }
      - { url: ${b.url} }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    const ma = member(s, a.url);
    await until('a passed a check', () => (checksOf(s, ma)?.passed ?? 0) >= 1);
    expect(statusText(ma.status)).toBe('Init Ok ');

    await a.stop();
    await until('a is marked HcFl', () => ma.has(Flag.HC_FAIL));
    const h = checksOf(s, ma)!;
    // Two consecutive failures were needed (the first one alone left it usable).
    expect(h.failed).toBeGreaterThanOrEqual(2);
    expect(statusText(ma.status)).toBe('Init HcFl ');
    expect(h.last).toMatchObject({ ok: false, detail: 'connection refused (ECONNREFUSED)' });
    expect(s.logLines.some((l) => l.includes(`health check DISABLING ${a.url} in balancer://c1`))).toBe(true);

    // A member in C is skipped like one in error: every request goes to b in one attempt.
    for (let i = 0; i < 6; i++) {
      const r = await request(`${s.proxyUrl}/x`);
      expect(json(r)).toEqual({ backend: 'b' });
    }
    expect(s.records.slice(-6).map((r) => r.attempts)).toEqual([1, 1, 1, 1, 1, 1]);

    const passedBefore = checksOf(s, ma)!.passed;
    await a.start();
    await until('a is usable again', () => ma.usable);
    expect(statusText(ma.status)).toBe('Init Ok ');
    // hcpasses=2: two passes after the restart were needed.
    expect(checksOf(s, ma)!.passed - passedBefore).toBeGreaterThanOrEqual(2);
    expect(checksOf(s, ma)!.last!.ok).toBe(true);
    expect(s.logLines.some((l) => l.includes(`health check ENABLING ${a.url}`))).toBe(true);

    // Back in rotation.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(json<{ backend: string }>(await request(`${s.proxyUrl}/x`)).backend);
    expect([...seen].sort()).toEqual(['a', 'b']);
  });

  it('a passing check clears E put there by traffic, long before retry would', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    await a.stop();
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ${a.url}, retry: 1h, hcmethod: TCP, hcinterval: 50ms, hcfails: 100 }
      - { url: ${b.url} }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    const ma = member(s, a.url);
    // The first request tries a, fails to connect, puts it in E and fails over to b.
    expect(json(await request(`${s.proxyUrl}/x`))).toEqual({ backend: 'b' });
    expect(statusText(ma.status)).toBe('Init Err ');
    // While a is down its checks fail, which leaves E alone (no C: it is already failing).
    await sleep(200);
    expect(statusText(ma.status)).toBe('Init Err ');
    await a.start();
    await until('E is cleared by a passing check', () => !ma.has(Flag.IN_ERROR));
    expect(statusText(ma.status)).toBe('Init Ok ');
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(json<{ backend: string }>(await request(`${s.proxyUrl}/x`)).backend);
    expect(seen.has('a')).toBe(true);
  });
});

describe('what is checked, and how', () => {
  it('a stopped (S) member is not checked until S is cleared', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ${a.url}, status: +S, hcmethod: GET, hcuri: /hc, hcinterval: 30ms }
      - { url: ${b.url}, hcmethod: GET, hcuri: /hc, hcinterval: 30ms }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    await until('b was checked 4 times', () => b.received.filter((r) => r.url === '/hc').length >= 4);
    expect(a.received).toEqual([]);
    member(s, a.url).setFlag('S', false);
    await until('a is checked once S is cleared', () => a.received.some((r) => r.url === '/hc'));
  });

  it('never has two checks of a member in flight, even when a check takes longer than the interval', async () => {
    const slow = await startBackend('slow', (_req, res) => {
      setTimeout(() => res.end('ok'), 150);
    });
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ${slow.url}, hcmethod: GET, hcuri: /hc, hcinterval: 10ms, timeout: 5s }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    await until('4 checks completed', () => (checksOf(s, member(s, slow.url))?.checks ?? 0) >= 4, 15_000);
    expect(slow.maxInFlight).toBe(1);
    expect(checksOf(s, member(s, slow.url))!.failed).toBe(0);
  });

  it('a member that does not answer within its timeout fails the check', async () => {
    const silent = await startBackend('silent', () => {
      // never answers
    });
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ${silent.url}, hcmethod: HEAD, hcinterval: 50ms, timeout: 200ms, hcfails: 1 }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    const m = member(s, silent.url);
    await until('the silent member is HcFl', () => m.has(Flag.HC_FAIL));
    expect(checksOf(s, m)!.last!.ok).toBe(false);
    expect(checksOf(s, m)!.last!.detail).toMatch(/no response from the member within its timeout|no answer within/);
  });

  it('OPTIONS, HEAD and GET go to the member path + hcuri with that method', async () => {
    const backends = await Promise.all(['o', 'h', 'g'].map((n) => startBackend(n)));
    const [o, h, g] = backends as [typeof backends[0], typeof backends[0], typeof backends[0]];
    await startStack(`balancers:
  c1:
    members:
      - { url: ${o.url}, hcmethod: OPTIONS, hcinterval: 1h }
      - { url: ${h.url}/app, hcmethod: HEAD, hcuri: /status, hcinterval: 1h }
      - { url: ${g.url}/base/, hcmethod: GET, hcuri: "ping?deep=1", hcinterval: 1h }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    await until('each member was checked once', () => backends.every((b) => b.received.length >= 1));
    expect([o.received[0], h.received[0], g.received[0]].map((r) => `${r!.method} ${r!.url}`)).toEqual(['OPTIONS /', 'HEAD /app/status', 'GET /base/ping?deep=1']);
  });

  it('without hcexpr 2xx/3xx pass and 4xx/5xx fail; hcexpr can read the status and the body', async () => {
    let body = 'all good';
    const plain = await startBackend('plain', (req, res) => {
      res.writeHead(req.url === '/x/missing' ? 404 : 302, { Location: '/' });
      res.end();
    });
    const smart = await startBackend('smart', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(body);
    });
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ${plain.url}, hcmethod: GET, hcuri: /redirect, hcinterval: 30ms }
      - { url: ${plain.url}/x, hcmethod: GET, hcuri: /missing, hcinterval: 30ms }
  c2:
    members:
      - { url: ${smart.url}, hcmethod: GET, hcuri: /health, hcinterval: 30ms, hcexpr: "%{REQUEST_STATUS} =~ /^2/ && hc('body') !~ /maintenance/i" }
proxypass:
  - { path: /, url: balancer://c1/ }
  - { path: /two, url: balancer://c2/ }
`);
    const redirecting = member(s, plain.url);
    const missing = member(s, `${plain.url}/x`);
    const sm = member(s, smart.url, 'c2');
    await until('the 404 member is HcFl', () => missing.has(Flag.HC_FAIL));
    expect(checksOf(s, missing)!.last!.detail).toBe('status 404 Not Found is not 2xx/3xx');
    await until('the 302 member passed', () => (checksOf(s, redirecting)?.passed ?? 0) > 0);
    expect(redirecting.usable).toBe(true);
    await until('smart passed', () => (checksOf(s, sm)?.passed ?? 0) > 0);
    expect(sm.usable).toBe(true);
    body = 'Under MAINTENANCE until 5pm';
    await until('smart is HcFl after its body changed', () => sm.has(Flag.HC_FAIL));
    expect(checksOf(s, sm)!.last!.detail).toBe('hcexpr is false (status 200 OK)');
    body = 'back';
    await until('smart is usable again', () => sm.usable);
  });

  it('a reload keeps the counts of members still checked and stops checks of members that are not', async () => {
    const a = await startBackend('a');
    const yaml = (method: string) => `balancers:
  c1:
    members:
      - { url: ${a.url}, hcmethod: ${method}, hcuri: /hc, hcinterval: 30ms }
proxypass:
  - { path: /, url: balancer://c1/ }
`;
    const s = await startStack(yaml('GET'));
    const m = member(s, a.url);
    await until('3 checks', () => (checksOf(s, m)?.checks ?? 0) >= 3);
    await s.reload(yaml('HEAD'));
    expect(member(s, a.url)).toBe(m);
    const kept = checksOf(s, m)!.checks;
    expect(kept).toBeGreaterThanOrEqual(3);
    // The member has the HEAD request a moment before the checker has its answer and counts it.
    await until('a HEAD check after the reload, counted', () => a.received.some((r) => r.method === 'HEAD') && checksOf(s, m)!.checks > kept);
    const state = checksOf(s, m)!;
    await s.reload(yaml('None'));
    expect(checksOf(s, m)).toBeUndefined();
    // A check already in flight when the reload came ends normally (the member may have it after
    // the reload); none starts after it.
    await until('the check in flight to end', () => !state.inFlight);
    const count = a.received.length;
    await sleep(150);
    expect(a.received.length).toBe(count);
  });
});

describe('ajp:// members', () => {
  async function ajp(): Promise<AjpTestServer> {
    const server = await startAjpServer();
    ajpServers.push(server);
    return server;
  }

  it('TCP with ping set checks CPING/CPONG; a container that stops answering CPING gets C', async () => {
    const c = await ajp();
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ajp://127.0.0.1:${c.port}, ping: 200ms, hcmethod: TCP, hcinterval: 30ms }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    const m = member(s, `ajp://127.0.0.1:${c.port}`);
    await until('two CPINGs answered', () => (checksOf(s, m)?.passed ?? 0) >= 2);
    expect(c.cpings).toBeGreaterThanOrEqual(2);
    expect(checksOf(s, m)!.last!.detail).toBe('CPONG');
    // The port still accepts connections, but the container no longer answers CPING.
    c.cpong = 'ignore';
    await until('HcFl', () => m.has(Flag.HC_FAIL));
    expect(checksOf(s, m)!.last!.detail).toBe('no CPONG within 200 ms');
  });

  it('GET is sent as an AJP Forward Request for hcuri', async () => {
    const c = await ajp();
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ajp://127.0.0.1:${c.port}, hcmethod: GET, hcuri: /manager/health, hcinterval: 1h }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    await until('one check', () => c.requests.length >= 1);
    expect([c.requests[0]!.method, c.requests[0]!.uri]).toEqual(['GET', '/manager/health']);
    await until('it passed', () => (checksOf(s, member(s, `ajp://127.0.0.1:${c.port}`))?.passed ?? 0) === 1);
  });
});

describe('no active checks without hcmethod', () => {
  it('members with hcmethod None are never contacted by the checker', async () => {
    const a = await startBackend('a', okHandler);
    const s = await startStack(`balancers:
  c1:
    members:
      - { url: ${a.url} }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    await sleep(100);
    expect(a.received).toEqual([]);
    expect(checksOf(s, member(s, a.url))).toBeUndefined();
  });
});

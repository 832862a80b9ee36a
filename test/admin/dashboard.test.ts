// The live dashboard over real sockets: the manager's rules (token, Host, CSP with a nonce and no
// 'unsafe-inline'), the data document counting what was sent (totals, the last minutes, shares of
// new sessions and sticky traffic, percentiles), the event stream (a snapshot, then an update
// every second, a member in error within a quarter second), the timeline (errors, recovery,
// changes through the API, reloads, refused reloads), and sampling that stops when nobody looks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { BalancerDoc, DashboardEvent, MemberDoc, Snapshot } from '../../src/admin/dashboard/model.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { Reloader } from '../../src/config/reloader.js';
import { startDaemon } from '../../src/daemon.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { freePort, freePorts } from '../helpers/ports.js';
import { cleanupWorkers, startWorkers } from '../workers/helpers.js';
import { closeStreams, inSession, newSession, openStream, snapshotOf, updateOf } from './dashboard-fixtures.js';
import { cleanup, json, request, sessionHandler, sleep, startBackend, startStack, until, type Backend } from './fixtures.js';

const TOKEN = 'dashboard-test-token-0123456789';
const BEARER = { Authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-dashboard-'));

afterEach(async () => {
  closeStreams();
  await cleanupWorkers();
  await cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function threeMembers(a: Backend, b: Backend, c: Backend, extra = ''): string {
  return `admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    stickysession: JSESSIONID|jsessionid
    members:
      - { url: ${a.url}, route: a, loadfactor: 2 }
      - { url: ${b.url}, route: b }
      - { url: ${c.url}, route: c, retry: 1s${extra} }
proxypass:
  - { path: /app, url: balancer://c1 }
`;
}

async function data(adminUrl: string): Promise<Snapshot> {
  const r = await request(`${adminUrl}/dashboard/data`, { headers: BEARER });
  expect(r.status).toBe(200);
  return json<Snapshot>(r);
}

function member(b: BalancerDoc, route: string): MemberDoc {
  const m = b.members.find((x) => x.route === route);
  if (m === undefined) throw new Error(`no member with route ${route}`);
  return m;
}

async function backends(): Promise<[Backend, Backend, Backend]> {
  return [await startBackend('a', sessionHandler('a')), await startBackend('b', sessionHandler('b')), await startBackend('c', sessionHandler('c'))];
}

describe('the dashboard on the admin listener', () => {
  it('needs the token like the manager (Basic or Bearer), answers 421 to a foreign Host, and changes nothing', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(threeMembers(a, b, c));
    for (const p of ['/dashboard', '/dashboard/data', '/dashboard/stream']) {
      const anonymous = await request(`${s.adminUrl}${p}`);
      expect(anonymous.status, p).toBe(401);
      expect(anonymous.headers['www-authenticate'], p).toMatch(/^Basic realm="stickyd balancer-manager"/);
      expect((await request(`${s.adminUrl}${p}`, { headers: { Authorization: 'Bearer wrong-token-0123456789' } })).status, p).toBe(401);
      const foreign = await request(`${s.adminUrl}${p}`, { headers: { ...BEARER, Host: 'evil.example:8052' } });
      expect(foreign.status, p).toBe(421);
      expect(foreign.body).toContain('"evil.example:8052" is not a name of this admin listener');
      expect((await request(`${s.adminUrl}${p}`, { method: 'POST', headers: BEARER })).status, p).toBe(405);
    }
    const basic = `Basic ${Buffer.from(`operator:${TOKEN}`).toString('base64')}`;
    expect((await request(`${s.adminUrl}/dashboard`, { headers: { Authorization: basic } })).status).toBe(200);
    expect((await request(`${s.adminUrl}/dashboard/data`, { headers: { Authorization: basic } })).status).toBe(200);
    // The manager and the dashboard link to each other.
    expect((await request(`${s.adminUrl}/balancer-manager`, { headers: BEARER })).body).toContain('<a href="/dashboard" id="dashboard-link">');
    expect((await request(`${s.adminUrl}/dashboard`, { headers: BEARER })).body).toContain('<a href="/balancer-manager" id="manager-link">');
  });

  it('serves the page under a Content-Security-Policy with a fresh nonce per response and no unsafe-inline', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(threeMembers(a, b, c));
    const nonces: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await request(`${s.adminUrl}/dashboard`, { headers: BEARER });
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      const csp = String(r.headers['content-security-policy']);
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/connect-src 'self'/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      expect(csp).toContain(`style-src 'nonce-${nonce}'`);
      // Exactly one script and one style, both with this response's nonce; nothing from elsewhere.
      expect(r.body.match(/<script/g)).toHaveLength(1);
      expect(r.body).toContain(`<script nonce="${nonce}">`);
      expect(r.body).toContain(`<style nonce="${nonce}">`);
      expect(r.body).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['cache-control']).toBe('no-store');
      nonces.push(nonce!);
    }
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it('counts what was sent: totals, the last minutes, shares of new sessions and of sticky traffic per route, p50 and p99', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(threeMembers(a, b, c));
    // Sampling starts with the first look.
    const before = await data(s.adminUrl);
    expect(before.balancers.map((x) => x.name)).toEqual(['c1']);
    expect(before.balancers[0]!.totals.requests).toBe(0);

    // 8 new sessions: byrequests with loadfactors 2:1:1 picks a, b, c, a, a, b, c, a.
    const sessions: Record<string, string> = {};
    const picked: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await newSession(s.proxyUrl);
      picked.push(r.backend);
      sessions[r.backend] = r.cookie;
    }
    expect(picked).toEqual(['a', 'b', 'c', 'a', 'a', 'b', 'c', 'a']);
    // Sticky: 3 on a, 1 on b, none on c.
    for (let i = 0; i < 3; i++) expect(await inSession(s.proxyUrl, sessions.a!)).toBe('a');
    expect(await inSession(s.proxyUrl, sessions.b!)).toBe('b');

    let doc!: Snapshot;
    await until('the samples hold all 12 requests', async () => {
      doc = await data(s.adminUrl);
      return doc.balancers[0]!.window.requests === 12;
    });
    const c1 = doc.balancers[0]!;
    expect(c1.totals).toEqual({ requests: 12, stickyHits: 4, failovers: 0, unavailable: 0 });
    expect(c1.window).toMatchObject({ requests: 12, sticky: 4, balanced: 8, errors: {}, failovers: 0, unavailable: 0 });
    expect(c1.usableMembers).toBe(3);
    const expected = { a: [7, 3, 4, 0.5, 0.75], b: [3, 1, 2, 0.25, 0.25], c: [2, 0, 2, 0.25, 0] } as const;
    for (const [route, [requests, sticky, balanced, balancedShare, stickyShare]] of Object.entries(expected)) {
      const m = member(c1, route);
      expect(m.totals, route).toEqual({ requests, sticky, errors: {} });
      expect(m.window, route).toMatchObject({ requests, sticky, balanced });
      expect(m.balancedShare, route).toBe(balancedShare);
      expect(m.stickyShare, route).toBe(stickyShare);
      expect(m.state, route).toBe('ok');
      expect(m.errorTime, route).toBeNull();
      // Response times of real requests on 127.0.0.1: something, and not absurd.
      expect(m.window.p50, route).toBeGreaterThan(0);
      expect(m.window.p99!, route).toBeGreaterThanOrEqual(m.window.p50!);
      expect(m.window.p99!, route).toBeLessThan(5000);
    }
    // The history: per-second requests add up to what was sent, per member too.
    const series = doc.series.balancers.c1!;
    expect(series.n.reduce((x, y) => x + y, 0)).toBe(12);
    expect(series.members[a.url]!.n.reduce((x, y) => x + y, 0)).toBe(7);
    expect(series.members[c.url]!.n.reduce((x, y) => x + y, 0)).toBe(2);
    expect(doc.series.t.length).toBe(series.n.length);
    expect(doc.series.t.every((t, i) => i === 0 || t > doc.series.t[i - 1]!)).toBe(true);
    expect(doc.capacity).toBe(600);
    expect(doc.daemon).toMatchObject({ workers: 1, workerRestarts: 0, pid: process.pid });
  });

  it('streams a snapshot, then an update every second; a member put in error shows within a second with its error time and next retry, and its recovery', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(threeMembers(a, b, c));
    const stream = await openStream(`${s.adminUrl}/dashboard/stream`, BEARER);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-store');
    const first = await stream.next(() => true);
    expect(first.event).toBe('snapshot');
    expect(snapshotOf(first).balancers[0]!.members.map((m) => m.state)).toEqual(['ok', 'ok', 'ok']);

    // Updates that close a one-second interval, one after the other.
    const ticks = [];
    for (let i = 0; i < 3; i++) ticks.push(updateOf(await stream.next((e) => e.event === 'update' && updateOf(e).sample !== null, 5000, stream.events.length)));
    const times = ticks.map((u) => u.sample!.t);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(700);

    // A session on c; c dies; the next request of that session fails over and puts c in error.
    let cookie = '';
    while (cookie === '') {
      const r = await newSession(s.proxyUrl);
      if (r.backend === 'c') cookie = r.cookie;
    }
    await c.stop();
    const from = stream.events.length;
    expect(await inSession(s.proxyUrl, cookie)).not.toBe('c');
    const sent = Date.now();
    const red = await stream.next((e) => e.event === 'update' && member(updateOf(e).balancers[0]!, 'c').state === 'error', 2000, from);
    expect(red.at - sent).toBeLessThan(1000);
    const cDoc = member(updateOf(red).balancers[0]!, 'c');
    expect(cDoc.flags).toContain('E');
    expect(cDoc.errorTime).toBeGreaterThan(sent - 5000);
    expect(cDoc.errorTime).toBeLessThanOrEqual(Date.now());
    expect(cDoc.retryAt).toBe(cDoc.errorTime! + 1000);
    expect(cDoc.errorSince).toBe(cDoc.errorTime);
    expect(cDoc.retry).toBe(1000);
    const downEvents: DashboardEvent[] = [];
    for (const e of stream.events.slice(from)) if (e.event === 'update') downEvents.push(...updateOf(e).events);
    expect(downEvents).toEqual([expect.objectContaining({ kind: 'error', level: 'bad', balancer: 'c1', member: c.url, route: 'c' })]);

    // The connect failure is counted by kind in the next sample.
    const counted = await stream.next((e) => e.event === 'update' && (member(updateOf(e).balancers[0]!, 'c').window.errors.connect ?? 0) > 0, 3000, from);
    expect(member(updateOf(counted).balancers[0]!, 'c').totals.errors).toEqual({ connect: 1 });

    // c comes back; once its retry (1 s) has passed, the session's next request retries it and gets through.
    await c.start();
    await sleep(1100);
    const back = stream.events.length;
    expect(await inSession(s.proxyUrl, cookie)).toBe('c');
    const green = await stream.next((e) => e.event === 'update' && member(updateOf(e).balancers[0]!, 'c').state === 'ok', 2000, back);
    expect(updateOf(green).events).toEqual([expect.objectContaining({ kind: 'recovered', level: 'good', route: 'c' })]);
  });

  it('shows a member\'s error age and retry on the system clock, also after that clock was stepped (NTP, a paused VM)', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(threeMembers(a, b, c).replace('retry: 1s', 'retry: 30s'));
    let cookie = '';
    while (cookie === '') {
      const r = await newSession(s.proxyUrl);
      if (r.backend === 'c') cookie = r.cookie;
    }
    await c.stop();
    expect(await inSession(s.proxyUrl, cookie)).not.toBe('c');
    // The system clock jumps an hour ahead; the monotonic clock the balancer keeps time by does not.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3_600_000 });
    try {
      const doc = await data(s.adminUrl);
      const cDoc = member(doc.balancers[0]!, 'c');
      expect(cDoc.state).toBe('error');
      expect(doc.now - cDoc.errorSince!).toBeGreaterThanOrEqual(0);
      expect(doc.now - cDoc.errorSince!).toBeLessThan(10_000); // a moment ago, not an hour
      expect(cDoc.retryAt! - doc.now).toBeGreaterThan(20_000); // the retry is still ahead
      expect(cDoc.retryAt! - doc.now).toBeLessThanOrEqual(30_000);
      expect(cDoc.retryAt).toBe(cDoc.errorTime! + 30_000);
      // The API's errorTime is on the same clock.
      const api = json<{ balancers: Array<{ members: Array<{ route: string; errorTime: string | null }> }> }>(await request(`${s.adminUrl}/api/balancers`, { headers: BEARER }));
      const apiError = Date.parse(api.balancers[0]!.members.find((m) => m.route === 'c')!.errorTime!);
      expect(Math.abs(apiError - cDoc.errorTime!)).toBeLessThanOrEqual(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('puts changes through the API and reloads on the timeline once each, and members added and removed', async () => {
    const [a, b, c] = await backends();
    const yaml = threeMembers(a, b, c);
    const s = await startStack(yaml);
    const patched = await request(`${s.adminUrl}/api/balancers/c1/members/b`, { method: 'PATCH', json: { status: '+N', loadfactor: 3 }, token: TOKEN });
    expect(patched.status).toBe(200);
    // The watcher looks again (once a second without viewers): the drain is not reported twice.
    await sleep(1300);
    let doc = await data(s.adminUrl);
    expect(doc.events.map((e) => [e.kind, e.route, e.text])).toEqual([['changed', 'b', 'loadfactor 1.00 → 3.00, +N (draining) (through the admin API)']]);
    expect(member(doc.balancers[0]!, 'b').state).toBe('draining');

    // A reload that removes c and disables a.
    await s.reload(yaml.replace(`      - { url: ${c.url}, route: c, retry: 1s }\n`, '').replace('route: a, loadfactor: 2', 'route: a, loadfactor: 2, status: +D'));
    await sleep(1300);
    doc = await data(s.adminUrl);
    expect(doc.events.map((e) => e.kind)).toEqual(['changed', 'reload']);
    expect(doc.events[1]!.text).toBe(`configuration reloaded: c1: a +D (disabled); removed ${c.url}`);
    expect(doc.balancers[0]!.members.map((m) => [m.route, m.state])).toEqual([
      ['a', 'disabled'],
      ['b', 'draining'],
    ]);
  });

  it('with two workers and a page watching, a reload is one event that names what it changed (no tick sees the new members first)', async () => {
    const [a, b, c] = await backends();
    const adminPort = await freePort();
    const yaml = threeMembers(a, b, c).replace('port: ADMIN_PORT', `address: 127.0.0.1, port: ${adminPort}`);
    const proxy = await startWorkers(yaml);
    const s = {
      adminUrl: `http://127.0.0.1:${adminPort}`,
      reload: (next: string) => proxy.daemon.reload(parseConfig(`listen: [{ address: 127.0.0.1, port: ${proxy.port} }]\nserver: { servername: proxy.test, workers: 2 }\n${next}`, 'workers.yaml', {})),
    };
    const stream = await openStream(`${s.adminUrl}/dashboard/stream`, BEARER);
    expect(stream.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const from = stream.events.length;
      const next = i % 2 === 0
        ? yaml.replace('route: a, loadfactor: 2', 'route: a, loadfactor: 2, status: +D').replace(`      - { url: ${c.url}, route: c, retry: 1s }\n`, '')
        : yaml;
      await s.reload(next);
      const reload = await stream.next((e) => e.event === 'update' && updateOf(e).events.some((x) => x.kind === 'reload'), 5000, from);
      const seen: DashboardEvent[] = [];
      for (const e of stream.events.slice(from)) if (e.event === 'update') seen.push(...updateOf(e).events);
      expect(seen.map((e) => [e.kind, e.text]), `reload ${i}`).toEqual([
        ['reload', i % 2 === 0 ? `configuration reloaded: c1: a +D (disabled); removed ${c.url}` : `configuration reloaded: c1: a -D (enabled); added c`],
      ]);
      expect(reload).toBeDefined();
    }
  });

  it('shows a reload the balancer file refused, with its first problem', async () => {
    const backend = await startBackend('a', sessionHandler('a'));
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    const file = path.join(dir, 'refused.yaml');
    const write = (lf: string): void =>
      writeFileSync(file, `listen: [{ address: 127.0.0.1, port: ${port} }]
server: { workers: 1 }
admin: { address: 127.0.0.1, port: ${adminPort}, token: ${TOKEN} }
balancers:
  c1:
    members:
      - { url: ${backend.url}, route: a, loadfactor: ${lf} }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
    write('1');
    const { logger } = memoryLogger();
    const reloads = new Reloader(file, { info: () => {}, error: () => {} });
    const daemon = await startDaemon(await loadConfig(file), { logger, accessLogger: null, reloads });
    reloads.attach((config) => daemon.reload(config));
    try {
      const admin = `http://127.0.0.1:${adminPort}`;
      write('2');
      expect((await reloads.reload('api')).successful).toBe(true);
      write('500');
      expect((await reloads.reload('SIGHUP')).successful).toBe(false);
      let events: DashboardEvent[] = [];
      await until('the refused reload is on the timeline', async () => {
        events = (await data(admin)).events;
        return events.some((e) => e.kind === 'reload-failed');
      });
      expect(events.map((e) => [e.kind, e.level])).toEqual([
        ['reload', 'info'],
        ['reload-failed', 'bad'],
      ]);
      expect(events[1]!.text).toMatch(/^reload \(SIGHUP\) refused, the running configuration stays: .*refused\.yaml:7:\d+: .*loadfactor/);
      expect((await data(admin)).daemon.reload).toMatchObject({ trigger: 'SIGHUP', successful: false });
    } finally {
      await daemon.stop();
    }
  });

  it('samples only while someone looks: the stream closed, sampling stops after the linger; the next look starts a new baseline', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(threeMembers(a, b, c));
    const dashboard = () => (s.ops as unknown as { dashboard: { sampled: boolean; lingerMs: number } }).dashboard;
    await sleep(1500);
    expect(dashboard().sampled).toBe(false);
    dashboard().lingerMs = 1500;
    const stream = await openStream(`${s.adminUrl}/dashboard/stream`, BEARER);
    await stream.next((e) => e.event === 'snapshot');
    expect(dashboard().sampled).toBe(true);
    stream.close();
    // Still sampling for the linger (a viewer who went to the manager comes back to no gap) ...
    await sleep(1000);
    expect(dashboard().sampled).toBe(true);
    // ... then it stops.
    await until('sampling stopped', () => !dashboard().sampled, 3000);
    // Requests while nobody looked are in the totals, not in the samples.
    await newSession(s.proxyUrl);
    const stream2 = await openStream(`${s.adminUrl}/dashboard/stream`, BEARER);
    const snap = snapshotOf(await stream2.next((e) => e.event === 'snapshot'));
    expect(snap.balancers[0]!.totals.requests).toBe(1);
    expect(snap.balancers[0]!.window.requests).toBe(0);
  });

  it('puts failed and passing health checks on the timeline, and the member turns from hcfail back to ok', async () => {
    const a = await startBackend('a', sessionHandler('a'));
    const b = await startBackend('b', sessionHandler('b'));
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    members:
      - { url: ${a.url}, route: a }
      - { url: ${b.url}, route: b, hcmethod: TCP, hcinterval: 50ms, hcfails: 2, hcpasses: 2 }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
    const stream = await openStream(`${s.adminUrl}/dashboard/stream`, BEARER);
    await stream.next((e) => e.event === 'snapshot');
    await b.stop();
    const down = await stream.next((e) => e.event === 'update' && member(updateOf(e).balancers[0]!, 'b').state === 'hcfail', 5000);
    expect(member(updateOf(down).balancers[0]!, 'b').health).toMatchObject({ ok: false });
    await b.start();
    await stream.next((e) => e.event === 'update' && member(updateOf(e).balancers[0]!, 'b').state === 'ok', 5000);
    const events = (await data(s.adminUrl)).events;
    expect(events.map((e) => [e.kind, e.level, e.route, e.text])).toEqual([
      ['hcfail', 'bad', 'b', 'failed its health checks: out of service (C)'],
      ['hcpass', 'good', 'b', 'passes its health checks again'],
    ]);
  });

  it('puts a worker thread that died on the timeline, and counts over the workers (server.workers: 2)', async () => {
    const [a, b, c] = await backends();
    const adminPort = await freePort();
    const proxy = await startWorkers(threeMembers(a, b, c).replace('port: ADMIN_PORT', `address: 127.0.0.1, port: ${adminPort}`));
    const admin = `http://127.0.0.1:${adminPort}`;
    expect((await data(admin)).daemon.workers).toBe(2);
    for (let i = 0; i < 8; i++) await newSession(proxy.url);
    await until('the totals hold the 8 requests', async () => (await data(admin)).balancers[0]!.totals.requests === 8);
    await proxy.supervised.supervisor.worker(1)!.terminate();
    let doc!: Snapshot;
    await until('the restart is on the timeline', async () => {
      doc = await data(admin);
      return doc.events.some((e) => e.kind === 'worker-restart');
    });
    expect(doc.events.map((e) => [e.kind, e.level, e.text])).toEqual([
      ['worker-restart', 'bad', 'a worker thread died and was started again (1 restart since the start; see the daemon log)'],
    ]);
    expect(doc.daemon.workerRestarts).toBe(1);
    // What the dead worker counted stays in the totals.
    expect(doc.balancers[0]!.totals.requests).toBe(8);
  });

  it('refuses more open streams than the limit with 503', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(threeMembers(a, b, c));
    const streams = [];
    for (let i = 0; i < 16; i++) streams.push(await openStream(`${s.adminUrl}/dashboard/stream`, BEARER));
    expect(streams.every((x) => x.status === 200)).toBe(true);
    const over = await request(`${s.adminUrl}/dashboard/stream`, { headers: BEARER });
    expect(over.status).toBe(503);
    expect(over.headers['retry-after']).toBe('10');
    streams[0]!.close();
    await until('a slot is free', async () => (await openStream(`${s.adminUrl}/dashboard/stream`, BEARER)).status === 200, 3000);
  });
});

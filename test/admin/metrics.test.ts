// GET /metrics: Prometheus text from real traffic through the proxy (per member, per balancer, state at scrape time).
import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/admin/metrics.js';
import { Balancer } from '../../src/balancer/balancer.js';
import type { AccessRecord } from '../../src/log.js';
import { ProxyCounters } from '../../src/proxy/counters.js';
import { refusedPort } from '../helpers/ports.js';
import { cleanup, configOf, request, sessionHandler, startBackend, startStack, until, type Stack } from './fixtures.js';

afterEach(cleanup);

const TOKEN = 'metrics-test-token-0123456789';

async function scrape(s: Stack): Promise<string> {
  const r = await request(`${s.adminUrl}/metrics`, { token: TOKEN });
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.body;
}

/** The value of one series; labels must match exactly (in any order). */
function value(text: string, name: string, labels: Record<string, string | number> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[k!] = v!;
    const want = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
    if (Object.keys(got).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics', () => {
  it('needs the token and includes the default process metrics', async () => {
    const a = await startBackend('a');
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    members:
      - { url: ${a.url} }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    expect((await request(`${s.adminUrl}/metrics`)).status).toBe(401);
    const text = await scrape(s);
    expect(value(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE stickyd_member_requests_total counter');
  });

  it('counts requests, sticky hits, route changes and durations per member and balancer', async () => {
    const a = await startBackend('a', sessionHandler('a'));
    const b = await startBackend('b', sessionHandler('b'));
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    stickysession: JSESSIONID
    members:
      - { url: ${a.url}, route: a }
      - { url: ${b.url}, route: b }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
    // Two load-balanced requests (a, b), then three sticky ones to a, and one unmapped path.
    await request(`${s.proxyUrl}/app/`);
    await request(`${s.proxyUrl}/app/`);
    for (let i = 0; i < 3; i++) await request(`${s.proxyUrl}/app/`, { headers: { Cookie: 'JSESSIONID=xyz.a' } });
    await request(`${s.proxyUrl}/elsewhere`);
    const text = await scrape(s);
    const ma = { balancer: 'c1', member: a.url, route: 'a' };
    const mb = { balancer: 'c1', member: b.url, route: 'b' };
    expect(value(text, 'stickyd_member_requests_total', ma)).toBe(4);
    expect(value(text, 'stickyd_member_requests_total', mb)).toBe(1);
    expect(value(text, 'stickyd_member_response_bytes_total', ma)).toBeGreaterThan(0);
    expect(value(text, 'stickyd_balancer_requests_total', { balancer: 'c1' })).toBe(5);
    expect(value(text, 'stickyd_balancer_sticky_hits_total', { balancer: 'c1' })).toBe(3);
    expect(value(text, 'stickyd_balancer_route_changes_total', { balancer: 'c1' })).toBe(2);
    expect(value(text, 'stickyd_request_duration_seconds_count', { balancer: 'c1' })).toBe(5);
    expect(value(text, 'stickyd_request_duration_seconds_bucket', { balancer: 'c1', le: '+Inf' })).toBe(5);
    expect(value(text, 'stickyd_unbalanced_requests_total')).toBe(1);
    expect(value(text, 'stickyd_requests_received_total')).toBe(6);
    // State read from the members at scrape time.
    expect(value(text, 'stickyd_member_elected_total', ma)).toBe(4);
    expect(value(text, 'stickyd_member_busy', ma)).toBe(0);
    expect(value(text, 'stickyd_member_transferred_bytes_total', ma)).toBeGreaterThan(0);
    expect(value(text, 'stickyd_member_read_bytes_total', mb)).toBeGreaterThan(0);
    expect(value(text, 'stickyd_member_loadfactor', ma)).toBe(1);
    expect(value(text, 'stickyd_member_usable', ma)).toBe(1);
    expect(value(text, 'stickyd_balancer_usable_members', { balancer: 'c1' })).toBe(2);
  });

  it('one 0/1 series per flag, following runtime changes', async () => {
    const a = await startBackend('a');
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    members:
      - { url: ${a.url}, route: a, status: +H }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    const labels = (flag: string) => ({ balancer: 'c1', member: a.url, route: 'a', flag });
    let text = await scrape(s);
    expect(['I', 'N', 'D', 'S', 'E', 'H', 'R', 'C'].map((f) => value(text, 'stickyd_member_flag', labels(f)))).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
    await request(`${s.adminUrl}/api/balancers/c1/members/a`, { method: 'PATCH', json: { status: '+N-H' }, token: TOKEN });
    text = await scrape(s);
    expect(['N', 'H'].map((f) => value(text, 'stickyd_member_flag', labels(f)))).toEqual([1, 0]);
  });

  it('failovers, retries, member errors and the 503s of an all-down balancer', async () => {
    const dead = (await refusedPort()).port;
    const b = await startBackend('b', (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    failonstatus: 500
    members:
      - { url: http://127.0.0.1:${dead}, route: d }
      - { url: ${b.url}, route: b }
  down:
    members:
      - { url: http://127.0.0.1:${dead} }
proxypass:
  - { path: /down, url: balancer://down }
  - { path: /, url: balancer://c1/ }
`);
    // The dead member fails to connect, the request fails over to b, whose 500 is in failonstatus.
    expect((await request(`${s.proxyUrl}/x`)).status).toBe(500);
    // The one-member balancer with a dead member answers 503 (twice).
    expect((await request(`${s.proxyUrl}/down`)).status).toBe(503);
    expect((await request(`${s.proxyUrl}/down`)).status).toBe(503);
    const text = await scrape(s);
    expect(value(text, 'stickyd_balancer_failovers_total', { balancer: 'c1' })).toBe(1);
    expect(value(text, 'stickyd_balancer_retries_total', { balancer: 'c1' })).toBe(1);
    expect(value(text, 'stickyd_member_errors_total', { balancer: 'c1', member: b.url, route: 'b', kind: 'failonstatus' })).toBe(1);
    // The request path names each failed attempt's member and kind.
    expect(value(text, 'stickyd_member_errors_total', { balancer: 'c1', member: `http://127.0.0.1:${dead}`, route: 'd', kind: 'connect' })).toBe(1);
    expect(value(text, 'stickyd_member_errors_total', { balancer: 'down', member: `http://127.0.0.1:${dead}`, route: '', kind: 'connect' })).toBe(2);
    expect(value(text, 'stickyd_balancer_unavailable_total', { balancer: 'down' })).toBe(2);
    expect(value(text, 'stickyd_balancer_unavailable_total', { balancer: 'c1' }) ?? 0).toBe(0);
    expect(value(text, 'stickyd_backend_errors_total', { kind: 'connect' })).toBe(3);
    expect(value(text, 'stickyd_member_flag', { balancer: 'c1', member: b.url, route: 'b', flag: 'E' })).toBe(1);
  });

  it('health-check results per member', async () => {
    const a = await startBackend('a');
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    members:
      - { url: ${a.url}, route: a, hcmethod: GET, hcinterval: 20ms }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    await until('two checks', () => (s.ops.health.status(s.daemon.balancers.get('c1')!.members[0]!)?.passed ?? 0) >= 2);
    const text = await scrape(s);
    expect(value(text, 'stickyd_member_health_checks_total', { balancer: 'c1', member: a.url, route: 'a', result: 'pass' })).toBeGreaterThanOrEqual(2);
    expect(value(text, 'stickyd_member_health_checks_total', { balancer: 'c1', member: a.url, route: 'a', result: 'fail' })).toBe(0);
  });
});

describe('attempt failures reported by the request path', () => {
  it('are counted per member and kind when the record names them', async () => {
    const config = configOf('balancers:\n  c1:\n    members:\n      - { url: http://127.0.0.1:8081, route: a }\n      - { url: http://127.0.0.1:8082, route: b }\n');
    const metrics = new Metrics({ config, balancers: new Map([['c1', new Balancer(config.balancers[0]!)]]), counters: new ProxyCounters(), onRequest: () => () => {} });
    const record: AccessRecord & { failures: Array<{ member: string; kind: string }> } = {
      time: '', client: '127.0.0.1', method: 'GET', url: '/', status: 200, bytes: 2, duration: 1.5,
      balancer: 'balancer://c1', member: 'http://127.0.0.1:8082', memberRoute: 'b', sessionRoute: null, stickyName: null, routeChanged: false, attempts: 2,
      failures: [{ member: 'http://127.0.0.1:8081', kind: 'connect' }],
    };
    metrics.observe(record);
    metrics.observe(record);
    const text = (await metrics.render()).body;
    expect(value(text, 'stickyd_member_errors_total', { balancer: 'c1', member: 'http://127.0.0.1:8081', route: 'a', kind: 'connect' })).toBe(2);
    expect(value(text, 'stickyd_member_requests_total', { balancer: 'c1', member: 'http://127.0.0.1:8082', route: 'b' })).toBe(2);
    expect(value(text, 'stickyd_balancer_failovers_total', { balancer: 'c1' })).toBe(2);
    expect(value(text, 'stickyd_request_duration_seconds_bucket', { balancer: 'c1', le: 0.001 })).toBe(0);
    expect(value(text, 'stickyd_request_duration_seconds_bucket', { balancer: 'c1', le: 0.0025 })).toBe(2);
    expect(value(text, 'stickyd_request_duration_seconds_sum', { balancer: 'c1' })).toBeCloseTo(0.003);
  });
});

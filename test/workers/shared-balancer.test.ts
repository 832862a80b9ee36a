// server.workers: 2 — requests on either worker thread see one balancer, as httpd's children see
// one scoreboard: the byrequests order, errors, manager changes and the figures are those of one
// process. Connections are pinned to a worker (helpers.ts), so each test knows which worker served
// what.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { cleanup, deadPort, echoed, request, sleep, startBackend } from '../proxy/helpers.js';
import { agentOnWorker, cleanupWorkers, metric, startWorkers } from './helpers.js';

afterEach(async () => {
  await cleanupWorkers();
  await cleanup();
});

async function api(url: string, method = 'GET', body?: unknown): Promise<{ status: number; json: any }> {
  const reply = await request(url, { method, headers: body === undefined ? {} : { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: reply.status, json: reply.body === '' ? null : JSON.parse(reply.body) };
}

describe('two workers, one balancer', { timeout: 90_000 }, () => {
  it('byrequests gives c b a c b c for loadfactors 1,2,3 with requests alternating between the workers; the manager, API and /metrics show the totals', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)));
    const adminPort = await freePort();
    const proxy = await startWorkers(`admin: { address: 127.0.0.1, port: ${adminPort} }
balancers:
  c1:
    members:
      - { url: ${a!.url}, loadfactor: 1, route: a }
      - { url: ${b!.url}, loadfactor: 2, route: b }
      - { url: ${c!.url}, loadfactor: 3, route: c }
proxypass:
  - { path: /app, url: balancer://c1/app }
`);
    // Probes go to an unmounted path (404): they pick no member.
    const one = await agentOnWorker(proxy.url, 1, proxy.workerOf);
    const two = await agentOnWorker(proxy.url, 2, proxy.workerOf);
    let order = '';
    for (let i = 0; i < 12; i++) order += echoed(await request(`${proxy.url}/app/${i}`, { agent: i % 2 === 0 ? one : two })).backend;
    expect(order).toBe('cbacbccbacbc');
    for (let i = 0; i < 12; i++) expect(await proxy.workerOf(`/app/${i}`)).toBe(i % 2 === 0 ? 1 : 2);

    const admin = `http://127.0.0.1:${adminPort}`;
    const doc = await api(`${admin}/api/balancers/c1`);
    expect(doc.json.members.map((m: { elected: number; busy: number; lbstatus: number }) => [m.elected, m.busy, m.lbstatus])).toEqual([[2, 0, 0], [4, 0, 0], [6, 0, 0]]);
    const page = (await request(`${admin}/balancer-manager`)).body;
    expect(page).toMatch(new RegExp(`${c!.url.replace(/\./g, '\\.')}</a></td><td>c</td>.*?<td>6</td>`));

    const text = (await request(`${admin}/metrics`)).body;
    expect(metric(text, 'stickyd_balancer_requests_total', 'balancer="c1"')).toBe(12);
    expect(metric(text, 'stickyd_member_requests_total', `member="${c!.url}"`)).toBe(6);
    expect(metric(text, 'stickyd_member_elected_total', `member="${c!.url}"`)).toBe(6);
    expect(metric(text, 'stickyd_requests_received_total')).toBe(proxy.records.length);
    expect(metric(text, 'stickyd_unbalanced_requests_total')).toBe(proxy.records.length - 12);
    expect(metric(text, 'stickyd_workers')).toBe(2);
    expect(metric(text, 'stickyd_worker_restarts_total')).toBe(0);
    expect(proxy.daemon.counters.requests).toBe(proxy.records.length);

    // A change through the API applies to both workers at once: c disabled, neither uses it.
    expect((await api(`${admin}/api/balancers/c1/members/c`, 'PATCH', { status: '+D' })).status).toBe(200);
    let after = '';
    for (let i = 0; i < 6; i++) after += echoed(await request(`${proxy.url}/app/x${i}`, { agent: i % 2 === 0 ? one : two })).backend;
    expect(after).not.toContain('c');
    expect([...after].sort().join('')).toBe('aabbbb');
  });

  it('a member put in error by one worker is skipped by the other until its retry', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const proxy = await startWorkers(`balancers:
  c1:
    members:
      - { url: http://127.0.0.1:${dead}, retry: 1500ms }
      - { url: ${b.url} }
proxypass:
  - { path: /app, url: balancer://c1/app }
`);
    const one = await agentOnWorker(proxy.url, 1, proxy.workerOf);
    const two = await agentOnWorker(proxy.url, 2, proxy.workerOf);
    // Worker 1 tries the dead member first (its turn), puts it in error and fails over to b.
    expect(echoed(await request(`${proxy.url}/app/first`, { agent: one })).backend).toBe('b');
    await proxy.workerOf('/app/first');
    const first = proxy.records.find((r) => r.url === '/app/first')!;
    expect(first).toMatchObject({ worker: 1, attempts: 2, failures: [{ member: `http://127.0.0.1:${dead}`, kind: 'connect' }] });
    // Worker 2 never tries it while it is in error: one attempt each.
    for (let i = 0; i < 4; i++) expect(echoed(await request(`${proxy.url}/app/w2-${i}`, { agent: two })).backend).toBe('b');
    for (let i = 0; i < 4; i++) {
      await proxy.workerOf(`/app/w2-${i}`);
      expect(proxy.records.find((r) => r.url === `/app/w2-${i}`)).toMatchObject({ worker: 2, attempts: 1 });
    }
    // Once its retry has passed, worker 2's next pick takes it out of error (byrequests still
    // prefers b this time: b earned while a was out), and the pick after that tries it again.
    const a = proxy.daemon.balancers.get('c1')!.members[0]!;
    expect(a.usable).toBe(false);
    await sleep(1600);
    for (const path of ['/app/retried', '/app/again']) expect(echoed(await request(`${proxy.url}${path}`, { agent: two })).backend).toBe('b');
    await proxy.workerOf('/app/again');
    expect(proxy.records.find((r) => r.url === '/app/retried')).toMatchObject({ worker: 2, attempts: 1 });
    expect(proxy.records.find((r) => r.url === '/app/again')).toMatchObject({ worker: 2, attempts: 2, failures: [{ member: a.name, kind: 'connect' }] });
    expect(a.retries).toBe(1);
  });
});

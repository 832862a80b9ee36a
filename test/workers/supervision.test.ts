// server.workers: 2 — what the main thread does for the workers: start again one that dies (and
// give back what it held in the shared state), and run the one health checker whose results every
// worker sees.
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { cleanup, echoed, request, sleep, startBackend } from '../proxy/helpers.js';
import { agentOnWorker, cleanupWorkers, metric, startWorkers } from './helpers.js';

afterEach(async () => {
  await cleanupWorkers();
  await cleanup();
});

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('supervision', { timeout: 120_000 }, () => {
  it('a worker that dies is logged, counted and started again; the busy counts it held are given back; the other worker keeps serving', async () => {
    const release: Array<() => void> = [];
    const backend = await startBackend('a', (req, res) => {
      if (req.url!.startsWith('/app/slow')) release.push(() => res.end('slow done'));
      else res.end(JSON.stringify({ backend: 'a' }));
    });
    const adminPort = await freePort();
    const admin = `http://127.0.0.1:${adminPort}`;
    const proxy = await startWorkers(`admin: { address: 127.0.0.1, port: ${adminPort} }
balancers:
  c1:
    members:
      - { url: ${backend.url}, route: a }
proxypass:
  - { path: /app, url: balancer://c1/app }
`);
    const one = await agentOnWorker(proxy.url, 1, proxy.workerOf);
    const two = await agentOnWorker(proxy.url, 2, proxy.workerOf);
    for (let i = 0; i < 3; i++) expect((await request(`${proxy.url}/app/before-${i}`, { agent: one })).status).toBe(200);
    await proxy.workerOf('/app/before-2');
    await sleep(1200); // the workers report their figures every second

    // One request in flight on each worker: busy 2.
    const onOne = request(`${proxy.url}/app/slow-1`, { agent: one }).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code);
    const onTwo = request(`${proxy.url}/app/slow-2`, { agent: two });
    await until('both slow requests at the member', () => release.length === 2);
    const busy = async () => (await request(`${admin}/api/balancers/c1`)).body;
    expect(JSON.parse(await busy()).members[0].busy).toBe(2);

    // Worker 1's thread ends as a crash would end it.
    await proxy.supervised.supervisor.worker(1)!.terminate();
    expect(await onOne).toBe('ECONNRESET');
    // Its busy count is given back; worker 2's stays until its request ends.
    expect(JSON.parse(await busy()).members[0].busy).toBe(1);
    // Worker 2 keeps serving, on new connections too, while worker 1 is down or starting again.
    const twoAgain = await agentOnWorker(proxy.url, 2, proxy.workerOf, '/probe-two');
    expect(echoed(await request(`${proxy.url}/app/during`, { agent: twoAgain })).backend).toBe('a');
    for (const r of release.splice(0)) r();
    expect((await onTwo).body).toBe('slow done');
    // The worker releases busy when its response has closed, which may be just after the client has it.
    await until('busy 0', async () => JSON.parse(await busy()).members[0].busy === 0, 5000);

    await until('worker 1 started again', () => proxy.logLines.some((l) => l.includes('worker 1 started again')));
    const died = proxy.logLines.find((l) => l.includes('worker 1 died'))!;
    expect(JSON.parse(died)).toMatchObject({ level: 50, worker: 1, busyReclaimed: 1 });
    const again = await agentOnWorker(proxy.url, 1, proxy.workerOf, '/probe-again');
    expect(echoed(await request(`${proxy.url}/app/after`, { agent: again })).backend).toBe('a');

    const text = (await request(`${admin}/metrics`)).body;
    expect(metric(text, 'stickyd_worker_restarts_total')).toBe(1);
    expect(metric(text, 'stickyd_workers')).toBe(2);
    // What the dead worker reported stays in the totals: its 3 requests before, and those since.
    expect(metric(text, 'stickyd_balancer_requests_total', 'balancer="c1"')).toBeGreaterThanOrEqual(3 + 3);
    expect(metric(text, 'stickyd_member_elected_total', 'route="a"')).toBe(7);
  });

  it('one health checker (on the main thread) puts a failing member in C for every worker, and takes it out again', async () => {
    let healthy = true;
    let checks = 0;
    const a = await startBackend('a');
    const b = await startBackend('b', (req, res) => {
      if (req.url === '/health') {
        checks++;
        res.statusCode = healthy ? 200 : 500;
        res.end();
        return;
      }
      res.end(JSON.stringify({ backend: 'b' }));
    });
    const proxy = await startWorkers(`balancers:
  c1:
    members:
      - { url: ${a.url} }
      - { url: ${b.url}, hcmethod: GET, hcuri: /health, hcinterval: 200ms }
proxypass:
  - { path: /app, url: balancer://c1/app }
`);
    const one = await agentOnWorker(proxy.url, 1, proxy.workerOf);
    const two = await agentOnWorker(proxy.url, 2, proxy.workerOf);
    const b1 = proxy.daemon.balancers.get('c1')!.members[1]!;

    healthy = false;
    await until('b in C', () => !b1.usable);
    let seen = '';
    for (let i = 0; i < 6; i++) seen += echoed(await request(`${proxy.url}/app/${i}`, { agent: i % 2 === 0 ? one : two })).backend;
    expect(seen).toBe('aaaaaa');

    // One checker: at most one check per interval (200 ms), not one per worker. Counted against
    // the time that really passed (a loaded machine sleeps longer than asked, never shorter); two
    // checkers would make about twice as many.
    const before = checks;
    const from = performance.now();
    await sleep(2000);
    const intervals = (performance.now() - from) / 200;
    expect(checks - before).toBeLessThanOrEqual(Math.floor(intervals) + 1);
    expect(checks - before).toBeGreaterThanOrEqual(3);

    healthy = true;
    await until('b usable again', () => b1.usable);
    seen = '';
    for (let i = 0; i < 4; i++) seen += echoed(await request(`${proxy.url}/app/back-${i}`, { agent: i % 2 === 0 ? one : two })).backend;
    expect(seen).toContain('b');
  });
});

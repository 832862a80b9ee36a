/**
 * What the metrics observer costs on the request path. Prints figures, asserts nothing.
 *
 *   node --conditions=stickyd-source --import tsx bench/metrics.ts [--quick]
 *
 * 1. Throughput through a real daemon process (bench/metrics-daemon.ts) on 127.0.0.1, without and
 *    with the metrics observer: one daemon whose observer is toggled (SIGUSR2) between alternating
 *    windows of autocannon (50 connections, keep-alive) against one small backend process, so both
 *    variants share JIT state, heap and the machine's moment-to-moment speed. Prints req/s, p99 and
 *    the daemon's CPU time per request for each window, the medians and the ratios (target: the
 *    observer costs at most 5 % of throughput).
 *    With taskset, the daemon runs alone on CPU 0 and the backend and this script on CPU 1, as in
 *    `npm run bench`: the daemon is then CPU-bound, so its throughput is one core divided by its
 *    CPU time per request, and that figure is far steadier than req/s on a shared machine.
 * 2. The observer alone: ns per AccessRecord for a sticky hit on a live balancer.
 * Bounded: 16 windows of 2 s (--quick: 4).
 */
// autocannon ships no types; the result fields used here are documented in its README.
// @ts-expect-error no declaration file
import autocannon from 'autocannon';
import { Metrics } from '../src/admin/metrics.js';
import { Balancer } from '../src/balancer/balancer.js';
import { parseConfig } from '../src/config/index.js';
import type { AccessRecord } from '../src/log.js';
import { ProxyCounters } from '../src/proxy/counters.js';
import { spawnSync } from 'node:child_process';
import { cpuSeconds } from './lib/proc-stats.js';
import { spawnNode, spawnTs, stopAll } from '../test/helpers/spawn.js';

const quick = process.argv.includes('--quick');
const WINDOWS = quick ? 4 : 16;
const SECONDS = 2;
const CONNECTIONS = 50;

const BACKEND = `
const http = require('node:http');
const body = Buffer.from('{"ok":true,"pad":"' + 'x'.repeat(200) + '"}');
const s = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
});
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log('listening ' + s.address().port));
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function load(port: number, seconds: number): Promise<{ rps: number; total: number; p99: number; errors: number }> {
  const r: { requests: { average: number; total: number }; latency: { p99: number }; errors: number; non2xx: number } = await autocannon({ url: `http://127.0.0.1:${port}/bench`, connections: CONNECTIONS, duration: seconds, headers: { Cookie: 'JSESSIONID=abc.a' } });
  return { rps: r.requests.average, total: r.requests.total, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** Pin every thread of pid to one CPU; false when taskset is missing or the machine has one CPU. */
function pin(pid: number, cpu: number): boolean {
  return spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }).status === 0;
}

async function throughput(): Promise<void> {
  const backend = spawnNode(['-e', BACKEND]);
  const backendPort = Number((await backend.waitFor(/^listening \d+/)).split(' ')[1]);
  const pinned = pin(process.pid, 1) && pin(backend.pid, 1);
  const daemon = spawnTs('bench/metrics-daemon.ts', [String(backendPort)]);
  const port = Number((await daemon.waitFor(/^listening \d+/)).split(' ')[1]);
  if (pinned) pin(daemon.pid, 0);
  let toggles = 0;
  const toggle = async (): Promise<void> => {
    toggles++;
    daemon.signal('SIGUSR2');
    while ((daemon.output().match(/^metrics (on|off)$/gm) ?? []).length < toggles) await new Promise((r) => setTimeout(r, 5));
  };
  const results: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const p99s: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const cpuPerRequest: Record<'off' | 'on', number[]> = { off: [], on: [] };
  console.log(`throughput: one daemon, the observer toggled between ${WINDOWS} windows of ${SECONDS} s, ${CONNECTIONS} connections, sticky requests, one member; ${pinned ? 'daemon on CPU 0, backend and load generator on CPU 1' : 'not pinned (no taskset): expect noisy figures'}`);
  await load(port, 2); // warm-up: JIT, pooled member connections
  let variant: 'off' | 'on' = 'off';
  for (let w = 1; w <= WINDOWS; w++) {
    const cpu0 = cpuSeconds(daemon.pid);
    const r = await load(port, SECONDS);
    const us = ((cpuSeconds(daemon.pid) - cpu0) * 1e6) / r.total;
    results[variant].push(r.rps);
    p99s[variant].push(r.p99);
    cpuPerRequest[variant].push(us);
    console.log(`  window ${String(w).padStart(2)} metrics ${variant.padEnd(3)}: ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99} ms  daemon CPU ${us.toFixed(1)} µs/request${r.errors ? `  (${r.errors} errors!)` : ''}`);
    await toggle();
    variant = variant === 'off' ? 'on' : 'off';
  }
  await daemon.stop();
  const off = median(results.off);
  const on = median(results.on);
  const cpuOff = median(cpuPerRequest.off);
  const cpuOn = median(cpuPerRequest.on);
  console.log(`  median without metrics: ${off.toFixed(0)} req/s (p99 ${median(p99s.off)} ms), ${cpuOff.toFixed(1)} µs CPU/request`);
  console.log(`  median with metrics:    ${on.toFixed(0)} req/s (p99 ${median(p99s.on)} ms), ${cpuOn.toFixed(1)} µs CPU/request`);
  console.log(`  req/s with/without: ${(on / off).toFixed(3)}  → cost ${((1 - on / off) * 100).toFixed(1)} % (target ≤ 5 %)`);
  console.log(`  CPU/request with/without: ${(cpuOn / cpuOff).toFixed(3)}  → cost ${((cpuOn / cpuOff - 1) * 100).toFixed(1)} % of the core (target ≤ 5 %)`);
}

function observerAlone(): void {
  const config = parseConfig(
    'listen: [{ address: 127.0.0.1, port: 1 }]\nbalancers:\n  c1:\n    stickysession: JSESSIONID\n    members:\n      - { url: http://127.0.0.1:8081, route: a }\n      - { url: http://127.0.0.1:8082, route: b }\n',
    'bench.yaml',
    {},
  );
  const balancers = new Map([['c1', new Balancer(config.balancers[0]!)]]);
  const metrics = new Metrics({ config, balancers, counters: new ProxyCounters(), onRequest: () => () => {} });
  const record: AccessRecord = {
    time: new Date().toISOString(),
    client: '127.0.0.1',
    method: 'GET',
    url: '/bench',
    status: 200,
    bytes: 220,
    duration: 0.42,
    balancer: 'balancer://c1',
    member: 'http://127.0.0.1:8081',
    memberRoute: 'a',
    sessionRoute: 'a',
    stickyName: 'JSESSIONID',
    routeChanged: false,
    attempts: 1,
  };
  const n = quick ? 200_000 : 1_000_000;
  for (let i = 0; i < 50_000; i++) metrics.observe(record);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) metrics.observe(record);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`observer alone: ${ns.toFixed(0)} ns per request (${n} sticky-hit records)`);
}

try {
  observerAlone();
  await throughput();
} finally {
  await stopAll();
}

/**
 * What the metrics observer costs on the request path. Prints figures, asserts nothing.
 *
 *   node --conditions=stickyd-source --import tsx bench/metrics.ts [--quick]
 *
 * 1. Throughput through a real daemon process (bench/metrics-daemon.ts) on 127.0.0.1, without and
 *    with the metrics observer, alternating runs of autocannon (50 connections, keep-alive) against
 *    one small backend process; prints req/s and p99 per run, the medians and the ratio
 *    (target: the observer costs at most 5 %).
 * 2. The observer alone: ns per AccessRecord for a sticky hit on a live balancer.
 * Bounded: 2 × 3 runs of 5 s (--quick: 2 × 2 runs of 2 s).
 */
// autocannon ships no types; the result fields used here are documented in its README.
// @ts-expect-error no declaration file
import autocannon from 'autocannon';
import { Metrics } from '../src/admin/metrics.js';
import { Balancer } from '../src/balancer/balancer.js';
import { parseConfig } from '../src/config/index.js';
import type { AccessRecord } from '../src/log.js';
import { ProxyCounters } from '../src/proxy/counters.js';
import { spawnNode, spawnTs, stopAll } from '../test/helpers/spawn.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 3;
const SECONDS = quick ? 2 : 5;
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

async function load(port: number, seconds: number): Promise<{ rps: number; p99: number; errors: number }> {
  const r: { requests: { average: number }; latency: { p99: number }; errors: number; non2xx: number } = await autocannon({ url: `http://127.0.0.1:${port}/bench`, connections: CONNECTIONS, duration: seconds, headers: { Cookie: 'JSESSIONID=abc.a' } });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

async function throughput(): Promise<void> {
  const backend = spawnNode(['-e', BACKEND]);
  const backendPort = Number((await backend.waitFor(/^listening \d+/)).split(' ')[1]);
  const results: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const p99s: Record<'off' | 'on', number[]> = { off: [], on: [] };
  console.log(`throughput: ${CONNECTIONS} connections, ${SECONDS} s per run, sticky requests, one member`);
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of ['off', 'on'] as const) {
      const daemon = spawnTs('bench/metrics-daemon.ts', [String(backendPort), ...(variant === 'on' ? ['--metrics'] : [])]);
      const port = Number((await daemon.waitFor(/^listening \d+/)).split(' ')[1]);
      await load(port, 1); // warm-up: JIT, pooled member connections
      const r = await load(port, SECONDS);
      await daemon.stop();
      results[variant].push(r.rps);
      p99s[variant].push(r.p99);
      console.log(`  round ${round} metrics ${variant.padEnd(3)}: ${r.rps.toFixed(0).padStart(7)} req/s  p99 ${r.p99} ms${r.errors ? `  (${r.errors} errors!)` : ''}`);
    }
  }
  const off = median(results.off);
  const on = median(results.on);
  console.log(`  median without metrics: ${off.toFixed(0)} req/s (p99 ${median(p99s.off)} ms)`);
  console.log(`  median with metrics:    ${on.toFixed(0)} req/s (p99 ${median(p99s.on)} ms)`);
  console.log(`  ratio with/without: ${(on / off).toFixed(3)}  → cost ${((1 - on / off) * 100).toFixed(1)} % (target ≤ 5 %)`);
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

/**
 * What the live dashboard costs. Prints figures, asserts nothing.
 *
 *   node --expose-gc --conditions=stickyd-source --import tsx bench/dashboard.ts [--quick]
 *
 * 1. The request path: the request observer with the dashboard's additions (per-member sticky hits
 *    and response-time buckets), ns per access record (bench/metrics.ts measures the observer
 *    against a daemon without it).
 * 2. Nobody watching: one look of the timeline's watcher at the scoreboard (it runs once a second).
 * 3. Someone watching: one reading per second (the figures copied, the sample made, the windows
 *    over a full ring of 600 samples computed, the update serialised), the snapshot a page gets
 *    when it opens, and with server.workers: 2 the round trip that collects the workers' figures.
 * Three balancers of eight members, every member busy in every sample (the ring's worst case).
 */
import { Balancer } from '../src/balancer/balancer.js';
import { Flag } from '../src/balancer/flags.js';
import { parseConfig } from '../src/config/index.js';
import { EventLog, StateWatcher } from '../src/admin/dashboard/events.js';
import { CAPACITY, SeriesKeeper, sampleColumns } from '../src/admin/dashboard/series.js';
import { balancerDocs, seriesDoc } from '../src/admin/dashboard/state.js';
import type { AdminTarget } from '../src/admin/context.js';
import { Metrics } from '../src/admin/metrics.js';
import { RequestSums } from '../src/admin/request-figures.js';
import { startDaemon } from '../src/daemon.js';
import type { AccessRecord } from '../src/log.js';
import { ProxyCounters } from '../src/proxy/counters.js';
import { memoryLogger } from '../test/helpers/memory-logger.js';
import { freePort } from '../test/helpers/ports.js';

const quick = process.argv.includes('--quick');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median µs of `fn` over `rounds` rounds of `n` calls. */
function time(fn: () => void, n: number, rounds = 7): number {
  for (let i = 0; i < n; i++) fn();
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    per.push(Number(process.hrtime.bigint() - t0) / 1000 / n);
  }
  return median(per);
}

const BALANCERS = ['shop', 'api', 'admin'];
const MEMBERS = 8;
const url = (b: number, m: number): string => `http://127.0.0.1:${9000 + b * 100 + m}`;
const yaml = `listen: [{ address: 127.0.0.1, port: 1 }]
balancers:
${BALANCERS.map((name, b) => `  ${name}:\n    stickysession: JSESSIONID\n    members:\n${Array.from({ length: MEMBERS }, (_, m) => `      - { url: ${url(b, m)}, route: r${m} }`).join('\n')}`).join('\n')}
`;
const config = parseConfig(yaml, 'bench.yaml', {});
const balancers = new Map(config.balancers.map((c) => [c.name, new Balancer(c)]));
const target: AdminTarget = { config, balancers, counters: new ProxyCounters(), onRequest: () => () => {} };

const record = (b: number, m: number, sticky: boolean): AccessRecord => ({
  time: '',
  client: '127.0.0.1',
  method: 'GET',
  url: '/x',
  status: 200,
  bytes: 220,
  duration: 0.42 + m * 0.1,
  balancer: `balancer://${BALANCERS[b]}`,
  member: url(b, m),
  memberRoute: `r${m}`,
  sessionRoute: sticky ? `r${m}` : null,
  stickyName: sticky ? 'JSESSIONID' : null,
  routeChanged: false,
  attempts: 1,
});

// 1. The request path: the same measurement as bench/metrics.ts's "observer alone" (best of 10 rounds).
{
  const sums = new RequestSums(target);
  const rec = record(0, 3, true);
  const n = quick ? 200_000 : 1_000_000;
  for (let i = 0; i < 100_000; i++) sums.observe(rec);
  let best = Infinity;
  for (let r = 0; r < 10; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sums.observe(rec);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  console.log(`request path: the request observer, the dashboard's per-member sticky hits and response-time buckets included: ${best.toFixed(0)} ns per request (best of 10 rounds)`);
}

// 2. Nobody watching: the watcher's look.
{
  const watcher = new StateWatcher(target, new EventLog());
  const us = time(() => watcher.check(), quick ? 2000 : 20_000);
  console.log(`nobody watching: one look at ${BALANCERS.length * MEMBERS} members: ${us.toFixed(1)} µs, once a second (${(us / 10_000).toFixed(4)} % of a core)`);
  // A look that finds a change and records it.
  const m = balancers.get('shop')!.members[0]!;
  const flip = time(() => {
    m.status ^= Flag.DRAIN;
    watcher.check();
  }, 2000);
  console.log(`  a look that records an event: ${flip.toFixed(1)} µs`);
}

// 3. Someone watching.
{
  const sums = new RequestSums(target);
  const keeper = new SeriesKeeper();
  const live = new Map(BALANCERS.map((name, b) => [name, Array.from({ length: MEMBERS }, (_, m) => url(b, m))]));
  const counters = { ...new ProxyCounters() };
  let t = 0;
  const second = (): void => {
    for (let b = 0; b < BALANCERS.length; b++) for (let m = 0; m < MEMBERS; m++) for (let k = 0; k < 5; k++) sums.observe(record(b, m, k % 2 === 0));
  };
  keeper.read(sums.figures(counters), t, live, () => 1);
  for (let i = 0; i < CAPACITY; i++) {
    second();
    keeper.read(sums.figures(counters), (t += 1000), live, () => 1);
  }
  const figures = sums.figures(counters);
  const copy = time(() => sums.figures(counters), quick ? 200 : 1000);
  const read = time(() => keeper.read(figures, (t += 1000), live, () => 1), quick ? 200 : 1000);
  const windows = time(() => keeper.windows(t), quick ? 20 : 100);
  const w = keeper.windows(t);
  const docs = balancerDocs(target, w, null, null, () => null);
  const sample = keeper.samples().at(-1)!;
  const update = JSON.stringify({ now: t, balancers: docs, sample: sampleColumns(sample), events: [] });
  const serialise = time(() => JSON.stringify({ now: t, balancers: balancerDocs(target, w, null, null, () => null), sample: sampleColumns(sample), events: [] }), quick ? 100 : 1000);
  const perSecond = copy + read + windows + serialise;
  console.log(
    `someone watching, every second: figures copied ${copy.toFixed(0)} µs, sample ${read.toFixed(0)} µs, windows over ${CAPACITY} samples ${windows.toFixed(0)} µs, ` +
      `update serialised ${serialise.toFixed(0)} µs (${(update.length / 1024).toFixed(1)} KiB): ${perSecond.toFixed(0)} µs per second (${(perSecond / 10_000).toFixed(3)} % of a core)`,
  );
  const snapshot = (): string => JSON.stringify({ balancers: docs, series: seriesDoc(keeper.samples(), docs) });
  const snap = time(() => snapshot(), quick ? 3 : 10, 3);
  console.log(`  the snapshot a page gets when it opens (${CAPACITY} samples): ${(snap / 1000).toFixed(1)} ms, ${(snapshot().length / 1024).toFixed(0)} KiB`);
}

// The ring's memory: a second keeper filled the same way, the heap measured around it (needs --expose-gc).
{
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    console.log('  (run with node --expose-gc to measure the memory of a full ring)');
  } else {
    const sums = new RequestSums(target);
    const live = new Map(BALANCERS.map((name, b) => [name, Array.from({ length: MEMBERS }, (_, m) => url(b, m))]));
    const counters = { ...new ProxyCounters() };
    gc();
    const before = process.memoryUsage().heapUsed;
    const keeper = new SeriesKeeper();
    for (let i = 0; i <= CAPACITY; i++) {
      for (let b = 0; b < BALANCERS.length; b++) for (let m = 0; m < MEMBERS; m++) sums.observe(record(b, m, m % 2 === 0));
      keeper.read(sums.figures(counters), i * 1000, live, () => 1);
    }
    gc();
    console.log(`  memory of a full ring (${CAPACITY} samples, ${BALANCERS.length * MEMBERS} members busy in each): ${((process.memoryUsage().heapUsed - before) / 1048576).toFixed(1)} MiB`);
    if (keeper.samples().length !== CAPACITY) throw new Error('the ring is not full');
  }
}

// server.workers: 2 — collecting the workers' figures once.
{
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = parseConfig(`${yaml.replace('port: 1 }', `port: ${port} }`)}server: { workers: 2 }\nadmin: { address: 127.0.0.1, port: ${adminPort} }\n`, 'bench.yaml', {});
  const { logger } = memoryLogger();
  const daemon = await startDaemon(cfg, { logger, accessLogger: null });
  try {
    const metrics = new Metrics(daemon);
    const stop = metrics.keep();
    const rounds: number[] = [];
    for (let i = 0; i < (quick ? 10 : 50); i++) {
      const t0 = process.hrtime.bigint();
      await metrics.figures();
      rounds.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    stop();
    console.log(`server.workers: 2: collecting the workers' figures: ${median(rounds).toFixed(0)} µs round trip (median of ${rounds.length}), once a second while someone watches`);
  } finally {
    await daemon.stop();
  }
}

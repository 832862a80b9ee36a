/**
 * Turns the measurements into what `npm run bench` prints: Markdown tables, stickyd's ratios to
 * nginx and HAProxy, the three targets of the issue checked, and a "what limits these figures"
 * paragraph written from the CPU figures that were measured alongside (a proxy whose core was
 * saturated is CPU-bound; a run whose load core was saturated measured the load side instead).
 */
import type { LoadResult } from './load.js';
import type { RssSample } from './proc-stats.js';
import type { AllocationSummary } from './alloc-profile.js';
import type { ProfileSummary } from './profile.js';
import { slope } from './proc-stats.js';

export type TargetKind = 'direct' | 'stickyd' | 'stickyd-noaccess' | 'node-proxy' | 'nginx' | 'haproxy';
export type Traffic = 'cookieless' | 'sticky';

/** CPU during one run; null where nothing was pinned or the figure does not apply. */
export interface CpuFigures {
  /** CPU used by the target's processes, as a fraction of one core; null for direct. */
  processCpu: number | null;
  /** Busy fraction of the proxy core (CPU 0) and of the load core (CPU 1). */
  proxyCore: number | null;
  loadCore: number | null;
  /** The part of each core's busy time that was not the benchmark's own processes. */
  otherProxyCore: number | null;
  otherLoadCore: number | null;
}

export interface ThroughputRow extends CpuFigures {
  kind: TargetKind;
  label: string;
  traffic: Traffic;
  load: LoadResult;
  /** Peak RSS of the target's processes during the run (bytes); the backend's for direct. */
  rss: number;
}

export interface LatencyRow extends CpuFigures {
  kind: TargetKind;
  label: string;
  /** Offered rate (requests/s over all connections). */
  rate: number;
  load: LoadResult;
}

/** stickyd with `workers` worker threads at a fixed rate: what the threads and the shared state cost. */
export interface WorkersRow extends CpuFigures {
  workers: number;
  /** What the row is: the worker count, or the control (two one-worker processes). */
  label: string;
  /** Offered rate (requests/s over all connections). */
  rate: number;
  load: LoadResult;
}

export interface RssPhase {
  target: number;
  requests: number;
  seconds: number;
  samples: RssSample[];
}

export interface Skipped {
  name: string;
  why: string;
}

export interface Environment {
  cpu: string;
  cores: number;
  /** How busy the cores were before the benchmark started anything. */
  machineLoad: string;
  pinning: string;
  node: string;
  generator: string;
  backend: string;
  backendChoice: string;
  stickyd: string;
  nginx: string | null;
  haproxy: string | null;
  connections: number;
  seconds: number;
  warmup: number;
  latencySeconds: number;
}

export interface BenchReport {
  env: Environment;
  throughput: ThroughputRow[];
  latency: LatencyRow[];
  /** workers 1 and 2 at one fixed rate (empty when stickyd was not measured). */
  workers: WorkersRow[];
  rss: RssPhase | null;
  profile: ProfileSummary | null;
  allocations: AllocationSummary | null;
  skipped: Skipped[];
}

const MiB = 1024 * 1024;
const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
const f2 = (x: number) => x.toFixed(2);
const pct = (x: number | null) => (x === null ? '–' : `${Math.round(x * 100)}%`);
const mib = (b: number) => (b / MiB).toFixed(1);

function table(head: string[], rows: string[][]): string {
  const align = head.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [head, align, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Share of a core used by other people's processes above which a run is marked disturbed. */
export const NOISE = 0.1;

export function noisyRuns(r: BenchReport): CpuFigures[] {
  return [...r.throughput, ...r.latency, ...r.workers].filter((x) => (x.otherProxyCore ?? 0) > NOISE || (x.otherLoadCore ?? 0) > NOISE);
}

/** CPU microseconds the target spent per request (proxies only). */
function cpuPerRequest(r: { processCpu: number | null; load: LoadResult }): number | null {
  return r.processCpu === null || r.load.rps === 0 ? null : (r.processCpu * 1e6) / r.load.rps;
}

export function find(rows: ThroughputRow[], kind: TargetKind, traffic: Traffic): ThroughputRow | undefined {
  return rows.find((r) => r.kind === kind && r.traffic === traffic);
}

export interface RssFigures {
  first: number;
  peak: number;
  last: number;
  /** Bytes per 100k requests, least squares over every sample after the first 10% of requests. */
  slope: number;
  /** The same over the second half of the requests: a leak keeps growing, warm-up does not. */
  slopeSecondHalf: number;
  flat: boolean;
}

export function rssFigures(phase: RssPhase): RssFigures {
  const withN = phase.samples.filter((s) => s.requests !== undefined) as Array<Required<RssSample>>;
  const total = phase.requests || 1;
  const afterWarmup = withN.filter((s) => s.requests >= total * 0.1);
  const secondHalf = withN.filter((s) => s.requests >= total * 0.5);
  const per100k = (ss: Array<Required<RssSample>>) => slope(ss.map((s) => [s.requests / 100_000, s.bytes]));
  const first = (afterWarmup[0] ?? withN[0])?.bytes ?? 0;
  const last = withN[withN.length - 1]?.bytes ?? 0;
  const s2 = per100k(secondHalf);
  return {
    first,
    peak: Math.max(0, ...phase.samples.map((s) => s.bytes)),
    last,
    slope: per100k(afterWarmup),
    slopeSecondHalf: s2,
    // "Flat": over the second half, growth below 1 MiB per 100k requests (a leak of 10 bytes per
    // request or more would show) or the last sample no higher than the first after warm-up.
    flat: s2 < MiB || last <= first,
  };
}

export function renderReport(r: BenchReport): string {
  const out: string[] = [];
  const e = r.env;
  out.push('## stickyd proxy benchmark', '');
  out.push(`- machine: ${e.cpu}, ${e.cores} cores; ${e.pinning}; ${e.machineLoad}`);
  out.push(`- node ${e.node}; stickyd ${e.stickyd}`);
  out.push(`- competitors: ${e.nginx ?? 'nginx not installed'}; ${e.haproxy ?? 'HAProxy not installed'}`);
  out.push(`- backend: ${e.backend} (${e.backendChoice})`);
  out.push(`- load: ${e.generator}, ${e.connections} connections, ${e.seconds} s per run after ${e.warmup} s warm-up; sticky traffic cycles 64 JSESSIONID cookies, half \`.jvm_a\`, half \`.jvm_b\``);
  for (const s of r.skipped) out.push(`- skipped ${s.name}: ${s.why}`);
  out.push('');

  const noisy = noisyRuns(r);
  if (noisy.length > 0) {
    const worst = (k: 'otherProxyCore' | 'otherLoadCore') => pct(Math.max(0, ...noisy.map((x) => x[k] ?? 0)));
    out.push(`> **Disturbed run:** processes that are not this benchmark's used up to ${worst('otherProxyCore')} of CPU 0 and ${worst('otherLoadCore')} of CPU 1 during ${noisy.length} of the runs (marked †, more than ${pct(NOISE)}). Those rows measured a shared core, not the proxy: rerun on a quiet machine (\`--wait-quiet 300 --retry-disturbed 2\` waits for one and repeats disturbed runs) before comparing them.`, '');
  }
  const mark = (x: CpuFigures) => (noisy.includes(x) ? ' †' : '');

  out.push('### Throughput (as fast as possible)', '');
  out.push(table(
    ['target', 'traffic', 'req/s', 'p50 ms', 'p99 ms', 'RSS MiB', 'CPU', 'CPU µs/req', 'CPU 0 busy', 'CPU 1 busy', 'others 0 / 1', 'errors'],
    r.throughput.map((t) => {
      const cpr = cpuPerRequest(t);
      return [
        `${t.label}${mark(t)}`, t.traffic, f0(t.load.rps), f2(t.load.p50), f2(t.load.p99), mib(t.rss),
        pct(t.processCpu), cpr === null ? '–' : cpr.toFixed(1), pct(t.proxyCore), pct(t.loadCore),
        `${pct(t.otherProxyCore)} / ${pct(t.otherLoadCore)}`, String(t.load.errors + t.load.non2xx),
      ];
    }),
  ));
  out.push('', "_CPU: the target's processes as a share of one core (CPU µs/req = CPU ÷ req/s). CPU 0 runs the proxy under test, CPU 1 the load generator and the backend; for direct, the backend is the target. others: busy time on that core that was not this benchmark's processes. errors: socket errors plus non-2xx/3xx responses._", '');

  // Ratios and the throughput target.
  const ratioLines: string[] = [];
  for (const traffic of ['cookieless', 'sticky'] as const) {
    const s = find(r.throughput, 'stickyd', traffic);
    if (!s) continue;
    for (const kind of ['nginx', 'haproxy'] as const) {
      const c = find(r.throughput, kind, traffic);
      if (!c) continue;
      const ratio = s.load.rps / c.load.rps;
      const goal = kind === 'nginx' ? ` (target ≥ 0.50: ${ratio >= 0.5 ? 'met' : 'MISSED'})` : '';
      ratioLines.push(`- ${traffic}: stickyd ÷ ${c.label} = **${ratio.toFixed(2)}×** req/s${goal}`);
    }
  }
  const floorRow = find(r.throughput, 'node-proxy', 'sticky');
  const st = find(r.throughput, 'stickyd', 'sticky');
  if (floorRow && st) ratioLines.push(`- sticky: stickyd ÷ ${floorRow.label} = **${(st.load.rps / floorRow.load.rps).toFixed(2)}×** req/s (what stickyd's own work costs on node's stack)`);
  const on = find(r.throughput, 'stickyd', 'sticky');
  const off = find(r.throughput, 'stickyd-noaccess', 'sticky');
  if (on && off) {
    const cost = 1 - on.load.rps / off.load.rps;
    const a = cpuPerRequest(on);
    const b = cpuPerRequest(off);
    const cpu = a !== null && b !== null ? `; CPU per request ${a.toFixed(1)} µs with it, ${b.toFixed(1)} µs without` : '';
    ratioLines.push(`- access log: sticky traffic with \`log.access: false\` reaches ${f0(off.load.rps)} req/s (p99 ${f2(off.load.p99)} ms), ${cost >= 0 ? `so the access log costs ${(100 * cost).toFixed(0)}% of throughput` : `${(-100 * cost).toFixed(0)}% less than with the access log on (within noise)`}${cpu}`);
  }
  if (ratioLines.length > 0) out.push('### Ratios', '', ...ratioLines, '');

  // Added latency at a fixed rate.
  const direct = r.latency.find((l) => l.kind === 'direct');
  if (r.latency.length > 0) {
    out.push(`### Added latency at a fixed rate (${f0(r.latency[0]!.rate)} req/s offered, ${e.connections} connections, sticky traffic, ${e.latencySeconds} s)`, '');
    out.push(table(
      ['target', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'added p50 ms', 'added p99 ms', 'CPU', 'others 0 / 1', 'errors'],
      r.latency.map((l) => [
        `${l.label}${mark(l)}`, f0(l.load.rps), f2(l.load.p50), f2(l.load.p99), f2(l.load.p999),
        direct && l !== direct ? f2(l.load.p50 - direct.load.p50) : '–',
        direct && l !== direct ? f2(l.load.p99 - direct.load.p99) : '–',
        pct(l.processCpu), `${pct(l.otherProxyCore)} / ${pct(l.otherLoadCore)}`, String(l.load.errors + l.load.non2xx),
      ]),
    ));
    const s = r.latency.find((l) => l.kind === 'stickyd');
    if (s && direct) {
      const added = s.load.p99 - direct.load.p99;
      out.push('', `- stickyd's added p99: **${f2(added)} ms** (target ≤ 1 ms: ${added <= 1 ? 'met' : 'MISSED'})`);
    }
    out.push('');
  }

  if (r.workers.length > 0) {
    const w = r.workers[0]!;
    out.push(`### Worker threads at a fixed rate (${f0(w.rate)} req/s offered, sticky traffic, access log off, every thread of the process on CPU 0; median of rounds of ${e.latencySeconds} s taken in turns)`, '');
    const base = cpuPerRequest(w);
    out.push(table(
      ['server.workers', 'achieved req/s', 'p50 ms', 'p99 ms', 'CPU', 'CPU µs/req (all threads)', 'vs workers=1', 'others 0 / 1', 'errors'],
      r.workers.map((x) => {
        const cpr = cpuPerRequest(x);
        return [
          `${x.label}${mark(x)}`, f0(x.load.rps), f2(x.load.p50), f2(x.load.p99), pct(x.processCpu), cpr === null ? '–' : cpr.toFixed(1),
          cpr === null || base === null ? '–' : `${cpr >= base ? '+' : ''}${(100 * (cpr / base - 1)).toFixed(1)}%`,
          `${pct(x.otherProxyCore)} / ${pct(x.otherLoadCore)}`, String(x.load.errors + x.load.non2xx),
        ];
      }),
    ));
    const two = r.workers.find((x) => x.workers === 2);
    const control = r.workers.find((x) => x.label.includes('control'));
    const cpr2 = two ? cpuPerRequest(two) : null;
    const cprControl = control ? cpuPerRequest(control) : null;
    if (base !== null && cpr2 !== null) {
      const cost = cpr2 / base - 1;
      out.push('', `- two workers cost **${(100 * cost).toFixed(1)}%** CPU per request over one (target ≤ 10%: ${cost <= 0.1 ? 'met' : 'MISSED'})`);
      if (cprControl !== null) {
        out.push(`- of which two event loops sharing one core cost ${(100 * (cprControl / base - 1)).toFixed(1)}% by themselves (the control: two one-worker processes, half the load each); the rest, ${(100 * (cpr2 / cprControl - 1)).toFixed(1)}% over the control, is the shared scoreboard, the worker plumbing and the main thread. On a machine with a core per worker the first part goes away.`);
      }
    }
    out.push('');
  }

  if (r.rss) {
    const x = rssFigures(r.rss);
    out.push(`### RSS over ${f0(r.rss.requests)} sticky requests (stickyd, access log on, ${r.rss.seconds.toFixed(0)} s, ${r.rss.samples.length} samples)`, '');
    out.push(table(
      ['first (after 10%)', 'peak', 'last', 'slope', 'slope, second half'],
      [[`${mib(x.first)} MiB`, `${mib(x.peak)} MiB`, `${mib(x.last)} MiB`, `${(x.slope / 1024).toFixed(0)} KiB / 100k req`, `${(x.slopeSecondHalf / 1024).toFixed(0)} KiB / 100k req`]],
    ));
    const short = r.rss.requests < r.rss.target ? ` (only ${f0(r.rss.requests)} of ${f0(r.rss.target)} requests fit the time bound)` : '';
    out.push('', `- RSS flat: **${x.flat ? 'yes' : 'NO'}**${short}`, '');
  }

  if (r.profile) out.push(renderProfile(r.profile));
  if (r.allocations) out.push(renderAllocations(r.allocations));
  out.push('### What limits these figures', '', limitsNote(r), '');
  return out.join('\n');
}

/** The paragraph explaining the figures, from the CPU measurements (never canned). */
export function limitsNote(r: BenchReport): string {
  const parts: string[] = [];
  const noisy = noisyRuns(r);
  if (noisy.length > 0) {
    parts.push(`Other processes ran on this machine during ${noisy.length} of the runs (†), taking CPU time from the proxy or from the load generator: those rows describe the machine's load as much as the proxies.`);
  }
  const d = find(r.throughput, 'direct', 'sticky');
  if (d) {
    parts.push(`Direct, the load generator and the backend share CPU 1 (${pct(d.loadCore)} busy) and reach ${f0(d.load.rps)} req/s: a ceiling for every proxied row, whose CPU 1 does the same work.`);
  }
  const proxied = r.throughput.filter((t) => t.kind !== 'direct');
  const cpuBound = proxied.filter((t) => (t.processCpu ?? 0) >= 0.9);
  const loadBound = proxied.filter((t) => (t.processCpu ?? 0) < 0.9 && (t.loadCore ?? 0) >= 0.9);
  const contended = proxied.filter((t) => (t.processCpu ?? 0) < 0.9 && (t.loadCore ?? 0) < 0.9 && (t.otherProxyCore ?? 0) > NOISE);
  const name = (t: ThroughputRow) => `${t.label} ${t.traffic}`;
  if (cpuBound.length > 0) {
    parts.push(`CPU-bound (its core ≥ 90% busy with its own work): ${cpuBound.map((t) => `${name(t)} (${pct(t.processCpu)})`).join(', ')}; for these, req/s is one core divided by CPU µs/req, so their ratio is the ratio of their cost per request.`);
  }
  if (loadBound.length > 0) {
    parts.push(`Bounded by CPU 1 (load generator + backend ≥ 90% busy) while the proxy had time to spare: ${loadBound.map((t) => `${name(t)} (proxy ${pct(t.processCpu)}, CPU 1 ${pct(t.loadCore)})`).join(', ')}; these req/s understate the proxy, and CPU µs/req is the fairer comparison.`);
  }
  if (contended.length > 0) {
    parts.push(`Slowed by other processes on CPU 0: ${contended.map((t) => `${name(t)} (proxy ${pct(t.processCpu)}, others ${pct(t.otherProxyCore)})`).join(', ')}.`);
  }
  const s = find(r.throughput, 'stickyd', 'sticky');
  const sc = s ? cpuPerRequest(s) : null;
  if (s && sc !== null) {
    const cmp = proxied.filter((t) => t.traffic === 'sticky' && (t.kind === 'nginx' || t.kind === 'haproxy'))
      .map((o) => [o, cpuPerRequest(o)] as const).filter(([, c]) => c !== null && c > 0)
      .map(([o, c]) => `${(sc / c!).toFixed(1)}× ${o.label}'s ${c!.toFixed(1)} µs`);
    parts.push(`stickyd spends ${sc.toFixed(1)} µs of CPU per sticky request${cmp.length > 0 ? ` (${cmp.join(', ')})` : ''}, which caps one stickyd process near ${f0(1e6 / sc)} req/s per core.`);
    const floor = find(r.throughput, 'node-proxy', 'sticky');
    const fc = floor ? cpuPerRequest(floor) : null;
    if (floor && fc !== null) {
      parts.push(`The minimal proxy on the same stack (node:http + undici, routing only) costs ${fc.toFixed(1)} µs per request: that much is node's HTTP server and undici's client, and stickyd's own work (balancer, headers, attempt loop, access log) and the garbage it makes add ${Math.max(0, sc - fc).toFixed(1)} µs.`);
      const ng = find(r.throughput, 'nginx', 'sticky');
      if (ng) {
        const floorRatio = floor.load.rps / ng.load.rps;
        parts.push(floorRatio < 0.5
          ? `Even that minimal proxy reaches only ${floorRatio.toFixed(2)}× ${ng.label}: in one process on node's HTTP stack, 0.5× nginx is out of reach whatever stickyd's own code does.`
          : `That minimal proxy reaches ${floorRatio.toFixed(2)}× ${ng.label}, so 0.5× is within reach of node's HTTP stack and the gap is stickyd's own cost.`);
      }
    }
  }
  if (r.profile) {
    const top = Object.entries(r.profile.byOrigin).sort((a, b) => b[1] - a[1]).slice(0, 4);
    parts.push(`The CPU profile puts that time in ${top.map(([k, v]) => `${k} ${v.toFixed(0)}%`).join(', ')}.`);
  }
  const direct = r.latency.find((l) => l.kind === 'direct');
  const paced = r.latency.filter((l) => l.kind !== 'direct' && l.processCpu !== null);
  if (direct && paced.length > 0) {
    const each = paced.map((l) => `${l.label} used ${pct(l.processCpu)} of its core and added ${f2(l.load.p50 - direct.load.p50)} ms at p50, ${f2(l.load.p99 - direct.load.p99)} ms at p99`);
    parts.push(`At the fixed rate of ${f0(paced[0]!.rate)} req/s ${each.join('; ')}. The added p50 is about one request's own time in the proxy; the added p99 is the time a request waits while a single event loop or worker is busy with others or paused (for node, garbage collection), so it grows with how busy the core is. wrk's paced connections wait for each answer, so a slower proxy is offered somewhat less than the target rate (the achieved column).`);
  }
  if (r.rss) {
    const x = rssFigures(r.rss);
    parts.push(`RSS ${x.flat ? 'levelled off' : 'kept growing'} over ${f0(r.rss.requests)} requests (${(x.slopeSecondHalf / 1024).toFixed(0)} KiB per 100k requests in the second half, peak ${mib(x.peak)} MiB).`);
  }
  return parts.join(' ');
}

/** The profile's hot spots as Markdown tables. */
export function renderProfile(p: ProfileSummary): string {
  const out = ['### Where stickyd spends its CPU (sticky traffic, --cpu-prof)', ''];
  out.push(`${p.samples} samples while busy (idle left out). By origin: ${Object.entries(p.byOrigin).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(1)}%`).join(', ')}.`, '');
  out.push('Self time (where the CPU was):', '', '| % | function | where |', '| --: | :-- | :-- |');
  for (const h of p.selfTop) out.push(`| ${h.percent.toFixed(1)} | \`${h.name}\` | ${h.where} |`);
  out.push('', 'Charged to the innermost stickyd function on the stack (its own code plus the node/undici/pino work it calls; samples with no stickyd frame by origin):', '', '| % | function | where |', '| --: | :-- | :-- |');
  for (const h of p.bySrcFrame) out.push(`| ${h.percent.toFixed(1)} | \`${h.name}\` | ${h.where} |`);
  out.push('', "Total time of stickyd's own functions (with everything they call):", '', '| % | function | where |', '| --: | :-- | :-- |');
  for (const h of p.totalTop) out.push(`| ${h.percent.toFixed(1)} | \`${h.name}\` | ${h.where} |`);
  out.push('');
  return out.join('\n');
}

/** Allocation sites as a Markdown table. */
export function renderAllocations(a: AllocationSummary): string {
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const out = [`### Where stickyd's garbage comes from (sampling heap profiler, collected objects included)`, ''];
  out.push(`About **${kb(a.bytesPerRequest)} allocated per sticky request**. By origin: ${Object.entries(a.byOrigin).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${kb(v)}`).join(', ')}.`, '');
  out.push('Charged to the innermost stickyd function on the allocating stack:', '', '| per request | % | function | where |', '| --: | --: | :-- | :-- |');
  for (const s of a.bySrcFrame) out.push(`| ${kb(s.bytesPerRequest)} | ${s.percent.toFixed(1)} | \`${s.name}\` | ${s.where} |`);
  out.push('', 'By allocating function (← the innermost stickyd function that called it):', '', '| per request | % | function | where |', '| --: | --: | :-- | :-- |');
  for (const s of a.selfTop) out.push(`| ${kb(s.bytesPerRequest)} | ${s.percent.toFixed(1)} | \`${s.name}\` | ${s.where} |`);
  out.push('');
  return out.join('\n');
}

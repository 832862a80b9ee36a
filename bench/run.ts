/**
 * `npm run bench`: stickyd against the backend directly, Apache httpd, nginx, HAProxy and a minimal
 * node proxy, on this machine.
 * Prints a Markdown report (stdout; progress on stderr); asserts nothing.
 *
 *   npm run bench -- [--quick] [--only stickyd,apache,nginx,haproxy] [--json FILE] [--profile]
 *                    [--source] [--rss-requests N] [--wait-quiet S] [--retry-disturbed N]
 *                    [--jit-warmup S] [--rounds N] [--seconds S] [--paired-rounds N]
 *   (bench/lib/options.ts says what each does)
 *
 * Layout (2+ cores): the proxy under test runs on CPU 0 (stickyd with one worker, Apache httpd
 * one event-MPM process, nginx worker_processes 1, HAProxy nbthread 1); the load generator, the
 * backend and this script on CPU 1. Every proxy runs without an access log, as the references
 * do; stickyd runs once more with its access log on. Every server listens on 127.0.0.1 only, every process is stopped by PID at the end (also
 * on Ctrl-C or failure), every phase is bounded in time.
 *
 * Phases:
 * 1. backend: an nginx backend and a node:http backend are both measured directly; the faster
 *    one serves the rest of the run (the proxies must not wait on their backend).
 * 2. targets: stickyd (workers 1, access log off; the same with it on; workers 2, every thread on
 *    the proxy core), a minimal node:http + undici
 *    proxy (the floor of stickyd's stack), Apache httpd, nginx and HAProxy configured as equivalent
 *    balancers; each must route a `JSESSIONID=<id>.<route>` request to that member and spread
 *    cookieless ones, or it is skipped.
 * 3. throughput: stickyd and the minimal proxy first get 30 s of load once (`--jit-warmup`, so
 *    that V8 has finished optimising them); then 3 rounds (`--rounds`), each measuring every
 *    target in turn, cookieless then sticky traffic, wrk -t1 -c50 for 5 s (`--seconds`) after a
 *    2 s warm-up; round r starts at the r-th target, so that drift does not always fall on the
 *    same target; CPU of each core and RSS sampled alongside. This VM's speed drifts by up to 2×
 *    over minutes: each row is its median round by req/s, and each ratio against the issue's
 *    targets is the median of the ratios taken within one round. The report opens with one table
 *    of every target's req/s and the targets of issue 9 §4 beside them.
 * 3b. paired on one core: stickyd workers=1 and each reference (the minimal proxy, Apache httpd,
 *    nginx, HAProxy; and stickyd with its access log on) loaded at the same time, both on the
 *    proxy core, each by its own wrk on the load core, for 3 windows (`--paired-rounds`) of
 *    `--seconds` per traffic after a common warm-up: each side's CPU µs per request is measured
 *    under the very same machine speed, so the ratio of the two does not move with the VM's drift.
 * 4. added latency: the same 50 connections paced to 70% of stickyd's sticky throughput (one
 *    worker's capacity); p50/p99 through each proxy minus direct.
 * 5. worker threads: stickyd with server.workers 1 and 2, each fresh process JIT-warmed, measured
 *    in turns at one fixed rate (half of stickyd's sticky throughput), every thread on the proxy
 *    core; CPU µs per request summed over the whole process (median of 3 rounds): the cost of the
 *    shared state and the worker plumbing.
 * 5b. on a machine with 4 cores or more: req/s of stickyd with 1, 2 and 4 workers, the proxy on
 *    as many cores as it has workers and the load on the others (this 2-core VM cannot: the
 *    report says so).
 * 6. RSS: a fresh stickyd serves 1M sticky requests (at most 90 s), RSS sampled every 2 s.
 * 7. --profile: a fresh stickyd under sticky load with --cpu-prof; hot spots as src/ file:line.
 *
 * Every measured window of phases 3, 3b and 4 goes through the window check
 * (bench/lib/window-check.ts): a target that was stuck or failing in it (req/s collapsed, CPU
 * near 0 under full load, wrk timeouts, errors or non-2xx) is restarted and the window measured
 * once more; if it is still so, the report shows that figure as invalid, with the reason, and
 * leaves it out of every median and ratio.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts, waitForPort } from '../test/helpers/ports.js';
import { repoRoot } from '../test/helpers/spawn.js';
import { APACHE, startApache } from './lib/apache.js';
import { HAPROXY, startHaproxy } from './lib/haproxy.js';
import { pickGenerator, type LoadResult, type LoadRun } from './lib/load.js';
import { backendConfig, balancerConfig, NGINX, startNginx, type Member } from './lib/nginx.js';
import { parseOptions, UsageError, type BenchOptions } from './lib/options.js';
import { commandExists, ProcessGroup, type BenchProcess } from './lib/processes.js';
import { CpuMeter, RssSampler, rssBytes } from './lib/proc-stats.js';
import { sampleAllocations, type AllocationSummary } from './lib/alloc-profile.js';
import { summarizeProfile, type ProfileSummary } from './lib/profile.js';
import {
  find, median, medianRows, NOISE, pairedCost, pairedRatio, pairedShare, renderReport, type BenchReport, type CpuFigures, type Invalid, type LatencyRow, type PairedWindow, type RssPhase, type ScalingRow, type Skipped, type TargetKind, type ThroughputRow, type Traffic, type WorkersRow,
} from './lib/report.js';
import { checkRouting } from './lib/route-check.js';
import { buildStickyd, startStickyd, type StickydBuild } from './lib/stickyd.js';
import { guardedWindow, windowProblem, type Problem as WindowProblem, type WindowFigures } from './lib/window-check.js';

/** Targets that run on V8 and need the JIT warm-up (Bench.jitWarmup). */
const JIT_TARGETS: ReadonlySet<TargetKind> = new Set(['stickyd', 'stickyd-log', 'stickyd-w2', 'node-proxy']);

const log = (msg: string) => console.error(`bench: ${msg}`);

interface Target {
  kind: TargetKind;
  label: string;
  port: number;
  /** The process whose CPU and RSS are measured (the backend for direct). */
  proc: BenchProcess;
  /** Starts the target's process again (Bench.restart); absent for direct, whose backend serves every target. */
  start?: () => Promise<BenchProcess>;
  logFile?: string;
}

/** A target the window check found stuck or failing in a window, and why. */
type Problem = WindowProblem<Target>;

/** The targets whose figures in a window the check rejects, with its reasons. */
function problemsOf(checks: Array<[Target, WindowFigures]>): Problem[] {
  return checks.flatMap(([t, figures]): Problem[] => {
    const why = windowProblem(figures);
    return why === null ? [] : [[t, why]];
  });
}

/** 64 session ids, half for each member: `<32 hex>.<route>`, as Tomcat makes them. */
function sessionCookies(members: Member[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) {
    const hex = createHash('md5').update(`session ${i}`).digest('hex').toUpperCase();
    out.push(`${hex}.${members[i % members.length]!.route}`);
  }
  return out;
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.trim();
}

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown CPU';
}

class Bench {
  readonly group = new ProcessGroup();
  readonly generator = pickGenerator();
  readonly cores = os.availableParallelism();
  /** CPU 0 for the proxy, CPU 1 for everything else; no pinning on a single core. */
  readonly proxyCpu: number | null;
  readonly loadCpu: number | null;
  readonly skipped: Skipped[] = [];
  members: Member[] = [];
  backendPid = -1;
  cookies: string[] = [];
  /** req/s of each target's valid throughput windows, by `kind traffic`: what the window check expects. */
  readonly reached = new Map<string, number[]>();
  /** Targets still stuck or failing after a restart by the window check (Bench.guarded). */
  readonly uncured = new Set<Target>();

  constructor(readonly opts: BenchOptions, readonly dir: string) {
    const pin = this.cores >= 2 && commandExists('/usr/bin/taskset');
    this.proxyCpu = pin ? 0 : null;
    this.loadCpu = pin ? 1 : null;
  }

  load(url: string, traffic: Traffic, seconds: number, rate?: number): Promise<LoadResult> {
    const run: LoadRun = {
      url,
      connections: this.opts.connections,
      seconds,
      cookies: traffic === 'sticky' ? this.cookies : [],
      cpu: this.loadCpu,
      dir: this.dir,
    };
    if (rate !== undefined) run.rate = rate;
    return this.generator.run(this.group, run);
  }

  /**
   * Runs `fn` while measuring CPU: the target's share of a core, how busy each pinned core was,
   * and how much of that was not ours (other people's processes on a shared machine).
   */
  async measured<T>(t: Target, fn: () => Promise<T>, also: BenchProcess[] = []): Promise<{ result: T; load: CpuFigures; parts: number[]; seconds: number }> {
    const cores = [this.proxyCpu, this.loadCpu].filter((c): c is number => c !== null);
    const pids: Record<string, number> = { target: t.proc.pid };
    // More processes that count as the target (a target made of several processes).
    for (const [i, p] of also.entries()) pids[`also${i}`] = p.pid;
    if (t.kind !== 'direct') pids.backend = this.backendPid;
    // Loopback packets the kernel could not process in our processes' own system calls are
    // finished by the per-CPU ksoftirqd thread: that work is ours too, not another user's.
    const softirq = softirqThreads();
    for (const [core, pid] of softirq) pids[`ksoftirqd/${core}`] = pid;
    const meter = new CpuMeter(pids, cores);
    const result = await fn();
    const cpu = meter.read();
    // Each process's share of a core: the target's, then each of `also`'s (a paired window's two sides).
    const parts = [cpu.processes.target!, ...also.map((_p, i) => cpu.processes[`also${i}`]!)];
    const target = parts.reduce((sum, x) => sum + x, 0);
    const deferred = (core: number | null) => (core === null ? 0 : cpu.processes[`ksoftirqd/${core}`] ?? 0);
    // On the load core: the backend, the load generator (reaped when its run ended) and this script.
    const ours = (t.kind === 'direct' ? target : cpu.processes.backend!) + cpu.reaped + cpu.self + deferred(this.loadCpu);
    const proxyCore = this.proxyCpu === null ? null : cpu.cores[0]!;
    const loadCore = this.loadCpu === null ? null : cpu.cores[cores.length - 1]!;
    return {
      result,
      load: {
        processCpu: t.kind === 'direct' ? null : target,
        proxyCore,
        loadCore,
        otherProxyCore: proxyCore === null ? null : Math.max(0, proxyCore - (t.kind === 'direct' ? 0 : target) - deferred(this.proxyCpu)),
        otherLoadCore: loadCore === null ? null : Math.max(0, loadCore - ours),
      },
      parts,
      seconds: cpu.seconds,
    };
  }

  /**
   * Repeats a measured run that other processes disturbed (more than NOISE of a core), at most
   * --retry-disturbed times, and keeps the least disturbed one: on a shared machine the others'
   * load comes in bursts, and a run between two bursts measures the proxy instead of them.
   */
  async leastDisturbed<T extends CpuFigures>(what: string, run: () => Promise<T>): Promise<T> {
    const others = (x: CpuFigures) => Math.max(x.otherProxyCore ?? 0, x.otherLoadCore ?? 0);
    let best = await run();
    for (let i = 0; i < this.opts.retryDisturbed && others(best) > NOISE; i++) {
      log(`${what}: other processes took ${percent(others(best))} of a core, measuring again`);
      const again = await run();
      if (others(again) < others(best)) best = again;
    }
    return best;
  }

  /**
   * The window check's figures for target `t` in one as-fast-as-it-goes window: `share` is the
   * part of its own core it had (a paired side about half), by which its earlier req/s scale.
   */
  figures(t: Target, traffic: Traffic, load: LoadResult, cpu: number | null, share = 1): WindowFigures {
    const before = median(this.reached.get(`${t.kind} ${traffic}`) ?? []);
    return { load, cpu, expected: before === null ? null : before * share };
  }

  /**
   * A measured window under the window check (bench/lib/window-check.ts guardedWindow): a target
   * stuck or failing in it is restarted and the window run once more; still so, the window comes
   * back `invalid`, and the report shows why instead of a stuck target's figure as its own.
   * A target its restart did not cure is not restarted again (its windows are only repeated):
   * a restart costs a JIT warm-up, and the run must stay within its time bound.
   */
  async guarded<T extends Invalid>(what: string, run: () => Promise<T>, check: (x: T) => Problem[]): Promise<T> {
    const restart = async (t: Target) => {
      if (this.uncured.has(t)) log(`${t.label}: a restart did not help before, not restarting it again`);
      else await this.restart(t);
    };
    const window = await guardedWindow(run, check, restart, (t) => t.label, (msg) => log(`${what}: ${msg}`));
    if (window.invalid !== undefined) for (const [t] of check(window)) this.uncured.add(t);
    return window;
  }

  /** A fresh process for `t` (the same configuration and port), warmed up like the first one. */
  async restart(t: Target): Promise<void> {
    if (t.start === undefined) return; // direct: the backend is everyone's, only the window is repeated
    await this.group.stop(t.proc);
    t.proc = await t.start();
    await this.ready(t.proc, t.port, t.logFile ?? '/dev/null');
    if (JIT_TARGETS.has(t.kind)) await this.jitWarmup(t);
    else await this.load(`http://127.0.0.1:${t.port}/`, 'sticky', this.opts.warmup);
  }

  /**
   * A node-based proxy's JIT warm-up: `--jit-warmup` seconds of load, cookieless and sticky in
   * turns, before its first measured run. A fresh stickyd is still being optimised (functions
   * deoptimised on a new object shape and optimised again) for about 30 s of full load: the few
   * seconds of `warmup` leave that compiler work in the first measured runs, which then show a
   * cost that a long-running daemon does not have. Apache, nginx and HAProxy compile nothing.
   */
  async jitWarmup(t: Target): Promise<void> {
    if (this.opts.jitWarmup <= 0) return;
    const url = `http://127.0.0.1:${t.port}/`;
    const turn = Math.max(1, Math.min(5, Math.floor(this.opts.jitWarmup / 2)));
    log(`${t.label}: JIT warm-up, ${this.opts.jitWarmup} s of load`);
    for (let done = 0, i = 0; done < this.opts.jitWarmup; done += turn, i++) {
      await this.load(url, i % 2 === 0 ? 'cookieless' : 'sticky', Math.min(turn, this.opts.jitWarmup - done));
    }
  }

  /**
   * One paired window: `a` and `b` (both on the proxy core) loaded at the same time, each by its
   * own wrk on the load core for `--seconds`, under one CPU meter. Each side's CPU seconds over
   * the window ÷ the requests its own wrk completed is its cost at the machine speed of that
   * window, which both shared. Which wrk is started first alternates from window to window.
   */
  async pairedWindow(a: Target, b: Target, traffic: Traffic, round: number): Promise<PairedWindow> {
    const url = (t: Target) => `http://127.0.0.1:${t.port}/`;
    const first = round % 2 === 0 ? [a, b] : [b, a];
    const { result: loads, load, parts, seconds } = await this.measured(a, () => Promise.all(first.map((t) => this.load(url(t), traffic, this.opts.seconds))), [b.proc]);
    const loadOf = (t: Target) => loads[first.indexOf(t)]!;
    return {
      traffic,
      round,
      stickyd: { kind: a.kind, label: a.label, load: loadOf(a), cpuSeconds: parts[0]! * seconds },
      other: { kind: b.kind, label: b.label, load: loadOf(b), cpuSeconds: parts[1]! * seconds },
      proxyCore: load.proxyCore,
      loadCore: load.loadCore,
      otherProxyCore: load.otherProxyCore,
      otherLoadCore: load.otherLoadCore,
    };
  }

  /** Warm-up, then one measured run with the target's CPU and peak RSS alongside. */
  async throughput(t: Target, traffic: Traffic, round: number): Promise<ThroughputRow> {
    const url = `http://127.0.0.1:${t.port}/`;
    const what = `${t.label} ${traffic}`;
    const row = await this.guarded(what, async () => {
      await this.load(url, traffic, this.opts.warmup);
      return this.leastDisturbed(what, async (): Promise<ThroughputRow> => {
        const rss = new RssSampler(t.proc.pid, 1000);
        const { result: load, load: cpu } = await this.measured(t, () => this.load(url, traffic, this.opts.seconds));
        rss.stop();
        return { kind: t.kind, label: t.label, traffic, load, rss: rss.peak(), round, ...cpu };
      });
    }, (x) => problemsOf([[t, this.figures(t, traffic, x.load, x.processCpu)]]));
    if (row.invalid === undefined) {
      const key = `${t.kind} ${traffic}`;
      this.reached.set(key, [...(this.reached.get(key) ?? []), row.load.rps]);
    }
    const load = row.load;
    const which = this.opts.rounds > 1 ? `[${round + 1}/${this.opts.rounds}] ` : '';
    log(`${which}${t.label.padEnd(28)} ${traffic.padEnd(10)} ${Math.round(load.rps).toString().padStart(7)} req/s  p50 ${load.p50.toFixed(2)} ms  p99 ${load.p99.toFixed(2)} ms  CPU ${percent(row.processCpu)}  load core ${percent(row.loadCore)}  others ${percent(row.otherProxyCore)}/${percent(row.otherLoadCore)}${load.errors + load.non2xx > 0 ? `  ERRORS ${load.errors}+${load.non2xx}` : ''}${row.invalid === undefined ? '' : '  INVALID'}`);
    return row;
  }

  async latency(t: Target, rate: number): Promise<LatencyRow> {
    const url = `http://127.0.0.1:${t.port}/`;
    const what = `${t.label} at ${rate} req/s`;
    const row = await this.guarded(what, async () => {
      await this.load(url, 'sticky', 1, rate);
      return this.leastDisturbed(what, async (): Promise<LatencyRow> => {
        const { result: load, load: cpu } = await this.measured(t, () => this.load(url, 'sticky', this.opts.latencySeconds, rate));
        return { kind: t.kind, label: t.label, rate, load, ...cpu };
      });
    }, (x) => problemsOf([[t, { load: x.load, cpu: x.processCpu, rate }]]));
    const load = row.load;
    log(`${t.label.padEnd(28)} at ${Math.round(rate)} req/s: achieved ${Math.round(load.rps)}  p50 ${load.p50.toFixed(2)} ms  p99 ${load.p99.toFixed(2)} ms  CPU ${percent(row.processCpu)}  others ${percent(row.otherProxyCore)}/${percent(row.otherLoadCore)}${row.invalid === undefined ? '' : '  INVALID'}`);
    return row;
  }

  /** Start a server process and wait until it accepts connections (or report why not). */
  async ready(proc: BenchProcess, port: number, logFile: string): Promise<void> {
    let listening = false;
    const gone = proc.exited.then((code) => {
      if (!listening) throw new Error(`${proc.name} exited (${code}) before listening; its output:\n${safeRead(logFile).slice(-1500)}`);
    });
    gone.catch(() => {}); // only the race below reads it
    await Promise.race([waitForPort(port, 15_000), gone]);
    listening = true;
  }
}

/** The kernel's per-CPU softirq threads (ksoftirqd/N), by CPU number. */
let softirq: Map<number, number> | null = null;
function softirqThreads(): Map<number, number> {
  if (softirq) return softirq;
  const out = (softirq = new Map<number, number>());
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const m = /^ksoftirqd\/(\d+)$/.exec(readFileSync(`/proc/${entry}/comm`, 'utf8').trim());
      if (m) out.set(Number(m[1]), Number(entry));
    } catch {
      /* exited */
    }
  }
  return out;
}

const percent = (x: number | null) => (x === null ? '–' : `${Math.round(x * 100)}%`);

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(none)';
  }
}

async function main(): Promise<void> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.help) console.log(e.message);
      else console.error(e.message);
      process.exitCode = e.help ? 0 : 2;
      return;
    }
    throw e;
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-bench-'));
  // nginx's worker runs as nobody: it must be able to enter its prefix under this directory.
  chmodSync(dir, 0o755);
  const bench = new Bench(opts, dir);
  let failed = false;

  // Ctrl-C, SIGTERM, a failure or the overall time bound: stop every process we started, by PID.
  let cleaning: Promise<void> | null = null;
  let interrupted = false;
  const cleanup = () => (cleaning ??= bench.group.stopAll(3000));
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = true;
    log(`${sig}: stopping everything this benchmark started`);
    const exit = (): void => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    };
    cleanup().then(exit, exit);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => bench.group.killAllNow());
  // Every phase is bounded (a full run takes about 15 minutes, --quick about 4); this only catches
  // something wedged: 5 minutes (--quick) or 7 for the fixed phases, plus the throughput rounds
  // (at most 15 runs a round), plus the JIT warm-ups (four targets, then three fresh processes in
  // the worker-threads phase), plus any retries and waiting.
  const roundsS = opts.rounds * 15 * (opts.warmup + opts.seconds);
  const jitS = 7 * opts.jitWarmup;
  // The paired phase: at most 5 pairs × 2 traffics, each a common warm-up and its windows.
  const pairedS = opts.pairedRounds === 0 ? 0 : 5 * 2 * (opts.warmup + opts.pairedRounds * (opts.warmup + opts.seconds));
  // A few restarts by the window check (Bench.guarded), each a JIT warm-up and the window again.
  const restartS = 4 * (opts.jitWarmup + 2 * (opts.warmup + opts.seconds));
  const limitS = ((opts.quick ? 300 : 420) + roundsS + jitS + pairedS + restartS) * (1 + opts.retryDisturbed) + opts.waitQuiet;
  const watchdog = setTimeout(() => {
    log(`still running after ${limitS} s: giving up`);
    onSignal('SIGTERM');
  }, limitS * 1000);
  watchdog.unref();

  // This script belongs on the load CPU too: its timers and /proc reads must not steal from the proxy.
  if (bench.loadCpu !== null) spawnSync('taskset', ['-a', '-p', '-c', String(bench.loadCpu), String(process.pid)], { stdio: 'ignore' });

  try {
    const report = await run(bench);
    console.log(renderReport(report));
    if (opts.json) {
      await mkdir(path.dirname(path.resolve(opts.json)), { recursive: true });
      await writeFile(opts.json, `${JSON.stringify(report, null, 2)}\n`);
      log(`figures written to ${opts.json}`);
    }
  } catch (e) {
    if (interrupted) return; // the signal handler cleans up and exits
    failed = true;
    log(`failed: ${(e as Error).stack ?? String(e)}`);
    log(`logs and configs kept in ${dir}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
    if (!failed) rmSync(dir, { recursive: true, force: true });
  }
}

async function run(bench: Bench): Promise<BenchReport> {
  const { opts, dir, group } = bench;
  const has = { nginx: commandExists(NGINX), haproxy: commandExists(HAPROXY), apache: commandExists(APACHE) };
  if (!has.apache && opts.only.has('apache')) bench.skipped.push({ name: 'Apache httpd', why: `${APACHE} is not installed (apt-get install apache2-bin)` });
  if (!has.nginx && opts.only.has('nginx')) bench.skipped.push({ name: 'nginx', why: `${NGINX} is not installed (apt-get install nginx)` });
  if (!has.haproxy && opts.only.has('haproxy')) bench.skipped.push({ name: 'HAProxy', why: `${HAPROXY} is not installed (apt-get install haproxy)` });
  for (const s of bench.skipped) log(`skipping ${s.name}: ${s.why}`);

  let build: StickydBuild | null = null;
  if (opts.only.has('stickyd')) {
    log(opts.source ? 'running stickyd from src/ (--source)' : 'compiling stickyd (tsc -p tsconfig.build.json)');
    build = await buildStickyd(repoRoot, opts.source);
  }

  // How busy the machine is before we add anything: on a shared machine this says how far to trust
  // the run. --wait-quiet N waits up to N s for both cores to fall below the noise threshold.
  const sampleIdle = async () => {
    const idle = new CpuMeter({}, [0, 1].filter((c) => c < bench.cores));
    await new Promise((r) => setTimeout(r, 1000));
    return idle.read().cores;
  };
  let before = await sampleIdle();
  const quietBy = performance.now() + opts.waitQuiet * 1000;
  while (opts.waitQuiet > 0 && before.some((b) => b > NOISE) && performance.now() < quietBy) {
    log(`waiting for a quiet machine (CPU ${before.map(percent).join(' / ')} busy)`);
    await new Promise((r) => setTimeout(r, 4000));
    before = await sampleIdle();
  }
  const machineLoad = `before the run, other processes kept ${before.map((b, i) => `CPU ${i} ${percent(b)}`).join(' and ')} busy`;
  log(machineLoad);

  const ports = await freePorts(22);
  const take = () => ports.shift()!;

  // 1. Backends. Both candidates listen at once (the idle one costs nothing); the slower is stopped.
  const candidates: Array<{ name: string; kind: 'node' | 'nginx'; proc: BenchProcess; members: Member[]; rps: number; cpuPerRequest: number }> = [];
  {
    const members = [{ port: take(), route: 'jvm_a' }, { port: take(), route: 'jvm_b' }];
    const logFile = path.join(dir, 'node-backend.log');
    const proc = group.start('node backend', process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/lib/node-backend.ts'), ...members.map((m) => `${m.port}:${m.route}`)], { cpu: bench.loadCpu, logFile });
    await bench.ready(proc, members[1]!.port, logFile);
    candidates.push({ name: `node:http (one process, node ${process.versions.node})`, kind: 'node', proc, members, rps: 0, cpuPerRequest: 0 });
  }
  if (has.nginx) {
    const members = [{ port: take(), route: 'jvm_a' }, { port: take(), route: 'jvm_b' }];
    const prefix = path.join(dir, 'nginx-backend');
    await mkdir(prefix);
    const proc = await startNginx(group, 'nginx backend', prefix, backendConfig(prefix, members), bench.loadCpu);
    await bench.ready(proc, members[1]!.port, path.join(prefix, 'error.log'));
    candidates.push({ name: 'nginx (worker_processes 1, `return 200`)', kind: 'nginx', proc, members, rps: 0, cpuPerRequest: 0 });
  }
  bench.cookies = sessionCookies(candidates[0]!.members);
  for (const c of candidates) {
    const url = `http://127.0.0.1:${c.members[0]!.port}/`;
    await bench.load(url, 'sticky', 1);
    const meter = new CpuMeter({ backend: c.proc.pid }, []);
    c.rps = (await bench.load(url, 'sticky', opts.quick ? 2 : 3)).rps;
    c.cpuPerRequest = (meter.read().processes.backend! * 1e6) / c.rps;
    log(`backend candidate ${c.name}: ${Math.round(c.rps)} req/s direct, ${c.cpuPerRequest.toFixed(1)} µs CPU per request`);
  }
  candidates.sort((a, b) => b.rps - a.rps);
  const backend = candidates[0]!;
  for (const c of candidates.slice(1)) await group.stop(c.proc);
  bench.members = backend.members;
  bench.backendPid = backend.proc.pid;
  const backendChoice = candidates.map((c) => `${c.name}: ${Math.round(c.rps).toLocaleString('en-US')} req/s at ${c.cpuPerRequest.toFixed(1)} µs CPU/req`).join(' vs ');

  // 2. The targets.
  const targets: Target[] = [{ kind: 'direct', label: 'backend direct', port: backend.members[0]!.port, proc: backend.proc }];
  const tryStart = async (kind: TargetKind, label: string, port: number, start: () => Promise<BenchProcess>, logFile: string) => {
    try {
      const proc = await start();
      await bench.ready(proc, port, logFile);
      const wrong = await checkRouting(port, bench.members, (route) => `${bench.cookies[0]!.split('.')[0]}.${route}`, false);
      if (wrong) {
        bench.skipped.push({ name: label, why: `does not route like stickyd: ${wrong}` });
        await group.stop(proc);
        return;
      }
      targets.push({ kind, label, port, proc, start, logFile });
    } catch (e) {
      // The reason is in the last lines of its output (haproxy's ALERT comes after two NOTICEs).
      const lines = (e as Error).message.split('\n').filter((l) => l.trim() !== '');
      bench.skipped.push({ name: label, why: [lines[0], ...lines.slice(1).slice(-2)].join(' ') });
    }
  };
  const cpu = bench.proxyCpu;
  if (build) {
    const b = build;
    const p1 = take();
    await tryStart('stickyd', 'stickyd workers=1', p1, () => startStickyd(group, b, dir, 'stickyd', { port: p1, members: bench.members, accessLog: false }, cpu), path.join(dir, 'stickyd.log'));
    const p2 = take();
    await tryStart('stickyd-log', 'stickyd workers=1, access log on', p2, () => startStickyd(group, b, dir, 'stickyd-log', { port: p2, members: bench.members, accessLog: true }, cpu), path.join(dir, 'stickyd-log.log'));
    // Two worker threads (and the main thread) on the same one core as every other proxy: what
    // the shared scoreboard and a second event loop cost in req/s where no second core is given.
    const p3 = take();
    await tryStart('stickyd-w2', 'stickyd workers=2', p3, () => startStickyd(group, b, dir, 'stickyd-w2', { port: p3, members: bench.members, accessLog: false, workers: 2 }, cpu), path.join(dir, 'stickyd-w2.log'));
    // The floor: the smallest sticky proxy on node:http + undici, for what stickyd's own code costs.
    const p = take();
    const logFile = path.join(dir, 'minimal-proxy.log');
    await tryStart('node-proxy', 'minimal node proxy', p, async () => group.start('minimal node proxy', process.execPath, [
      '--import', 'tsx', path.join(repoRoot, 'bench/lib/minimal-proxy.ts'), String(p), ...bench.members.map((m) => `${m.route}=${m.port}`),
    ], { cpu, logFile, session: true }), logFile);
  }
  const apacheVersion = has.apache ? version(APACHE, ['-v']).replace(/^Server version:\s*Apache\/(\S+).*$/, 'Apache httpd $1') : null;
  if (has.apache && opts.only.has('apache')) {
    const p = take();
    const apacheDir = path.join(dir, 'apache');
    await tryStart('apache', `${apacheVersion!} (event, 1 process)`, p, () => startApache(group, apacheDir, p, bench.members, cpu), path.join(apacheDir, 'error.log'));
  }
  const nginxVersion = has.nginx ? version(NGINX, ['-v']).replace('nginx version: ', '') : null;
  const haproxyVersion = has.haproxy ? version(HAPROXY, ['-v']).replace(/^HA-?Proxy version (\S+).*$/i, 'HAProxy $1') : null;
  if (has.nginx && opts.only.has('nginx')) {
    const p = take();
    const prefix = path.join(dir, 'nginx-balancer');
    await tryStart('nginx', nginxVersion!, p, () => startNginx(group, 'nginx', prefix, balancerConfig(prefix, p, bench.members), cpu, true), path.join(prefix, 'error.log'));
  }
  if (has.haproxy && opts.only.has('haproxy')) {
    const p = take();
    await tryStart('haproxy', haproxyVersion!, p, () => startHaproxy(group, dir, p, bench.members, cpu), path.join(dir, 'haproxy.log'));
  }
  const proxies = targets.filter((t) => t.kind !== 'direct');
  for (const s of bench.skipped.filter((x) => x.name !== 'nginx' && x.name !== 'HAProxy' && x.name !== 'Apache httpd')) log(`skipping ${s.name}: ${s.why}`);

  // 3. Throughput, in rounds: every target is running, and this VM's speed drifts by up to 2×
  // over minutes, so two targets measured minutes apart compare two machine speeds. Each round
  // measures every target on both traffics; the report takes each row's median round and each
  // ratio within a round (report.ts roundRatios). Round r starts at target r mod n, so that the
  // same target is not always measured first, last, or in the same stretch of a round.
  for (const t of targets) if (JIT_TARGETS.has(t.kind)) await bench.jitWarmup(t);
  const throughputRounds: ThroughputRow[][] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const start = round % targets.length;
    const order = [...targets.slice(start), ...targets.slice(0, start)];
    if (opts.rounds > 1) log(`throughput round ${round + 1}/${opts.rounds}: ${order.map((t) => t.label).join(', ')}`);
    const rows: ThroughputRow[] = [];
    for (const t of order) {
      for (const traffic of ['cookieless', 'sticky'] as const) {
        if (t.kind === 'direct' && traffic === 'cookieless') continue; // the backend does not look at cookies
        rows.push(await bench.throughput(t, traffic, round));
      }
    }
    throughputRounds.push(rows);
  }
  // The rows in the targets' order (the first round's), each its median round.
  const throughput = medianRows(throughputRounds);
  if (opts.rounds > 1) {
    for (const t of throughput) log(`median of ${opts.rounds} rounds: ${t.label.padEnd(28)} ${t.traffic.padEnd(10)} ${Math.round(t.load.rps).toString().padStart(7)} req/s (round ${t.round + 1}; ${(t.roundsRps ?? []).map((x) => (x === null ? 'invalid' : Math.round(x))).join(' / ')})${t.invalid === undefined ? '' : ' INVALID'}`);
  }

  // 3b. Paired on one core: stickyd and each reference at the same time, drift-free ratios.
  const paired = await pairedPhase(bench, targets);

  // 4. Added latency at 70% of one stickyd worker's capacity (its sticky throughput).
  const latency: LatencyRow[] = [];
  const capacity = find(throughput, 'stickyd', 'sticky')?.load.rps ?? 0;
  if (capacity > 0) {
    const rate = Math.max(100, Math.round((0.7 * capacity) / 100) * 100);
    for (const t of targets.filter((x) => x.kind !== 'stickyd-log' && x.kind !== 'stickyd-w2')) latency.push(await bench.latency(t, rate));
  }

  // Done with the comparison: only the backend stays for the stickyd-only phases.
  for (const t of proxies) await group.stop(t.proc);

  // 5. Worker threads: stickyd with server.workers 1 and 2 at the same fixed rate, CPU summed over
  // every thread of the process, all pinned to the proxy core (the cost of the shared state).
  const workers: WorkersRow[] = [];
  const single = find(throughput, 'stickyd', 'sticky');
  if (build !== null && single !== undefined && single.load.rps > 0) {
    const rate = Math.max(100, Math.round((0.5 * single.load.rps) / 100) * 100);
    workers.push(...(await workersPhase(bench, build, rate, [take(), take(), take(), take()])));
  }
  // 5b. Scaling over cores: only where each worker can have a core of its own and the load some left.
  let scaling: ScalingRow[] | null = null;
  if (build !== null && bench.cores >= 4 && bench.proxyCpu !== null) scaling = await scalingPhase(bench, build, take());

  // 6. RSS over many requests, on a fresh stickyd with the default access log (only when stickyd
  // started at all: a daemon that cannot start was reported as skipped above).
  const stickydRuns = build !== null && targets.some((t) => t.kind === 'stickyd');
  let rss: RssPhase | null = null;
  if (stickydRuns) rss = await rssPhase(bench, build!, take());

  // 7. Profile.
  let profile: ProfileSummary | null = null;
  let allocations: AllocationSummary | null = null;
  if (stickydRuns && opts.profile) {
    profile = await profilePhase(bench, build!, take());
    allocations = await allocationPhase(bench, build!, take(), take());
  }

  return {
    env: {
      cpu: cpuModel(),
      cores: bench.cores,
      machineLoad,
      pinning: bench.proxyCpu === null ? 'no pinning (fewer than 2 cores or no taskset): figures share one core' : 'proxy under test on CPU 0; load generator, backend and this script on CPU 1 (taskset)',
      node: process.versions.node,
      generator: bench.generator.name,
      backend: backend.name,
      backendChoice,
      stickyd: build?.description ?? 'not measured (--only)',
      apache: apacheVersion,
      nginx: nginxVersion,
      haproxy: haproxyVersion,
      connections: opts.connections,
      rounds: opts.rounds,
      seconds: opts.seconds,
      warmup: opts.warmup,
      jitWarmup: opts.jitWarmup,
      latencySeconds: opts.latencySeconds,
      pairedRounds: paired.length === 0 ? 0 : opts.pairedRounds,
    },
    throughput,
    throughputRounds,
    paired,
    latency,
    workers,
    scaling,
    rss,
    profile,
    allocations,
    skipped: bench.skipped,
  };
}

/**
 * Paired on one core: stickyd workers=1 against each reference that is running (the minimal node
 * proxy, Apache httpd, nginx, HAProxy) and against itself with the access log on, every pair on
 * both traffics. The throughput rounds measure targets one after another, and this VM's speed
 * drifts by up to 2× within minutes, so their ratios move by ±20% from run to run; here both
 * sides of a ratio are measured in the same window on the same core. Per pair and traffic: a
 * warm-up of both together, then `--paired-rounds` windows (Bench.pairedWindow).
 */
async function pairedPhase(bench: Bench, targets: Target[]): Promise<PairedWindow[]> {
  const { opts } = bench;
  const stickyd = targets.find((t) => t.kind === 'stickyd');
  if (opts.pairedRounds === 0 || stickyd === undefined || !stickyd.proc.running()) return [];
  const order: TargetKind[] = ['node-proxy', 'apache', 'nginx', 'haproxy', 'stickyd-log'];
  const others = order.map((k) => targets.find((t) => t.kind === k)).filter((t): t is Target => t !== undefined && t.proc.running());
  const url = (t: Target) => `http://127.0.0.1:${t.port}/`;
  const windows: PairedWindow[] = [];
  const us = (x: number | null) => (x === null ? '–' : x.toFixed(1));
  for (const other of others) {
    for (const traffic of ['cookieless', 'sticky'] as const) {
      log(`paired on one core: ${stickyd.label} with ${other.label}, ${traffic}`);
      await Promise.all([stickyd, other].map((t) => bench.load(url(t), traffic, opts.warmup)));
      for (let round = 0; round < opts.pairedRounds; round++) {
        // Each side has about half of the core: its earlier req/s count half (Bench.figures).
        const w = await bench.guarded(`paired ${other.label} ${traffic} window ${round + 1}`, () => bench.pairedWindow(stickyd, other, traffic, round), (x) => problemsOf([
          [stickyd, bench.figures(stickyd, traffic, x.stickyd.load, pairedShare(x.stickyd), 0.5)],
          [other, bench.figures(other, traffic, x.other.load, pairedShare(x.other), 0.5)],
        ]));
        windows.push(w);
        const ratio = pairedRatio(w);
        const errors = w.stickyd.load.errors + w.stickyd.load.non2xx + w.other.load.errors + w.other.load.non2xx;
        log(`[${round + 1}/${opts.pairedRounds}] ${traffic.padEnd(10)} stickyd ${us(pairedCost(w.stickyd))} µs/req (${Math.round(w.stickyd.load.rps)} req/s)  ${other.label} ${us(pairedCost(w.other))} µs/req (${Math.round(w.other.load.rps)} req/s)  ratio ${ratio === null ? '–' : `${ratio.toFixed(2)}×`}  CPU 0 ${percent(w.proxyCore)} (shares ${percent(pairedShare(w.stickyd))}/${percent(pairedShare(w.other))})  CPU 1 ${percent(w.loadCore)}  others ${percent(w.otherProxyCore)}/${percent(w.otherLoadCore)}${errors > 0 ? `  ERRORS ${errors}` : ''}${w.invalid === undefined ? '' : '  INVALID'}`);
      }
    }
  }
  return windows;
}

/**
 * stickyd with 1 and with 2 worker threads (access log off), and as a control two separate
 * one-worker processes that take half the load each, all started at once and pinned to the proxy
 * core, then measured in turns at `rate` req/s of sticky traffic (rounds of 1, 2, control, 1, ...):
 * on a shared machine the others' load drifts, and taking turns spreads that drift over all of
 * them. Each row is its median round by CPU per request. The control has two event loops on the
 * core like two workers, but no shared state and no main thread: the difference between it and
 * one worker is what splitting the load over two loops on one core costs by itself.
 */
async function workersPhase(bench: Bench, build: StickydBuild, rate: number, ports: number[]): Promise<WorkersRow[]> {
  const { group, dir, opts } = bench;
  const start = async (name: string, port: number, workers: number): Promise<Target> => {
    const proc = await startStickyd(group, build, dir, name, { port, members: bench.members, accessLog: false, workers }, bench.proxyCpu);
    await bench.ready(proc, port, path.join(dir, `${name}.log`));
    return { kind: 'stickyd', label: name, port, proc };
  };
  const one = await start('stickyd-workers-1', ports[0]!, 1);
  const two = await start('stickyd-workers-2', ports[1]!, 2);
  const pair = [await start('stickyd-control-a', ports[2]!, 1), await start('stickyd-control-b', ports[3]!, 1)] as const;
  const url = (t: Target) => `http://127.0.0.1:${t.port}/`;
  const sum = (a: LoadResult, b: LoadResult): LoadResult => ({
    ...a,
    requests: a.requests + b.requests,
    rps: a.rps + b.rps,
    p50: Math.max(a.p50, b.p50),
    p90: Math.max(a.p90, b.p90),
    p99: Math.max(a.p99, b.p99),
    p999: Math.max(a.p999, b.p999),
    max: Math.max(a.max, b.max),
    errors: a.errors + b.errors,
    timeouts: (a.timeouts ?? 0) + (b.timeouts ?? 0),
    non2xx: a.non2xx + b.non2xx,
  });
  const configs: Array<{ workers: number; label: string; run: () => Promise<{ result: LoadResult; load: CpuFigures }> }> = [
    { workers: 1, label: '1', run: () => bench.measured(one, () => bench.load(url(one), 'sticky', opts.latencySeconds, rate)) },
    { workers: 2, label: '2', run: () => bench.measured(two, () => bench.load(url(two), 'sticky', opts.latencySeconds, rate)) },
    {
      workers: 1,
      label: '2 processes × 1 (control)',
      run: () => bench.measured(pair[0], async () => {
        const [a, b] = await Promise.all(pair.map((t) => bench.load(url(t), 'sticky', opts.latencySeconds, rate / 2)));
        return sum(a!, b!);
      }, [pair[1].proc]),
    },
  ];
  // Fresh processes: each gets the JIT warm-up first (the pair at the same time), so that no
  // configuration pays more of V8's optimising than another in the measured rounds.
  for (const t of [one, two]) await bench.jitWarmup(t);
  await Promise.all(pair.map((t) => bench.jitWarmup(t)));
  for (const t of [one, two]) await bench.load(url(t), 'sticky', opts.warmup, rate);
  await Promise.all(pair.map((t) => bench.load(url(t), 'sticky', opts.warmup, rate / 2)));
  const rounds = 3;
  const runs: WorkersRow[][] = configs.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, c] of configs.entries()) {
      const { result: load, load: cpu } = await c.run();
      const row: WorkersRow = { workers: c.workers, label: c.label, rate, load, ...cpu };
      runs[i]!.push(row);
      const cpr = row.processCpu === null || load.rps === 0 ? null : (row.processCpu * 1e6) / load.rps;
      log(`workers ${c.label.padEnd(26)} round ${round + 1}/${rounds} at ${rate} req/s: achieved ${Math.round(load.rps)}  p99 ${load.p99.toFixed(2)} ms  CPU ${percent(row.processCpu)}  ${cpr === null ? '' : `${cpr.toFixed(1)} µs/req`}  others ${percent(row.otherProxyCore)}/${percent(row.otherLoadCore)}`);
    }
  }
  for (const t of [one, two, ...pair]) await group.stop(t.proc);
  const perRequest = (r: WorkersRow) => (r.processCpu === null || r.load.rps === 0 ? Infinity : r.processCpu / r.load.rps);
  return runs.map((rs) => [...rs].sort((a, b) => perRequest(a) - perRequest(b))[Math.floor(rs.length / 2)]!);
}

/**
 * stickyd with 1, 2 and 4 workers (access log off), each as fast as it goes: the proxy pinned to
 * as many cores as it has workers, the load generator and the backend to the others (shared when
 * there are not enough). Sticky traffic; one run each after a warm-up.
 */
async function scalingPhase(bench: Bench, build: StickydBuild, port: number): Promise<ScalingRow[]> {
  const { group, dir, opts } = bench;
  const rows: ScalingRow[] = [];
  for (const workers of [1, 2, 4]) {
    const proxyCpus = Array.from({ length: workers }, (_, i) => i).join(',');
    const name = `stickyd-scaling-${workers}`;
    const proc = await startStickyd(group, build, dir, name, { port, members: bench.members, accessLog: false, workers }, null);
    spawnSync('taskset', ['-a', '-p', '-c', proxyCpus, String(proc.pid)], { stdio: 'ignore' });
    await bench.ready(proc, port, path.join(dir, `${name}.log`));
    // Threads started after the first taskset (the workers) inherit the mask; set it again anyway.
    spawnSync('taskset', ['-a', '-p', '-c', proxyCpus, String(proc.pid)], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}/`;
    await bench.load(url, 'sticky', opts.warmup);
    const load = await bench.load(url, 'sticky', opts.seconds);
    rows.push({ workers, cores: proxyCpus, load });
    log(`scaling: workers=${workers} on CPU ${proxyCpus}: ${Math.round(load.rps)} req/s  p99 ${load.p99.toFixed(2)} ms`);
    await group.stop(proc);
  }
  return rows;
}

/**
 * Drives `opts.rssRequests` sticky requests through a fresh stickyd in chunks of a few seconds,
 * sampling RSS every 2 s and at every chunk's end (with the request count so far), until the
 * count is reached or the time bound is up.
 */
async function rssPhase(bench: Bench, build: StickydBuild, port: number): Promise<RssPhase> {
  const { opts, group, dir } = bench;
  const proc = await startStickyd(group, build, dir, 'stickyd-rss', { port, members: bench.members, accessLog: true }, bench.proxyCpu);
  await bench.ready(proc, port, path.join(dir, 'stickyd-rss.log'));
  log(`RSS phase: ${opts.rssRequests.toLocaleString('en-US')} sticky requests through a fresh stickyd (at most ${opts.rssMaxSeconds} s)`);
  let done = 0;
  const sampler = new RssSampler(proc.pid, 2000, () => done);
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  let rate = 0;
  while (done < opts.rssRequests && elapsed() < opts.rssMaxSeconds - 1) {
    const left = opts.rssRequests - done;
    const chunk = Math.max(1, Math.min(opts.quick ? 2 : 5, Math.floor(opts.rssMaxSeconds - elapsed()), rate > 0 ? Math.ceil(left / rate) : 5));
    const r = await bench.load(`http://127.0.0.1:${port}/`, 'sticky', chunk);
    done += r.requests;
    rate = r.rps;
    sampler.sample();
    if (r.errors + r.non2xx > 0) log(`RSS phase: ${r.errors} socket errors, ${r.non2xx} non-2xx in a chunk`);
  }
  const samples = sampler.stop();
  log(`RSS phase: ${done.toLocaleString('en-US')} requests in ${elapsed().toFixed(0)} s; RSS now ${(rssBytes(proc.pid) / 1048576).toFixed(1)} MiB`);
  await group.stop(proc);
  return { target: opts.rssRequests, requests: done, seconds: elapsed(), samples };
}

/** A fresh stickyd with --cpu-prof under sticky load; the profile is written when it exits. */
async function profilePhase(bench: Bench, build: StickydBuild, port: number): Promise<ProfileSummary | null> {
  const { opts, group, dir } = bench;
  const profDir = path.join(dir, 'cpu-prof');
  await mkdir(profDir);
  const proc = await startStickyd(group, build, dir, 'stickyd-prof', { port, members: bench.members, accessLog: true }, bench.proxyCpu, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  await bench.ready(proc, port, path.join(dir, 'stickyd-prof.log'));
  log('profiling stickyd under sticky load (--cpu-prof)');
  await bench.load(`http://127.0.0.1:${port}/`, 'sticky', opts.warmup);
  await bench.load(`http://127.0.0.1:${port}/`, 'sticky', opts.seconds);
  await group.stop(proc, 15_000); // SIGTERM: a graceful exit writes the profile
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    log('no .cpuprofile was written');
    return null;
  }
  // Keep the profile for Chrome DevTools / speedscope: bench/results/ is git-ignored.
  const kept = path.join(repoRoot, 'bench/results', `stickyd-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  await mkdir(path.dirname(kept), { recursive: true });
  await copyFile(path.join(profDir, file), kept);
  log(`CPU profile kept in ${path.relative(process.cwd(), kept)}`);
  return summarizeProfile(kept, repoRoot);
}

/** A fresh stickyd with the inspector on 127.0.0.1: V8's sampling heap profiler under sticky load. */
async function allocationPhase(bench: Bench, build: StickydBuild, port: number, inspectPort: number): Promise<AllocationSummary | null> {
  const { opts, group, dir } = bench;
  const proc = await startStickyd(group, build, dir, 'stickyd-alloc', { port, members: bench.members, accessLog: true }, bench.proxyCpu, [`--inspect=127.0.0.1:${inspectPort}`]);
  await bench.ready(proc, port, path.join(dir, 'stickyd-alloc.log'));
  log('sampling stickyd\'s allocations under sticky load (inspector, sampling heap profiler)');
  const url = `http://127.0.0.1:${port}/`;
  await bench.load(url, 'sticky', opts.warmup);
  try {
    return await sampleAllocations(inspectPort, repoRoot, async () => (await bench.load(url, 'sticky', opts.quick ? 2 : 5)).requests);
  } catch (e) {
    log(`allocation sampling failed: ${(e as Error).message}`);
    return null;
  } finally {
    await group.stop(proc);
  }
}

await main();

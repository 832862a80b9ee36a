/**
 * What the kernel says about a process tree and a core, read from /proc: resident memory (RSS),
 * CPU time used, and how busy a CPU was. These are the figures that explain a throughput number
 * (was the proxy's core saturated, or the load generator's?).
 */
import { readFileSync } from 'node:fs';
import { processTree } from './processes.js';

/** Kernel clock ticks per second for utime/stime in /proc/PID/stat; 100 on Linux everywhere we run. */
const CLK_TCK = 100;

/** Resident set size of pid and its descendants, in bytes (VmRSS, summed). */
export function rssBytes(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      /* exited between listing and reading */
    }
  }
  return total;
}

/** CPU seconds (user + system, all threads) used so far by pid and its descendants. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      // Fields after the command name, which may contain spaces: state is field 3, utime 14, stime 15.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      /* exited */
    }
  }
  return ticks / CLK_TCK;
}

/** Busy and total jiffies of one CPU since boot (/proc/stat `cpuN` line). */
function cpuJiffies(cpu: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return { busy: 0, total: 0 };
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/** This process's own CPU seconds, and those of its children that have exited and been reaped. */
function selfAndReaped(): { self: number; reaped: number } {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14-17 (f[0] is field 3).
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, reaped: (Number(f[13]) + Number(f[14])) / CLK_TCK };
}

export interface CpuReading {
  /** Each watched process tree's CPU as a fraction of one core. */
  processes: Record<string, number>;
  /** Children that exited during the interval (the load generator's run), fraction of one core. */
  reaped: number;
  /** This script itself. */
  self: number;
  /** Busy fraction of each watched core, in the order given. */
  cores: number[];
  /** Wall-clock seconds of the interval (a process's CPU seconds: its fraction × this). */
  seconds: number;
}

/**
 * Measures, over one interval, how much CPU some process trees, this script, its reaped children
 * and each core used. What a core did beyond our own processes is other people's load: the
 * figure that says whether a run can be trusted on a shared machine.
 */
export class CpuMeter {
  private readonly t0 = performance.now();
  private readonly before: Record<string, number> = {};
  private readonly mine = selfAndReaped();
  private readonly cores: Array<{ busy: number; total: number }>;

  constructor(private readonly pids: Record<string, number>, private readonly coreIds: number[]) {
    for (const [name, pid] of Object.entries(pids)) this.before[name] = cpuSeconds(pid);
    this.cores = coreIds.map(cpuJiffies);
  }

  read(): CpuReading {
    const wall = (performance.now() - this.t0) / 1000;
    const processes: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) processes[name] = (cpuSeconds(pid) - this.before[name]!) / wall;
    const now = selfAndReaped();
    const cores = this.coreIds.map((c, i) => {
      const after = cpuJiffies(c);
      const before = this.cores[i]!;
      const total = after.total - before.total;
      return total > 0 ? (after.busy - before.busy) / total : 0;
    });
    return { processes, reaped: (now.reaped - this.mine.reaped) / wall, self: (now.self - this.mine.self) / wall, cores, seconds: wall };
  }
}

export interface RssSample {
  /** Seconds since sampling started. */
  t: number;
  bytes: number;
  /** Requests completed so far, when the caller knows it. */
  requests?: number;
}

/** Samples a process tree's RSS on a timer; keeps every sample. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private readonly t0 = performance.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pid: number, everyMs: number, private readonly requestsSoFar?: () => number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const bytes = rssBytes(this.pid);
    if (bytes === 0) return;
    const s: RssSample = { t: (performance.now() - this.t0) / 1000, bytes };
    const n = this.requestsSoFar?.();
    if (n !== undefined) s.requests = n;
    this.samples.push(s);
  }

  stop(): RssSample[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.samples;
  }

  peak(): number {
    return Math.max(0, ...this.samples.map((s) => s.bytes));
  }
}

/** Least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

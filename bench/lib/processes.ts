/**
 * Every process the proxy benchmark starts, pinned to a CPU with taskset and stopped by PID.
 *
 * The benchmark gives the proxy under test CPU 0 and everything else (load generator, backends)
 * CPU 1, so that "one core per proxy" holds for stickyd, nginx and HAProxy alike. Children such as
 * nginx's worker inherit the affinity of the master they were forked from.
 *
 * Stopping is by PID only: SIGTERM to each process we started, SIGKILL after a grace period, and
 * SIGKILL to any descendant that was seen while it ran (an nginx worker whose master was killed).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

export interface StartOptions {
  /** CPU to pin to (taskset -c); null: no pinning (a machine with one core). */
  cpu: number | null;
  /** File that receives stdout and stderr (the access log, nginx's complaints); default: discarded. */
  logFile?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Start it in a session of its own (setsid). With the kernel's autogroup scheduling (Debian's
   * default) the CPU is shared between sessions, not between threads: two proxies in sessions of
   * their own get half a core each, where in the bench's session a proxy with many threads
   * (Apache's event MPM) took 90 % of it from a one-thread one (the paired phase).
   */
  session?: boolean;
}

export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<number | string>;
  /** True until the process has exited. */
  running(): boolean;
  /** The process and every descendant alive now (nginx: master and worker). */
  tree(): number[];
}

export function commandExists(path: string): boolean {
  return spawnSync('test', ['-x', path]).status === 0;
}

/** Direct children of pid, from /proc (the kernel keeps the list per thread). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readTasks(pid)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c));
    }
  } catch {
    /* gone, or a kernel without the children file: no descendants known */
  }
  return out;
}

function readTasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** pid and all its descendants that exist now. */
export function processTree(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (all.includes(p)) continue;
    all.push(p);
    queue.push(...childrenOf(p));
  }
  return all.filter((p) => {
    try {
      readFileSync(`/proc/${p}/stat`);
      return true;
    } catch {
      return false;
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The processes of one benchmark run; `stopAll` ends them all, also when the run failed. */
export class ProcessGroup {
  private readonly procs: BenchProcess[] = [];
  /** Every descendant PID ever seen, so that orphans can be killed by PID. */
  private readonly seen = new Set<number>();
  private readonly watcher: NodeJS.Timeout;

  constructor() {
    // Remember descendants while they run: once a master is gone its workers cannot be found
    // through it any more.
    this.watcher = setInterval(() => this.remember(), 1000);
    this.watcher.unref();
  }

  start(name: string, command: string, args: string[], options: StartOptions): BenchProcess {
    const [file, argv] = options.cpu === null ? [command, args] : ['taskset', ['-c', String(options.cpu), command, ...args]];
    const fd = options.logFile ? openSync(options.logFile, 'w') : null;
    // taskset execs the command, so the PID we get is the command's own.
    const child = spawn(file, argv, {
      stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
      env: options.env ?? process.env,
      cwd: options.cwd,
      // node's `detached` is setsid() on Linux; the process is still stopped by PID (stop()).
      detached: options.session === true,
    });
    if (fd !== null) closeSync(fd);
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', (err) => {
        done = true;
        resolve(`error: ${err.message}`);
      });
    });
    const proc: BenchProcess = {
      name,
      pid: child.pid ?? -1,
      child,
      exited,
      running: () => !done,
      tree: () => (done || child.pid === undefined ? [] : processTree(child.pid)),
    };
    this.procs.push(proc);
    return proc;
  }

  private remember(): void {
    for (const p of this.procs) for (const pid of p.tree()) this.seen.add(pid);
  }

  /** SIGTERM, then SIGKILL after graceMs; then SIGKILL to descendants still around. */
  async stop(proc: BenchProcess, graceMs = 5000): Promise<void> {
    const descendants = proc.tree().filter((p) => p !== proc.pid);
    for (const d of descendants) this.seen.add(d);
    if (proc.running()) {
      try { process.kill(proc.pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
      }, graceMs);
      await proc.exited;
      clearTimeout(timer);
    }
    for (const d of descendants) if (alive(d)) try { process.kill(d, 'SIGKILL'); } catch { /* gone */ }
    this.procs.splice(this.procs.indexOf(proc), 1);
  }

  async stopAll(graceMs = 5000): Promise<void> {
    this.remember();
    await Promise.all([...this.procs].map((p) => this.stop(p, graceMs)));
    // Orphans seen earlier (their parent already gone): only PIDs we saw under our own processes.
    for (const pid of this.seen) if (alive(pid) && isOrphanOf(pid)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    clearInterval(this.watcher);
  }

  /** Synchronous last resort for process exit: SIGKILL by PID to everything still running. */
  killAllNow(): void {
    for (const p of this.procs) {
      for (const pid of p.tree()) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

/**
 * A PID we saw as a descendant is only killed when it was re-parented (its parent is init or a
 * subreaper), so that a recycled PID belonging to someone else's live process tree is left alone.
 */
function isOrphanOf(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid === 1 || ppid === process.pid;
  } catch {
    return false;
  }
}

/**
 * Start TypeScript entry points of this repository as real child processes, straight from src/
 * (node --import tsx, with the "stickyd-source" export condition so `stickyd/cluster` resolves
 * to src/ as well). Every process started here is stopped by PID in `stopAll()`, which test files
 * call from afterEach/afterAll, so tests clean up after themselves also when they fail.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { patience, PATIENCE_MS } from './patience.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first output line matching re (rejects on exit, or after timeoutMs or PATIENCE_MS, the longer). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or the signal name) once the process has ended. */
  exited: Promise<number | string>;
  /** Send a signal by PID (no-op once exited). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

const running = new Set<Proc>();

/** `node --import tsx <script> ...args`, script relative to the repository root. */
export function spawnTs(script: string, args: string[] = [], options: SpawnOptions = {}): Proc {
  return spawnNode(['--conditions=stickyd-source', '--import', 'tsx', path.resolve(repoRoot, script), ...args], options);
}

/** The stickyd CLI from source: `stickyd <args>`. */
export function spawnStickyd(args: string[], options: SpawnOptions = {}): Proc {
  return spawnTs('src/main.ts', args, options);
}

export function spawnNode(nodeArgs: string[], options: SpawnOptions = {}): Proc {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
    env: { ...process.env, ...(options.env ?? {}) },
  });
  let out = '';
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  const check = () => {
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        clearTimeout(w.timer);
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); check(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); check(); });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, sig) => {
      running.delete(proc);
      for (const w of waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`process ${child.pid} exited (${code ?? sig}) before printing ${w.re}; output:\n${out}`));
      }
      resolve(code ?? sig ?? 'unknown');
    });
  });
  const proc: Proc = {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = PATIENCE_MS) {
      timeoutMs = patience(timeoutMs);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.findIndex((w) => w.timer === timer), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; output:\n${out}`));
        }, timeoutMs);
        waiters.push({ re, resolve, reject, timer });
        check();
      });
    },
    signal(sig) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try { process.kill(child.pid, sig); } catch { /* already gone */ }
      }
    },
    async stop(graceMs = 5_000) {
      proc.signal('SIGTERM');
      const t = setTimeout(() => proc.signal('SIGKILL'), graceMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
  running.add(proc);
  return proc;
}

/** Stop every process started through this module that is still running (SIGKILL: for cleanup). */
export async function stopAll(): Promise<void> {
  const procs = [...running];
  for (const p of procs) p.signal('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}

/**
 * Scenarios that must run inside a private network namespace (multicast, wildcard binds, veth
 * "hosts"): a fixture script is started under `unshare`, does its work there and prints one line
 * `RESULT <json>`, which the test reads. Nothing it starts can reach the machine's interfaces.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { repoRoot } from './spawn.js';

/** Whether `unshare <flags>` can run `setup` here (root or user namespaces, iproute2). */
export function unshareWorks(setup: string, flags = '-rn'): boolean {
  return spawnSync('unshare', [flags, 'sh', '-c', setup]).status === 0;
}

export interface ScenarioOptions {
  /** Absolute path of the fixture script (run with node --import tsx from the repository). */
  script: string;
  /** Shell commands run inside the namespace before the script (`exec`'d after them). */
  setup?: string;
  /** unshare's flags without a setup (the script is exec'd directly), e.g. ['-rnm', '--kill-child']. */
  unshareFlags?: string[];
  env?: NodeJS.ProcessEnv;
  /** How the test's end stops a scenario still running: SIGKILL, or SIGTERM (its own clean-up) then SIGKILL after 5 s. */
  stopWith?: 'SIGKILL' | 'SIGTERM';
}

const running = new Map<ChildProcess, ScenarioOptions['stopWith']>();

/** Runs the scenario to its end and resolves with its RESULT object (rejects with its output if it printed none). */
export function runScenario(o: ScenarioOptions): Promise<Record<string, any>> {
  const node = [process.execPath, '--conditions=stickyd-source', '--import', 'tsx', o.script];
  const args = o.setup !== undefined
    ? ['-rn', 'sh', '-c', `${o.setup} && exec ${node.map((a) => `'${a}'`).join(' ')}`]
    : [...(o.unshareFlags ?? ['-rn']), ...node];
  const p = spawn('unshare', args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], ...(o.env ? { env: o.env } : {}) });
  running.set(p, o.stopWith ?? 'SIGKILL');
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    p.once('exit', (code) => {
      running.delete(p);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) reject(new Error(`scenario exited ${code} without a result:\n${out}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)));
    });
  });
}

/** For afterEach: stops every scenario still running (by PID) and waits for it to be gone. */
export async function stopScenarios(): Promise<void> {
  await Promise.all([...running].map(async ([p, signal]) => {
    running.delete(p);
    if (p.exitCode !== null || p.signalCode !== null || !p.pid) return;
    const gone = new Promise((r) => p.once('exit', r));
    process.kill(p.pid, signal ?? 'SIGKILL');
    const t = signal === 'SIGTERM' ? setTimeout(() => p.pid && process.kill(p.pid, 'SIGKILL'), 5000) : undefined;
    await gone;
    clearTimeout(t);
  }));
}

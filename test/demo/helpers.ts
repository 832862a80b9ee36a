/** Free ports for a demo, and the demo's node processes: found by the PIDs it prints, checked, removed. */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, freePorts } from '../helpers/ports.js';

export interface DemoPorts {
  proxy: number;
  admin: number;
  nodes: [number, number];
  /** The nodes replicate on clusterBase + 1 and + 2. */
  clusterBase: number;
  /** The `stickyd demo` options that use these ports. */
  args: string[];
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Ports that were free a moment ago for every part of a demo. */
export async function demoPorts(): Promise<DemoPorts> {
  const [proxy, admin, a, b] = (await freePorts(4)) as [number, number, number, number];
  let clusterBase: number;
  for (;;) {
    clusterBase = await freePort();
    const wanted = [clusterBase + 1, clusterBase + 2];
    if (clusterBase + 2 <= 65535 && !wanted.some((p) => [proxy, admin, a, b].includes(p)) && (await Promise.all(wanted.map(free))).every(Boolean)) break;
  }
  return {
    proxy,
    admin,
    nodes: [a, b],
    clusterBase,
    args: ['--port', String(proxy), '--admin-port', String(admin), '--node-ports', `${a},${b}`, '--cluster-base-port', String(clusterBase)],
  };
}

/** The node PIDs a demo printed: in its banner and when a node came back. */
export function nodePids(output: string): number[] {
  return [...output.matchAll(/^\s+node jvm_\w+\s+\S+\s+pid (\d+)$|is back: pid (\d+)/gm)].map((m) => Number(m[1] ?? m[2]));
}

/** Whether a process runs (a zombie, dead but not yet reaped, does not count). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resolves once none of the processes runs; fails after timeoutMs naming those that still do. */
export async function waitGone(pids: number[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = pids.filter(alive);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`still running after ${timeoutMs} ms: ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGKILL those of the PIDs that are still demo nodes (cleanup after a failed test). */
export async function killStragglers(pids: number[]): Promise<void> {
  for (const pid of pids) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmdline.includes('demo-backend')) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await waitGone(pids.filter(alive), 5000).catch(() => {});
}

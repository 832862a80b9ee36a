// freePort(): a reserved port is never handed out by the kernel to anyone else (bind(0), a
// client's local port), and still takes the one server the test starts on it. Checked inside a
// private network namespace whose ephemeral range is ten ports (fixtures/ports-scenario.ts), where
// a port that was merely free a moment ago would be handed out again at once (the old
// probe-and-release freePorts(4) did not even finish there: the kernel kept handing back the same
// few ports).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from './spawn.js';

const RANGE = 'echo "40000 40009" > /proc/sys/net/ipv4/ip_local_port_range';
const canUnshare = spawnSync('unshare', ['-rn', 'sh', '-c', `ip link set lo up && ${RANGE}`]).status === 0;
const hasPython = spawnSync('python3', ['-c', '']).status === 0;

function runScenario(): Promise<Record<string, any>> {
  const script = path.join(repoRoot, 'test/helpers/fixtures/ports-scenario.ts');
  const node = `exec '${process.execPath}' --conditions=stickyd-source --import tsx '${script}'`;
  const p = spawn('unshare', ['-rn', 'sh', '-c', `ip link set lo up && ${RANGE} && ${node}`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const killer = setTimeout(() => p.kill('SIGKILL'), 25_000);
  return new Promise((resolve, reject) => {
    p.once('exit', (code) => {
      clearTimeout(killer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) reject(new Error(`scenario exited ${code} without a result:\n${out}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)));
    });
  });
}

it.skipIf(!canUnshare || !hasPython)('a reserved port is handed to no bind(0) and no outgoing connection, and takes the server the test starts', async () => {
  const r = await runScenario();
  expect(r.stuck).toBeUndefined();
  const reserved = r.reserved as number[];
  expect(new Set(reserved).size).toBe(4);
  for (const p of reserved) expect(p >= 40000 && p <= 40009).toBe(true);
  expect(r.listened).toBe(true);
  expect(r.second).toBe('EADDRINUSE');
  // The kernel gave out the six other ports of the range, then had none left.
  const taken = r.taken as number[];
  expect(taken.filter((p) => reserved.includes(p))).toEqual([]);
  expect(new Set(taken).size).toBe(6);
  expect(['EADDRINUSE', 'EADDRNOTAVAIL']).toContain(r.exhausted);
  expect(r.again).toBe(true);
});

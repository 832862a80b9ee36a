/**
 * One smoke test of session replication with multicast membership — only inside a private network
 * namespace (`unshare -rn`, multicast routed to its loopback), never on the machine's interfaces.
 * Multicast membership itself is covered by test/cluster/channel/multicast.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/spawn.js';

const setup = 'ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo';
const canUnshare = spawnSync('unshare', ['-rn', 'sh', '-c', setup]).status === 0;
let child: ChildProcess | undefined;

afterEach(() => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  child = undefined;
});

it.skipIf(!canUnshare)('a session replicates between nodes that found each other by multicast (inside unshare -rn)', async () => {
  const script = path.join(repoRoot, 'test/cluster/e2e/fixtures/multicast-session.ts');
  const cmd = `${setup} && exec '${process.execPath}' --conditions=stickyd-source --import tsx '${script}'`;
  const p = spawn('unshare', ['-rn', 'sh', '-c', cmd], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  child = p;
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => p.once('exit', r));
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  expect(line, out).toBeDefined();
  const r = JSON.parse(line!.slice('RESULT '.length));
  expect(r.error).toBeUndefined();
  expect(r.withoutSecret).toMatch(/^secret is required: membership.type 'multicast'/);
  expect(r.aMembers).toEqual(['B']);
  expect(r.bTransfer).toBe('done');
  expect(r.replica).toMatchObject({ primary: false, attributes: { k: 'over multicast membership' } });
}, 120_000);

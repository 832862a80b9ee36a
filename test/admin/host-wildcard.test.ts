// The Host check on a wildcard admin address (0.0.0.0, ::), inside a private network namespace
// (fixtures/wildcard-host-scenario.ts): `stickyd healthcheck` — what the Docker HEALTHCHECK runs —
// still passes; IP literals, localhost and server.servername are served over every address of the
// machine; other names get 421.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';

const canUnshare = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && ip addr add 10.9.8.7/32 dev lo']).status === 0;
if (!canUnshare) console.warn('SKIPPED: host-wildcard.test.ts needs `unshare -rn` and `ip` (util-linux, iproute2)');

let scenario: ChildProcess | undefined;

afterEach(async () => {
  const p = scenario;
  scenario = undefined;
  if (!p || p.exitCode !== null || p.signalCode !== null || !p.pid) return;
  const gone = new Promise((r) => p.once('exit', r));
  process.kill(p.pid, 'SIGKILL');
  await gone;
});

function runScenario(): Promise<Record<string, any>> {
  const script = path.join(repoRoot, 'test/admin/fixtures/wildcard-host-scenario.ts');
  const node = `exec '${process.execPath}' --conditions=stickyd-source --import tsx '${script}'`;
  const p = spawn('unshare', ['-rn', 'sh', '-c', `ip link set lo up && ip addr add 10.9.8.7/32 dev lo && ${node}`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  scenario = p;
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    p.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) reject(new Error(`scenario exited ${code} without a result:\n${out}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)));
    });
  });
}

it.skipIf(!canUnshare)('0.0.0.0 and ::: healthcheck passes, own names and IP literals are served, foreign names get 421 (inside unshare -rn)', async () => {
  const r = await runScenario();
  expect(r.error).toBeUndefined();
  for (const [family, connects] of [['v4', ['127.0.0.1', '10.9.8.7']], ['v6', ['127.0.0.1', '10.9.8.7', '::1']]] as const) {
    const s = r[family];
    expect(s.healthcheck, family).toEqual({ code: 0, output: `healthy: http://${family === 'v4' ? '127.0.0.1' : '[::1]'}:${s.adminPort}/healthz` });
    for (const connectTo of connects) {
      for (const p of ['/healthz', '/api/balancers']) {
        const at = (host: string) => s.statuses[`${connectTo} ${host}:${s.adminPort} ${p}`];
        for (const host of ['127.0.0.1', '[::1]', '10.9.8.7', 'localhost', 'admin-box.test']) expect(at(host), `${family} via ${connectTo}: Host ${host} ${p}`).toBe(200);
        for (const host of ['evil.example', '10.9.8.7.nip.io']) expect(at(host), `${family} via ${connectTo}: Host ${host} ${p}`).toBe(421);
      }
    }
  }
}, 60_000);

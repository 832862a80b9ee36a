// The Host check on a wildcard admin address (0.0.0.0, ::), inside a private network namespace
// (fixtures/wildcard-host-scenario.ts): `stickyd healthcheck` — what the Docker HEALTHCHECK runs —
// still passes; IP literals, localhost and server.servername are served over every address of the
// machine; other names get 421.
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runScenario, stopScenarios, unshareWorks } from '../helpers/netns-scenario.js';
import { repoRoot } from '../helpers/spawn.js';

const SETUP = 'ip link set lo up && ip addr add 10.9.8.7/32 dev lo';
const canUnshare = unshareWorks(SETUP);
if (!canUnshare) console.warn('SKIPPED: host-wildcard.test.ts needs `unshare -rn` and `ip` (util-linux, iproute2)');

afterEach(stopScenarios);

it.skipIf(!canUnshare)('0.0.0.0 and ::: healthcheck passes, own names and IP literals are served, foreign names get 421 (inside unshare -rn)', async () => {
  const r = await runScenario({ script: path.join(repoRoot, 'test/admin/fixtures/wildcard-host-scenario.ts'), setup: SETUP });
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

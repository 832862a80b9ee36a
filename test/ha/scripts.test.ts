/**
 * The scripts of examples/keepalived/ on their own, without root or keepalived (the whole setup
 * runs in keepalived.slow.test.ts): check_stickyd.sh against a stickyd on 127.0.0.1, with and
 * without the environment file its balancer file needs, and notify_stickyd.sh's state file.
 * Also: `stickyd healthcheck`, which keepalived runs every 2 s, loads only its own modules.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/ports.js';
import { repoRoot, spawnNode, spawnStickyd, stopAll } from '../helpers/spawn.js';

const run = promisify(execFile);
const EXAMPLES = path.join(repoRoot, 'examples/keepalived');
const TOKEN = 'scripts-test-token-0123456789';
// The stickyd command from source, as the environment file's STICKYD would name an installed one.
const STICKYD = `${process.execPath} --conditions=stickyd-source --import tsx ${path.join(repoRoot, 'src/main.ts')}`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-keepalived-scripts-'));
});
afterEach(() => stopAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** examples/keepalived/stickyd.yaml with loopback addresses and free ports. */
function balancerFile(port: number, adminPort: number): string {
  const text = readFileSync(path.join(EXAMPLES, 'stickyd.yaml'), 'utf8')
    .replace('address: 0.0.0.0\n    port: 8051', `address: 127.0.0.1\n    port: ${port}`)
    .replace('port: 8052', `port: ${adminPort}`);
  expect(text).toContain(`port: ${port}`);
  expect(text).toContain(`port: ${adminPort}`);
  const file = path.join(dir, `stickyd-${port}.yaml`);
  writeFileSync(file, text);
  return file;
}

async function check(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(path.join(EXAMPLES, 'check_stickyd.sh'), args, { cwd: repoRoot, env: { PATH: '/usr/bin:/bin' } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('examples/keepalived/check_stickyd.sh', () => {
  it('exits 0 while the stickyd of the balancer file answers, non-zero once it is gone', async () => {
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    const file = balancerFile(port, adminPort);
    const envFile = path.join(dir, 'stickyd.env');
    writeFileSync(envFile, `# /etc/default/stickyd\nSTICKYD_ADMIN_TOKEN=${TOKEN}\nSTICKYD="${STICKYD}"\n`);
    const daemon = spawnStickyd(['-c', file], { env: { STICKYD_ADMIN_TOKEN: TOKEN } });
    await daemon.waitFor(/stickyd listening on/, 30_000);

    const up = await check([file, envFile]);
    expect(up).toMatchObject({ code: 0 });
    expect(up.out).toContain(`healthy: http://127.0.0.1:${adminPort}/healthz`);

    daemon.signal('SIGKILL');
    await daemon.exited;
    const down = await check([file, envFile]);
    expect(down.code).not.toBe(0);
    expect(down.out).toContain(`unhealthy: http://127.0.0.1:${adminPort}/healthz`);
  }, 90_000);

  it('fails without the environment file: the balancer file needs STICKYD_ADMIN_TOKEN (why the wrapper exists)', async () => {
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    const file = balancerFile(port, adminPort);
    const daemon = spawnStickyd(['-c', file], { env: { STICKYD_ADMIN_TOKEN: TOKEN } });
    await daemon.waitFor(/stickyd listening on/, 30_000);
    // Only STICKYD (the command) in the file, as if the token line were missing: the daemon is up,
    // yet the check cannot even read the balancer file.
    const envFile = path.join(dir, 'command-only.env');
    writeFileSync(envFile, `STICKYD="${STICKYD}"\n`);
    const r = await check([file, envFile]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/admin\.token: environment variable STICKYD_ADMIN_TOKEN is not set/);
  }, 90_000);
});

describe('examples/keepalived/notify_stickyd.sh', () => {
  it('writes "NAME STATE PRIORITY" to the state file keepalived\'s arguments follow', async () => {
    const state = path.join(dir, 'vrrp.state');
    await run(path.join(EXAMPLES, 'notify_stickyd.sh'), [state, 'INSTANCE', 'VI_STICKYD', 'BACKUP', '100']);
    expect(readFileSync(state, 'utf8')).toBe('VI_STICKYD BACKUP 100\n');
    await run(path.join(EXAMPLES, 'notify_stickyd.sh'), [state, 'INSTANCE', 'VI_STICKYD', 'MASTER', '100']);
    expect(readFileSync(state, 'utf8')).toBe('VI_STICKYD MASTER 100\n');
  });
});

describe('stickyd healthcheck', () => {
  it('loads the healthcheck command alone, not the daemon, the demo or their dependencies', async () => {
    const [port, adminPort] = (await freePorts(2)) as [number, number];
    const file = balancerFile(port, adminPort);
    const record = path.join(dir, 'modules.txt');
    writeFileSync(record, '');
    const p = spawnNode(['--conditions=stickyd-source', '--import', 'tsx', '--import', path.join(repoRoot, 'test/ha/fixtures/record-modules.mjs'),
      path.join(repoRoot, 'src/main.ts'), 'healthcheck', '-c', file], { env: { STICKYD_RECORD_MODULES: record, STICKYD_ADMIN_TOKEN: TOKEN } });
    expect(await p.exited).toBe(1); // nothing listens: unhealthy, but it ran
    expect(p.output()).toContain(`unhealthy: http://127.0.0.1:${adminPort}/healthz`);
    const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean).map((u) => u.replace(`file://${repoRoot}/`, ''));
    expect(loaded).toContain('src/commands/healthcheck.ts');
    const heavy = loaded.filter((u) => /^src\/(commands\/(run|demo|demo-backend|ctl|import-apache)|daemon|proxy\/|cluster\/)|node_modules\/(undici|pino|prom-client)\//.test(u));
    expect(heavy).toEqual([]);
  }, 60_000);
});

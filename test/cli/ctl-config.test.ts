// `stickyd ctl -c FILE`: the admin listener's address and token come from the balancer file that
// the daemon runs (its `admin:` section), so an operator names the file as for every other
// command; --admin/STICKYD_ADMIN and --token/STICKYD_ADMIN_TOKEN still override them. A daemon runs
// in this process on free ports; ctl runs through the real command line (main) in this process too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { loadConfig } from '../../src/config/index.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { freePorts, refusedPort } from '../helpers/ports.js';
import { memoryLogger } from '../helpers/memory-logger.js';

const TOKEN = 'ctl-config-token-0123456789';
const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-ctl-config-'));
let daemon: Daemon;
let file: string;
let adminPort: number;

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

beforeAll(async () => {
  const [port, admin, member] = (await freePorts(3)) as [number, number, number];
  adminPort = admin;
  file = write('stickyd.yaml', `listen: [{ address: 127.0.0.1, port: ${port} }]
balancers:
  c1:
    members: [{ url: "http://127.0.0.1:${member}", route: a }]
proxypass:
  - { path: /, url: balancer://c1/ }
admin: { address: 127.0.0.1, port: \${CTL_TEST_ADMIN_PORT:-${admin}}, token: \${CTL_TEST_TOKEN:-${TOKEN}} }
`);
  daemon = await startDaemon(await loadConfig(file), { logger: memoryLogger().logger, accessLogger: null });
});
afterAll(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `stickyd ctl ARGS` through the command line, in this process, with an environment of its own. */
async function ctl(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const names = ['STICKYD_CONFIG', 'STICKYD_ADMIN', 'STICKYD_ADMIN_TOKEN', 'CTL_TEST_TOKEN', 'CTL_TEST_ADMIN_PORT'];
  const savedEnv = Object.fromEntries(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  Object.assign(process.env, env);
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(String(chunk).trimEnd()), true));
  const savedCode = process.exitCode;
  process.exitCode = undefined;
  try {
    await main(['ctl', ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join('\n'), err: err.join('\n') };
  } finally {
    process.exitCode = savedCode;
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
    for (const n of names) {
      if (savedEnv[n] === undefined) delete process.env[n];
      else process.env[n] = savedEnv[n];
    }
  }
}

describe('stickyd ctl -c FILE', () => {
  it('reaches the daemon of the file, with the token of the file', async () => {
    const r = await ctl(['-c', file, 'status']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`config ${file}`);
    expect(r.out).toMatch(/^balancer:\/\/c1 {2}lbmethod byrequests/m);
  });

  it('takes the file from STICKYD_CONFIG too', async () => {
    const r = await ctl(['status'], { STICKYD_CONFIG: file });
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toContain(`config ${file}`);
  });

  it('--admin and STICKYD_ADMIN override the address, --token and STICKYD_ADMIN_TOKEN the token', async () => {
    const refused = await refusedPort();
    try {
      const viaOption = await ctl(['-c', file, '--admin', `http://127.0.0.1:${refused.port}`, 'status']);
      expect([viaOption.code, viaOption.err]).toEqual([1, `stickyd ctl: cannot reach the admin listener at http://127.0.0.1:${refused.port}: ECONNREFUSED`]);
      const viaEnv = await ctl(['-c', file, 'status'], { STICKYD_ADMIN: `http://127.0.0.1:${refused.port}` });
      expect(viaEnv.err).toBe(`stickyd ctl: cannot reach the admin listener at http://127.0.0.1:${refused.port}: ECONNREFUSED`);
    } finally {
      refused.release();
    }
    const wrong = await ctl(['-c', file, '--token', 'not-the-token-0123456789', 'status']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/^stickyd ctl: .*token/);
    const right = await ctl(['-c', file, 'status'], { STICKYD_ADMIN_TOKEN: TOKEN, CTL_TEST_TOKEN: 'x' });
    expect([right.code, right.err]).toEqual([0, '']);
  });

  it('a token the file takes from a variable this shell lacks: says so, and --token is enough then', async () => {
    const adminLine = `admin: { address: 127.0.0.1, port: ${adminPort}, token: \${CTL_TEST_UNSET_TOKEN} }`;
    const f = write('env-token.yaml', `listen: [{ port: 1 }]\n${adminLine}\nproxy: { timeout: \${ONLY_THE_DAEMON_HAS_THIS} }\n`);
    const r = await ctl(['-c', f, 'status']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `stickyd ctl: cannot take the admin listener from ${f}:\n` +
        `${f}:2:${adminLine.indexOf('${') + 1}: admin.token: environment variable CTL_TEST_UNSET_TOKEN is not set (write \${CTL_TEST_UNSET_TOKEN:-default} to give a default)\n` +
        '(give the token with --token or STICKYD_ADMIN_TOKEN)',
    );
    // Only the admin section matters: proxy.timeout's variable is the daemon's business.
    const withToken = await ctl(['-c', f, '--token', TOKEN, 'status']);
    expect([withToken.code, withToken.err]).toEqual([0, '']);
  });

  it('a file without an admin listener, or an unreadable one: one message, exit 1', async () => {
    const none = write('no-admin.yaml', 'listen: [{ port: 1 }]\n');
    expect(await ctl(['-c', none, 'reload'])).toEqual({
      code: 1,
      out: '',
      err: `stickyd ctl: ${none} has no admin: section, so its daemon runs no admin listener (add admin: { address: 127.0.0.1, port: 8052 }, or give --admin URL)`,
    });
    const missing = path.join(dir, 'missing.yaml');
    expect((await ctl(['-c', missing, 'status'])).err).toBe(`stickyd ctl: cannot take the admin listener from ${missing}:\n${missing}: cannot read the balancer file: no such file`);
  });
});

// `stickyd ctl` and `stickyd healthcheck` as real processes against an admin listener on 127.0.0.1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { assignments, renderBalancer } from '../../src/commands/ctl.js';
import { plainHealthcheckArgs } from '../../src/commands/healthcheck.js';
import { freePort, refusedPort } from '../helpers/ports.js';
import { spawnNode, spawnStickyd, stopAll } from '../helpers/spawn.js';
import { cleanup, request, sessionHandler, startBackend, startStack, type Stack } from './fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-admin-cli-'));
afterEach(async () => {
  await stopAll();
  await cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN = 'ctl-test-token-0123456789';

async function ctl(s: Stack, args: string[], env: Record<string, string> = { STICKYD_ADMIN_TOKEN: TOKEN }): Promise<{ code: number | string; out: string }> {
  const p = spawnStickyd(['ctl', '--admin', s.adminUrl, ...args], { env });
  const code = await p.exited;
  return { code, out: p.output() };
}

async function stack(): Promise<{ s: Stack; a: string; b: string }> {
  const a = await startBackend('a', sessionHandler('a'));
  const b = await startBackend('b', sessionHandler('b'));
  const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    stickysession: JSESSIONID
    growth: 1
    members:
      - { url: ${a.url}, route: a }
      - { url: ${b.url}, route: b }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
  return { s, a: a.url, b: b.url };
}

/** `stickyd ctl ...` in this process (the same CLI code, without a process start per call). */
async function ctlHere(s: Stack, args: string[], token: string | null = TOKEN): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    await main(['ctl', '--admin', s.adminUrl, ...(token === null ? [] : ['--token', token]), ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join('\n') };
  } finally {
    process.exitCode = saved;
    log.mockRestore();
    error.mockRestore();
  }
}

describe('stickyd ctl', () => {
  it('as a process: status prints a table (exit 0); a refused value prints the API message (exit 1)', async () => {
    const { s, a } = await stack();
    await request(`${s.proxyUrl}/`);
    const [status, bad] = await Promise.all([ctl(s, ['status']), ctl(s, ['set', 'c1', 'a', 'loadfactor=0'])]);
    expect(status.code).toBe(0);
    // The daemon first (this one runs in the test process, started without a file to reload).
    expect(status.out).toMatch(new RegExp(`^stickyd \\S+ \\(commit \\S+\\) on Node\\.js ${process.version.replaceAll('.', '\\.')}, pid ${process.pid}, up since \\S+\\nconfig \\S+\\n\\n`));
    expect(status.out).toMatch(/\nbalancer:\/\/c1 {2}lbmethod byrequests {2}stickysession JSESSIONID {2}nofailover Off {2}timeout 0s {2}maxattempts 1 {2}maxmembers 3 \(2 used\)\n/);
    expect(status.out).toMatch(new RegExp(`\\n {2}MEMBER +ROUTE +STATUS +FACTOR +SET +ELECTED +BUSY +LOAD +TO +FROM +HEALTH\\n {2}${a.replaceAll('.', '\\.')} +a +Init Ok +1\\.00 +0 +1 +0 `));
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('stickyd ctl: loadfactor must be a number from 1 to 100 (got 0) (field: loadfactor)');
  }, 60_000);

  it('drain, set, add and enable change the daemon; a missing token is an error', async () => {
    const { s, a } = await stack();
    const drain = await ctlHere(s, ['drain', 'c1', 'a']);
    expect(drain).toEqual({ code: 0, out: `${a} (Init Drn Ok): +N` });
    expect((await ctlHere(s, ['set', 'c1', 'b', 'loadfactor=2.5', 'lbset=1'])).out).toMatch(/loadfactor 1\.00 → 2\.50, lbset 0 → 1$/);
    expect((await ctlHere(s, ['set', 'c1', 'lbmethod=bybusyness', 'nofailover=on'])).out).toBe('balancer://c1: lbmethod byrequests → bybusyness, nofailover Off → On');
    expect((await ctlHere(s, ['add', 'c1', 'http://127.0.0.1:9', 'route=c'])).out).toBe('balancer://c1: added http://127.0.0.1:9 (disabled), route "" → "c"');
    expect((await ctlHere(s, ['set', 'c1', 'a', 'lbset=1'])).out).toBe(`${a}: lbset 0 → 1`);
    expect((await ctlHere(s, ['set', 'c1', 'a', 'lbset=1'])).out).toBe(`${a}: no change`);
    const noToken = await ctlHere(s, ['status'], null);
    expect(noToken.code).toBe(1);
    expect(noToken.out).toContain('stickyd ctl: this needs the admin token');

    const c1 = s.daemon.balancers.get('c1')!;
    expect(c1.members.map((m) => [m.route, m.status.toString(16), m.lbfactor, m.lbset])).toEqual([
      ['a', '5', 100, 1], // O + N
      ['b', '1', 250, 1],
      ['c', '21', 100, 0], // O + D
    ]);
    expect([c1.lbmethod, c1.nofailover]).toEqual(['bybusyness', true]);
    expect((await ctlHere(s, ['enable', 'c1', 'http://127.0.0.1:9'])).out).toBe('http://127.0.0.1:9 (Init Ok): -D');
    const json = JSON.parse((await ctlHere(s, ['status', 'c1', '--json'])).out) as { name: string; members: unknown[] };
    expect([json.name, json.members.length]).toEqual(['c1', 3]);
  });

  it('says so when the admin listener cannot be reached', async () => {
    const port = await freePort();
    const p = spawnStickyd(['ctl', '--admin', `http://127.0.0.1:${port}`, 'status']);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain(`stickyd ctl: cannot reach the admin listener at http://127.0.0.1:${port}: ECONNREFUSED`);
  }, 60_000);

  it('assignments turns KEY=VALUE into typed JSON', () => {
    expect(assignments(['loadfactor=2.5', 'lbset=3', 'route=x', 'status=+N-D', 'nofailover=off', 'stickysession=-', 'timeout=abc'])).toEqual({
      loadfactor: 2.5,
      lbset: 3,
      route: 'x',
      status: '+N-D',
      nofailover: false,
      stickysession: null,
      timeout: 'abc',
    });
    expect(() => assignments(['oops'])).toThrow('expected KEY=VALUE, got "oops"');
  });

  it('renderBalancer marks a read-only balancer and members without route', () => {
    const text = renderBalancer({
      name: 'c1', url: 'balancer://c1', stickysession: null, nofailover: false, timeout: 0, maxattempts: 0, maxattemptsSet: false, lbmethod: 'byrequests',
      growth: 0, maxMembers: 1, usedMembers: 1, paths: ['/'], readonly: true, overridden: [],
      members: [{ url: 'http://h', route: '', redirect: '', loadfactor: 1, lbset: 0, status: 'Init Ok ', flags: 'O', usable: true, elected: 0, busy: 0, lbstatus: 0, transferred: 2048, read: 0, retries: 0, errorTime: null, overridden: [], health: null }],
    });
    expect(text).toBe('balancer://c1  lbmethod byrequests  stickysession (none)  nofailover Off  timeout 0s  maxattempts 0  maxmembers 1 (1 used)  (read-only)\n  MEMBER    ROUTE  STATUS   FACTOR  SET  ELECTED  BUSY  LOAD  TO    FROM  HEALTH\n  http://h  -      Init Ok  1.00    0    0        0     0     2.0K  0     -');
  });
});

describe('stickyd healthcheck', () => {
  function file(name: string, text: string): string {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  }

  it('GET /healthz on the admin listener when there is one, else a TCP connect to the first listener', async () => {
    const { s } = await stack();
    const adminPort = Number(new URL(s.adminUrl).port);
    const proxyPort = Number(new URL(s.proxyUrl).port);
    const dead = (await refusedPort()).port;
    const cases = [
      [file('admin-up.yaml', `listen: [{ address: 127.0.0.1, port: ${dead} }]\nadmin: { port: ${adminPort} }\n`), 0, `healthy: http://127.0.0.1:${adminPort}/healthz`],
      [file('admin-down.yaml', `listen: [{ address: 127.0.0.1, port: ${proxyPort} }]\nadmin: { port: ${dead} }\n`), 1, `unhealthy: http://127.0.0.1:${dead}/healthz: connect ECONNREFUSED`],
      [file('listen-up.yaml', `listen: [{ address: 0.0.0.0, port: ${proxyPort} }]\n`), 0, `healthy: 127.0.0.1:${proxyPort}`],
      [file('listen-down.yaml', `listen: [{ address: 127.0.0.1, port: ${dead} }]\n`), 1, `unhealthy: 127.0.0.1:${dead}: connect ECONNREFUSED`],
      [file('broken.yaml', 'listen: nope\n'), 1, 'broken.yaml:1:9: listen'],
    ] as const;
    const runs = cases.map(([f]) => spawnStickyd(['healthcheck', '-c', f]));
    const codes = await Promise.all(runs.map((p) => p.exited));
    cases.forEach(([, code, text], i) => {
      expect(codes[i], runs[i]!.output()).toBe(code);
      expect(runs[i]!.output()).toContain(text);
    });
  }, 60_000);

  it('through the entry bin/stickyd.js uses for it, loads none of the daemon\'s dependencies', async () => {
    const { s } = await stack();
    const adminPort = Number(new URL(s.adminUrl).port);
    const f = file('light.yaml', `listen: [{ address: 127.0.0.1, port: ${Number(new URL(s.proxyUrl).port)} }]\nadmin: { port: ${adminPort} }\n`);
    const deny = { STICKYD_DENY_MODULES: 'yargs,undici,pino,prom-client' };
    const light = (args: string[]) => spawnNode(['--conditions=stickyd-source', '--import', 'tsx', '--import', './test/fixtures/deny-modules.mjs', 'src/healthcheck-main.ts', ...args], { env: deny });
    const forms = [['healthcheck', '-c', f], ['healthcheck', '--config', f], ['healthcheck', `--config=${f}`]];
    const runs = forms.map(light);
    for (const p of runs) {
      expect(await p.exited, p.output()).toBe(0);
      expect(p.output()).toBe(`healthy: http://127.0.0.1:${adminPort}/healthz\n`);
    }
    // The preload does deny: anything else goes to the full command line, which loads yargs.
    const full = light(['healthcheck', '--help']);
    expect(await full.exited).toBe(99);
    expect(full.output()).toContain('denied module loaded: yargs');
    expect(plainHealthcheckArgs(['healthcheck'])).toBeUndefined();
    expect(plainHealthcheckArgs(['healthcheck', '-c'])).toBeNull();
    expect(plainHealthcheckArgs(['run', '-c', f])).toBeNull();
  }, 60_000);
});

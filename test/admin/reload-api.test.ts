// Reloads asked for and watched: POST /api/reload (`stickyd ctl reload`) does what SIGHUP does,
// and the last reload's time, result and problems are in `ctl status`, GET /api/reload and
// /api/status and the metrics (stickyd_config_last_reload_successful and
// stickyd_config_last_reload_success_timestamp_seconds, Prometheus's own names), next to
// stickyd_build_info. The daemon runs as a real process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { eventually } from '../helpers/patience.js';
import { main } from '../../src/cli.js';
import { freePorts } from '../helpers/ports.js';
import { spawnStickyd, stopAll, type Proc } from '../helpers/spawn.js';
import { cleanup, json, request, startBackend } from './fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-reload-api-'));
afterEach(async () => {
  await stopAll();
  await cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TOKEN = 'reload-token-0123456789';

/** `stickyd ctl …` in this process: exit code and what it printed. */
async function ctl(admin: string, args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const saved = process.exitCode;
  process.exitCode = undefined;
  try {
    await main(['ctl', '--admin', admin, '--token', TOKEN, ...args]);
    return { code: Number(process.exitCode ?? 0), out: out.join('\n') };
  } finally {
    process.exitCode = saved;
    log.mockRestore();
    error.mockRestore();
  }
}

function metric(text: string, name: string): string | undefined {
  return new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
}

interface Running {
  daemon: Proc;
  file: string;
  port: number;
  admin: string;
  write(route: string, extra?: string): void;
}

async function start(adminExtra = ''): Promise<Running> {
  const backend = await startBackend('a');
  const [port, adminPort] = (await freePorts(2)) as [number, number];
  const file = path.join(mkdtempSync(path.join(dir, 'run-')), 'stickyd.yaml');
  const write = (route: string, extra = ''): void =>
    writeFileSync(file, `listen: [{ address: 127.0.0.1, port: ${port} }]
admin: { address: 127.0.0.1, port: ${adminPort}, token: ${TOKEN}${adminExtra} }
${extra}balancers:
  c1:
    members:
      - { url: "${backend.url}", route: ${route} }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
  write('a');
  const daemon = spawnStickyd(['-c', file]);
  await daemon.waitFor(/stickyd listening on/, 20_000);
  return { daemon, file, port, admin: `http://127.0.0.1:${adminPort}`, write };
}

const ISO = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/;

describe('reloads through the admin API', () => {
  it('ctl reload reloads; a refused file keeps the configuration, and status, API and metrics say so', async () => {
    const r = await start();
    const metrics = async () => (await request(`${r.admin}/metrics`, { token: TOKEN })).body;

    // After the start: the start counts as a successful load.
    let status = await ctl(r.admin, ['status']);
    expect(status.code).toBe(0);
    expect(status.out.split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(new RegExp(`^stickyd \\d+\\.\\d+\\.\\d+ \\(commit unknown\\) on Node\\.js ${process.version.replaceAll('.', '\\.')}, pid ${r.daemon.pid}, up since ${ISO.source}$`)),
      `config ${r.file}`,
      expect.stringMatching(new RegExp(`^loaded at start ${ISO.source}: successful$`)),
    ]);
    let m = await metrics();
    expect(metric(m, 'stickyd_config_last_reload_successful')).toBe('1');
    const started = Number(metric(m, 'stickyd_config_last_reload_success_timestamp_seconds'));
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(120);
    expect(m).toContain(`stickyd_build_info{version="0.1.0",revision="unknown",node="${process.version}"} 1`);

    // A refused file: exit 1 with the problems; the running configuration stays.
    r.write('a', 'log: { access: { format: "%h %Z" } }\n');
    const refused = await ctl(r.admin, ['reload']);
    expect(refused.code).toBe(1);
    expect(refused.out).toBe(`stickyd ctl: ${r.file} was not loaded; the running configuration stays:\n  ${r.file}:3:26: log.access.format: unrecognized LogFormat directive %Z (at character 4)`);
    expect((await request(`http://127.0.0.1:${r.port}/x`)).status).toBe(200);
    m = await metrics();
    expect(metric(m, 'stickyd_config_last_reload_successful')).toBe('0');
    expect(Number(metric(m, 'stickyd_config_last_reload_success_timestamp_seconds'))).toBe(started);
    const last = json<Record<string, unknown>>(await request(`${r.admin}/api/reload`, { token: TOKEN }));
    expect(last).toMatchObject({ trigger: 'api', successful: false, errors: [expect.stringContaining('unrecognized LogFormat directive %Z')], file: r.file });
    status = await ctl(r.admin, ['status']);
    expect(status.code).toBe(1);
    expect(status.out).toMatch(new RegExp(`\\nlast reload \\(admin API\\) ${ISO.source}: FAILED, running the configuration loaded ${ISO.source}\\n  ${r.file.replaceAll('.', '\\.')}:3:26: log\\.access\\.format: unrecognized`));

    // A good file: exit 0, and it is in force.
    r.write('b');
    const ok = await ctl(r.admin, ['reload']);
    expect(ok).toEqual({ code: 0, out: expect.stringMatching(new RegExp(`^reloaded ${r.file.replaceAll('.', '\\.')} at ${ISO.source}$`)) });
    const members = json<{ members: Array<{ route: string }> }>(await request(`${r.admin}/api/balancers/c1`, { token: TOKEN })).members;
    expect(members.map((x) => x.route)).toEqual(['b']);
    m = await metrics();
    expect(metric(m, 'stickyd_config_last_reload_successful')).toBe('1');
    expect(Number(metric(m, 'stickyd_config_last_reload_success_timestamp_seconds'))).toBeGreaterThan(started);

    // SIGHUP is the same reload, recorded as such.
    r.write('c');
    r.daemon.signal('SIGHUP');
    await r.daemon.waitFor(/SIGHUP: reloading/);
    // The earlier reload's "reloaded" line is in the output already: wait for the status to change.
    type Status = { reload: { trigger: string; successful: boolean }; pid: number; config: string };
    let doc!: Status;
    await eventually('the SIGHUP reload in /api/status', async () => {
      doc = json<Status>(await request(`${r.admin}/api/status`, { token: TOKEN }));
      return doc.reload.trigger === 'SIGHUP';
    });
    expect(doc).toMatchObject({ reload: { trigger: 'SIGHUP', successful: true }, pid: r.daemon.pid, config: r.file });
  }, 90_000);

  it('needs the token, and is refused on a read-only admin listener', async () => {
    const r = await start(', readonly: true');
    expect((await request(`${r.admin}/api/reload`, { method: 'POST' })).status).toBe(401);
    const refused = await request(`${r.admin}/api/reload`, { method: 'POST', token: TOKEN });
    expect(refused.status).toBe(403);
    expect(json(refused)).toEqual({ error: 'the admin listener is read-only (admin.readonly); send the daemon SIGHUP to reload' });
    expect((await request(`${r.admin}/api/reload`, { method: 'PUT', token: TOKEN })).status).toBe(405);
  }, 60_000);
});

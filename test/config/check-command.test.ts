/** `stickyd check` as a real process: exit codes and what it prints. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnStickyd, stopAll } from '../helpers/spawn.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-check-'));
});
afterEach(stopAll);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `stickyd check ...` to its end; stdout and stderr separately. */
async function check(args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = spawnStickyd(['check', ...args], { env });
  let stdout = '';
  let stderr = '';
  proc.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await proc.exited;
  return { code, stdout, stderr };
}

describe('stickyd check', () => {
  it('a valid file: one summary line on stdout, exit 0', async () => {
    const r = await check(['-c', 'config/stickyd.yaml']);
    expect(r).toEqual({ code: 0, stdout: 'config/stickyd.yaml: OK (1 balancer, 2 members, 1 proxypass rule)\n', stderr: '' });
  });

  it('an invalid file: every problem on stderr as FILE:LINE:COL: key: message, exit 1', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'listen:',
        '  - port: 8051',
        'balancers:',
        '  cluster:',
        '    members:',
        '      - url: http://127.0.0.1:8081',
        '        loadfactor: 0',
        '      - url: http://127.0.0.1:8082',
        '        lbmethd: bybusyness',
        'proxypass:',
        '  - { path: /, url: balancer://clustr }',
        '',
      ].join('\n'),
    );
    const r = await check(['--config', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        `${file}:7:21: balancers.cluster.members[0].loadfactor: must be between 1 and 100 (got 0)`,
        `${file}:9:9: balancers.cluster.members[1].lbmethd: unknown key "lbmethd" (known keys: url, route, redirect, loadfactor, lbset, status, retry, timeout, connectiontimeout, max, ttl, disablereuse, acquire, keepalive, ping, secret, hcmethod, hcuri, hcinterval, hcpasses, hcfails, hcexpr)`,
        `${file}:11:21: proxypass[0].url: unknown balancer "clustr" — did you mean "cluster"?`,
        '',
      ].join('\n'),
    );
  });

  it('takes the file from STICKYD_CONFIG; a missing file is an error, not a crash', async () => {
    const file = path.join(dir, 'demo.yaml');
    await writeFile(file, 'listen:\n  - { address: 127.0.0.1, port: 8080 }\nproxypass:\n  - { path: /legacy, url: "http://127.0.0.1:8081/x" }\n');
    expect(await check([], { STICKYD_CONFIG: file })).toEqual({ code: 0, stdout: `${file}: OK (1 balancer, 1 member, 1 proxypass rule)\n`, stderr: '' });
    const missing = path.join(dir, 'missing.yaml');
    expect(await check([], { STICKYD_CONFIG: missing })).toEqual({ code: 1, stdout: '', stderr: `${missing}: cannot read the balancer file: no such file\n` });
  });
});

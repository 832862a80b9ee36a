// examples/systemd/stickyd.service: systemd-analyze verify accepts it, its hardening and reload
// settings are there, and the readiness protocol it relies on (Type=notify through
// systemd-notify) works: READY=1 arrives once the listeners accept connections, with this
// process as MAINPID, and STOPPING=1 when the daemon stops. systemd itself is not running here,
// so a small receiver plays $NOTIFY_SOCKET (python3: node cannot bind a unix datagram socket).
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { repoRoot, spawnStickyd, stopAll } from '../helpers/spawn.js';
import { cleanup, startBackend } from '../proxy/helpers.js';

const UNIT = path.join(repoRoot, 'examples/systemd/stickyd.service');
const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
  await cleanup();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'stickyd-systemd-'));
  dirs.push(d);
  return d;
}

const analyze = spawnSync('systemd-analyze', ['--version']).status === 0;
if (!analyze) console.warn('\n!!! systemd-analyze is not installed: examples/systemd/stickyd.service is not verified\n');

describe('examples/systemd/stickyd.service', () => {
  it.skipIf(!analyze)('passes systemd-analyze verify', async () => {
    // verify insists that ExecStart's program exists: point it at a stand-in.
    const dir = await tempDir();
    const program = path.join(dir, 'stickyd');
    await writeFile(program, '#!/bin/sh\n');
    await chmod(program, 0o755);
    const unit = path.join(dir, 'stickyd.service');
    await writeFile(unit, (await readFile(UNIT, 'utf8')).replaceAll('/usr/local/bin/stickyd', program));
    // --man=no: the manual page (docs/stickyd.1) is not installed on the test machine.
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('reloads with SIGHUP, waits for readiness, and is hardened', async () => {
    const settings = new Map<string, string[]>();
    for (const line of (await readFile(UNIT, 'utf8')).split('\n')) {
      const m = /^(\w+)=(.*)$/.exec(line);
      if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
    }
    const one = (k: string) => settings.get(k)?.join(' ');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect([one('Type'), one('NotifyAccess')]).toEqual(['notify', 'all']);
    expect([one('CapabilityBoundingSet'), one('AmbientCapabilities')]).toEqual(['CAP_NET_BIND_SERVICE', 'CAP_NET_BIND_SERVICE']);
    for (const [k, v] of [['NoNewPrivileges', 'yes'], ['ProtectSystem', 'strict'], ['ProtectHome', 'yes'], ['PrivateTmp', 'yes'], ['PrivateDevices', 'yes'], ['RestrictSUIDSGID', 'yes']]) {
      expect(one(k!), k).toBe(v);
    }
    // The only writable places: the pid file's and the log files' directories.
    expect([one('RuntimeDirectory'), one('LogsDirectory')]).toEqual(['stickyd', 'stickyd']);
  });
});

/** A $NOTIFY_SOCKET stand-in: prints each datagram as a JSON line, and honours BARRIER=1 by closing the fd it carries. */
async function notifyReceiver(dir: string): Promise<{ socket: string; messages: string[]; next(re: RegExp): Promise<string>; close(): void }> {
  const socket = path.join(dir, 'notify');
  const script = [
    'import socket, sys, os, array, json',
    `s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(${JSON.stringify(socket)})`,
    'print("bound", flush=True)',
    'while True:',
    '    data, anc, flags, addr = s.recvmsg(65536, 1024)',
    '    for lvl, typ, d in anc:',
    '        if typ == socket.SCM_RIGHTS:',
    '            fds = array.array("i"); fds.frombytes(d[:len(d) - len(d) % 4])',
    '            for fd in fds: os.close(fd)',
    '    print(json.dumps(data.decode()), flush=True)',
  ].join('\n');
  const py = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let buffered = '';
  const waiters: Array<() => void> = [];
  py.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const l of lines) if (l !== 'bound') messages.push(JSON.parse(l) as string);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    py.once('error', reject);
    py.stdout!.once('data', () => resolve());
  });
  return {
    socket,
    messages,
    async next(re) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const hit = messages.find((m) => re.test(m));
        if (hit !== undefined) return hit;
        if (Date.now() > deadline) throw new Error(`no notification matching ${re}; got ${JSON.stringify(messages)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
    close: () => py.kill('SIGKILL'),
  };
}

const notifyTool = spawnSync('systemd-notify', ['--version']).status === 0;

describe('readiness notification (Type=notify)', () => {
  it.skipIf(!notifyTool)('READY=1 once the listeners accept, with this process as MAINPID; STOPPING=1 on SIGTERM', async () => {
    const dir = await tempDir();
    const receiver = await notifyReceiver(dir);
    try {
      const backend = await startBackend('a');
      const port = await freePort();
      const file = path.join(dir, 'stickyd.yaml');
      await writeFile(file, `listen: [{ address: 127.0.0.1, port: ${port} }]\nbalancers:\n  c1:\n    members: [{ url: "${backend.url}" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
      const p = spawnStickyd(['-c', file], { env: { NOTIFY_SOCKET: receiver.socket } });
      const ready = await receiver.next(/READY=1/);
      // Ready means listening: a connection is accepted at once.
      await new Promise<void>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      });
      const fields = (message: string) => message.split('\n').sort();
      expect(fields(ready)).toEqual([`MAINPID=${p.pid}`, 'READY=1', `STATUS=listening on http://127.0.0.1:${port}`]);
      expect(await p.stop()).toBe(0);
      expect(fields(await receiver.next(/STOPPING=1/))).toEqual([`MAINPID=${p.pid}`, 'STOPPING=1']);
    } finally {
      receiver.close();
    }
  }, 60_000);
});

// The daemon as a real process (`stickyd -c FILE`): refusing a bad file, SIGHUP reloads (good and
// bad files), SIGTERM with a request in flight.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { repoRoot, spawnNode, spawnStickyd, stopAll } from '../helpers/spawn.js';
import { cleanup, echoed, request, sleep, startBackend } from '../proxy/helpers.js';
import { agentOnWorker, cleanupWorkers } from '../workers/helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
  await cleanupWorkers();
  await cleanup();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-daemon-'));
  dirs.push(dir);
  const file = path.join(dir, 'stickyd.yaml');
  await writeFile(file, text);
  return file;
}

function yaml(port: number, members: string, extra = '', workers = 1): string {
  return `listen: [{ address: 127.0.0.1, port: ${port} }]\nserver: { servername: proxy.test, gracefultimeout: 5s, workers: ${workers} }\nlog: { level: info, access: true }\n` +
    `balancers:\n  c1:\n    failonstatus: [500]\n${extra}    members:\n${members}\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`;
}

/** Two requests on one client connection, with `between()` run in the pause. */
function twoOnOneConnection(port: number, between: () => Promise<void>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    const bodies: string[] = [];
    s.on('error', reject);
    const onData = async (d: Buffer): Promise<void> => {
      buf += d.toString();
      const m = /\r\n\r\n/.exec(buf);
      if (!m) return;
      const len = Number(/content-length: (\d+)/i.exec(buf.slice(0, m.index))?.[1] ?? 0);
      if (buf.length < m.index + 4 + len) return;
      bodies.push(buf.slice(m.index + 4, m.index + 4 + len));
      buf = buf.slice(m.index + 4 + len);
      if (bodies.length === 1) {
        await between();
        s.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\n');
      } else {
        s.end();
        resolve(bodies);
      }
    };
    s.on('data', (d: Buffer) => {
      onData(d).catch(reject);
    });
    s.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

describe('stickyd -c FILE', () => {
  it('never starts on a bad file: prints every problem with its position and exits 1', async () => {
    const port = await freePort();
    const file = await configFile(`listen: [{ address: 127.0.0.1, port: ${port} }]\nbalancers:\n  c1:\n    members:\n      - { url: http://127.0.0.1:1, loadfactor: 0 }\n      - { url: ftp://x }\n`);
    // `stickyd -c FILE` and `stickyd run -c FILE` are the same command.
    for (const args of [['-c', file], ['run', '-c', file]]) {
      const p = spawnStickyd(args);
      expect(await p.exited).toBe(1);
      expect(p.output()).toContain(`${file}:5:`);
      expect(p.output()).toContain(`${file}:6:`);
      expect(p.output()).not.toContain('listening');
    }
  });

  it.each([1, 2])('SIGHUP with a valid file keeps member error state and open connections (workers: %i)', { timeout: 90_000 }, async (workers) => {
    const bad = await startBackend('bad', (_r, res) => {
      res.statusCode = 500;
      res.end('bad');
    });
    const good = await startBackend('good');
    const port = await freePort();
    const members = `      - { url: ${bad.url} }\n      - { url: ${good.url} }`;
    const file = await configFile(yaml(port, members, '', workers));
    const p = spawnStickyd(['-c', file]);
    // Worker threads load src/ through tsx: on a loaded machine that takes a while.
    await p.waitFor(new RegExp(`stickyd listening on http://127\\.0\\.0\\.1:${port}`), 60_000);
    expect((await request(`http://127.0.0.1:${port}/`)).status).toBe(500); // bad goes into error

    // With two workers the connection below may be served by either: the error state is shared.
    const bodies = await twoOnOneConnection(port, async () => {
      await writeFile(file, yaml(port, members, '    lbmethod: byrequests\n', workers));
      p.signal('SIGHUP');
      await p.waitFor(/"msg":"reloaded /);
    });
    expect(bodies.map((b) => JSON.parse(b).backend)).toEqual(['good', 'good']);
    for (let i = 0; i < 3; i++) expect(echoed(await request(`http://127.0.0.1:${port}/`)).backend).toBe('good');
    // The member in error stayed in error across the reload: it never got another request.
    expect(bad.received).toHaveLength(1);
  });

  it('a SIGHUP while it is still starting neither ends it nor is lost: it reloads once it runs (workers: 2)', { timeout: 90_000 }, async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = await configFile(yaml(port, `      - { url: ${a.url} }`, '', 2));
    // The built launcher, as installed: it takes SIGHUP over before it loads anything else.
    const p = spawnNode([path.join(repoRoot, 'bin/stickyd.js'), '-c', file]);
    let listening = false;
    p.waitFor(/stickyd listening on/, 60_000).then(() => (listening = true), () => {});
    // Before node runs any of our code a SIGHUP ends it, as it would any program: start once the
    // process catches SIGHUP (its SigCgt mask, bit 0), then signal until it listens — while it
    // loads, reads its file and starts its workers (systemd's ExecReload does not wait for READY=1).
    await waitUntil(() => catchesSighup(p.pid), 20_000);
    let sent = 0;
    while (!listening) {
      p.signal('SIGHUP');
      sent++;
      const code = await Promise.race([p.exited, sleep(10).then(() => null)]);
      expect(code, `stickyd ended on a SIGHUP while starting:\n${p.output()}`).toBeNull();
    }
    // Loading the modules, reading the file and starting two workers take far longer than a few
    // 10 ms rounds: SIGHUP was taken over at the start, not just before "listening".
    expect(sent).toBeGreaterThanOrEqual(5);
    // The signals that came once the file was read are not lost: a reload follows.
    await p.waitFor(/"msg":"reloaded /, 30_000);
    expect(echoed(await request(`http://127.0.0.1:${port}/x`)).backend).toBe('a');
    p.signal('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('SIGHUP with a bad file logs the problems at error level and keeps serving the old configuration', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = await configFile(yaml(port, `      - { url: ${a.url} }`));
    const p = spawnStickyd(['-c', file]);
    await p.waitFor(/stickyd listening on/);
    await writeFile(file, 'listen: [{ address: 127.0.0.1, port: nope }]\n');
    p.signal('SIGHUP');
    const line = await p.waitFor(/"level":50/);
    expect(line).toContain(`${file}:1:`);
    expect(echoed(await request(`http://127.0.0.1:${port}/still`)).backend).toBe('a');
  });

  it('SIGTERM: a request in flight completes, new connections are refused, exit code 0', async () => {
    const slow = await startBackend('slow', (_r, res) => setTimeout(() => res.end('finished'), 700));
    const port = await freePort();
    const file = await configFile(yaml(port, `      - { url: ${slow.url} }`));
    const p = spawnStickyd(['-c', file]);
    await p.waitFor(/stickyd listening on/);
    const inFlight = request(`http://127.0.0.1:${port}/slow`);
    while (slow.received.length === 0) await sleep(10);
    p.signal('SIGTERM');
    await p.waitFor(/SIGTERM: stopping/);
    // Refused, or reset when it raced into the accept queue as the listening socket closed.
    const late = await request(`http://127.0.0.1:${port}/late`).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code);
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(late);
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('finished');
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('"url":"/slow"');
  });

  it('SIGTERM with two workers: every worker finishes its request in flight, then the process exits 0', { timeout: 90_000 }, async () => {
    const slow = await startBackend('slow', (req, res) => setTimeout(() => res.end(`finished ${req.url}`), req.url!.startsWith('/slow') ? 700 : 0));
    const port = await freePort();
    const file = await configFile(yaml(port, `      - { url: ${slow.url} }`, '', 2));
    const p = spawnStickyd(['-c', file]);
    await p.waitFor(/stickyd listening on/, 60_000);
    const workerOf = async (url: string): Promise<number> => {
      const line = await p.waitFor(new RegExp(`"url":"${url}"`));
      return (JSON.parse(line) as { worker: number }).worker;
    };
    const base = `http://127.0.0.1:${port}`;
    const agents = [await agentOnWorker(base, 1, workerOf), await agentOnWorker(base, 2, workerOf)];
    const inFlight = agents.map((agent, i) => request(`${base}/slow-${i + 1}`, { agent }));
    while (slow.received.filter((r) => r.url.startsWith('/slow')).length < 2) await sleep(10);
    p.signal('SIGTERM');
    await p.waitFor(/SIGTERM: stopping/);
    const late = await request(`${base}/late`).then(() => 'answered', (e: NodeJS.ErrnoException) => e.code);
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(late);
    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => [r.status, r.body])).toEqual([[200, 'finished /slow-1'], [200, 'finished /slow-2']]);
    expect(await p.exited).toBe(0);
    expect([await workerOf('/slow-1'), await workerOf('/slow-2')]).toEqual([1, 2]);
  });
});

/** The process has a handler for SIGHUP (bit 0 of SigCgt in /proc/PID/status). */
function catchesSighup(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n;
  } catch {
    return false;
  }
}

async function waitUntil(ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`still not true after ${timeoutMs} ms`);
    await sleep(5);
  }
}

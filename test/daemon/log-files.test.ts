// log.access.file and log.error.file with the daemon as a real process: lines appended to files
// (created 0640), reopened on SIGUSR1 after logrotate renamed them — with traffic flowing, every
// request's line is whole and in exactly one of the files — and switched by a reload.
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { spawnStickyd, stopAll, type Proc } from '../helpers/spawn.js';
import { cleanup, request, sleep, startBackend } from '../proxy/helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
  await cleanup();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-logs-'));
  dirs.push(dir);
  return dir;
}

async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

interface Started {
  proc: Proc;
  port: number;
  dir: string;
  file: string;
}

async function start(log: string, dir?: string): Promise<Started> {
  const d = dir ?? (await tempDir());
  const backend = await startBackend('a');
  const port = await freePort();
  const file = path.join(d, 'stickyd.yaml');
  await writeFile(file, `listen: [{ address: 127.0.0.1, port: ${port} }]\nserver: { servername: proxy.test }\n${log}\n` +
    `balancers:\n  c1:\n    members: [{ url: "${backend.url}", route: r1 }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
  const proc = spawnStickyd(['-c', file]);
  // Wait for "stickyd listening on", which comes once the signal handlers are in place (the port
  // answers a little earlier: a signal sent then could kill the process). With the error log in a
  // file, the line is there rather than on stdout.
  const errorFile = /error: \{ file: ([^ }]+) \}/.exec(log)?.[1];
  const listening = errorFile === undefined
    ? proc.waitFor(/stickyd listening on/, 30_000)
    : lineIn(path.resolve(d, errorFile), /stickyd listening on/, 30_000);
  await Promise.race([listening, proc.exited.then((code) => Promise.reject(new Error(`stickyd exited (${code}):\n${proc.output()}`)))]);
  return { proc, port, dir: d, file };
}

/** Wait until a line of `file` matches `re`. */
async function lineIn(file: string, re: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await readLines(file)).some((l) => re.test(l))) {
    if (Date.now() > deadline) throw new Error(`no line matching ${re} in ${file} after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Wait until `file` has at least n lines. */
async function lines(file: string, n: number, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await readLines(file);
    if (l.length >= n || Date.now() > deadline) return l;
    await sleep(20);
  }
}

describe('log files', () => {
  it('appends access lines and the daemon\'s messages to their files, creating them with mode 0640', async () => {
    const dir = await tempDir();
    // An existing access log is appended to, not truncated.
    await writeFile(path.join(dir, 'access.log'), 'an older line\n');
    const s = await start('log:\n  access: { format: combined, file: access.log }\n  error: { file: logs-error.log }', dir);
    await request(`http://127.0.0.1:${s.port}/page?x=1`, { headers: { 'User-Agent': 'probe/1', Referer: 'http://ref.test/' } });
    const access = await lines(path.join(dir, 'access.log'), 2);
    expect(access[0]).toBe('an older line');
    expect(access[1]).toMatch(/^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET \/page\?x=1 HTTP\/1\.1" 200 \d+ "http:\/\/ref\.test\/" "probe\/1"$/);
    const errors = await lines(path.join(dir, 'logs-error.log'), 1);
    // A file is not a terminal: JSON lines.
    expect(JSON.parse(errors.find((l) => l.includes('listening'))!)).toMatchObject({ level: 30, msg: expect.stringMatching(/^stickyd listening on http:\/\/127\.0\.0\.1:\d+$/) });
    // Nothing went to stdout.
    expect(s.proc.output()).toBe('');
    const umask = process.umask();
    expect((await stat(path.join(dir, 'logs-error.log'))).mode & 0o777).toBe(0o640 & ~umask);
    expect(await s.proc.stop()).toBe(0);
  });

  it('SIGUSR1 after logrotate renamed the file: with traffic flowing, every request\'s line is whole and in exactly one file', async () => {
    const s = await start('log:\n  access: { format: json, file: access.log }\n  error: { file: error.log }');
    const log = path.join(s.dir, 'access.log');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const answered: string[] = [];
    let sent = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const id = `r${sent++}`;
        const r = await request(`http://127.0.0.1:${s.port}/req?id=${id}&pad=${encodeURIComponent('é'.repeat(50))}`, { agent });
        if (r.status === 200) answered.push(id);
      }
    };
    const traffic = Promise.all(Array.from({ length: 8 }, worker));
    const until = async (n: number): Promise<void> => {
      while (answered.length < n) await sleep(5);
    };
    await until(200);
    await rename(log, `${log}.1`);
    s.proc.signal('SIGUSR1');
    await until(400);
    await rename(log, `${log}.2`);
    s.proc.signal('SIGUSR1');
    await until(600);
    stop = true;
    await traffic;
    agent.destroy();
    expect(await s.proc.stop()).toBe(0);

    const files = [`${log}.1`, `${log}.2`, log];
    const perFile = await Promise.all(files.map(readLines));
    // Each reopen took effect: every file got lines.
    expect(perFile.map((l) => l.length > 0)).toEqual([true, true, true]);
    const seen = new Map<string, number>();
    for (const l of perFile.flat()) {
      const rec = JSON.parse(l) as { url: string; status: number };
      const id = /id=(r\d+)/.exec(rec.url)![1]!;
      expect(decodeURIComponent(rec.url)).toContain('é'.repeat(50));
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    for (const id of answered) expect(seen.get(id), id).toBe(1);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    const messages = (await readLines(path.join(s.dir, 'error.log'))).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages.filter((m) => m.startsWith('SIGUSR1: reopened the log files'))).toHaveLength(2);
  }, 60_000);

  it('a file that cannot be reopened is reported, and lines keep going to the file that was open', async () => {
    const dir = await tempDir();
    const logs = path.join(dir, 'logs');
    await import('node:fs/promises').then((fs) => fs.mkdir(logs));
    const s = await start(`log:\n  access: { file: ${path.join(logs, 'access.log')} }`, dir);
    await request(`http://127.0.0.1:${s.port}/one`);
    await rename(logs, path.join(dir, 'moved'));
    s.proc.signal('SIGUSR1');
    await s.proc.waitFor(/SIGUSR1: cannot open the log file .*access\.log: its directory does not exist; writing on to the file that was open/);
    await request(`http://127.0.0.1:${s.port}/two`);
    const moved = await lines(path.join(dir, 'moved', 'access.log'), 2);
    expect(moved.map((l) => (JSON.parse(l) as { url: string }).url)).toEqual(['/one', '/two']);
    expect(await s.proc.stop()).toBe(0);
  });

  it('a reload that names another access log file writes the next lines there', async () => {
    const s = await start('log:\n  access: { file: first.log }');
    await request(`http://127.0.0.1:${s.port}/before`);
    const text = await readFile(s.file, 'utf8');
    await writeFile(s.file, text.replace('first.log', 'second.log').replace('access: {', 'access: { format: "%r %>s",'));
    s.proc.signal('SIGHUP');
    await s.proc.waitFor(/reloaded /);
    await request(`http://127.0.0.1:${s.port}/after`);
    expect(await lines(path.join(s.dir, 'second.log'), 1)).toEqual(['GET /after HTTP/1.1 200']);
    expect((await readLines(path.join(s.dir, 'first.log'))).map((l) => (JSON.parse(l) as { url: string }).url)).toEqual(['/before']);
    expect(await s.proc.stop()).toBe(0);
  });
});

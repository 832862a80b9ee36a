// How the daemon starts, as a real process: a start-up failure is one plain sentence on stderr
// and exit code 1 (never a stack trace); the pid file; the daemon's own messages readable on a
// terminal and JSON elsewhere, either forced by STICKYD_LOG_FORMAT or log.error.format.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { repoRoot, spawnNode, spawnStickyd, stopAll } from '../helpers/spawn.js';
import { cleanup, request, startBackend } from '../proxy/helpers.js';

const dirs: string[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  await stopAll();
  await cleanup();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A balancer file in a directory of its own (readable by everyone: some cases run as nobody); one worker thread: these cases are about the process, not its workers. */
async function configFile(port: number, extra = '', mode = 0o644, server = ''): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-start-'));
  dirs.push(dir);
  await chmod(dir, 0o755);
  const backend = await startBackend('a');
  const file = path.join(dir, 'stickyd.yaml');
  await writeFile(file, `listen: [{ address: 127.0.0.1, port: ${port} }]\nserver: { servername: proxy.test, workers: 1${server} }\n${extra}` +
    `balancers:\n  c1:\n    members: [{ url: "${backend.url}" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`, { mode });
  await chmod(file, mode);
  return file;
}

/** Run the CLI to its end: exit code, stdout and stderr apart. */
async function run(args: string[], options: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = spawnStickyd(args, { ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }), env: options.env ?? {} });
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await p.exited;
  return { code, stdout, stderr };
}

/** Not root: binding a low port and reading a root-only file must fail. As root, run as nobody. */
const unprivileged = process.getuid?.() === 0 ? 65534 : undefined;

/**
 * Whether nobody can run the checkout: every directory above it searchable by others (a root
 * checkout under /root or in a mktemp -d directory is not). Where it cannot, the cases that run as
 * nobody are skipped, loudly; .ci/run makes its checkout readable so they always run there.
 */
function othersCanRun(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (path.dirname(d) === d) return true;
  }
}
const runsAsNobody = unprivileged === undefined || othersCanRun(repoRoot);
if (!runsAsNobody) console.warn(`\n!!! ${repoRoot} is not searchable by others: the start-up cases that run as nobody are SKIPPED\n`);

describe('a failed start is one sentence on stderr and exit code 1', () => {
  it('port in use', async () => {
    const port = await freePort();
    const taken = net.createServer();
    servers.push(taken);
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    const r = await run(['-c', await configFile(port)]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `stickyd: cannot listen on 127.0.0.1:${port}: the address is already in use (is another stickyd or server running there?)\n` });
  });

  it.runIf(runsAsNobody)('a port below 1024 without the privilege', async () => {
    // Never bound: the kernel refuses before anything listens there.
    const r = await run(['-c', await configFile(1023)], { uid: unprivileged });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'stickyd: cannot listen on 127.0.0.1:1023: permission denied (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability)\n' });
  });

  it.runIf(runsAsNobody)('a balancer file that cannot be read, or is missing', async () => {
    const file = await configFile(await freePort(), '', 0o600);
    expect(await run(['-c', file], { uid: unprivileged })).toEqual({ code: 1, stdout: '', stderr: `${file}: cannot read the balancer file: permission denied\n` });
    expect(await run(['-c', '/nonexistent/stickyd.yaml'])).toEqual({ code: 1, stdout: '', stderr: '/nonexistent/stickyd.yaml: cannot read the balancer file: no such file\n' });
  });

  it('a bad balancer file: every problem with its line, nothing else', async () => {
    const file = await configFile(await freePort(), 'log: { level: loud, access: { format: "%h %Z" } }\n');
    const r = await run(['-c', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${file}:3:15: log.level: must be one of trace, debug, info, warn, error, fatal, silent (got "loud")\n` +
      `${file}:3:39: log.access.format: unrecognized LogFormat directive %Z (at character 4)\n`,
    );
  });

  it('a log file that cannot be opened', async () => {
    const r = await run(['-c', await configFile(await freePort(), 'log: { access: { file: /nonexistent/dir/access.log } }\n')]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'stickyd: cannot open the log file /nonexistent/dir/access.log: its directory does not exist\n' });
  });

  it('a wrong STICKYD_LOG_FORMAT', async () => {
    const r = await run(['-c', await configFile(await freePort())], { env: { STICKYD_LOG_FORMAT: 'fancy' } });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'stickyd: STICKYD_LOG_FORMAT must be auto, pretty or json (got "fancy")\n' });
  });
});

describe('server.pidfile', () => {
  it('is written at start and removed at exit', async () => {
    const file = await configFile(await freePort(), '', 0o644, ', pidfile: run/stickyd.pid');
    const dir = path.dirname(file);
    await mkdir(path.join(dir, 'run'));
    const pidfile = path.join(dir, 'run', 'stickyd.pid');
    const p = spawnStickyd(['-c', file]);
    await p.waitFor(/stickyd listening on/);
    expect(await readFile(pidfile, 'utf8')).toBe(`${p.pid}\n`);
    expect(await p.stop()).toBe(0);
    await expect(stat(pidfile)).rejects.toThrow(/ENOENT/);
  });

  it('naming a running process refuses the start; a stale one is taken over', async () => {
    const file = await configFile(await freePort(), '', 0o644, ', pidfile: stickyd.pid');
    const pidfile = path.join(path.dirname(file), 'stickyd.pid');
    // This test process is alive.
    await writeFile(pidfile, `${process.pid}\n`);
    const refused = await run(['-c', file]);
    expect(refused).toEqual({ code: 1, stdout: '', stderr: `stickyd: the pid file ${pidfile} names process ${process.pid}, which is running: is stickyd already running? (remove the file if that process is not stickyd)\n` });
    expect(await readFile(pidfile, 'utf8')).toBe(`${process.pid}\n`);
    // A process that has ended.
    const gone = spawnNode(['-e', '0']);
    await gone.exited;
    await writeFile(pidfile, `${gone.pid}\n`);
    const p = spawnStickyd(['-c', file]);
    await p.waitFor(/stickyd listening on/);
    expect(await readFile(pidfile, 'utf8')).toBe(`${p.pid}\n`);
    expect(await p.stop()).toBe(0);
  });
});

/** The CLI on a pseudo-terminal (util-linux script), until `re` shows; then stopped. */
async function onTerminal(file: string, env: Record<string, string>, re: RegExp): Promise<string> {
  const cmd = `${process.execPath} --conditions=stickyd-source --import tsx src/main.ts -c ${file}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: repoRoot, env: { ...process.env, ...env, TERM: 'dumb' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const deadline = Date.now() + 20_000;
    while (!re.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${re} on the terminal; got:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return out;
  } finally {
    // script passes SIGTERM to its child (stickyd) and ends with it.
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

describe("the daemon's own messages", () => {
  const PRETTY = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}stickyd listening on http:\/\/127\.0\.0\.1:\d+\r?$/m;

  it('are readable lines on a terminal: ISO time, level word, message', async () => {
    const port = await freePort();
    const out = await onTerminal(await configFile(port), { NO_COLOR: '1' }, /listening on/);
    expect(out).toMatch(PRETTY);
    expect(out).not.toContain('{"level"');
  });

  it('are JSON on a terminal with STICKYD_LOG_FORMAT=json', async () => {
    const out = await onTerminal(await configFile(await freePort()), { STICKYD_LOG_FORMAT: 'json' }, /listening on/);
    expect(out).toMatch(/^\{"level":30,"time":\d+,"name":"stickyd","msg":"stickyd listening on http:\/\/127\.0\.0\.1:\d+"\}\r?$/m);
  });

  it('are JSON on a pipe, readable there with STICKYD_LOG_FORMAT=pretty or log.error.format: pretty; access lines keep their format', async () => {
    const port = await freePort();
    const json = spawnStickyd(['-c', await configFile(port)]);
    const line = await json.waitFor(/listening on/);
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: `stickyd listening on http://127.0.0.1:${port}` });
    await json.stop();

    const forced = spawnStickyd(['-c', await configFile(port)], { env: { STICKYD_LOG_FORMAT: 'pretty' } });
    expect(await forced.waitFor(/listening on/)).toMatch(PRETTY);
    await forced.stop();

    const keyed = spawnStickyd(['-c', await configFile(port, 'log: { error: { format: pretty } }\n')]);
    expect(await keyed.waitFor(/listening on/)).toMatch(PRETTY);
    await request(`http://127.0.0.1:${port}/x`);
    expect(JSON.parse(await keyed.waitFor(/"type":"access"/))).toMatchObject({ url: '/x', status: 200 });
    await keyed.stop();
  }, 120_000); // three daemons one after the other: each start is a Node start-up, slow on a loaded machine
});

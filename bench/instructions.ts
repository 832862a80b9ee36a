/**
 * Instructions per request, counted by valgrind's callgrind: a figure that does not depend on how
 * busy the machine is, for deciding between two versions of the request path (wall-clock and CPU
 * time on this shared 2-core VM move by ±20 % between runs; callgrind's count for the same binary
 * and the same requests moves by well under 1 %).
 *
 *   node --conditions=stickyd-source --import tsx bench/instructions.ts [--requests N] [--warmup N]
 *        [--connections C] [--target stickyd|stickyd-log|minimal|all] [--traffic sticky|cookieless]
 *        [--workers N] [--keep DIR] [--dist path/to/main.js] [--minimal FILE]
 *
 * Repeatability: V8 compiles optimised code and collects garbage on background threads, so when
 * optimised code arrives (and how much the GC does in the window) depends on thread timing, which
 * moved the count by up to 15 % between identical runs. The proxy therefore runs with
 * `--single-threaded` (`--node-flags ''` turns that off): the compilers and the GC do their work
 * on the main thread, where it is counted. It runs over one connection by default, so that every
 * request is one read and one event-loop turn. The warm-up and the counted window share their
 * connections (see drive()), and the warm-up is long enough (15000 requests by default; V8 was
 * still compiling the request path after 10000) that little is compiled in the window: two runs
 * of one build then usually differ by less than 0.1 % (stickyd, sticky: 185,186 and 185,113).
 * Now and then a run still catches a burst of compilation or a full GC and stands out, by up to
 * 40 % (the minimal proxy, cookieless: 201k once, 145k the next run): count twice, keep the
 * lower. Over 50 connections the count moves by about 12 % between runs (how many requests are
 * in flight when a scavenge comes varies).
 *
 * Earlier versions also passed `--predictable-gc-schedule`. That flag makes the old generation
 * grow in small fixed steps, so stickyd, whose heap is larger than the floor's, ran a full
 * mark-compact in nearly every counted window: it counted 296k instructions per request where the
 * default schedule counts 185k (the floor: 152k and 154k), and made the GC look like stickyd's
 * main cost. Figures taken with it are not comparable with today's.
 *
 * `--dist` runs a build made earlier (e.g. a copy of node_modules/.cache/stickyd-bench kept under
 * node_modules/.cache/, so that it still finds the dependencies) instead of compiling src/ now:
 * two builds can then be measured in alternation.
 *
 * An nginx backend (`return 200`, two members) runs normally; the proxy under test runs under
 * `valgrind --tool=callgrind --instr-atstart=no`. After `--warmup` requests (V8 has compiled the
 * hot path by then) instrumentation is switched on with callgrind_control, `--requests` more are sent
 * over `--connections` keep-alive connections, and the counters are dumped: that dump's
 * instruction total divided by the request count is the figure. Everything listens on 127.0.0.1,
 * every process is stopped by PID. Prints a table; asserts nothing.
 *
 * Under valgrind the proxy runs some 50× slower, so a run takes a few minutes. Counts
 * include everything the proxy process does in that window (its GC, its other threads), as CPU
 * time would; they exclude the kernel's share (syscalls are counted as one instruction each).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { freePorts, waitForPort } from '../test/helpers/ports.js';
import { repoRoot } from '../test/helpers/spawn.js';
import { backendConfig, NGINX, startNginx, type Member } from './lib/nginx.js';
import { commandExists, ProcessGroup, type BenchProcess } from './lib/processes.js';
import { buildStickyd, stickydConfig } from './lib/stickyd.js';
import { writeFile } from 'node:fs/promises';

const log = (msg: string) => console.error(`instructions: ${msg}`);

interface Options {
  requests: number;
  warmup: number;
  connections: number;
  targets: string[];
  traffic: 'sticky' | 'cookieless';
  workers: number;
  keep: string | null;
  /** A compiled main.js to run instead of compiling src/ now (A/B runs of two builds). */
  dist: string | null;
  /** The minimal proxy's script (another variant of bench/lib/minimal-proxy.ts). */
  minimal: string;
  /** node/V8 flags for the proxy under test (default --single-threaded: see the header). */
  nodeFlags: string[];
}

function parse(argv: string[]): Options {
  const o: Options = { requests: 4000, warmup: 15000, connections: 1, targets: ['stickyd'], traffic: 'sticky', workers: 1, keep: null, dist: null, minimal: path.join(repoRoot, 'bench/lib/minimal-proxy.ts'), nodeFlags: ['--single-threaded'] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    switch (a) {
      case '--requests': o.requests = Number(v()); break;
      case '--warmup': o.warmup = Number(v()); break;
      case '--connections': o.connections = Number(v()); break;
      case '--target': { const t = v(); o.targets = t === 'all' ? ['stickyd', 'stickyd-log', 'minimal'] : t.split(','); break; }
      case '--traffic': o.traffic = v() as Options['traffic']; break;
      case '--workers': o.workers = Number(v()); break;
      case '--keep': o.keep = v(); break;
      case '--dist': o.dist = path.resolve(v()); break;
      case '--minimal': o.minimal = path.resolve(v()); break;
      case '--node-flags': o.nodeFlags = v().split(' ').filter(Boolean); break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

/**
 * `n` requests over the `c` keep-alive connections of `pool`, each with one of the session
 * cookies (sticky) or none. The warm-up and the counted window use the same pool: a connection
 * opened for the window made V8 drop optimised code that had only seen the warm-up's socket
 * (wrong-map deopts in node's socket, stream and http code) and compile it again inside the
 * window, which moved the count by a quarter between identical runs.
 */
async function drive(pool: Pool, n: number, c: number, cookies: string[]): Promise<void> {
  let sent = 0;
  let failed = 0;
  const worker = async () => {
    while (sent < n) {
      const i = sent++;
      const headers: Record<string, string> = { 'user-agent': 'instructions-bench' };
      if (cookies.length > 0) headers.cookie = `JSESSIONID=${cookies[i % cookies.length]!}`;
      const r = await pool.request({ path: '/', method: 'GET', headers });
      await r.body.dump();
      if (r.statusCode !== 200) failed++;
    }
  };
  await Promise.all(Array.from({ length: c }, worker));
  if (failed > 0) throw new Error(`${failed} of ${n} requests did not get 200`);
}

/** Total instructions (Ir) of the callgrind dumps in `dir` whose name matches `prefix`, counted since collection was switched on. */
async function totalIr(dir: string, prefix: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) {
    if (!f.startsWith(prefix)) continue;
    const text = await readFile(path.join(dir, f), 'utf8');
    const m = /^summary:\s+(\d+)/m.exec(text) ?? /^totals:\s+(\d+)/m.exec(text);
    if (m) total += Number(m[1]);
  }
  return total;
}

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2));
  for (const cmd of ['/usr/bin/valgrind', '/usr/bin/callgrind_control', NGINX]) {
    if (!commandExists(cmd)) throw new Error(`${cmd} is not installed`);
  }
  const dir = opts.keep ?? (await mkdtemp(path.join(os.tmpdir(), 'stickyd-instr-')));
  await mkdir(dir, { recursive: true });
  spawnSync('chmod', ['755', dir]);
  const group = new ProcessGroup();
  const cleanup = () => group.stopAll(3000);
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const ports = await freePorts(2 + opts.targets.length);
    const members: Member[] = [{ port: ports[0]!, route: 'jvm_a' }, { port: ports[1]!, route: 'jvm_b' }];
    const prefix = path.join(dir, 'nginx-backend');
    await mkdir(prefix, { recursive: true });
    await startNginx(group, 'nginx backend', prefix, backendConfig(prefix, members), null);
    await waitForPort(members[1]!.port, 15_000);
    const cookies = opts.traffic === 'sticky' ? Array.from({ length: 64 }, (_, i) => `${(i * 2654435761 >>> 0).toString(16).toUpperCase().padStart(32, '0')}.${members[i % 2]!.route}`) : [];
    const build = opts.dist !== null ? { nodeArgs: [opts.dist] } : await buildStickyd(repoRoot, false);
    const rows: string[] = [];
    for (const [k, target] of opts.targets.entries()) {
      const port = ports[2 + k]!;
      const out = path.join(dir, `callgrind.${target}`);
      const vg = ['--tool=callgrind', '--instr-atstart=no', '--smc-check=all-non-file', `--callgrind-out-file=${out}.%p`];
      let args: string[];
      if (target === 'minimal') {
        args = [...vg, process.execPath, ...opts.nodeFlags, '--import', 'tsx', opts.minimal, String(port), ...members.map((m) => `${m.route}=${m.port}`)];
      } else {
        const file = path.join(dir, `${target}.yaml`);
        await writeFile(file, stickydConfig({ port, members, accessLog: target === 'stickyd-log', workers: opts.workers }));
        args = [...vg, process.execPath, ...opts.nodeFlags, ...build.nodeArgs, '-c', file];
      }
      const proc: BenchProcess = group.start(target, '/usr/bin/valgrind', args, { cpu: null, logFile: path.join(dir, `${target}.log`), cwd: repoRoot });
      await waitForPort(port, 300_000);
      log(`${target}: warming up (${opts.warmup} requests)`);
      const pool = new Pool(`http://127.0.0.1:${port}`, { connections: opts.connections, pipelining: 1 });
      await drive(pool, opts.warmup, opts.connections, cookies);
      spawnSync('/usr/bin/callgrind_control', ['-i', 'on', String(proc.pid)], { stdio: 'ignore' });
      log(`${target}: counting ${opts.requests} requests`);
      await drive(pool, opts.requests, opts.connections, cookies);
      spawnSync('/usr/bin/callgrind_control', ['-d', String(proc.pid)], { stdio: 'ignore' });
      await pool.close();
      await group.stop(proc, 60_000);
      // The first dump is the counted window; the one at exit (shutdown) is not read.
      const ir = await totalIr(dir, `callgrind.${target}.${proc.pid}.1`);
      const perRequest = ir / opts.requests;
      rows.push(`| ${target} | ${opts.traffic} | ${opts.requests} | ${Math.round(ir).toLocaleString('en-US')} | ${Math.round(perRequest).toLocaleString('en-US')} |`);
      log(`${target}: ${Math.round(perRequest).toLocaleString('en-US')} instructions per request`);
    }
    console.log(`node ${process.versions.node}, ${opts.connections} connections, ${opts.warmup} requests of warm-up\n`);
    console.log('| target | traffic | requests | instructions | per request |\n| :-- | :-- | --: | --: | --: |');
    for (const r of rows) console.log(r);
  } finally {
    await cleanup();
  }
}

await main();

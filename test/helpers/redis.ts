/**
 * Real Redis servers for tests (Debian's redis-server): a single server, a 3-master/3-replica
 * Redis Cluster, and a Sentinel setup (1 master, 1 replica, 3 sentinels). Each listens on a free
 * port of 127.0.0.1 (never 6379), keeps its files in its own temp directory, and is killed by PID
 * in `stopAllRedis()` (call it from afterAll/afterEach) — and, should a test file die first, when
 * this process exits.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts } from './ports.js';

const run = promisify(execFile);
export const REDIS_SERVER = process.env.STICKYD_REDIS_SERVER ?? '/usr/bin/redis-server';
export const REDIS_CLI = process.env.STICKYD_REDIS_CLI ?? '/usr/bin/redis-cli';

/** True when redis-server and redis-cli are installed (CI installs them; a test without them says so and skips). */
export function redisInstalled(): boolean {
  return existsSync(REDIS_SERVER) && existsSync(REDIS_CLI);
}

const running = new Set<RedisServer>();
const dirs = new Set<string>();
process.once('exit', () => {
  for (const s of running) s.signal('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

export class RedisServer {
  /** The guard shell (see start). */
  proc: ChildProcess | null = null;
  /** redis-server itself: signals go here. */
  private redisPid = -1;
  private out = '';
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: string[],
    readonly role: 'server' | 'sentinel' = 'server',
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.redisPid;
  }

  get alive(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  output(): string {
    return this.out;
  }

  /**
   * Starts the process and waits until it answers PING with PONG (not LOADING). redis-server runs
   * under a small shell guard that kills it when this process's pipe to the guard closes: a test
   * worker that dies without cleaning up (a timeout, a crash) leaves no server behind.
   */
  async start(): Promise<this> {
    // fd 3: the pipe from this process (a background job's own stdin is /dev/null in sh).
    const guard = 'exec 3<&0; "$0" "$@" & pid=$!; echo "redis-pid $pid"; (cat <&3 >/dev/null; kill -9 $pid 2>/dev/null) & wait $pid';
    const child = spawn('/bin/sh', ['-c', guard, REDIS_SERVER, ...this.args], { cwd: this.dir, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = child;
    this.redisPid = -1;
    running.add(this);
    let first = '';
    child.stdout!.on('data', (d: Buffer) => {
      this.out = (this.out + d.toString()).slice(-20_000);
      if (this.redisPid < 0) {
        first += d.toString();
        const m = /redis-pid (\d+)/.exec(first);
        if (m) this.redisPid = Number(m[1]);
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.out = (this.out + d.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) => child.once('exit', () => {
      running.delete(this);
      child.stdin!.destroy(); // lets the guard's watcher go
      resolve();
    }));
    child.stdin!.on('error', () => undefined);
    const deadline = Date.now() + SETUP_MS;
    for (;;) {
      if (!this.alive) throw new Error(`redis ${this.role} on ${this.port} exited:\n${this.out}`);
      const pong = this.redisPid > 0 ? await this.cli(['PING']).catch(() => '') : '';
      if (pong === 'PONG') return this;
      if (Date.now() > deadline) throw new Error(`redis ${this.role} on ${this.port} not answering after ${SETUP_MS} ms:\n${this.out}`);
      await sleep(50);
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive && this.redisPid > 0) {
      try {
        process.kill(this.redisPid, sig);
      } catch {
        /* gone already */
      }
    }
  }

  /** kill -9 (or another signal) and wait until it is gone. */
  async kill(sig: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.signal(sig);
    await this.exited;
  }

  /** Starts it again on the same port and directory (its data comes back only with persistence on). */
  restart(): Promise<this> {
    return this.start();
  }

  /** redis-cli against this server; the reply as text, trimmed. */
  async cli(args: string[], timeoutMs = 15_000): Promise<string> {
    const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(this.port), ...args], { timeout: timeoutMs });
    return stdout.trim();
  }

  /** One field of INFO (e.g. used_memory), as text. */
  async info(field: string, section = 'all'): Promise<string | null> {
    const text = await this.cli(['INFO', section]);
    const line = text.split(/\r?\n/).find((l) => l.startsWith(`${field}:`));
    return line ? line.slice(field.length + 1).trim() : null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function tempDir(name: string): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), `stickyd-redis-${name}-`));
  dirs.add(d);
  return d;
}

// Replicas start their full sync at once (Redis 7 waits 5 s by default to batch replicas): a test
// that kills a master right after start-up must find a replica that has the data.
/**
 * How long a server, a cluster or a set of sentinels may take to come up, sync or fail over before a
 * helper gives up (a deadline for what must happen, not a speed: see test/helpers/patience.ts;
 * sentinels and cluster nodes agree over several rounds, each slower on a loaded machine).
 */
const SETUP_MS = 60_000;

const BASE_ARGS = ['--bind', '127.0.0.1', '--protected-mode', 'no', '--save', '', '--daemonize', 'no', '--logfile', '', '--repl-diskless-sync-delay', '0'];

export interface RedisOptions {
  /** AOF with fsync on every write: the data survives kill -9 and a restart. */
  persistent?: boolean;
  /** More redis-server arguments (`--name value` pairs). */
  args?: string[];
}

/** One Redis server on a free port. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const [port] = await freePorts(1);
  const dir = await tempDir(`single-${port}`);
  const args = ['--port', String(port), '--dir', dir, ...BASE_ARGS, '--appendonly', options.persistent ? 'yes' : 'no'];
  if (options.persistent) args.push('--appendfsync', 'always');
  return new RedisServer(port!, dir, [...args, ...(options.args ?? [])]).start();
}

export interface RedisClusterSetup {
  /** All six servers; masters() / replicas() ask the cluster which is which now. */
  nodes: RedisServer[];
  /** `host:port` of every node, for `store.cluster`. */
  seeds: string[];
  masters(): Promise<RedisServer[]>;
  /** The node serving `slot` as master now. */
  masterOf(slot: number): Promise<RedisServer>;
  /** Waits until every live node reports cluster_state:ok, all 16384 slots are served and every replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** After a master died: waits until another node serves `slot` as master (its replica was promoted). */
  waitPromoted(slot: number, dead: RedisServer, timeoutMs?: number): Promise<RedisServer>;
}

/** A Redis Cluster of 3 masters and 3 replicas (`redis-cli --cluster create … --cluster-replicas 1`). */
export async function startRedisCluster(options: { nodeTimeoutMs?: number } = {}): Promise<RedisClusterSetup> {
  // Each node needs a client port and a cluster bus port (cluster-port, so +10000 need not be free).
  const ports = await freePorts(12);
  const nodes: RedisServer[] = [];
  for (let i = 0; i < 6; i++) {
    const port = ports[2 * i]!;
    const dir = await tempDir(`cluster-${port}`);
    nodes.push(new RedisServer(port, dir, [
      '--port', String(port), '--cluster-port', String(ports[2 * i + 1]), '--dir', dir, ...BASE_ARGS,
      '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
      '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1000),
      // The other shards keep serving while one fails over.
      '--cluster-require-full-coverage', 'no',
      '--cluster-replica-validity-factor', '0',
    ]));
  }
  await Promise.all(nodes.map((n) => n.start()));
  await run(REDIS_CLI, ['--cluster', 'create', ...nodes.map((n) => n.address), '--cluster-replicas', '1', '--cluster-yes'], { timeout: SETUP_MS });
  const byPort = (port: number) => nodes.find((n) => n.port === port);
  // CLUSTER NODES: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot ranges…>
  const portOf = (f: string[]) => Number(f[1]!.split('@')[0]!.split(':').pop());
  const liveMasterLines = async () => {
    const live = nodes.find((n) => n.alive)!;
    return (await live.cli(['CLUSTER', 'NODES'])).split('\n').map((l) => l.split(' '))
      .filter((f) => {
        const flags = (f[2] ?? '').split(',');
        return flags.includes('master') && !flags.includes('fail') && !flags.includes('fail?') && f.length > 8;
      });
  };
  const setup: RedisClusterSetup = {
    nodes,
    seeds: nodes.map((n) => n.address),
    async masters() {
      return (await liveMasterLines()).map((f) => byPort(portOf(f))).filter((n): n is RedisServer => n !== undefined);
    },
    async masterOf(slot: number) {
      for (const f of await liveMasterLines()) {
        for (const range of f.slice(8)) {
          const [a, b] = range.split('-').map(Number);
          if (slot >= a! && slot <= (b ?? a)!) return byPort(portOf(f))!;
        }
      }
      throw new Error(`no live master serves slot ${slot}`);
    },
    async waitPromoted(slot: number, dead: RedisServer, timeoutMs = SETUP_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = await this.masterOf(slot).catch(() => null);
        if (m && m !== dead) return m;
        if (Date.now() > deadline) throw new Error(`slot ${slot} not taken over after ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async waitHealthy(timeoutMs = SETUP_MS) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = nodes.filter((n) => n.alive);
        const states = await Promise.all(live.map((n) => n.cli(['CLUSTER', 'INFO']).catch(() => '')));
        const ok = states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s));
        const repl = await Promise.all(live.map((n) => n.cli(['INFO', 'replication']).catch(() => '')));
        const synced = repl.every((r) => !/role:slave/.test(r) || (/master_link_status:up/.test(r) && /master_sync_in_progress:0/.test(r)));
        if (ok && synced && repl.filter((r) => /role:slave/.test(r)).length === live.length - 3) return;
        if (Date.now() > deadline) throw new Error(`cluster not healthy after ${timeoutMs} ms:\n${states.join('\n---\n')}`);
        await sleep(100);
      }
    },
  };
  await setup.waitHealthy();
  return setup;
}

export interface SentinelSetup {
  name: string;
  master: RedisServer;
  replica: RedisServer;
  sentinels: RedisServer[];
  /** `host:port` of the sentinels, for `store.sentinel.sentinels`. */
  seeds: string[];
  /** The master's port as the sentinels report it now. */
  currentMasterPort(): Promise<number>;
  /**
   * Resolves once every live sentinel names `port` as the master and none has a failover in
   * progress. Until then a sentinel may still hold the old configuration, and an old master that
   * comes back meanwhile (empty, as a master) can be taken for the real one: Redis then makes the
   * promoted replica sync from it, and everything it held is gone.
   */
  failoverSettled(port: number, timeoutMs: number): Promise<void>;
}

/**
 * 1 master, 1 replica, 3 sentinels (quorum 2, down-after 1000 ms). `persistent`: both data nodes
 * keep an AOF (fsync on every write), so a node restarted after kill -9 comes back with its data.
 */
export async function startSentinelSetup(options: { downAfterMs?: number; persistent?: boolean } = {}): Promise<SentinelSetup> {
  const name = 'stickyd';
  const [pm, pr, ...ps] = await freePorts(5);
  const aof = options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const master = await new RedisServer(pm!, await tempDir(`master-${pm}`), ['--port', String(pm), '--dir', '.', ...BASE_ARGS, ...aof]).start();
  const replica = await new RedisServer(pr!, await tempDir(`replica-${pr}`), ['--port', String(pr), '--dir', '.', ...BASE_ARGS, ...aof, '--replicaof', '127.0.0.1', String(pm)]).start();
  const deadline = Date.now() + SETUP_MS;
  while ((await replica.info('master_link_status', 'replication')) !== 'up') {
    if (Date.now() > deadline) throw new Error('the replica did not sync with the master');
    await sleep(50);
  }
  const sentinels: RedisServer[] = [];
  for (const port of ps) {
    const dir = await tempDir(`sentinel-${port}`);
    const conf = path.join(dir, 'sentinel.conf');
    await writeFile(conf, [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${pm} 2`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1000}`,
      `sentinel failover-timeout ${name} 10000`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n'));
    sentinels.push(new RedisServer(port!, dir, [conf, '--sentinel'], 'sentinel'));
  }
  await Promise.all(sentinels.map((s) => s.start()));
  // Ready once every sentinel knows the replica and the two other sentinels.
  const ready = Date.now() + SETUP_MS;
  for (;;) {
    const views = await Promise.all(sentinels.map((s) => s.cli(['SENTINEL', 'MASTER', name]).catch(() => '')));
    const field = (text: string, key: string) => {
      const lines = text.split('\n');
      const i = lines.indexOf(key);
      return i >= 0 ? lines[i + 1] : undefined;
    };
    if (views.every((v) => field(v, 'num-slaves') === '1' && field(v, 'num-other-sentinels') === '2')) break;
    if (Date.now() > ready) throw new Error(`sentinels did not discover each other:\n${views.join('\n---\n')}`);
    await sleep(100);
  }
  return {
    name,
    master,
    replica,
    sentinels,
    seeds: sentinels.map((s) => s.address),
    async currentMasterPort() {
      const live = sentinels.find((s) => s.alive)!;
      const reply = await live.cli(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
      return Number(reply.split('\n')[1]);
    },
    async failoverSettled(port: number, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const live = sentinels.filter((s) => s.alive);
        const views = await Promise.all(live.map(async (s) => ({
          addr: await s.cli(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]).catch(() => ''),
          master: await s.cli(['SENTINEL', 'MASTER', name]).catch(() => ''),
        })));
        if (views.every((v) => Number(v.addr.split('\n')[1]) === port && !v.master.includes('failover_in_progress'))) return;
        if (Date.now() > deadline) throw new Error(`the sentinels did not settle on ${port} within ${timeoutMs} ms:\n${views.map((v) => v.master).join('\n---\n')}`);
        await sleep(100);
      }
    },
  };
}

/** Kills every server started here (SIGKILL, by PID) and removes their directories. */
export async function stopAllRedis(): Promise<void> {
  const servers = [...running];
  await Promise.all(servers.map((s) => s.kill('SIGKILL')));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

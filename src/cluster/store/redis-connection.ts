/**
 * The connection to Redis, whatever its topology: one server, a Redis Cluster or a Sentinel-
 * managed master. The session manager only asks it to run a command or a script "for this key"
 * (routed to the key's shard in a Cluster) and to visit every master (SCAN, INFO).
 *
 * The client is node-redis (`@redis/client`, an optional peer dependency, loaded on first use):
 * it speaks RESP3 and implements CLIENT TRACKING in Cluster and Sentinel mode as well (tracking.ts),
 * follows Cluster redirections and Sentinel fail-overs, and reconnects. Every command has a
 * deadline (`commandTimeout`, also once sent: a hung server fails the request instead of holding
 * it) and is counted and timed (stats.ts).
 */
import type { Logger } from 'pino';
import type { RedisClientOptions } from '@redis/client';
import type { ResolvedRedisStoreOptions } from './options.js';
import type { LuaScript } from './scripts.js';
import type { StoreMetrics } from './stats.js';
import { createTrackingBridge, type TrackingListener } from './tracking.js';

type RedisModule = typeof import('@redis/client');
type Reply = unknown;

/** A function that runs one raw command on one particular server (a master). */
export type ServerCall = (args: string[]) => Promise<Reply>;

/** Server replies that mean "the store cannot serve now" rather than "this command is wrong". */
const UNAVAILABLE_REPLY = /^(CLUSTERDOWN|MASTERDOWN|LOADING|READONLY|TRYAGAIN|NOREPLICAS|BUSY|MOVED|ASK)\b/;

export async function loadRedisModule(): Promise<RedisModule> {
  try {
    return await import('@redis/client');
  } catch (err) {
    throw new Error(
      `store: { type: 'redis' } needs the Redis client package @redis/client, which could not be loaded ` +
        `(${(err as Error).message.split('\n')[0]}). Install it next to stickyd: npm install @redis/client`,
    );
  }
}

export class RedisConnection {
  private readonly call: (key: string | undefined, readonly: boolean, args: string[]) => Promise<Reply>;
  private readonly closeClient: () => Promise<void>;
  private readonly destroyClient: () => void;
  private readonly connectClient: () => Promise<void>;
  private readonly listMasters: () => Promise<ServerCall[]>;
  private readonly mod: RedisModule;

  constructor(
    mod: RedisModule,
    private readonly options: ResolvedRedisStoreOptions,
    tracking: TrackingListener | null,
    private readonly metrics: StoreMetrics,
    log: Logger,
  ) {
    this.mod = mod;
    const clientSideCache = tracking ? createTrackingBridge(mod, tracking) : undefined;
    const socket = {
      connectTimeout: options.connectTimeout,
      // Reconnect quickly at first, then every second: a restarted Redis is picked up within ~1 s.
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1000),
    };
    const auth = { ...(options.username ? { username: options.username } : {}), ...(options.password ? { password: options.password } : {}) };
    const base = {
      RESP: 3 as const,
      ...(clientSideCache ? { clientSideCache } : {}),
      commandOptions: { timeout: options.commandTimeout, rejectInFlight: true },
    };
    // The client retries connecting by itself; each failed attempt is an 'error' event, which
    // must have a listener (an unheard 'error' event kills the process). The availability log
    // lines are written by the manager, once per outage.
    const onError = (err: unknown) => log.debug({ err }, 'redis client error');
    const t = options.topology;
    if (t.kind === 'standalone') {
      const client = mod.createClient({ url: t.url, socket, ...auth, ...base } as RedisClientOptions);
      client.on('error', onError);
      this.call = (_key, _ro, args) => client.sendCommand(args);
      this.connectClient = async () => void (await client.connect());
      this.closeClient = async () => void (await client.close());
      this.destroyClient = () => client.destroy();
      this.listMasters = async () => [(args) => client.sendCommand(args)];
    } else if (t.kind === 'cluster') {
      const cluster = mod.createCluster({
        rootNodes: t.nodes.map((url) => ({ url })),
        defaults: { socket, ...auth },
        ...base,
      } as Parameters<RedisModule['createCluster']>[0]);
      cluster.on('error', onError);
      this.call = (key, ro, args) => cluster.sendCommand(key, ro, args);
      this.connectClient = async () => void (await cluster.connect());
      this.closeClient = async () => void (await cluster.close());
      this.destroyClient = () => cluster.destroy();
      this.listMasters = async () => {
        const out: ServerCall[] = [];
        for (const m of cluster.masters) {
          const c = await cluster.nodeClient(m);
          out.push((args) => c.sendCommand(args));
        }
        return out;
      };
    } else {
      const sentinel = mod.createSentinel({
        name: t.name,
        sentinelRootNodes: t.sentinels,
        nodeClientOptions: { socket, ...auth },
        sentinelClientOptions: { socket },
        // One connection to the master: reads and writes of a key share it, which NOLOOP tracking
        // and WAIT (it counts this connection's writes) both rely on.
        masterPoolSize: 1,
        ...base,
      } as Parameters<RedisModule['createSentinel']>[0]);
      sentinel.on('error', onError);
      this.call = (_key, ro, args) => sentinel.sendCommand(ro, args);
      this.connectClient = async () => void (await sentinel.connect());
      this.closeClient = async () => void (await sentinel.close());
      // Sentinel's destroy() returns a promise (the client's and cluster's do not); its failure
      // changes nothing for a connection being given up.
      this.destroyClient = () => {
        sentinel.destroy().catch(() => {});
      };
      this.listMasters = async () => [(args) => sentinel.sendCommand(false, args)];
    }
  }

  connect(): Promise<void> {
    return this.connectClient();
  }

  /** Closes gracefully (pending replies first), or drops the connections after 2 s (a dead shard never answers). */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const graceful = this.closeClient().then(() => true, () => false);
    const ok = await Promise.race([graceful, new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 2000)))]);
    clearTimeout(timer);
    if (!ok) this.destroyClient();
  }

  /** Runs one command routed by `key` (its shard's master), counted and timed. */
  command(key: string | undefined, readonly: boolean, args: string[]): Promise<Reply> {
    const t0 = performance.now();
    this.metrics.ops++;
    return this.call(key, readonly, args).then(
      (reply) => {
        this.metrics.latency(performance.now() - t0);
        return reply;
      },
      (err: unknown) => {
        this.metrics.errors++;
        throw err;
      },
    );
  }

  /**
   * Runs a script with EVAL (the text each time, not EVALSHA): a NOSCRIPT answer to EVALSHA would
   * need a second send, and writes sent meanwhile would overtake it — the rename before the commit
   * that follows it, say. Redis caches the compiled script by its text, so EVAL costs a hash.
   */
  script(s: LuaScript, keys: string[], args: string[]): Promise<Reply> {
    return this.command(keys[0], false, ['EVAL', s.text, String(keys.length), ...keys, ...args]);
  }

  /** Every master (one for a single server or Sentinel), for SCAN and INFO. */
  masters(): Promise<ServerCall[]> {
    return this.listMasters();
  }

  /** True when `err` says Redis cannot serve (down, unreachable, timed out, failing over), not that the command was wrong. */
  isUnavailable(err: unknown): boolean {
    if (err instanceof this.mod.ErrorReply) return UNAVAILABLE_REPLY.test(err.message);
    return true;
  }
}

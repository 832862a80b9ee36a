/**
 * `store: { type: 'redis', ... }`: where the sessions live when Redis (or Valkey) is the shared
 * state instead of peer replication. One of `url` (one server), `cluster` (Redis Cluster: some of
 * its nodes, the client finds the rest) or `sentinel` (a master found through Sentinel). Every
 * other key has a default; `resolveRedisStoreOptions` is the one place that checks them and names
 * the offending key in its error.
 */
import { ClusterOptionsError } from '../errors.js';

export interface RedisStoreOptions {
  type: 'redis';
  /** One server: `redis[s]://[[user]:password@]host[:port][/db]`. */
  url?: string;
  /** Redis Cluster: some of its nodes (`host:port`, `redis://host:port`, or `rediss://` for TLS); the rest are discovered. */
  cluster?: string[];
  /** Sentinel: the monitored master's name and some of its sentinels (`host:port`). */
  sentinel?: { name: string; sentinels: string[] };
  /** ACL user and password for the data nodes (a `url` may carry them instead). */
  username?: string;
  password?: string;
  /** Prefix of every session key (`<prefix>{<32 HEX>}.<jvmRoute>`). Default `stickyd:session:`. */
  keyPrefix?: string;
  /**
   * After each write, `WAIT replicas timeout`: the write only counts as done (sync mode: the
   * response only goes out) once that many replicas have it. Without it, a master that dies
   * before its replica copied a write loses that write. Default: off.
   */
  wait?: { replicas: number; timeout: number };
  /** Longest a Redis command may take, in ms, before the request gets a 503. Default 2000. */
  commandTimeout?: number;
  /** TCP connect timeout in ms. Default 2000. */
  connectTimeout?: number;
  /**
   * The local cache that spares a sticky request its read (Redis client-side caching keeps it
   * coherent): `{ maxEntries }` sessions, least recently used dropped first; `false` = every
   * request reads from Redis. Default `{ maxEntries: 10000 }`.
   */
  cache?: { maxEntries?: number } | false;
}

export type RedisTopology =
  | { kind: 'standalone'; url: string }
  | { kind: 'cluster'; nodes: string[] }
  | { kind: 'sentinel'; name: string; sentinels: Array<{ host: string; port: number }> };

export interface ResolvedRedisStoreOptions {
  topology: RedisTopology;
  username: string | undefined;
  password: string | undefined;
  keyPrefix: string;
  wait: { replicas: number; timeout: number } | null;
  commandTimeout: number;
  connectTimeout: number;
  /** 0 = no local cache. */
  cacheEntries: number;
}

export const REDIS_STORE_DEFAULTS = {
  keyPrefix: 'stickyd:session:',
  commandTimeout: 2000,
  connectTimeout: 2000,
  cacheEntries: 10_000,
} as const;

function fail(msg: string): never {
  throw new ClusterOptionsError(msg);
}

const HOST_PORT = /^(?:(rediss?):\/\/)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function hostPort(text: unknown, key: string): { scheme: string; host: string; port: number } {
  const m = typeof text === 'string' ? HOST_PORT.exec(text) : null;
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) fail(`${key} must be "host:port" (got ${JSON.stringify(text)})`);
  return { scheme: m[1] ?? 'redis', host: m[2]!.replace(/^\[|\]$/g, ''), port };
}

function positive(value: unknown, key: string, fallback: number, what = 'a positive number of ms'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(`${key} must be ${what} (got ${JSON.stringify(value)})`);
  return value;
}

export function resolveRedisStoreOptions(o: RedisStoreOptions): ResolvedRedisStoreOptions {
  if (o === null || typeof o !== 'object' || o.type !== 'redis') fail(`store must be { type: 'redis', url | cluster | sentinel } (got ${JSON.stringify(o)})`);
  const given = (['url', 'cluster', 'sentinel'] as const).filter((k) => o[k] !== undefined);
  if (given.length !== 1) fail(`store needs exactly one of url, cluster, sentinel (got ${given.length === 0 ? 'none' : given.join(' and ')})`);
  let topology: RedisTopology;
  if (o.url !== undefined) {
    if (typeof o.url !== 'string' || !/^rediss?:\/\/./.test(o.url)) fail(`store.url must be a redis:// or rediss:// URL (got ${JSON.stringify(o.url)})`);
    topology = { kind: 'standalone', url: o.url };
  } else if (o.cluster !== undefined) {
    if (!Array.isArray(o.cluster) || o.cluster.length === 0) fail('store.cluster must list at least one node ("host:port")');
    topology = {
      kind: 'cluster',
      nodes: o.cluster.map((n, i) => {
        const { scheme, host, port } = hostPort(n, `store.cluster[${i}]`);
        return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
      }),
    };
  } else {
    const s = o.sentinel!;
    if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || s.name === '') fail('store.sentinel.name must name the monitored master');
    if (!Array.isArray(s.sentinels) || s.sentinels.length === 0) fail('store.sentinel.sentinels must list at least one sentinel ("host:port")');
    topology = {
      kind: 'sentinel',
      name: s.name,
      sentinels: s.sentinels.map((n, i) => {
        const { host, port } = hostPort(n, `store.sentinel.sentinels[${i}]`);
        return { host, port };
      }),
    };
  }
  const keyPrefix = o.keyPrefix ?? REDIS_STORE_DEFAULTS.keyPrefix;
  // A brace in the prefix would become the hash tag and put every session in one cluster slot.
  if (typeof keyPrefix !== 'string' || /[{}\s]/.test(keyPrefix)) fail(`store.keyPrefix must be a string without '{', '}' or spaces (got ${JSON.stringify(keyPrefix)})`);
  let wait: ResolvedRedisStoreOptions['wait'] = null;
  if (o.wait !== undefined) {
    const w = o.wait;
    if (typeof w !== 'object' || w === null || !Number.isInteger(w.replicas) || w.replicas < 1) fail(`store.wait.replicas must be an integer ≥ 1 (got ${JSON.stringify(w?.replicas)})`);
    wait = { replicas: w.replicas, timeout: Math.round(positive(w.timeout, 'store.wait.timeout', NaN)) };
  }
  let cacheEntries: number = REDIS_STORE_DEFAULTS.cacheEntries;
  if (o.cache === false) cacheEntries = 0;
  else if (o.cache !== undefined) {
    const n = o.cache?.maxEntries;
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) fail(`store.cache.maxEntries must be an integer ≥ 0 (got ${JSON.stringify(n)})`);
    cacheEntries = n ?? REDIS_STORE_DEFAULTS.cacheEntries;
  }
  for (const k of ['username', 'password'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') fail(`store.${k} must be a string`);
  }
  return {
    topology,
    username: o.username,
    password: o.password,
    keyPrefix,
    wait,
    commandTimeout: positive(o.commandTimeout, 'store.commandTimeout', REDIS_STORE_DEFAULTS.commandTimeout),
    connectTimeout: positive(o.connectTimeout, 'store.connectTimeout', REDIS_STORE_DEFAULTS.connectTimeout),
    cacheEntries,
  };
}

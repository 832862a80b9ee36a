/**
 * ClusterNodeOptions: what a backend passes to `createClusterNode`, with Tomcat's names and
 * defaults (cluster-semantics §2.7 manager options, §2.1 send options, §2.4 ReplicationValve, §3.1 cookie). The
 * channel's own options (membership, receiver, secret, sender, failureDetector, domain) are passed
 * through to it unchanged. `resolveNodeOptions` is the one place that applies defaults and rejects
 * bad input with an error that names the option.
 */
import type { Logger } from 'pino';
import type { DnsMembershipOptions, MulticastMembershipOptions, StaticMembershipOptions } from './channel/options.js';
import { ClusterOptionsError } from './errors.js';
import { isValidCookieName, type SessionCookieOptions } from './session/cookie.js';
import { compileFullMatch } from './session/filters.js';
import { isValidRoute, type RandomSource } from './session/id.js';
import { resolveRedisStoreOptions, type RedisStoreOptions, type ResolvedRedisStoreOptions } from './store/options.js';

/** How a change reaches the peers (Tomcat's channelSendOptions / mapSendOptions, cluster-semantics §2.1). */
export type SendMode = 'async' | 'ack' | 'sync';

export interface ClusterNodeOptions {
  /** This node's route: every session id it creates ends in `.<jvmRoute>`; the proxy's member `route`. */
  jvmRoute: string;
  /**
   * Replication receiver (TCP) of this node: the concrete address peers connect to, or `0.0.0.0`/`::`
   * with a `secret` (then `advertise` is the address peers use; found by itself if omitted).
   * Required unless `store` is set.
   */
  receiver?: { address: string; port: number; advertise?: string; maxFrameSize?: number };
  /**
   * How nodes find each other: a static list of receivers, multicast heartbeats, or a DNS name
   * (`{ type: 'dns', name, port, interval }`: a Kubernetes headless Service, any A/AAAA/SRV record).
   * Required unless `store` is set.
   */
  membership?: StaticMembershipOptions | MulticastMembershipOptions | DnsMembershipOptions;
  /**
   * Keep the sessions in Redis instead of replicating them between the nodes (store/options.ts):
   * `{ type: 'redis', url }`, `{ type: 'redis', cluster: [...] }` or `{ type: 'redis', sentinel:
   * { name, sentinels } }`. Then no `membership`, `receiver` or `manager`.
   */
  store?: RedisStoreOptions;
  /** Application/cluster name: nodes with another domain are ignored. Default "". */
  domain?: string;
  /** Shared secret authenticating every cluster frame (required for multicast, DNS, a wildcard receiver, and members or a receiver beyond loopback). */
  secret?: string;
  /** Channel sender options: `timeout` (ms) for acks and requests, default 3000. */
  sender?: { timeout?: number; maxQueueBytes?: number };
  /** TcpFailureDetector: `connectTimeout` (ms) of the verification probe, default 1000. */
  failureDetector?: { connectTimeout?: number };

  /**
   * `'delta'` (DeltaManager: every node holds every session) or `'backup'` (BackupManager: a
   * primary and one backup per session, the others only know where it lives). Default 'delta'.
   */
  manager?: 'delta' | 'backup';
  /**
   * `'async'`: respond at once, replicate in order in the background (Tomcat's DeltaManager default,
   * 8); `'ack'`: hold the response until every live peer received the change (2); `'sync'`: until
   * every live peer applied it (6, BackupManager's default). Default: 'async' for delta, 'sync' for
   * backup.
   */
  sendOptions?: SendMode;
  /** Longest a response is held for acknowledgements in 'ack'/'sync' (Tomcat's sender timeout). Default 3000 ms. */
  syncTimeout?: number;
  /**
   * What a request sees when its replication failed or timed out in 'ack'/'sync' mode: 'log' (default,
   * Tomcat: log, count, respond normally) or 'error' (respond 503 / pass a ReplicationError to next()).
   * With `store` the default is 'error': a write Redis did not take is a lost change, not a late replica.
   */
  onReplicationFailure?: 'log' | 'error';

  /** Idle timeout of new sessions, in seconds (Tomcat's maxInactiveInterval; ≤ 0 = never). Default 1800. */
  maxInactiveInterval?: number;
  /** Interval of the expiry sweep in ms (Tomcat: processExpiresFrequency × backgroundProcessorDelay = 60 s). Default 1000. */
  processExpiresFrequency?: number;
  /** Refuse new local sessions beyond this many held sessions (−1 = unlimited, the default). */
  maxActiveSessions?: number;
  /** Expire every session cluster-wide when this node stops gracefully. Default false (they live on). */
  expireSessionsOnShutdown?: boolean;

  /** DeltaManager: how long a joiner waits for the state transfer before starting empty (ms). −1 = forever, 0 = don't wait. Default 60000. */
  stateTransferTimeout?: number;
  /** DeltaManager: bytes of session data per state-transfer message (Tomcat pages by count: sendAllSessionsSize). Default 1 MiB. */
  stateTransferPageSize?: number;
  /** DeltaManager: skip queued messages the transferred state already contains (Tomcat's stateTimestampDrop). Default true. */
  stateTimestampDrop?: boolean;
  /** BackupManager: timeout of fetch and state requests in ms (Tomcat's rpcTimeout). Default 15000. */
  rpcTimeout?: number;

  /** ReplicationValve `filter`: requests whose decoded path fully matches replicate nothing (e.g. /.*\.(css|js|png)/). */
  filter?: RegExp | string | null;
  /** Only attributes whose name fully matches are replicated; the rest stay on the node that set them. */
  sessionAttributeNameFilter?: RegExp | string | null;

  /** The session cookie: name `JSESSIONID`, path `/`, HttpOnly, Secure only on TLS requests, no SameSite. */
  cookie?: Partial<SessionCookieOptions>;
  /** JvmRouteBinderValve (cluster-semantics §3.2): take over sessions that arrive with another node's route. Default true. */
  jvmRouteBinder?: boolean;

  /** pino logger of the host application (a child logger is made). Default: pino at 'info' on stdout. */
  logger?: Logger;
  /** Time source in ms (tests inject one): the one clock of the managers and the channel. Default Date.now. */
  clock?: () => number;
  /** CSPRNG for session ids (tests inject one). Default node:crypto randomBytes. */
  random?: RandomSource;
  /**
   * Extra wait for members when the channel reports none right after it started, before this node
   * concludes it is alone and skips the state transfer. The channel itself already waits like Tomcat
   * (2 × heartbeat frequency, or until every static member answered), so the default is 0.
   */
  memberWait?: number;
}

export interface ResolvedNodeOptions {
  jvmRoute: string;
  /** The Redis store, or null for peer replication. */
  store: ResolvedRedisStoreOptions | null;
  manager: 'delta' | 'backup';
  sendOptions: SendMode;
  syncTimeout: number;
  onReplicationFailure: 'log' | 'error';
  maxInactiveInterval: number;
  processExpiresFrequency: number;
  maxActiveSessions: number;
  expireSessionsOnShutdown: boolean;
  stateTransferTimeout: number;
  stateTransferPageSize: number;
  stateTimestampDrop: boolean;
  rpcTimeout: number;
  filter: RegExp | null;
  sessionAttributeNameFilter: RegExp | null;
  cookie: SessionCookieOptions;
  jvmRouteBinder: boolean;
  memberWait: number;
}

/** Tomcat's defaults (and ours where Tomcat has none), one object. */
export const NODE_DEFAULTS = {
  manager: 'delta',
  syncTimeout: 3000,
  onReplicationFailure: 'log',
  maxInactiveInterval: 1800,
  processExpiresFrequency: 1000,
  maxActiveSessions: -1,
  expireSessionsOnShutdown: false,
  stateTransferTimeout: 60_000,
  stateTransferPageSize: 1024 * 1024,
  stateTimestampDrop: true,
  rpcTimeout: 15_000,
  cookie: { name: 'JSESSIONID', path: '/', httpOnly: true, secure: 'auto' },
} as const;

function fail(msg: string): never {
  throw new ClusterOptionsError(msg);
}

function num(value: unknown, name: string, fallback: number, check: (n: number) => boolean, what: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !check(value)) {
    fail(`${name} must be ${what} (got ${JSON.stringify(value)})`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

export function resolveNodeOptions(o: ClusterNodeOptions): ResolvedNodeOptions {
  if (o === null || typeof o !== 'object') fail('createClusterNode needs an options object');
  if (!isValidRoute(o.jvmRoute)) {
    fail(`jvmRoute must be 1-64 chars of letters, digits, '_', '-', '.', '~' (got ${JSON.stringify(o.jvmRoute)})`);
  }
  const store = o.store === undefined ? null : resolveRedisStoreOptions(o.store);
  if (store) {
    // Redis is the shared state: options of peer replication would silently do nothing.
    for (const key of ['membership', 'receiver', 'manager', 'maxActiveSessions'] as const) {
      if (o[key] !== undefined) fail(`${key} has no meaning with store: redis (the sessions live in Redis); remove it`);
    }
  } else {
    if (o.receiver === undefined) fail('receiver is required (or store: { type: \'redis\', ... })');
    if (o.membership === undefined) fail('membership is required (or store: { type: \'redis\', ... })');
  }
  const manager = oneOf(o.manager, 'manager', ['delta', 'backup'] as const, NODE_DEFAULTS.manager);
  const sendOptions = oneOf(o.sendOptions, 'sendOptions', ['async', 'ack', 'sync'] as const, store || manager === 'backup' ? 'sync' : 'async');
  const c = o.cookie ?? {};
  const cookie: SessionCookieOptions = {
    name: c.name ?? NODE_DEFAULTS.cookie.name,
    path: c.path ?? NODE_DEFAULTS.cookie.path,
    httpOnly: c.httpOnly ?? NODE_DEFAULTS.cookie.httpOnly,
    secure: c.secure ?? NODE_DEFAULTS.cookie.secure,
  };
  if (!isValidCookieName(cookie.name)) fail(`cookie.name must be a cookie token such as JSESSIONID (got ${JSON.stringify(cookie.name)})`);
  if (typeof cookie.path !== 'string' || !cookie.path.startsWith('/') || /[;\s]/.test(cookie.path)) {
    fail(`cookie.path must start with '/' and contain no ';' or spaces (got ${JSON.stringify(cookie.path)})`);
  }
  if (c.sameSite !== undefined) cookie.sameSite = oneOf(c.sameSite, 'cookie.sameSite', ['Strict', 'Lax', 'None'] as const, 'Lax');
  if (c.domain !== undefined) {
    if (typeof c.domain !== 'string' || !/^[A-Za-z0-9.-]+$/.test(c.domain)) fail(`cookie.domain must be a host name (got ${JSON.stringify(c.domain)})`);
    cookie.domain = c.domain;
  }
  if (cookie.secure !== true && cookie.secure !== false && cookie.secure !== 'auto') fail(`cookie.secure must be true, false or 'auto'`);
  return {
    jvmRoute: o.jvmRoute,
    store,
    manager,
    sendOptions,
    syncTimeout: num(o.syncTimeout, 'syncTimeout', NODE_DEFAULTS.syncTimeout, (n) => n > 0, 'a positive number of ms'),
    onReplicationFailure: oneOf(o.onReplicationFailure, 'onReplicationFailure', ['log', 'error'] as const, store ? 'error' : 'log'),
    maxInactiveInterval: num(o.maxInactiveInterval, 'maxInactiveInterval', NODE_DEFAULTS.maxInactiveInterval, () => true, 'a number of seconds'),
    processExpiresFrequency: num(o.processExpiresFrequency, 'processExpiresFrequency', NODE_DEFAULTS.processExpiresFrequency, (n) => n >= 10, 'at least 10 ms'),
    maxActiveSessions: num(o.maxActiveSessions, 'maxActiveSessions', NODE_DEFAULTS.maxActiveSessions, (n) => Number.isInteger(n) && n >= -1, 'an integer ≥ -1'),
    expireSessionsOnShutdown: o.expireSessionsOnShutdown ?? NODE_DEFAULTS.expireSessionsOnShutdown,
    stateTransferTimeout: num(o.stateTransferTimeout, 'stateTransferTimeout', NODE_DEFAULTS.stateTransferTimeout, (n) => n >= -1, '-1, 0 or a positive number of ms'),
    stateTransferPageSize: num(o.stateTransferPageSize, 'stateTransferPageSize', NODE_DEFAULTS.stateTransferPageSize, (n) => n >= 1024, 'at least 1024 bytes'),
    stateTimestampDrop: o.stateTimestampDrop ?? NODE_DEFAULTS.stateTimestampDrop,
    rpcTimeout: num(o.rpcTimeout, 'rpcTimeout', NODE_DEFAULTS.rpcTimeout, (n) => n > 0, 'a positive number of ms'),
    filter: compileFullMatch(o.filter, 'filter'),
    sessionAttributeNameFilter: compileFullMatch(o.sessionAttributeNameFilter, 'sessionAttributeNameFilter'),
    cookie,
    jvmRouteBinder: o.jvmRouteBinder ?? true,
    memberWait: num(o.memberWait, 'memberWait', 0, (n) => n >= 0, 'a number of ms ≥ 0'),
  };
}

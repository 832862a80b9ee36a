/**
 * The Redis session manager (`store: { type: 'redis' }`): Redis is the shared state, so a node
 * needs no membership, receiver or peers. Same request-side contract as DeltaManager and
 * BackupManager (managers/manager.ts): the middleware, the express-session store, the cookie
 * adapter and the route binder work unchanged.
 *
 * - Layout: one hash per session, attributes as fields (keys.ts); every write is one Lua script
 *   (scripts.ts), so a create, a rename and an invalidation are atomic, and expiry is Redis's own
 *   TTL (maxInactiveInterval, renewed by every request).
 * - Only what a request changed is written: the per-attribute delta against the last state this
 *   node wrote, exactly DeltaManager's delta. Hence the same concurrency rule: for one attribute
 *   the session ends with the value of the request that completed last (this node's writes reach
 *   Redis in completion order on one connection; across nodes, the last write Redis applied);
 *   requests changing different attributes never undo each other.
 * - A session is written when its creating request completes (create + its attributes in one
 *   script), not before: DeltaManager's separate CREATED message has nothing to order against
 *   here. A filtered request (URL `filter`) writes nothing, except to create its session.
 * - Reads: a sticky request finds its session in the local cache (session-cache.ts) kept coherent
 *   by client-side caching (tracking.ts); a miss reads the hash once.
 * - sendOptions: 'sync' (default) holds the response until Redis applied the write (and, with
 *   `store.wait`, until that many replicas have it); 'async' answers at once and writes behind.
 *   'ack' is 'sync' (Redis acknowledges after applying).
 * - Redis unreachable, timed out or failing over: the request gets a 503 (SessionStoreUnavailable
 *   Error), never an empty or a new session in place of one that could not be read; one log line
 *   when the store goes away and one when it is back (a probe notices, every 250 ms).
 *
 * Where it differs from the peer managers: expiry events are only reported for sessions this node
 * had cached (Redis expires the others silently); `maxActiveSessions` is not supported (Redis's
 * `maxmemory` bounds the store); no state transfer (there is nothing to transfer).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ClusterMember } from '../channel/types.js';
import type { Clock } from '../clock.js';
import { applyDelta, attributeNameProblem, diffAttributes } from '../session/attributes.js';
import { timeoutProblem } from '../session/expiry.js';
import { isReplicableAttribute } from '../session/filters.js';
import { generateSessionId, isPlausibleSessionId, splitSessionId, defaultRandomSource, type RandomSource } from '../session/id.js';
import { ClusterSession, inspectSession, type SessionInspection } from '../session/session.js';
import { REPLICATION_OK, type ReplicationOutcome, type SessionChanges, type SessionManager } from '../managers/manager.js';
import { bump, newCounters, type ManagerStats } from '../managers/stats.js';
import type { ResolvedNodeOptions } from '../options.js';
import { SessionStoreUnavailableError } from './errors.js';
import { ATTR, idFromKey, META_ATIME, META_CTIME, META_MII, randomHexInSlot, scanPattern, sessionKey, sessionSlot } from './keys.js';
import type { ResolvedRedisStoreOptions } from './options.js';
import { loadRedisModule, RedisConnection } from './redis-connection.js';
import { COMMIT, CREATE, DELETE, RENAME } from './scripts.js';
import { SessionCache } from './session-cache.js';
import { StoreMetrics, type RedisStoreStats } from './stats.js';

export interface RedisManagerContext {
  options: ResolvedNodeOptions;
  store: ResolvedRedisStoreOptions;
  clock: Clock;
  logger: Logger;
  random?: RandomSource;
}

const PROBE_INTERVAL_MS = 250;
/** Redis starts a key's TTL when it applies the write, a little after our copy noted the access. */
const EXPIRY_SLACK_MS = 50;

export class RedisSessionManager extends EventEmitter implements SessionManager {
  readonly kind = 'redis' as const;

  private readonly options: ResolvedNodeOptions;
  private readonly store: ResolvedRedisStoreOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: RandomSource;
  private conn: RedisConnection | null = null;
  private readonly cache: SessionCache;
  private readonly metrics = new StoreMetrics();
  private readonly counters = newCounters();
  private readonly sent: Record<string, number> = {};
  /** Reads in flight, so concurrent requests for one session share one read and one object. */
  private readonly loading = new Map<string, Promise<ClusterSession | undefined>>();
  /** Sessions created here whose creating request has not been written yet. */
  private readonly unsaved = new WeakSet<ClusterSession>();
  /**
   * A single server or a Sentinel master is all-or-nothing: while it is unreachable requests fail
   * at once instead of each waiting for its timeout. A Redis Cluster can lose one shard and keep
   * the others, so there every command simply runs against its own deadline.
   */
  private readonly failFast: boolean;
  private available = true;
  private downSince = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private connected = false;
  private stopped = false;

  constructor(ctx: RedisManagerContext) {
    super();
    this.options = ctx.options;
    this.store = ctx.store;
    this.clock = ctx.clock;
    this.log = ctx.logger.child({ store: 'redis' });
    this.random = ctx.random ?? defaultRandomSource;
    this.cache = new SessionCache(ctx.store.cacheEntries);
    this.failFast = ctx.store.topology.kind !== 'cluster';
  }

  /* ------------------------------------------------------------------ lifecycle */

  async start(): Promise<void> {
    const mod = await loadRedisModule();
    const prefix = this.store.keyPrefix;
    const tracking = this.cache.enabled
      ? {
          invalidate: (key: string) => {
            const id = idFromKey(prefix, key);
            if (id === null) return;
            // Redis expired it (its TTL ran out on our copy's clock too): report the expiry.
            const cached = this.cache.peek(id);
            if (cached && this.idleExpired(cached, EXPIRY_SLACK_MS)) this.expireCached(cached);
            else this.cache.invalidate(id);
          },
          flush: () => this.cache.flush(),
        }
      : null;
    this.conn = new RedisConnection(mod, this.store, tracking, this.metrics, this.log);
    const connecting = this.conn.connect().then(
      () => {
        this.connected = true;
      },
      (err: unknown) => {
        this.markDown(err);
      },
    );
    // Redis being down at start is an outage like any other: serve 503s, not a node that never starts.
    await Promise.race([connecting, new Promise((r) => setTimeout(r, this.store.connectTimeout + 500).unref())]);
    if (!this.connected) this.markDown(new Error(`not connected within ${this.store.connectTimeout} ms`));
    else {
      this.log.info({ topology: this.store.topology.kind, cache: this.store.cacheEntries, wait: this.store.wait }, 'session store connected');
      if (this.store.wait) {
        this.warnIfNoAof().catch((err: unknown) => this.log.debug({ err: String(err) }, 'could not read INFO persistence'));
      }
    }
    this.expiryTimer = setInterval(() => this.processExpires(), this.options.processExpiresFrequency);
    this.expiryTimer.unref();
  }

  /**
   * store.wait promises that an acknowledged write outlives its master's crash. A master without an
   * AOF that is restarted after the crash comes back empty, and Sentinel may promote it again
   * before it has copied the new master (nothing checks that a replica has synced); the new master
   * then becomes its replica and empties itself. Said once at start when a master has no AOF
   * (docs/cluster.md, "Durability").
   */
  private async warnIfNoAof(): Promise<void> {
    for (const call of await this.conn!.masters()) {
      const info = String(await call(['INFO', 'persistence']));
      if (!/^aof_enabled:0\r?$/m.test(info)) continue;
      this.log.warn(
        { topology: this.store.topology.kind },
        'session store: store.wait is set but a Redis master runs without an AOF (appendonly no): restarted after a crash, it comes back empty and can be promoted again before it has synced, losing acknowledged writes; run every Redis node with appendonly yes',
      );
      return;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.options.expireSessionsOnShutdown && this.conn && this.available) await this.expireOwnSessions();
    this.stopped = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.expiryTimer = this.probeTimer = null;
    await this.conn?.close();
    this.cache.flush();
  }

  /** expireSessionsOnShutdown: every session whose id carries this node's route is deleted. */
  private async expireOwnSessions(): Promise<void> {
    const pattern = scanPattern(this.store.keyPrefix, this.options.jvmRoute);
    let n = 0;
    try {
      for (const call of await this.conn!.masters()) {
        let cursor = '0';
        do {
          const [next, keys] = (await call(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
          cursor = String(next);
          for (const key of keys) {
            const id = idFromKey(this.store.keyPrefix, key);
            if ((await call(['DEL', key])) !== 1 || id === null) continue;
            n++;
            const cached = this.cache.delete(id);
            if (cached) cached.valid = false;
            this.emit('sessionExpired', { id, reason: 'shutdown', local: true });
          }
        } while (cursor !== '0');
      }
      this.log.info({ sessions: n }, 'expired this node\'s sessions on shutdown');
    } catch (err) {
      this.log.error({ err: errorText(err), expired: n }, 'could not expire every session on shutdown');
    }
  }

  /* ------------------------------------------------------------------ availability */

  private markDown(err: unknown): void {
    if (this.stopped) return;
    if (this.available) {
      this.available = false;
      this.downSince = this.clock.now();
      this.metrics.outages++;
      this.log.error(
        { topology: this.store.topology.kind, reason: errorText(err) },
        'session store unavailable: requests that need a session get 503 until Redis is back',
      );
    }
    if (!this.probeTimer) {
      this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
      this.probeTimer.unref();
    }
  }

  private markUp(): void {
    if (this.available) return;
    this.available = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
    this.log.warn({ topology: this.store.topology.kind, downMs: this.clock.now() - this.downSince }, 'session store available again');
  }

  private probing = false;

  /** While unavailable: is every master answering again? */
  private async probe(): Promise<void> {
    if (this.probing || this.stopped || !this.conn) return;
    this.probing = true;
    try {
      if (!this.connected) {
        await this.conn.connect();
        this.connected = true;
      }
      const masters = await this.conn.masters();
      await Promise.all(masters.map((call) => call(['PING'])));
      this.markUp();
    } catch {
      /* still down */
    } finally {
      this.probing = false;
    }
  }

  /** The error a request sees; also notes an outage when the failure means Redis is not serving. */
  private storeError(what: string, err: unknown): SessionStoreUnavailableError {
    if (err instanceof SessionStoreUnavailableError) return err;
    if (!this.conn || this.conn.isUnavailable(err)) this.markDown(err);
    return new SessionStoreUnavailableError(`session store: ${what} failed: ${errorText(err)}`);
  }

  private unavailableNow(what: string): SessionStoreUnavailableError | null {
    if (this.stopped) return new SessionStoreUnavailableError(`session store: ${what}: the node is stopping`);
    if (!this.conn || (this.failFast && !this.available)) {
      return new SessionStoreUnavailableError(`session store: ${what}: Redis is unavailable (since ${new Date(this.downSince).toISOString()})`);
    }
    return null;
  }

  /** A command that worked proves a single server or a Sentinel master is back (a Cluster waits for its probe). */
  private noteSuccess(): void {
    if (!this.available && this.failFast) this.markUp();
  }

  /* ------------------------------------------------------------------ lookups */

  private key(id: string): string {
    return sessionKey(this.store.keyPrefix, id);
  }

  /** No peers: a session is never renamed elsewhere (route-binder.ts). */
  peerRoutes(): string[] {
    return [];
  }

  timeoutProblem(seconds: unknown): string | null {
    return timeoutProblem(seconds, this.options.maxInactiveInterval <= 0);
  }

  /** An unexpected exception on the request side (a bug): logged and counted, never fatal. */
  reportError(where: string, err: unknown): void {
    this.counters.internalErrors++;
    this.log.error({ err, where }, 'cluster: unexpected error (the node carries on)');
  }

  knows(id: string): boolean {
    return this.cache.has(id);
  }

  async findSession(id: string): Promise<ClusterSession | undefined> {
    const down = this.unavailableNow(`reading session ${id}`);
    if (down) throw down;
    const cached = this.cache.lookup(id);
    if (cached) {
      if (cached.valid && !this.idleExpired(cached)) return cached;
      this.expireCached(cached);
    }
    if (!isPlausibleSessionId(id)) return undefined;
    return this.load(id);
  }

  /** Our copy says Redis has expired it by now (another node's access would have invalidated the copy). */
  private idleExpired(s: ClusterSession, slackMs = 0): boolean {
    return s.activeRequests === 0 && s.maxInactiveInterval > 0 && this.clock.now() - s.lastAccessedTime >= s.maxInactiveInterval * 1000 - slackMs;
  }

  private expireCached(s: ClusterSession): void {
    this.cache.delete(s.id);
    if (!s.valid) return;
    s.valid = false;
    this.counters.sessionsExpired++;
    this.emit('sessionExpired', { id: s.id, reason: 'timeout', local: true });
  }

  private load(id: string): Promise<ClusterSession | undefined> {
    const inFlight = this.loading.get(id);
    if (inFlight) return inFlight;
    const token = this.cache.loadToken(id);
    const key = this.key(id);
    const p = this.conn!.command(key, true, ['HGETALL', key]).then(
      (reply) => {
        this.noteSuccess();
        const s = this.parse(id, reply);
        if (s) this.cache.putIfUnchanged(token, s);
        return s;
      },
      (err: unknown) => {
        throw this.storeError(`reading session ${id}`, err);
      },
    );
    const done = p.finally(() => this.loading.delete(id));
    this.loading.set(id, done);
    return done;
  }

  /** A session from its hash; undefined when the key does not exist (or is not one of ours). */
  private parse(id: string, reply: unknown): ClusterSession | undefined {
    const fields = reply && typeof reply === 'object' ? Object.entries(reply as Record<string, unknown>) : [];
    if (fields.length === 0) return undefined;
    const meta = new Map<string, string>();
    const attrs = new Map<string, string>();
    for (const [field, value] of fields) {
      const text = String(value);
      if (field.startsWith(ATTR)) {
        const name = field.slice(ATTR.length);
        // The same rule as for replicated attributes: values are data whatever keys they hold;
        // the names through which a prototype is reached are refused.
        if (attributeNameProblem(name) === null) attrs.set(name, text);
        else this.log.warn({ id, attribute: name.slice(0, 80) }, 'session attribute in Redis refused (forbidden name); left out');
      } else meta.set(field, text);
    }
    const ctime = Number(meta.get(META_CTIME));
    const mii = Number(meta.get(META_MII));
    if (!Number.isFinite(ctime) || !Number.isFinite(mii)) {
      this.log.warn({ id }, 'Redis key has no session metadata (m:ctime, m:mii); not a session of this store');
      return undefined;
    }
    const s = new ClusterSession(id, ctime, mii);
    s.lastAccessedTime = Number(meta.get(META_ATIME)) || ctime;
    s.attributes = attrs;
    s.primary = true;
    s.replicated = new Map(attrs);
    s.version = this.clock.stamp();
    return s;
  }

  /* ------------------------------------------------------------------ creation */

  createSession(requestedId?: string): { session: ClusterSession; replication: Promise<ReplicationOutcome> } {
    const down = this.unavailableNow('creating a session');
    if (down) throw down;
    if (requestedId !== undefined && (!isPlausibleSessionId(requestedId) || this.knows(requestedId))) {
      throw new TypeError(`cannot create a session with id ${JSON.stringify(requestedId.slice(0, 80))}: invalid or in use`);
    }
    const id = requestedId ?? generateSessionId(this.options.jvmRoute, this.random);
    const s = new ClusterSession(id, this.clock.now(), this.options.maxInactiveInterval);
    s.primary = true;
    s.replicated = new Map();
    s.version = this.clock.stamp();
    this.unsaved.add(s);
    this.cache.put(s);
    this.cache.touch(id);
    this.counters.sessionsCreated++;
    this.emit('sessionCreated', { id, local: true });
    // Written (atomically, with its first attributes) when the creating request completes.
    return { session: s, replication: Promise.resolve(REPLICATION_OK) };
  }

  /* ------------------------------------------------------------------ requests */

  beginRequest(s: ClusterSession): void {
    s.activeRequests++;
    s.lastAccessedTime = this.clock.now();
  }

  endRequest(s: ClusterSession): void {
    if (s.activeRequests > 0) s.activeRequests--;
    s.lastAccessedTime = this.clock.now();
  }

  private readonly replicable = (name: string): boolean => isReplicableAttribute(this.options.sessionAttributeNameFilter, name);

  commit(s: ClusterSession, changes: SessionChanges | null, replicate: boolean): Promise<ReplicationOutcome> {
    if (!s.valid || this.stopped) return Promise.resolve(REPLICATION_OK);
    // The request's changes go into its object and into the cached copy (another object when the
    // copy was reloaded meanwhile): the copy must keep matching what Redis will hold.
    const cached = this.cache.peek(s.id);
    const copies = cached && cached !== s && cached.valid ? [s, cached] : [s];
    const now = this.clock.now();
    for (const c of copies) {
      c.lastAccessedTime = now;
      c.replicated ??= new Map(c.attributes);
      if (changes) {
        if (changes.attributes.set.length || changes.attributes.remove.length) applyDelta(c.attributes, changes.attributes);
        if (changes.maxInactiveInterval !== undefined) c.maxInactiveInterval = changes.maxInactiveInterval;
      }
    }
    const base = copies[copies.length - 1]!;
    const isNew = this.unsaved.has(s);
    if (!replicate && !isNew) return Promise.resolve(REPLICATION_OK); // filtered: the delta waits for the next request
    const delta = isNew && !replicate ? { set: [], remove: [] } : diffAttributes(base.replicated!, base.attributes, this.replicable);
    const timeoutChanged = base.maxInactiveInterval !== base.replicatedMaxInactiveInterval;
    if (replicate) {
      for (const c of copies) {
        c.replicated = new Map(c.attributes);
        c.replicatedMaxInactiveInterval = c.maxInactiveInterval;
      }
    }
    const key = this.key(s.id);
    this.cache.touch(s.id);
    s.version = this.clock.stamp();
    if (isNew) {
      this.unsaved.delete(s);
      const args = [String(now), String(s.creationTime), String(s.maxInactiveInterval), String(delta.set.length)];
      for (const [name, text] of delta.set) args.push(ATTR + name, text);
      return this.write('create', s, () => this.conn!.script(CREATE, [key], args), (r) => r === 1, 'the id exists already');
    }
    const type = delta.set.length || delta.remove.length || timeoutChanged ? 'delta' : 'access';
    const args = [String(now), String(s.creationTime), timeoutChanged ? String(base.maxInactiveInterval) : '', String(delta.set.length)];
    for (const [name, text] of delta.set) args.push(ATTR + name, text);
    for (const name of delta.remove) args.push(ATTR + name);
    return this.write(type, s, () => this.conn!.script(COMMIT, [key], args), (r) => r === 1, null);
  }

  changeSessionId(s: ClusterSession, requestedNewId: string): Promise<ReplicationOutcome> {
    const oldId = s.id;
    if (requestedNewId === oldId || !s.valid) return Promise.resolve(REPLICATION_OK);
    let newId = requestedNewId;
    // Redis Cluster: RENAME needs both keys in one slot. The route binder keeps the hex part (same
    // slot); a fresh id (session fixation protection) is drawn within the old id's slot (keys.ts).
    if (this.store.topology.kind === 'cluster' && sessionSlot(newId) !== sessionSlot(oldId)) {
      const { route } = splitSessionId(requestedNewId);
      const hex = randomHexInSlot(sessionSlot(oldId), this.random);
      newId = route === null ? hex : `${hex}.${route}`;
    }
    this.cache.delete(oldId);
    s.id = newId;
    this.cache.put(s);
    this.cache.touch(newId);
    this.counters.sessionIdChanges++;
    this.emit('sessionChangedId', { oldId, newId, local: true });
    if (this.unsaved.has(s)) return Promise.resolve(REPLICATION_OK); // created under its new id
    const keys = [this.key(oldId), this.key(newId)];
    // 2: a concurrent request renamed it first; this request just uses the new id.
    return this.write('change-id', s, () => this.conn!.script(RENAME, keys, []), (r) => r === 1 || r === 2, null);
  }

  invalidate(s: ClusterSession): Promise<ReplicationOutcome> {
    if (!s.valid) return Promise.resolve(REPLICATION_OK);
    this.counters.sessionsInvalidated++;
    s.valid = false;
    const cached = this.cache.delete(s.id);
    if (cached) cached.valid = false;
    this.emit('sessionExpired', { id: s.id, reason: 'invalidated', local: true });
    if (this.unsaved.has(s)) {
      this.unsaved.delete(s);
      return Promise.resolve(REPLICATION_OK);
    }
    const key = this.key(s.id);
    // Deleted at once (not with the next request); 0 = already gone, which is what was wanted.
    return this.write('expire', s, () => this.conn!.script(DELETE, [key], [String(s.creationTime)]), () => true, null);
  }

  /**
   * Sends one write and turns its result into the request's outcome. `ok(reply)` false means the
   * session is not (or no longer) there: with `conflict` text a failure (creation over an existing
   * id), else the session was invalidated or expired elsewhere and is dropped here too. A failed
   * write drops the cached copy (Redis may or may not hold the change). 'async' answers at once.
   */
  private write(type: string, s: ClusterSession, send: () => Promise<unknown>, ok: (reply: unknown) => boolean, conflict: string | null): Promise<ReplicationOutcome> {
    bump(this.sent, type);
    const id = s.id;
    const down = this.unavailableNow(`writing session ${id}`);
    const run = down
      ? Promise.reject(down)
      : send().then(async (reply) => {
          this.noteSuccess();
          if (!ok(reply)) {
            if (conflict) throw new SessionStoreUnavailableError(`session store: cannot create session ${id}: ${conflict}`);
            this.lost(s);
            return;
          }
          if (this.store.wait) await this.waitForReplicas(this.key(s.id));
        });
    const outcome = run.then(
      () => REPLICATION_OK,
      (err: unknown) => this.failed(type, s, id, err),
    );
    if (this.options.sendOptions === 'async') return Promise.resolve(REPLICATION_OK);
    return outcome;
  }

  /** `WAIT replicas timeout` on the connection that carried the write (routed by the same key). */
  private async waitForReplicas(key: string): Promise<void> {
    const { replicas, timeout } = this.store.wait!;
    const acked = Number(await this.conn!.command(key, false, ['WAIT', String(replicas), String(timeout)]));
    if (acked < replicas) {
      this.metrics.waitShortfalls++;
      throw new SessionStoreUnavailableError(`session store: the write reached ${acked} of ${replicas} replica(s) within ${timeout} ms`);
    }
  }

  private failed(type: string, s: ClusterSession, id: string, err: unknown): ReplicationOutcome {
    const error = this.storeError(`${type} of session ${id}`, err);
    this.counters.replicationFailures++;
    if (this.cache.peek(s.id) === s) this.cache.delete(s.id);
    this.log.warn({ type, sessionId: id }, error.message);
    this.emit('replicationFailed', { type, sessionId: id, routes: [], error });
    return { ok: false, error };
  }

  /** The session vanished from Redis under us (invalidated by another node, expired). */
  private lost(s: ClusterSession): void {
    if (this.cache.peek(s.id) === s) this.cache.delete(s.id);
    if (!s.valid) return;
    s.valid = false;
    this.counters.sessionsLost++;
    this.emit('sessionExpired', { id: s.id, reason: 'lost', local: true });
  }

  /* ------------------------------------------------------------------ expiry, inspection, stats */

  /** Drops cached copies whose TTL has run out in Redis. */
  processExpires(): void {
    if (this.stopped) return;
    for (const s of this.cache.values()) if (this.idleExpired(s)) this.expireCached(s);
    this.cache.forgetEpochs(new Set(this.loading.keys()));
  }

  inspect(id: string): SessionInspection | undefined {
    const s = this.cache.peek(id);
    return s && s.valid ? inspectSession(s, 'primary') : undefined;
  }

  sessionIds(): string[] {
    return this.cache.ids();
  }

  /** Every session id in Redis (SCAN over every master), for the express-session store's all()/ids(). */
  async allSessionIds(): Promise<string[]> {
    const down = this.unavailableNow('listing sessions');
    if (down) throw down;
    const out: string[] = [];
    try {
      for (const call of await this.conn!.masters()) {
        let cursor = '0';
        do {
          const [next, keys] = (await call(['SCAN', cursor, 'MATCH', scanPattern(this.store.keyPrefix), 'COUNT', '1000'])) as [string, string[]];
          cursor = String(next);
          for (const key of keys) {
            const id = idFromKey(this.store.keyPrefix, key);
            if (id !== null) out.push(id);
          }
        } while (cursor !== '0');
      }
    } catch (err) {
      throw this.storeError('listing sessions', err);
    }
    return out;
  }

  stats(): ManagerStats & { store: RedisStoreStats } {
    const c = this.cache;
    const lookups = c.hits + c.misses;
    return {
      manager: 'redis',
      sessions: { active: c.size, primary: c.size, replica: 0, proxy: 0, maxActive: -1 },
      counters: { ...this.counters },
      sent: { ...this.sent },
      received: {},
      stateTransfer: { state: 'none', from: null, sessions: 0, refused: 0, ms: 0 },
      store: {
        type: 'redis',
        topology: this.store.topology.kind,
        available: this.available,
        outages: this.metrics.outages,
        ops: this.metrics.ops,
        errors: this.metrics.errors,
        waitShortfalls: this.metrics.waitShortfalls,
        latency: this.metrics.latencySummary(),
        cache: {
          hits: c.hits,
          misses: c.misses,
          hitRate: lookups === 0 ? 0 : c.hits / lookups,
          size: c.size,
          invalidations: c.invalidations,
          flushes: c.flushes,
          evictions: c.evictions,
        },
      },
    };
  }

  /* ------------------------------------------------------------------ no peers */

  receive(_from: ClusterMember, _raw: unknown): undefined {
    return undefined;
  }

  async answer(): Promise<unknown> {
    throw new Error('a node with store: redis answers no cluster requests');
  }

  memberAdded(): void {}
  memberRemoved(): void {}
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

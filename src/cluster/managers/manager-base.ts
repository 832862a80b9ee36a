/**
 * What DeltaManager and BackupManager share (Tomcat's ClusterManagerBase + ManagerBase): the session
 * map, creation with maxActiveSessions, the expiry sweep, request bookkeeping, sending with the
 * configured send mode and its failure policy, per-peer ordered receiving, counters and events.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Channel, ClusterMember, SendResult } from '../channel/types.js';
import type { Clock } from '../clock.js';
import { ReplicationError, TooManyActiveSessionsError } from '../errors.js';
import type { ResolvedNodeOptions } from '../options.js';
import { applyDelta } from '../session/attributes.js';
import { expiryDecision } from '../session/expiry.js';
import { isReplicableAttribute } from '../session/filters.js';
import { generateSessionId, isPlausibleSessionId, type RandomSource } from '../session/id.js';
import { ClusterSession, type SessionInspection } from '../session/session.js';
import { REPLICATION_OK, type ReplicationOutcome, type SessionChanges, type SessionManager } from './manager.js';
import type { AckMode } from './messages.js';
import { bump, newCounters, type ManagerStats, type StateTransferStats } from './stats.js';

export interface ManagerContext {
  channel: Channel;
  options: ResolvedNodeOptions;
  clock: Clock;
  logger: Logger;
  random?: RandomSource;
}

/** A message that may carry the ack mode the receiver must honour. */
type Ackable = { t: string; ack?: AckMode };

export abstract class ClusterManagerBase extends EventEmitter implements SessionManager {
  abstract readonly kind: 'delta' | 'backup';

  protected readonly channel: Channel;
  protected readonly options: ResolvedNodeOptions;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly random: RandomSource | undefined;
  /** Sessions this node holds a value for. */
  protected readonly sessions = new Map<string, ClusterSession>();
  protected readonly counters = newCounters();
  protected readonly sent: Record<string, number> = {};
  protected readonly received: Record<string, number> = {};
  protected transfer: StateTransferStats = { state: 'none', from: null, sessions: 0, ms: 0 };
  /** Per-peer processing chain: keeps a peer's messages in order even when one awaits (see receive). */
  private readonly chains = new Map<string, Promise<void>>();
  private expiryTimer: NodeJS.Timeout | null = null;
  protected stopped = false;

  constructor(ctx: ManagerContext) {
    super();
    this.channel = ctx.channel;
    this.options = ctx.options;
    this.clock = ctx.clock;
    this.log = ctx.logger;
    this.random = ctx.random;
  }

  /* ------------------------------------------------------------------ lifecycle */

  abstract start(): Promise<void>;

  protected startExpirySweep(): void {
    // Tomcat runs processExpires from the background thread; ours is an unref'd timer so it never
    // keeps the host process alive on its own.
    this.expiryTimer = setInterval(() => this.processExpires(), this.options.processExpiresFrequency);
    this.expiryTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.expiryTimer = null;
    await this.shutdownSessions();
  }

  /** Manager-specific part of a graceful stop (cluster-semantics §2.6 "Shutdown"). */
  protected abstract shutdownSessions(): Promise<void>;

  /* ------------------------------------------------------------------ lookups */

  abstract findSession(id: string): Promise<ClusterSession | undefined>;

  knows(id: string): boolean {
    return this.sessions.has(id);
  }

  /**
   * A held session if it is still valid; expires it on the spot when its time is up (Tomcat checks
   * `isValid` on access as well as in the background sweep).
   */
  protected liveSession(id: string): ClusterSession | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (this.checkExpiry(s)) return undefined;
    return s;
  }

  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  abstract inspect(id: string): SessionInspection | undefined;

  /* ------------------------------------------------------------------ creation */

  /** Sessions counted against maxActiveSessions (DeltaManager: all, incl. replicas, cluster-semantics §2.7). */
  protected activeCount(): number {
    return this.sessions.size;
  }

  createSession(requestedId?: string): { session: ClusterSession; replication: Promise<ReplicationOutcome> } {
    const max = this.options.maxActiveSessions;
    if (max >= 0 && this.activeCount() >= max) {
      this.counters.sessionsRejected++;
      throw new TooManyActiveSessionsError(max);
    }
    if (requestedId !== undefined && (!isPlausibleSessionId(requestedId) || this.knows(requestedId))) {
      throw new TypeError(`cannot create a session with id ${JSON.stringify(requestedId.slice(0, 80))}: invalid or in use`);
    }
    let id = requestedId ?? generateSessionId(this.options.jvmRoute, this.random);
    while (requestedId === undefined && this.knows(id)) id = generateSessionId(this.options.jvmRoute, this.random);
    const now = this.clock.now();
    const s = new ClusterSession(id, now, this.options.maxInactiveInterval);
    s.primary = true;
    s.replicated = new Map();
    s.version = this.clock.stamp();
    this.sessions.set(id, s);
    this.counters.sessionsCreated++;
    this.emit('sessionCreated', { id, local: true });
    return { session: s, replication: this.replicateCreate(s) };
  }

  /** Tell the cluster about a new session (DeltaManager: CREATED at once; BackupManager: backup + proxies). */
  protected abstract replicateCreate(s: ClusterSession): Promise<ReplicationOutcome>;

  /* ------------------------------------------------------------------ requests */

  beginRequest(s: ClusterSession): void {
    s.activeRequests++;
    s.lastAccessedTime = this.clock.now();
  }

  endRequest(s: ClusterSession): void {
    if (s.activeRequests > 0) s.activeRequests--;
    s.lastAccessedTime = this.clock.now();
  }

  commit(s: ClusterSession, changes: SessionChanges | null, replicate: boolean): Promise<ReplicationOutcome> {
    if (!s.valid || this.stopped) return Promise.resolve(REPLICATION_OK);
    s.lastAccessedTime = this.clock.now();
    // A copy that was a replica until now: the peers hold exactly what it holds, so that is the
    // snapshot this request's delta is computed against.
    if (!s.replicated) s.replicated = new Map(s.attributes);
    if (changes) {
      const { attributes, maxInactiveInterval } = changes;
      if (attributes.set.length || attributes.remove.length) applyDelta(s.attributes, attributes);
      if (maxInactiveInterval !== undefined) s.maxInactiveInterval = maxInactiveInterval;
    }
    return this.requestCompleted(s, replicate);
  }

  /** Manager-specific end-of-request replication (cluster-semantics §2.4 DeltaManager, §2.8 BackupManager). */
  protected abstract requestCompleted(s: ClusterSession, replicate: boolean): Promise<ReplicationOutcome>;

  abstract changeSessionId(s: ClusterSession, newId: string): Promise<ReplicationOutcome>;

  abstract invalidate(s: ClusterSession): Promise<ReplicationOutcome>;

  /** Attribute-name filter (cluster-semantics §2.7): bound once so it can be passed around. */
  protected readonly replicable = (name: string): boolean =>
    isReplicableAttribute(this.options.sessionAttributeNameFilter, name);

  /* ------------------------------------------------------------------ expiry */

  /** One sweep over every held session (Tomcat's processExpires). */
  processExpires(): void {
    if (this.stopped) return;
    for (const s of [...this.sessions.values()]) this.checkExpiry(s);
  }

  /** Applies the expiry rule to one session; true when it is gone. */
  protected checkExpiry(s: ClusterSession): boolean {
    const decision = expiryDecision(s, this.clock.now());
    if (decision === 'keep') return false;
    this.expireByTimeout(s, decision === 'expire');
    return true;
  }

  /** Idle timeout: a primary tells the cluster; a stale copy just disappears (cluster-semantics §2.6). */
  protected abstract expireByTimeout(s: ClusterSession, notifyCluster: boolean): void;

  /** Drops a session locally and says so. */
  protected removeLocal(s: ClusterSession, reason: 'timeout' | 'invalidated' | 'shutdown' | 'lost', local: boolean): void {
    s.valid = false;
    if (this.sessions.get(s.id) === s) this.sessions.delete(s.id);
    this.emit('sessionExpired', { id: s.id, reason, local });
  }

  /* ------------------------------------------------------------------ sending */

  /**
   * Sends a session message with the configured send mode (cluster-semantics §2.1): 'async' → resolved at once,
   * delivery continues in the background in per-peer order; 'ack'/'sync' → resolved when every
   * addressed peer acknowledged (on receipt / after applying) or `syncTimeout` passed. Failures are
   * logged, counted and emitted; the outcome tells the request (used only with onReplicationFailure 'error').
   */
  protected send<M extends Ackable & { id?: string }>(msg: M, to?: ClusterMember[]): Promise<ReplicationOutcome> {
    const targets = to ?? this.channel.members();
    if (targets.length === 0) return Promise.resolve(REPLICATION_OK);
    bump(this.sent, msg.t);
    const mode = this.options.sendOptions;
    if (mode === 'async') {
      this.channel.send(msg, { ack: false }, to).then(
        (r) => this.noteResult(msg, r),
        (err: unknown) => this.noteError(msg, targets, err),
      );
      return Promise.resolve(REPLICATION_OK);
    }
    msg.ack = mode === 'ack' ? 'receipt' : 'applied';
    return this.channel.send(msg, { ack: true, timeoutMs: this.options.syncTimeout }, to).then(
      (r) => this.noteResult(msg, r),
      (err: unknown) => this.noteError(msg, targets, err),
    );
  }

  /** Sends with acknowledgement regardless of the send mode (state transfer pages, BackupManager full copies). */
  protected sendAcked<M extends Ackable & { id?: string }>(msg: M, to: ClusterMember[], timeoutMs: number): Promise<ReplicationOutcome> {
    if (to.length === 0) return Promise.resolve(REPLICATION_OK);
    bump(this.sent, msg.t);
    msg.ack = 'applied';
    return this.channel.send(msg, { ack: true, timeoutMs }, to).then(
      (r) => this.noteResult(msg, r),
      (err: unknown) => this.noteError(msg, to, err),
    );
  }

  private noteResult(msg: Ackable & { id?: string }, r: SendResult): ReplicationOutcome {
    if (r.failed.length === 0) return REPLICATION_OK;
    const routes = r.failed.map((f) => f.member.route);
    const error = new ReplicationError(
      `replication of ${msg.t}${msg.id ? ` for session ${msg.id}` : ''} failed on ${routes.join(', ')}: ` +
        r.failed.map((f) => f.error.message).join('; '),
      routes,
    );
    return this.fail(msg, error);
  }

  private noteError(msg: Ackable & { id?: string }, targets: ClusterMember[], err: unknown): ReplicationOutcome {
    const routes = targets.map((m) => m.route);
    const error = new ReplicationError(`replication of ${msg.t} failed: ${(err as Error)?.message ?? String(err)}`, routes);
    return this.fail(msg, error);
  }

  private fail(msg: Ackable & { id?: string }, error: ReplicationError): ReplicationOutcome {
    this.counters.replicationFailures++;
    // Tomcat logs and carries on (SimpleTcpCluster.send catches everything, cluster-semantics §2.1).
    this.log.warn({ type: msg.t, sessionId: msg.id, routes: error.routes }, error.message);
    this.emit('replicationFailed', { type: msg.t, sessionId: msg.id ?? null, routes: error.routes, error });
    return { ok: false, error };
  }

  /* ------------------------------------------------------------------ receiving */

  /**
   * Channel message entry point. The channel hands us one peer's messages in order; processing is
   * chained per peer so that a message whose handling awaits (a fetch) still finishes before the
   * next one from that peer starts. The returned promise is what the channel waits for before
   * acknowledging: for 'applied' messages the processing itself, for everything else nothing
   * (acknowledged on receipt, Tomcat's option 2 vs 6).
   */
  receive(from: ClusterMember, raw: unknown): Promise<void> | undefined {
    const ack = (raw as { ack?: unknown } | null)?.ack;
    const prev = this.chains.get(from.id) ?? Promise.resolve();
    const next = prev.then(() => this.handle(from, raw)).catch((err: unknown) => {
      this.log.error({ err, from: from.route }, 'cluster message handling failed');
    });
    this.chains.set(from.id, next);
    return ack === 'applied' ? next : undefined;
  }

  /** Manager-specific handling of one inbound message (already ordered). Must not throw for bad input. */
  protected abstract handle(from: ClusterMember, raw: unknown): void | Promise<void>;

  /** Channel request entry point (retrieve, state). */
  abstract answer(from: ClusterMember, raw: unknown): Promise<unknown>;

  memberAdded(_m: ClusterMember): void {}

  memberRemoved(m: ClusterMember): void {
    this.chains.delete(m.id);
  }

  protected dropInvalid(from: ClusterMember, raw: unknown): void {
    this.counters.messagesDropped++;
    const t = (raw as { t?: unknown } | null)?.t;
    this.log.warn({ from: from.route, type: typeof t === 'string' ? t.slice(0, 40) : typeof t }, 'dropped malformed cluster message');
  }

  /* ------------------------------------------------------------------ stats */

  stats(): ManagerStats {
    let primary = 0;
    for (const s of this.sessions.values()) if (s.primary) primary++;
    return {
      manager: this.kind,
      sessions: {
        active: this.sessions.size,
        primary,
        replica: this.sessions.size - primary,
        proxy: this.proxyCount(),
        maxActive: this.options.maxActiveSessions,
      },
      counters: { ...this.counters },
      sent: { ...this.sent },
      received: { ...this.received },
      stateTransfer: { ...this.transfer },
    };
  }

  protected proxyCount(): number {
    return 0;
  }
}

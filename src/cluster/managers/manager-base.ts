/**
 * What DeltaManager and BackupManager share (Tomcat's ClusterManagerBase + ManagerBase): the session
 * map, creation with maxActiveSessions, the expiry sweep, request bookkeeping, sending with the
 * configured send mode and its failure policy, per-peer ordered receiving with validation and
 * refusal, counters and events.
 *
 * Nothing here may take the host process down: background work goes through `background()` (a
 * rejection is logged and counted), timer callbacks are guarded, and an exception thrown by an
 * application's event listener is logged and counted instead of unwinding into the manager.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { RemoteHandlerError } from '../channel/errors.js';
import type { Channel, ClusterMember, SendResult } from '../channel/types.js';
import type { Clock } from '../clock.js';
import { ReplicationError, TooManyActiveSessionsError } from '../errors.js';
import type { ResolvedNodeOptions } from '../options.js';
import { applyDelta } from '../session/attributes.js';
import { expiryDecision, timeoutProblem } from '../session/expiry.js';
import { isReplicableAttribute } from '../session/filters.js';
import { generateSessionId, isPlausibleSessionId, type RandomSource } from '../session/id.js';
import { ClusterSession, type SessionInspection } from '../session/session.js';
import { REPLICATION_OK, type ReplicationOutcome, type SessionChanges, type SessionManager } from './manager.js';
import { parseRefusedNotice, type AckMode, type Parsed, type PeerValueRules, type RefusedNotice } from './messages.js';
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

/**
 * We refused (part of) a peer's message: it failed validation. Thrown towards the channel, it becomes
 * the FAIL-ACK's reason the sender sees; it is already logged and counted.
 */
export class MessageRefusedError extends Error {
  override name = 'MessageRefusedError';
}

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
  protected transfer: StateTransferStats = { state: 'none', from: null, sessions: 0, refused: 0, ms: 0 };
  /** Per-peer processing chain: keeps a peer's messages in order even when one awaits (see receive). */
  private readonly chains = new Map<string, Promise<void>>();
  private expiryTimer: NodeJS.Timeout | null = null;
  /** When each peer's last refusal was logged at warn (refuse()). */
  private readonly lastRefusalLog = new Map<string, number>();
  protected stopped = false;

  constructor(ctx: ManagerContext) {
    super();
    this.channel = ctx.channel;
    this.options = ctx.options;
    this.clock = ctx.clock;
    this.log = ctx.logger;
    this.random = ctx.random;
  }

  /** What this node accepts in peer-supplied values (messages.ts). */
  protected get rules(): PeerValueRules {
    return { neverExpireAllowed: this.options.maxInactiveInterval <= 0 };
  }

  timeoutProblem(seconds: unknown): string | null {
    return timeoutProblem(seconds, this.rules.neverExpireAllowed);
  }

  /* ------------------------------------------------------------------ never fatal */

  /**
   * Events go to the application's listeners; a listener that throws is the application's bug and
   * must not unwind into replication, the expiry timer or a promise chain (where it would become an
   * unhandled rejection): logged and counted here.
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (err) {
      this.reportError(`'${String(event)}' listener`, err);
      return true;
    }
  }

  /** An unexpected exception (a bug here or in a listener): logged at error level and counted, never fatal. */
  reportError(where: string, err: unknown): void {
    this.counters.internalErrors++;
    this.log.error({ err, where }, 'cluster: unexpected error (the node carries on)');
  }

  /** Fire-and-forget work: its rejection is reported (logged + counted) instead of crashing the process. */
  protected background(where: string, work: Promise<unknown>): void {
    work.catch((err: unknown) => this.reportError(where, err));
  }

  /* ------------------------------------------------------------------ lifecycle */

  abstract start(): Promise<void>;

  protected startExpirySweep(): void {
    // Tomcat runs processExpires from the background thread; ours is an unref'd timer so it never
    // keeps the host process alive on its own.
    this.expiryTimer = setInterval(() => {
      try {
        this.processExpires();
      } catch (err) {
        this.reportError('expiry sweep', err);
      }
    }, this.options.processExpiresFrequency);
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

  peerRoutes(): string[] {
    return this.channel.members().map((m) => m.route);
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

  /**
   * Sessions counted against maxActiveSessions: the ones this node is primary for. Tomcat counts
   * every session in the manager's map (ManagerBase.createSession compares getActiveSessions(), and
   * DeltaManager keeps replicas in that map; cluster-semantics §2.7), so replicas arriving from peers can make
   * a node refuse its own users. We deliberately count only primaries (docs/cluster.md).
   */
  protected primaryCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.primary) n++;
    return n;
  }

  createSession(requestedId?: string): { session: ClusterSession; replication: Promise<ReplicationOutcome> } {
    const max = this.options.maxActiveSessions;
    // Counting primaries walks the map, so only when the map alone could reach the limit.
    if (max >= 0 && this.sessions.size >= max && this.primaryCount() >= max) {
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
      this.background(
        `sending ${msg.t}`,
        this.channel.send(msg, { ack: false }, to).then(
          (r) => this.noteResult(msg, r),
          (err: unknown) => this.noteError(msg, targets, err),
        ),
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
    // The peers got it and their handler said no (FAIL-ACK): the change was refused, not lost in transit.
    const refused = r.failed.every((f) => f.error instanceof RemoteHandlerError);
    if (refused) this.counters.refusedByPeers += r.failed.length;
    const error = new ReplicationError(
      `replication of ${msg.t}${msg.id ? ` for session ${msg.id}` : ''} failed on ${routes.join(', ')}: ` +
        r.failed.map((f) => f.error.message).join('; '),
      routes,
      refused,
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
   * Channel message entry point. Every message is validated first (`parse`); a refused one is
   * logged and counted, and its sender is told: we throw to the channel, which answers an
   * acknowledged send with a FAIL-ACK, and an unacknowledged one gets a 'refused' notice. Accepted
   * messages are processed chained per peer, so that a message whose handling awaits (a fetch)
   * still finishes before the next one from that peer starts. The returned promise is what the channel waits for before acknowledging: for
   * 'applied' messages the processing itself (a refusal found while applying — a bad session in a
   * state-transfer page — becomes a FAIL-ACK), for everything else nothing (acknowledged on receipt,
   * Tomcat's option 2 vs 6).
   */
  receive(from: ClusterMember, raw: unknown): Promise<void> | undefined {
    const ack = (raw as { ack?: unknown } | null)?.ack;
    const acked = ack === 'receipt' || ack === 'applied';
    if ((raw as { t?: unknown } | null)?.t === 'refused') {
      this.peerRefused(from, raw);
      return undefined;
    }
    const parsed = this.parse(raw);
    if (!parsed.ok) {
      const err = this.refuse(from, raw, parsed.reason, parsed.id);
      if (!acked) this.tellRefused(from, raw, parsed.reason, parsed.id);
      // To the channel: a FAIL-ACK whenever the sender waits for an acknowledgement.
      throw err;
    }
    const prev = this.chains.get(from.id) ?? Promise.resolve();
    const run = prev.then(() => this.handle(from, parsed.msg));
    this.chains.set(
      from.id,
      run.catch((err: unknown) => {
        if (err instanceof MessageRefusedError) {
          if (!acked) this.tellRefused(from, raw, err.message, (parsed.msg as { id?: string }).id);
        } else {
          this.reportError(`handling ${String((raw as { t?: unknown }).t)} from ${from.route}`, err);
        }
      }),
    );
    return ack === 'applied' ? run : undefined;
  }

  /** Validates a peer's message (names, types, ranges): the message, or why it is refused. */
  protected abstract parse(raw: unknown): Parsed<unknown>;

  /** Manager-specific handling of one validated inbound message (already ordered). */
  protected abstract handle(from: ClusterMember, msg: unknown): void | Promise<void>;

  /** Channel request entry point (retrieve, state). */
  abstract answer(from: ClusterMember, raw: unknown): Promise<unknown>;

  /**
   * Logs and counts a refused message; returns the error that tells an acknowledging sender why.
   * A peer sending many bad messages must not flood the log: one warning per peer per second, the
   * rest at debug (all of them counted).
   */
  protected refuse(from: ClusterMember, raw: unknown, reason: string, id?: string): MessageRefusedError {
    this.counters.messagesDropped++;
    const t = (raw as { t?: unknown } | null)?.t;
    const now = this.clock.now();
    const loud = now - (this.lastRefusalLog.get(from.id) ?? -Infinity) >= 1000;
    if (loud) this.lastRefusalLog.set(from.id, now);
    this.log[loud ? 'warn' : 'debug'](
      { from: from.route, type: typeof t === 'string' ? t.slice(0, 40) : typeof t, sessionId: id, reason, refused: this.counters.messagesDropped },
      'refused a cluster message from a peer',
    );
    return new MessageRefusedError(`refused: ${reason}`);
  }

  /** Tells the sender of an unacknowledged message that we refused it (never for a notice itself). */
  protected tellRefused(from: ClusterMember, raw: unknown, reason: string, id?: string): void {
    const t = (raw as { t?: unknown } | null)?.t;
    const notice: RefusedNotice = { t: 'refused', ref: typeof t === 'string' ? t.slice(0, 40) : typeof t, reason: reason.slice(0, 1000) };
    if (id !== undefined) notice.id = id;
    bump(this.sent, 'refused');
    this.background(
      'sending a refused notice',
      this.channel.send(notice, { ack: false }, [from]).then((r) => {
        if (r.failed.length > 0) this.log.debug({ to: from.route }, 'could not tell the sender its message was refused');
      }),
    );
  }

  /** A peer refused something we sent without acknowledgement: as loud as a failed acknowledged send. */
  private peerRefused(from: ClusterMember, raw: unknown): void {
    const notice = parseRefusedNotice(raw);
    if (!notice) {
      this.counters.messagesDropped++;
      this.log.warn({ from: from.route }, 'dropped a malformed refused notice');
      return;
    }
    bump(this.received, 'refused');
    this.counters.refusedByPeers++;
    this.fail(
      { t: notice.ref, ...(notice.id !== undefined ? { id: notice.id } : {}) },
      new ReplicationError(`${from.route} refused ${notice.ref}${notice.id ? ` for session ${notice.id}` : ''}: ${notice.reason}`, [from.route], true),
    );
  }

  memberAdded(_m: ClusterMember): void {}

  memberRemoved(m: ClusterMember): void {
    this.chains.delete(m.id);
    this.lastRefusalLog.delete(m.id);
  }

  /* ------------------------------------------------------------------ stats */

  stats(): ManagerStats {
    const primary = this.primaryCount();
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

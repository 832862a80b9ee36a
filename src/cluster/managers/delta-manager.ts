/**
 * DeltaManager (cluster-semantics §2.2–§2.6): every node holds every session. Changes go to all members as
 * CREATED / DELTA / ACCESSED / EXPIRED / CHANGE_SESSION_ID messages; a joiner pulls everything from
 * the oldest member before it serves (GET_ALL → ALL_SESSION_DATA pages → TRANSFERCOMPLETE).
 *
 * Where we deliberately differ from Tomcat (and why):
 * - Per-session order is guaranteed in every send mode (the channel is FIFO per peer), so a delta is
 *   never applied before its create (Tomcat bug 63441, cluster-semantics §4.3).
 * - A delta for a session this node does not know is not silently dropped: the session is fetched
 *   from the sender in full (closes the join window of cluster-semantics §4.3 item 3).
 * - Queued messages after a state transfer are filtered per session (transfer-filter.ts).
 * - A member only answers GET_ALL once the asker is a member on its side, so every change after its
 *   snapshot reaches the asker; a node still receiving state itself answers once it has it.
 * - State is only requested from an older member: two nodes starting together don't ask each other.
 */
import type { ClusterMember } from '../channel/types.js';
import { diffAttributes, isEmptyDelta, applyDelta } from '../session/attributes.js';
import { ClusterSession, fromSessionData, inspectSession, toSessionData, type SessionData, type SessionInspection } from '../session/session.js';
import { ClusterManagerBase } from './manager-base.js';
import { REPLICATION_OK, type ReplicationOutcome } from './manager.js';
import { MessageRefusedError } from './manager-base.js';
import {
  checkSessions,
  parseBackupRequest,
  parseDeltaMessage,
  parseRetrieveReply,
  type DeltaMessage,
  type ExpireReason,
  type Parsed,
} from './messages.js';
import { bump } from './stats.js';
import { shouldReplay } from './transfer-filter.js';

type SessionMessage = Extract<DeltaMessage, { t: 'create' | 'delta' | 'access' | 'expire' | 'change-id' }>;
type TransferResult = 'complete' | 'no-context' | 'gone' | 'timeout';

export class DeltaManager extends ClusterManagerBase {
  readonly kind = 'delta' as const;

  /** True while waiting for the state transfer: session messages are queued (Tomcat's receiverQueue). */
  private transferring = false;
  private queue: Array<{ from: ClusterMember; msg: SessionMessage }> = [];
  /** The member we asked for state, and how to wake the waiting start(). */
  private source: ClusterMember | null = null;
  private settleTransfer: ((r: TransferResult) => void) | null = null;
  private transferStamp = 0;
  /** Sessions the source said it sent (TRANSFERCOMPLETE's count), to tell a complete transfer from a partial one. */
  private transferCount = 0;
  /** GET_ALL requests that arrived while this node was itself still receiving state. */
  private deferredGetAll: ClusterMember[] = [];

  /* ------------------------------------------------------------------ start / stop */

  async start(): Promise<void> {
    const started = this.clock.now();
    await this.waitForMembers();
    const older = this.olderMembers();
    if (older.length === 0) {
      this.log.info({ members: this.channel.members().length }, 'no older cluster member: starting without state transfer');
    } else {
      await this.getAllClusterSessions(started);
    }
    this.startExpirySweep();
    for (const m of this.deferredGetAll.splice(0)) this.background(`state transfer to ${m.route}`, this.sendAllSessions(m));
  }

  /** Tomcat's waitForMembers: a node that sees nobody yet gives the membership a moment (on the library's clock). */
  private async waitForMembers(): Promise<void> {
    const deadline = this.clock.now() + this.options.memberWait;
    while (this.channel.members().length === 0 && this.clock.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Members that started before this node, oldest first: the ones that may hold state for us. */
  private olderMembers(): ClusterMember[] {
    const me = this.channel.local;
    return this.channel
      .members()
      .filter((m) => m.startedAt < me.startedAt || (m.startedAt === me.startedAt && m.id < me.id));
  }

  /** GET_ALL_SESSIONS from the oldest member, falling back to the next one if it disappears (cluster-semantics §2.5). */
  private async getAllClusterSessions(started: number): Promise<void> {
    const timeout = this.options.stateTransferTimeout;
    this.transferring = timeout !== 0;
    this.queue = [];
    const deadline = timeout < 0 ? Infinity : started + timeout;
    const tried = new Set<string>();
    let result: TransferResult = 'timeout';
    for (;;) {
      const source = this.olderMembers().find((m) => !tried.has(m.id));
      if (!source) break;
      tried.add(source.id);
      this.transfer = { state: 'pending', from: source.route, sessions: 0, refused: 0, ms: 0 };
      result = await this.requestState(source, deadline);
      if (result !== 'gone') break;
      this.log.warn({ from: source.route }, 'state transfer source left; asking the next oldest member');
    }
    const ms = this.clock.now() - started;
    if (timeout === 0) {
      this.log.info('stateTransferTimeout is 0: not waiting for the session state');
    } else if (result === 'complete' && (this.transfer.refused > 0 || this.transfer.sessions < this.transferCount)) {
      // Never "done" when something is missing: say what, loudly.
      this.transfer = { ...this.transfer, state: 'partial', ms };
      this.log.error(
        { from: this.transfer.from, sessions: this.transfer.sessions, sent: this.transferCount, refused: this.transfer.refused, ms },
        `state transfer incomplete: took ${this.transfer.sessions} of ${this.transferCount} sessions (${this.transfer.refused} refused)`,
      );
    } else if (result === 'complete') {
      this.transfer = { ...this.transfer, state: 'done', ms };
      this.log.info({ from: this.transfer.from, sessions: this.transfer.sessions, ms }, 'session state transferred');
    } else if (result === 'no-context') {
      this.transfer = { ...this.transfer, state: 'no-context', ms };
      this.log.warn({ from: this.transfer.from }, 'state transfer: the member has no DeltaManager; starting without its sessions');
    } else {
      this.transfer = { ...this.transfer, state: 'timeout', ms };
      // Tomcat: SEVERE "No session state send at ... received, timing out after ... ms", then start empty.
      this.log.error({ ms }, `no session state received, timing out after ${ms} ms; starting without it`);
    }
    await this.replayQueue(result === 'complete');
    this.source = null;
    this.emit('stateTransferred', { ...this.transfer });
  }

  private requestState(source: ClusterMember, deadline: number): Promise<TransferResult> {
    this.source = source;
    this.transferStamp = 0;
    this.transferCount = 0;
    return new Promise<TransferResult>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const settle = (r: TransferResult) => {
        if (timer) clearTimeout(timer);
        if (this.settleTransfer === settle) this.settleTransfer = null;
        resolve(r);
      };
      this.settleTransfer = settle;
      if (this.options.stateTransferTimeout === 0) return settle('timeout');
      if (deadline !== Infinity) timer = setTimeout(() => settle('timeout'), Math.max(0, deadline - this.clock.now()));
      bump(this.sent, 'get-all');
      this.background(
        'asking for the session state',
        this.channel.send({ t: 'get-all' }, { ack: false }, [source]).then(
          (r) => {
            if (r.failed.length > 0) settle('gone');
          },
          () => settle('gone'),
        ),
      );
    });
  }

  /** Replays what arrived during the transfer, in arrival order, through the per-session filter. */
  private async replayQueue(haveState: boolean): Promise<void> {
    while (this.queue.length > 0) {
      const { from, msg } = this.queue.shift()!;
      const version = this.sessions.get(msg.id)?.version;
      const replay = haveState
        ? shouldReplay(msg, version, this.transferStamp, this.options.stateTimestampDrop)
        : true; // no state arrived: everything queued is all we have
      if (!replay) {
        this.counters.staleDropped++;
        continue;
      }
      await this.apply(from, msg);
    }
    this.transferring = false;
  }

  protected async shutdownSessions(): Promise<void> {
    const all = [...this.sessions.values()];
    if (this.options.expireSessionsOnShutdown && this.channel.members().length > 0) {
      // Tomcat: expire(true, expireSessionsOnShutdown) on every session → EXPIRED to the cluster.
      // Acknowledged sends, so they are out before the channel closes.
      const timeout = this.options.syncTimeout;
      await Promise.all(
        all.map((s) =>
          this.sendAcked({ t: 'expire', id: s.id, stamp: this.clock.stamp(), reason: 'shutdown' }, this.channel.members(), timeout),
        ),
      );
    }
    for (const s of all) this.removeLocal(s, 'shutdown', true);
  }

  /* ------------------------------------------------------------------ request side */

  findSession(id: string): Promise<ClusterSession | undefined> {
    return Promise.resolve(this.liveSession(id));
  }

  protected replicateCreate(s: ClusterSession): Promise<ReplicationOutcome> {
    // EVT_SESSION_CREATED goes out immediately, inside createSession (cluster-semantics §2.2).
    return this.send({
      t: 'create',
      id: s.id,
      creationTime: s.creationTime,
      maxInactiveInterval: s.maxInactiveInterval,
      stamp: s.version,
    });
  }

  protected requestCompleted(s: ClusterSession, replicate: boolean): Promise<ReplicationOutcome> {
    if (!replicate) return Promise.resolve(REPLICATION_OK); // filtered: the delta stays pending (cluster-semantics §2.4)
    const delta = diffAttributes(s.replicated ?? new Map(), s.attributes, this.replicable);
    const timeoutChanged = s.maxInactiveInterval !== s.replicatedMaxInactiveInterval;
    s.primary = true;
    s.replicated = new Map(s.attributes);
    s.replicatedMaxInactiveInterval = s.maxInactiveInterval;
    if (this.channel.members().length === 0) {
      // Nobody to tell: the pending delta is dropped and a later joiner gets the session through
      // state transfer (ReplicationValve with no members, cluster-semantics §2.4).
      return Promise.resolve(REPLICATION_OK);
    }
    s.version = this.clock.stamp();
    if (isEmptyDelta(delta) && !timeoutChanged) {
      // Every session-bearing request replicates at least an access: it keeps the replicas'
      // idle clocks in step with the primary's (cluster-semantics §2.4, the ISNEW delta in Tomcat).
      return this.send({ t: 'access', id: s.id, stamp: s.version });
    }
    const msg: DeltaMessage = { t: 'delta', id: s.id, set: delta.set, remove: delta.remove, stamp: s.version };
    if (timeoutChanged) msg.maxInactiveInterval = s.maxInactiveInterval;
    return this.send(msg);
  }

  changeSessionId(s: ClusterSession, newId: string): Promise<ReplicationOutcome> {
    const oldId = s.id;
    if (newId === oldId || !s.valid) return Promise.resolve(REPLICATION_OK);
    this.sessions.delete(oldId);
    s.id = newId;
    this.sessions.set(newId, s);
    s.version = this.clock.stamp();
    this.counters.sessionIdChanges++;
    this.emit('sessionChangedId', { oldId, newId, local: true });
    return this.send({ t: 'change-id', id: oldId, newId, stamp: s.version });
  }

  invalidate(s: ClusterSession): Promise<ReplicationOutcome> {
    if (!s.valid) return Promise.resolve(REPLICATION_OK);
    this.counters.sessionsInvalidated++;
    this.removeLocal(s, 'invalidated', true);
    // Sent at once, not with the next request (cluster-semantics §2.6; the how-to is wrong, §4.7).
    return this.send({ t: 'expire', id: s.id, stamp: this.clock.stamp(), reason: 'invalidated' });
  }

  protected expireByTimeout(s: ClusterSession, notifyCluster: boolean): void {
    this.counters.sessionsExpired++;
    this.removeLocal(s, 'timeout', true);
    if (notifyCluster) this.background('expiry', this.send({ t: 'expire', id: s.id, stamp: this.clock.stamp(), reason: 'timeout' }));
  }

  inspect(id: string): SessionInspection | undefined {
    const s = this.sessions.get(id);
    return s ? inspectSession(s, s.primary ? 'primary' : 'replica') : undefined;
  }

  /* ------------------------------------------------------------------ receiving */

  protected parse(raw: unknown): Parsed<DeltaMessage> {
    return parseDeltaMessage(raw, this.rules);
  }

  protected handle(from: ClusterMember, msg: DeltaMessage): void | Promise<void> {
    bump(this.received, msg.t);
    switch (msg.t) {
      case 'get-all':
        this.background(`state transfer to ${from.route}`, this.sendAllSessions(from));
        return;
      case 'all-data':
        return this.receiveAllData(from, msg.sessions);
      case 'transfer-complete':
        if (from.id === this.source?.id) {
          this.transferStamp = msg.stamp;
          this.transferCount = msg.count;
          this.settleTransfer?.('complete');
        }
        return;
      case 'no-context':
        if (from.id === this.source?.id) this.settleTransfer?.('no-context');
        return;
      default:
        if (this.transferring) {
          this.queue.push({ from, msg });
          return;
        }
        return this.apply(from, msg);
    }
  }

  /** Applies one replicated session message (receiver side of cluster-semantics §2.2's table). */
  private async apply(from: ClusterMember, msg: SessionMessage): Promise<void> {
    const now = this.clock.now();
    switch (msg.t) {
      case 'create': {
        const s = new ClusterSession(msg.id, msg.creationTime, msg.maxInactiveInterval);
        s.version = msg.stamp;
        s.lastAccessedTime = now;
        const old = this.sessions.get(msg.id);
        if (old) old.valid = false;
        this.sessions.set(msg.id, s);
        this.emit('sessionCreated', { id: msg.id, local: false });
        return;
      }
      case 'delta':
      case 'access': {
        const s = this.sessions.get(msg.id);
        if (!s) {
          // The fetched copy already contains this change (the sender applied it before sending).
          await this.repair(from, msg.id);
          return;
        }
        if (msg.t === 'delta') applyDelta(s.attributes, msg);
        if (msg.maxInactiveInterval !== undefined) s.maxInactiveInterval = msg.maxInactiveInterval;
        s.lastAccessedTime = now;
        s.primary = false;
        s.replicated = null;
        s.version = msg.stamp;
        return;
      }
      case 'expire': {
        const s = this.sessions.get(msg.id);
        if (s) this.removeLocal(s, msg.reason ?? 'timeout', false);
        return;
      }
      case 'change-id': {
        const s = this.sessions.get(msg.id);
        if (!s) {
          if (!this.sessions.has(msg.newId)) this.counters.unknownSession++;
          return;
        }
        this.sessions.delete(msg.id);
        const clash = this.sessions.get(msg.newId);
        if (clash) clash.valid = false;
        s.id = msg.newId;
        this.sessions.set(msg.newId, s);
        s.primary = false;
        s.replicated = null;
        s.version = msg.stamp;
        this.emit('sessionChangedId', { oldId: msg.id, newId: msg.newId, local: false });
        return;
      }
    }
  }

  /** A change for a session we never saw (we joined after its create): fetch it whole from the sender. */
  private async repair(from: ClusterMember, id: string): Promise<void> {
    this.counters.unknownSession++;
    let reply: unknown;
    try {
      bump(this.sent, 'retrieve');
      reply = await this.channel.request(from, { t: 'retrieve', id }, this.options.syncTimeout);
    } catch (err) {
      this.log.debug({ err, id, from: from.route }, 'could not fetch unknown session; change dropped');
      return;
    }
    const data = parseRetrieveReply(reply, this.rules);
    if (data && 'refused' in data) {
      this.counters.sessionsRefused++;
      this.log.warn({ id, from: from.route, reason: data.refused }, 'refused the fetched copy of an unknown session');
      return;
    }
    if (!data || this.sessions.has(id)) return;
    this.addReplica(data);
    this.counters.sessionsRepaired++;
  }

  private addReplica(data: SessionData): ClusterSession {
    const s = fromSessionData(data);
    s.primary = false;
    // A copy cannot have been used after now; a later time (clock skew, or a peer's bad value)
    // would postpone its expiry.
    s.lastAccessedTime = Math.min(s.lastAccessedTime, this.clock.now());
    const old = this.sessions.get(s.id);
    if (old) old.valid = false;
    this.sessions.set(s.id, s);
    this.emit('sessionCreated', { id: s.id, local: false });
    return s;
  }

  /**
   * One ALL_SESSION_DATA page. Each session is checked on its own: the valid ones are taken, the
   * refused ones are logged and counted, and the page's acknowledgement fails with what was refused
   * (the sender logs it), so one bad session never costs the others and never goes unnoticed.
   */
  private receiveAllData(from: ClusterMember, sessions: unknown[]): void {
    // Only state we asked for is taken (a late page from an abandoned source is ignored).
    if (from.id !== this.source?.id && this.options.stateTransferTimeout !== 0) return;
    const { accepted, refused } = checkSessions(sessions, this.rules);
    for (const d of accepted) {
      this.addReplica(d);
      this.counters.sessionsTransferred++;
      this.transfer.sessions++;
    }
    if (refused.length === 0) return;
    this.counters.sessionsRefused += refused.length;
    this.transfer.refused += refused.length;
    for (const r of refused) this.log.error({ from: from.route, id: r.id, reason: r.reason }, 'state transfer: refused a session');
    const first = refused[0]!;
    throw new MessageRefusedError(
      `refused ${refused.length} of ${sessions.length} sessions of this page (first: ${first.id ?? '?'}: ${first.reason})`,
    );
  }

  async answer(from: ClusterMember, raw: unknown): Promise<unknown> {
    const parsed = parseBackupRequest(raw);
    if (!parsed.ok || parsed.msg.t !== 'retrieve') throw this.refuse(from, raw, parsed.ok ? 'DeltaManager answers only retrieve requests' : parsed.reason);
    const req = parsed.msg;
    bump(this.received, 'retrieve');
    const s = this.sessions.get(req.id);
    return s && s.valid ? toSessionData(s, this.replicable) : null;
  }

  /* ------------------------------------------------------------------ state transfer (sender side) */

  /** Answers GET_ALL: pages of ALL_SESSION_DATA (acknowledged, so they pace themselves), then TRANSFERCOMPLETE. */
  private async sendAllSessions(to: ClusterMember): Promise<void> {
    if (this.transferring) {
      this.deferredGetAll.push(to);
      return;
    }
    await this.waitUntilMember(to.id, Math.max(2000, this.options.syncTimeout));
    const stamp = this.clock.stamp();
    const ids = [...this.sessions.keys()];
    const pageSize = this.options.stateTransferPageSize;
    const timeout = Math.max(10_000, this.options.syncTimeout);
    let page: SessionData[] = [];
    let bytes = 0;
    let pageNo = 0;
    let count = 0;
    let refusedPages = 0;
    /** False when the page may not have arrived (the transfer is then aborted). */
    const flush = async (): Promise<boolean> => {
      const r = await this.sendAcked({ t: 'all-data', page: pageNo++, sessions: page }, [to], timeout);
      page = [];
      bytes = 0;
      if (r.ok) return true;
      // The joiner took the page but refused some of its sessions (already logged and counted as
      // refused by the peer): the rest of the state still goes out.
      if (r.error.refused) {
        refusedPages++;
        return true;
      }
      return false;
    };
    for (const id of ids) {
      const s = this.sessions.get(id);
      if (!s || !s.valid) continue;
      page.push(toSessionData(s, this.replicable));
      bytes += s.byteSize();
      count++;
      if (bytes >= pageSize && !(await flush())) {
        this.log.error({ to: to.route }, 'state transfer aborted: a page was not acknowledged');
        return;
      }
    }
    if (page.length > 0 && !(await flush())) {
      this.log.error({ to: to.route }, 'state transfer aborted: a page was not acknowledged');
      return;
    }
    bump(this.sent, 'transfer-complete');
    await this.channel.send({ t: 'transfer-complete', stamp, count }, { ack: false }, [to]).catch(() => undefined);
    if (refusedPages > 0) {
      this.log.error({ to: to.route, sessions: count, pages: pageNo, refusedPages }, `sent session state, but ${to.route} refused sessions in ${refusedPages} page(s)`);
    } else {
      this.log.info({ to: to.route, sessions: count, pages: pageNo }, 'sent session state');
    }
  }

  private async waitUntilMember(id: string, timeoutMs: number): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    while (!this.channel.members().some((m) => m.id === id) && this.clock.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  override memberRemoved(m: ClusterMember): void {
    super.memberRemoved(m);
    if (m.id === this.source?.id) this.settleTransfer?.('gone');
  }
}

export type { ExpireReason };

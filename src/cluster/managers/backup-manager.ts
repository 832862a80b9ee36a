/**
 * BackupManager (cluster-semantics §2.8, Tomcat's LazyReplicatedMap): each session has a primary (the node that
 * serves it) and exactly one backup (chosen round robin over the other members: B, C, B, C, …)
 * holding a full copy; every other node keeps a proxy entry — key and location, no value.
 *
 * - Create / id change: full copy to the backup (MSG_BACKUP), location to everyone else (MSG_PROXY).
 *   An id change is remove(old) + put(new), with a newly chosen backup, as in Tomcat.
 * - End of request: the delta (or an access) to the backup only.
 * - A request on the backup node: it becomes primary, picks a new backup, tells everyone.
 * - A request on a proxy node: fetch the value from the backup (else the primary) by request; this
 *   node becomes primary, the backup stays backup, the old primary becomes a proxy (drops its value).
 * - Member loss: a primary whose backup died picks a new backup (full copy); a backup whose primary
 *   died promotes itself at once (before any request) and picks a new backup; when primary and
 *   backup are both gone the session is lost.
 * - A joiner asks the oldest member for keys and locations only (MSG_STATE).
 * - Expiry/invalidation: MSG_REMOVE to everyone. maxActiveSessions counts primaries only.
 *
 * Much of this runs in the background (a publish started by a member loss, a request on the backup,
 * a fetch) while messages and requests keep arriving, so after every `await` the state is read
 * again: the session may have been invalidated, expired, renamed or taken over by another node
 * meanwhile, and then the work stops instead of acting on what it saw before.
 */
import type { ClusterMember } from '../channel/types.js';
import { applyDelta, diffAttributes, isEmptyDelta } from '../session/attributes.js';
import { fromSessionData, inspectSession, toSessionData, type ClusterSession, type SessionInspection } from '../session/session.js';
import { ClusterManagerBase } from './manager-base.js';
import { REPLICATION_OK, type ReplicationOutcome } from './manager.js';
import {
  parseBackupMessage,
  parseBackupRequest,
  parseBackupStateReply,
  parseRetrieveReply,
  type BackupMessage,
  type Parsed,
} from './messages.js';
import { bump } from './stats.js';

/** Where a session lives: member ids (ClusterMember.id) of its primary and its backup. */
interface Location {
  primary: string | null;
  backup: string | null;
}

export class BackupManager extends ClusterManagerBase {
  readonly kind = 'backup' as const;

  /** Every session id this node knows, with its location (value-holding entries and proxies). */
  private readonly locations = new Map<string, Location>();
  /** Round-robin cursor over the members (Tomcat's getNextBackupIndex). */
  private nextBackupIndex = 0;
  /** Fetches in progress, so concurrent requests for one proxy entry fetch once. */
  private readonly fetching = new Map<string, Promise<ClusterSession | undefined>>();

  private get me(): string {
    return this.channel.local.id;
  }

  /* ------------------------------------------------------------------ start / stop */

  async start(): Promise<void> {
    const started = this.clock.now();
    // Tomcat's waitForMembers, on the library's clock.
    const deadline = started + this.options.memberWait;
    while (this.channel.members().length === 0 && this.clock.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const source = this.channel.members()[0];
    if (source) await this.transferState(source, started);
    this.startExpirySweep();
  }

  /** MSG_STATE: keys and locations only (cluster-semantics §2.8 "Start-up"). */
  private async transferState(source: ClusterMember, started: number): Promise<void> {
    this.transfer = { state: 'pending', from: source.route, sessions: 0, refused: 0, ms: 0 };
    try {
      bump(this.sent, 'state');
      const reply = parseBackupStateReply(await this.channel.request(source, { t: 'state' }, this.options.rpcTimeout));
      if (!reply) throw new Error('malformed state reply');
      for (const [id, primary, backup] of reply.entries) {
        if (!this.locations.has(id)) this.locations.set(id, { primary, backup });
      }
      const ms = this.clock.now() - started;
      const refused = reply.refused.length;
      this.transfer = { state: refused > 0 ? 'partial' : 'done', from: source.route, sessions: reply.entries.length, refused, ms };
      if (refused > 0) {
        this.counters.sessionsRefused += refused;
        this.log.error(
          { from: source.route, entries: reply.entries.length, refused, first: reply.refused[0] },
          `session locations transferred, but ${refused} malformed entries were refused`,
        );
      } else {
        this.log.info({ from: source.route, entries: reply.entries.length }, 'session locations transferred');
      }
    } catch (err) {
      // terminateOnStartFailure=false: start anyway; proxies are learnt from later messages.
      this.transfer = { state: 'timeout', from: source.route, sessions: 0, refused: 0, ms: this.clock.now() - started };
      this.log.error({ err, from: source.route }, 'could not get the session locations; starting without them');
    }
    this.emit('stateTransferred', { ...this.transfer });
  }

  protected async shutdownSessions(): Promise<void> {
    if (this.options.expireSessionsOnShutdown) {
      const timeout = this.options.syncTimeout;
      const mine = [...this.sessions.values()].filter((s) => s.primary);
      await Promise.all(mine.map((s) => this.sendAcked({ t: 'remove', id: s.id }, this.channel.members(), timeout)));
    }
    // Otherwise peers handle our leave as a member loss: backups promote, primaries re-backup.
    for (const s of [...this.sessions.values()]) this.removeLocal(s, 'shutdown', true);
    this.locations.clear();
  }

  /* ------------------------------------------------------------------ helpers */

  private member(id: string | null): ClusterMember | undefined {
    return id === null ? undefined : this.channel.members().find((m) => m.id === id);
  }

  private routeOf(id: string | null): string | null {
    if (id === null) return null;
    if (id === this.me) return this.channel.local.route;
    return this.member(id)?.route ?? null;
  }

  /** The next backup, round robin over the live members except `exclude` (cluster-semantics §2.8). */
  private chooseBackup(exclude: Set<string>): ClusterMember | null {
    const candidates = this.channel.members().filter((m) => !exclude.has(m.id));
    if (candidates.length === 0) return null;
    if (this.nextBackupIndex >= candidates.length) this.nextBackupIndex = 0;
    return candidates[this.nextBackupIndex++]!;
  }

  private othersExcept(...ids: Array<string | null>): ClusterMember[] {
    return this.channel.members().filter((m) => !ids.includes(m.id));
  }

  /**
   * put(): this node is primary; choose a backup, send it the full copy and tell everyone else the
   * location. In ack/sync mode a backup that does not confirm is replaced by the next member.
   * Stops as soon as the session is no longer this node's to publish (see the class comment).
   */
  private async publish(s: ClusterSession, exclude: Set<string> = new Set()): Promise<ReplicationOutcome> {
    const id = s.id;
    const stillOurs = () => !this.stopped && s.valid && s.id === id && this.sessions.get(id) === s;
    if (!stillOurs()) return REPLICATION_OK;
    exclude.add(this.me);
    s.primary = true;
    s.replicated = new Map(s.attributes);
    s.replicatedMaxInactiveInterval = s.maxInactiveInterval;
    let outcome: ReplicationOutcome = REPLICATION_OK;
    for (;;) {
      const backup = this.chooseBackup(exclude);
      this.locations.set(id, { primary: this.me, backup: backup?.id ?? null });
      if (!backup) break;
      s.version = this.clock.stamp();
      const full = toSessionData(s, this.replicable);
      outcome = await this.send({ t: 'backup', id, primary: this.me, full, stamp: s.version }, [backup]);
      // Invalidated, expired, renamed, removed by a peer or taken over while we waited.
      if (!stillOurs()) return outcome;
      if (outcome.ok || !this.member(backup.id) || this.options.sendOptions === 'async') break;
      exclude.add(backup.id);
      if (this.channel.members().every((m) => exclude.has(m.id))) break;
    }
    const loc = this.locations.get(id);
    // Another node announced itself as primary meanwhile: its announcement stands.
    if (!loc || loc.primary !== this.me) return outcome;
    const proxies = this.othersExcept(loc.backup);
    if (proxies.length > 0) {
      const p = await this.send({ t: 'proxy', id, primary: this.me, backup: loc.backup }, proxies);
      if (outcome.ok && !p.ok) outcome = p;
    }
    return outcome;
  }

  /* ------------------------------------------------------------------ request side */

  override knows(id: string): boolean {
    return this.sessions.has(id) || this.locations.has(id);
  }

  findSession(id: string): Promise<ClusterSession | undefined> {
    const s = this.liveSession(id);
    if (s) {
      if (s.primary) return Promise.resolve(s);
      // A request on the backup node: it becomes primary and picks a new backup (the old primary
      // becomes a proxy unless it is chosen as the new backup).
      this.background('publishing a session taken over by a request', this.publish(s));
      this.emit('sessionPrimary', { id, reason: 'request' });
      return Promise.resolve(s);
    }
    if (!this.locations.has(id)) return Promise.resolve(undefined);
    let p = this.fetching.get(id);
    if (!p) {
      p = this.fetch(id).finally(() => this.fetching.delete(id));
      this.fetching.set(id, p);
    }
    return p;
  }

  /** A proxy entry: get the value from its backup (else its primary) and become its primary. */
  private async fetch(id: string): Promise<ClusterSession | undefined> {
    const loc = this.locations.get(id);
    if (!loc) return undefined;
    const sources = [this.member(loc.backup), this.member(loc.primary)].filter((m): m is ClusterMember => m !== undefined);
    for (const source of sources) {
      let data: ReturnType<typeof parseRetrieveReply>;
      try {
        bump(this.sent, 'retrieve');
        data = parseRetrieveReply(await this.channel.request(source, { t: 'retrieve', id }, this.options.rpcTimeout), this.rules);
      } catch (err) {
        this.log.warn({ err, id, from: source.route }, 'could not fetch session from its owner');
        continue;
      }
      // Read the state again: while we waited the session may have been removed cluster-wide
      // (then it must not come back here) or arrived by other means.
      const now = this.locations.get(id);
      if (!now) return undefined;
      if (this.sessions.has(id)) return this.liveSession(id);
      if (data && 'refused' in data) {
        this.counters.sessionsRefused++;
        this.log.warn({ id, from: source.route, reason: data.refused }, 'refused the fetched copy of a session');
        continue;
      }
      if (!data) continue;
      const s = fromSessionData(data);
      s.lastAccessedTime = this.clock.now();
      s.primary = true;
      s.replicated = new Map(s.attributes);
      this.sessions.set(id, s);
      this.counters.sessionsFetched++;
      this.emit('sessionPrimary', { id, reason: 'fetched' });
      const backupAlive = now.backup !== null && this.member(now.backup) !== undefined && now.backup !== this.me;
      if (backupAlive) {
        // The backup stays backup; everyone (the old primary included) learns we are primary now.
        this.locations.set(id, { primary: this.me, backup: now.backup });
        this.background('announcing a fetched session', this.send({ t: 'proxy', id, primary: this.me, backup: now.backup }, this.othersExcept()));
      } else {
        this.background('publishing a fetched session', this.publish(s));
      }
      return s;
    }
    // Nobody could give it to us: the request gets no session (Tomcat: get() returns null).
    this.log.warn({ id }, 'session could not be fetched from its primary or backup');
    return undefined;
  }

  protected replicateCreate(s: ClusterSession): Promise<ReplicationOutcome> {
    return this.publish(s);
  }

  protected requestCompleted(s: ClusterSession, replicate: boolean): Promise<ReplicationOutcome> {
    if (!replicate) return Promise.resolve(REPLICATION_OK);
    const loc = this.locations.get(s.id);
    const backup = this.member(loc?.backup ?? null);
    if (!s.primary || !loc || loc.primary !== this.me || !backup) {
      // No (live) backup yet — e.g. created while alone: publish a full copy now.
      return this.channel.members().length > 0 ? this.publish(s) : Promise.resolve(REPLICATION_OK);
    }
    const delta = diffAttributes(s.replicated ?? new Map(), s.attributes, this.replicable);
    const timeoutChanged = s.maxInactiveInterval !== s.replicatedMaxInactiveInterval;
    s.replicated = new Map(s.attributes);
    s.replicatedMaxInactiveInterval = s.maxInactiveInterval;
    s.version = this.clock.stamp();
    if (isEmptyDelta(delta) && !timeoutChanged) {
      // Every request refreshes the backup's idle clock (Tomcat only does so once per timeout, which
      // let backups expire sessions that were in use: bug 53087).
      return this.send({ t: 'access', id: s.id }, [backup]);
    }
    const msg: BackupMessage = { t: 'backup', id: s.id, primary: this.me, set: delta.set, remove: delta.remove, stamp: s.version };
    if (timeoutChanged) msg.maxInactiveInterval = s.maxInactiveInterval;
    return this.send(msg, [backup]);
  }

  async changeSessionId(s: ClusterSession, newId: string): Promise<ReplicationOutcome> {
    const oldId = s.id;
    if (newId === oldId || !s.valid) return REPLICATION_OK;
    // put(new) + remove(old) (cluster-semantics §2.8: not a CHANGE_SESSION_ID message). The put completes first,
    // so every node knows the session under one of its ids at all times: a request that arrives
    // elsewhere with the old id finds it under the new one (route-binder.ts) instead of starting
    // a new session.
    this.sessions.delete(oldId);
    this.locations.delete(oldId);
    s.id = newId;
    this.sessions.set(newId, s);
    this.counters.sessionIdChanges++;
    this.emit('sessionChangedId', { oldId, newId, local: true });
    const put = await this.publish(s);
    const removed = await this.send({ t: 'remove', id: oldId });
    return put.ok ? removed : put;
  }

  invalidate(s: ClusterSession): Promise<ReplicationOutcome> {
    if (!s.valid) return Promise.resolve(REPLICATION_OK);
    this.counters.sessionsInvalidated++;
    this.removeLocal(s, 'invalidated', true);
    this.locations.delete(s.id);
    return this.send({ t: 'remove', id: s.id });
  }

  protected expireByTimeout(s: ClusterSession): void {
    this.counters.sessionsExpired++;
    this.removeLocal(s, 'timeout', true);
    this.locations.delete(s.id);
    // Both the primary (at 1×) and a backup copy (at 2×) broadcast the remove (cluster-semantics §2.8).
    this.background('expiry', this.send({ t: 'remove', id: s.id }));
  }

  inspect(id: string): SessionInspection | undefined {
    const s = this.sessions.get(id);
    const loc = this.locations.get(id);
    if (s) {
      return {
        ...inspectSession(s, s.primary ? 'primary' : 'backup'),
        primaryRoute: this.routeOf(loc?.primary ?? null),
        backupRoute: this.routeOf(loc?.backup ?? null),
      };
    }
    if (!loc) return undefined;
    return {
      id,
      primary: false,
      role: 'proxy',
      creationTime: 0,
      lastAccessedTime: 0,
      maxInactiveInterval: 0,
      attributes: {},
      primaryRoute: this.routeOf(loc.primary),
      backupRoute: this.routeOf(loc.backup),
    };
  }

  protected override proxyCount(): number {
    let n = 0;
    for (const id of this.locations.keys()) if (!this.sessions.has(id)) n++;
    return n;
  }

  /* ------------------------------------------------------------------ receiving */

  protected parse(raw: unknown): Parsed<BackupMessage | { t: 'get-all' }> {
    // A DeltaManager node asking for state is answered (below), not refused.
    if ((raw as { t?: unknown } | null)?.t === 'get-all') return { ok: true, msg: { t: 'get-all' } };
    return parseBackupMessage(raw, this.rules);
  }

  protected handle(from: ClusterMember, msg: BackupMessage | { t: 'get-all' }): void | Promise<void> {
    if (msg.t === 'get-all') {
      // We have no DeltaManager (EVT_ALL_SESSION_NOCONTEXTMANAGER).
      bump(this.received, 'get-all');
      this.background('answering get-all', this.channel.send({ t: 'no-context' }, { ack: false }, [from]));
      return;
    }
    bump(this.received, msg.t);
    const now = this.clock.now();
    switch (msg.t) {
      case 'backup': {
        if (msg.full) {
          const old = this.sessions.get(msg.id);
          if (old) old.valid = false;
          const s = fromSessionData(msg.full);
          s.primary = false;
          s.lastAccessedTime = now;
          this.sessions.set(msg.id, s);
          this.locations.set(msg.id, { primary: msg.primary, backup: this.me });
          if (!old) this.emit('sessionCreated', { id: msg.id, local: false });
          return;
        }
        const s = this.sessions.get(msg.id);
        if (!s) return this.repair(from, msg.id);
        applyDelta(s.attributes, { set: msg.set ?? [], remove: msg.remove ?? [] });
        if (msg.maxInactiveInterval !== undefined) s.maxInactiveInterval = msg.maxInactiveInterval;
        s.lastAccessedTime = now;
        s.primary = false;
        s.version = msg.stamp;
        this.locations.set(msg.id, { primary: msg.primary, backup: this.me });
        return;
      }
      case 'proxy': {
        this.locations.set(msg.id, { primary: msg.primary, backup: msg.backup });
        const s = this.sessions.get(msg.id);
        if (s && msg.primary !== this.me && msg.backup !== this.me) {
          // We were primary or backup and no longer are: keep only the location (a proxy).
          this.sessions.delete(msg.id);
          s.valid = false;
        } else if (s && msg.backup === this.me) {
          s.primary = false;
        }
        return;
      }
      case 'remove': {
        const s = this.sessions.get(msg.id);
        this.locations.delete(msg.id);
        if (s) this.removeLocal(s, 'invalidated', false);
        return;
      }
      case 'access': {
        const s = this.sessions.get(msg.id);
        if (!s) return this.repair(from, msg.id);
        s.lastAccessedTime = now;
        if (msg.maxInactiveInterval !== undefined) s.maxInactiveInterval = msg.maxInactiveInterval;
        return;
      }
    }
  }

  /** A diff for a backup copy we do not have (missed the full copy): fetch it whole from the primary. */
  private async repair(from: ClusterMember, id: string): Promise<void> {
    this.counters.unknownSession++;
    try {
      bump(this.sent, 'retrieve');
      const data = parseRetrieveReply(await this.channel.request(from, { t: 'retrieve', id }, this.options.syncTimeout), this.rules);
      if (data && 'refused' in data) {
        this.counters.sessionsRefused++;
        this.log.warn({ id, from: from.route, reason: data.refused }, 'refused the fetched copy of a backup session');
        return;
      }
      if (!data || this.sessions.has(id)) return;
      const s = fromSessionData(data);
      s.primary = false;
      s.lastAccessedTime = this.clock.now();
      this.sessions.set(id, s);
      this.locations.set(id, { primary: from.id, backup: this.me });
      this.counters.sessionsRepaired++;
    } catch (err) {
      this.log.debug({ err, id }, 'could not fetch unknown backup copy');
    }
  }

  async answer(from: ClusterMember, raw: unknown): Promise<unknown> {
    const parsed = parseBackupRequest(raw);
    if (!parsed.ok) throw this.refuse(from, raw, parsed.reason);
    const req = parsed.msg;
    bump(this.received, req.t);
    if (req.t === 'state') {
      const entries: Array<[string, string | null, string | null]> = [];
      for (const [id, loc] of this.locations) entries.push([id, loc.primary, loc.backup]);
      return { entries };
    }
    const s = this.sessions.get(req.id);
    return s && s.valid ? toSessionData(s, this.replicable) : null;
  }

  /* ------------------------------------------------------------------ membership */

  override memberAdded(m: ClusterMember): void {
    super.memberAdded(m);
    // Primaries that had no backup (we were alone) publish one now, possibly to the newcomer.
    for (const [id, loc] of this.locations) {
      if (loc.primary !== this.me || loc.backup !== null) continue;
      const s = this.sessions.get(id);
      if (s && s.valid) this.background('publishing a backup to a new member', this.publish(s));
    }
  }

  override memberRemoved(m: ClusterMember): void {
    super.memberRemoved(m);
    if (this.stopped) return;
    for (const [id, loc] of [...this.locations]) {
      const s = this.sessions.get(id);
      if (loc.primary === this.me) {
        // Our backup died: choose a new one and send it a full copy.
        if (loc.backup === m.id && s) this.background('choosing a new backup', this.publish(s, new Set([m.id])));
      } else if (loc.primary === m.id) {
        if (loc.backup === this.me && s) {
          // The primary died and we are its single backup: promote before any request arrives.
          this.counters.sessionsPromoted++;
          this.emit('sessionPrimary', { id, reason: 'promoted' });
          this.background('publishing a promoted session', this.publish(s, new Set([m.id])));
        } else if (loc.backup === null || !this.member(loc.backup)) {
          this.lose(id, s);
        } else {
          loc.primary = null; // the backup will announce itself as the new primary
        }
      } else if (loc.backup === m.id) {
        if (loc.primary === null) this.lose(id, s);
        else loc.backup = null; // the primary chooses a new backup
      }
    }
  }

  /** Primary and backup are both gone: the session is lost (cluster-semantics §4.2). */
  private lose(id: string, s: ClusterSession | undefined): void {
    this.locations.delete(id);
    this.counters.sessionsLost++;
    if (s) this.removeLocal(s, 'lost', false);
    this.log.info({ id }, 'session lost: its primary and backup are both gone');
  }
}

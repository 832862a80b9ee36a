/**
 * The membership table: every add/suspect/remove decision of the channel, as a synchronous state
 * machine over plain data with the clock passed in. It does no I/O: it returns actions (`probe` this
 * member, announce `added`/`removed`, …) that the channel carries out and answers (`probeResult`).
 *
 * It combines what Tribes splits over McastService's `Membership` (cluster-semantics §1.1) and the
 * `TcpFailureDetector` above it (§1.2):
 *
 *   unknown ──heartbeat──▶ verifying ──probe alive──▶ alive ◀──heartbeat── suspect
 *                              │                        │  ╲                 ▲   │
 *                       probe dead                      │   silent > dropTime ┘   │ probe dead
 *                              ▼                        │                         ▼
 *                         unreachable        shutdown heartbeat ─────────────▶ removed
 *
 * - Add: the first heartbeat of an unknown id starts a TCP probe; only a live probe announces it.
 *   An unreachable member is re-probed on its heartbeats every `reprobeInterval` (Tomcat's
 *   addSuspects, re-checked on each channel heartbeat).
 * - Suspect: no heartbeat for `dropTime` → probe. Dead → removed ('timeout'). Alive → kept as a
 *   suspect (counted once per episode: stats.suspectsKept) and re-probed every `reprobeInterval`;
 *   a heartbeat clears the suspicion without a new 'added' (no state-transfer storm).
 * - Early check: a lost connection or failed send to a live member probes it at once (Tribes does
 *   this for send errors); only a failed probe removes it ('send-failure'). So does its address
 *   leaving the DNS answer (DNS membership: Tomcat's memberDisappeared, verified by the
 *   TcpFailureDetector) — removed only if the probe fails ('dns'). A member whose port answers is
 *   therefore never removed.
 * - Graceful leave: a shutdown command removes at once without probing, and the id is remembered
 *   (tombstone) so a late or replayed heartbeat cannot bring it back.
 * - Restart: when a member is added, other members advertising the same host:port are probed; the
 *   probe compares the id the port answers with, so the old identity is removed promptly.
 * - Domain: members of another domain are ignored (DomainFilterInterceptor).
 */
import { SHUTDOWN_COMMAND, addressOf, compareMembers } from './member.js';
import type { ClusterMember } from './types.js';

export type RemovalReason = 'shutdown' | 'timeout' | 'send-failure' | 'dns';

export type MembershipAction =
  | { type: 'probe'; member: ClusterMember }
  | { type: 'added'; member: ClusterMember }
  | { type: 'rejected'; member: ClusterMember }
  | { type: 'suspected'; member: ClusterMember }
  | { type: 'kept'; member: ClusterMember }
  | { type: 'cleared'; member: ClusterMember }
  | { type: 'removed'; member: ClusterMember; reason: RemovalReason }
  | { type: 'ignored'; member: ClusterMember; reason: 'domain' };

export type MemberState = 'verifying' | 'alive' | 'suspect' | 'unreachable';

export interface MembershipTimings {
  /** Silence after which a member is suspected (memberDropTime). */
  dropTime: number;
  /** How often suspects and unreachable members are probed again (Tribes: channel heartbeat, 5 s). */
  reprobeInterval: number;
  /** How long a departed id is remembered. */
  tombstoneTime: number;
}

interface Entry {
  member: ClusterMember;
  state: MemberState;
  /** Time of the last liveness evidence (a fresh heartbeat), or of discovery. */
  lastHeard: number;
  probing: boolean;
  /** When the probe in flight started (a heartbeat after it is newer evidence than its verdict). */
  probeStartedAt: number;
  lastProbeAt: number;
  /** Why it is suspected or checked early, which becomes the removal reason if the probe fails. */
  suspectReason: 'timeout' | 'send-failure' | 'dns';
  /** Whether this suspicion episode was already counted as kept. */
  kept: boolean;
}

export class MembershipTable {
  private readonly entries = new Map<string, Entry>();
  private readonly tombstones = new Map<string, number>();
  private readonly foreign = new Set<string>();
  private sorted: ClusterMember[] | null = [];

  constructor(
    private readonly localId: string,
    private readonly localDomain: string,
    private readonly timings: MembershipTimings,
  ) {}

  /**
   * A heartbeat from `member` (multicast datagram, static heartbeat frame, or a handshake answer,
   * which is fresh because it is bound to our nonce). `command` is SHUTDOWN_COMMAND on graceful leave.
   */
  heartbeat(member: ClusterMember, command: string, now: number): MembershipAction[] {
    return this.evidence(member, command, now, true);
  }

  /**
   * Someone claims to be `member` without proof of freshness (a client's HELLO, which could be a
   * replay): enough to start verifying an unknown member, never enough to keep a known one alive.
   */
  discovered(member: ClusterMember, now: number): MembershipAction[] {
    return this.evidence(member, '', now, false);
  }

  private evidence(member: ClusterMember, command: string, now: number, fresh: boolean): MembershipAction[] {
    if (member.id === this.localId || this.tombstones.has(member.id)) return [];
    if (member.domain !== this.localDomain) {
      if (this.foreign.has(member.id)) return [];
      this.foreign.add(member.id);
      return [{ type: 'ignored', member, reason: 'domain' }];
    }
    const e = this.entries.get(member.id);
    if (command === SHUTDOWN_COMMAND) {
      this.tombstones.set(member.id, now);
      if (!e) return [];
      this.entries.delete(member.id);
      if (e.state === 'alive' || e.state === 'suspect') {
        this.sorted = null;
        return [{ type: 'removed', member: e.member, reason: 'shutdown' }];
      }
      return [];
    }
    if (!e) {
      this.entries.set(member.id, {
        member,
        state: 'verifying',
        lastHeard: now,
        probing: true,
        probeStartedAt: now,
        lastProbeAt: now,
        suspectReason: 'timeout',
        kept: false,
      });
      return [{ type: 'probe', member }];
    }
    if (fresh) e.lastHeard = now;
    switch (e.state) {
      case 'verifying':
      case 'alive':
        return [];
      case 'suspect':
        if (!fresh) return [];
        e.state = 'alive';
        e.kept = false;
        return [{ type: 'cleared', member: e.member }];
      case 'unreachable':
        if (e.probing || now - e.lastProbeAt < this.timings.reprobeInterval) return [];
        e.state = 'verifying';
        return [this.startProbe(e, now)];
    }
  }

  /**
   * A connection to or from the member broke, or a send to it failed ('send-failure'), or its
   * address left the DNS answer ('dns'): check it now.
   */
  connectionLost(id: string, now: number, why: 'send-failure' | 'dns' = 'send-failure'): MembershipAction[] {
    const e = this.entries.get(id);
    if (!e || e.probing || (e.state !== 'alive' && e.state !== 'suspect')) return [];
    if (e.state === 'alive') e.suspectReason = why;
    return [this.startProbe(e, now)];
  }

  /** The outcome of a `probe` action. */
  probeResult(id: string, alive: boolean, now: number): MembershipAction[] {
    const e = this.entries.get(id);
    if (!e || !e.probing) return [];
    e.probing = false;
    e.lastProbeAt = now;
    switch (e.state) {
      case 'verifying': {
        if (!alive) {
          e.state = 'unreachable';
          return [{ type: 'rejected', member: e.member }];
        }
        e.state = 'alive';
        this.sorted = null;
        const actions: MembershipAction[] = [{ type: 'added', member: e.member }];
        // One port, one process: an older identity at this address has probably been restarted.
        for (const other of this.entries.values()) {
          if (
            other !== e &&
            !other.probing &&
            (other.state === 'alive' || other.state === 'suspect') &&
            addressOf(other.member) === addressOf(e.member)
          ) {
            if (other.state === 'alive') other.suspectReason = 'send-failure';
            actions.push(this.startProbe(other, now));
          }
        }
        return actions;
      }
      case 'alive':
        // An early check (lost connection, failed send) found the port closed: removed, unless a
        // heartbeat arrived after the probe started — that is newer evidence than the probe.
        if (alive || e.lastHeard > e.probeStartedAt) return [];
        return this.remove(e, e.suspectReason === 'dns' ? 'dns' : 'send-failure');
      case 'suspect':
        if (!alive) return this.remove(e, e.suspectReason);
        if (e.kept) return [];
        e.kept = true;
        return [{ type: 'kept', member: e.member }];
      case 'unreachable':
        return [];
    }
  }

  /** Periodic evaluation (at least every heartbeat interval): expiry, re-probes, forgetting. */
  tick(now: number): MembershipAction[] {
    const actions: MembershipAction[] = [];
    for (const e of [...this.entries.values()]) {
      const silent = now - e.lastHeard > this.timings.dropTime;
      if (e.state === 'alive' && silent) {
        e.state = 'suspect';
        e.suspectReason = 'timeout';
        e.kept = false;
        actions.push({ type: 'suspected', member: e.member });
        if (!e.probing) actions.push(this.startProbe(e, now));
      } else if (e.state === 'suspect' && !e.probing && now - e.lastProbeAt >= this.timings.reprobeInterval) {
        actions.push(this.startProbe(e, now));
      } else if (e.state === 'unreachable' && silent) {
        this.entries.delete(e.member.id);
      }
    }
    for (const [id, at] of this.tombstones) {
      if (now - at > this.timings.tombstoneTime) this.tombstones.delete(id);
    }
    return actions;
  }

  /** Live, verified members (suspects included: they are alive until a probe fails), oldest first. */
  members(): ClusterMember[] {
    if (!this.sorted) {
      this.sorted = [...this.entries.values()]
        .filter((e) => e.state === 'alive' || e.state === 'suspect')
        .map((e) => e.member)
        .sort(compareMembers);
    }
    return this.sorted;
  }

  /** The verified member with this id (alive or suspect). */
  member(id: string): ClusterMember | undefined {
    const e = this.entries.get(id);
    return e && (e.state === 'alive' || e.state === 'suspect') ? e.member : undefined;
  }

  state(id: string): MemberState | 'departed' | undefined {
    return this.entries.get(id)?.state ?? (this.tombstones.has(id) ? 'departed' : undefined);
  }

  /** Whether any member is still being verified (start-up waits for these). */
  verifying(): boolean {
    for (const e of this.entries.values()) if (e.state === 'verifying') return true;
    return false;
  }

  private startProbe(e: Entry, now: number): MembershipAction {
    e.probing = true;
    e.probeStartedAt = now;
    e.lastProbeAt = now;
    return { type: 'probe', member: e.member };
  }

  private remove(e: Entry, reason: RemovalReason): MembershipAction[] {
    this.entries.delete(e.member.id);
    this.sorted = null;
    return [{ type: 'removed', member: e.member, reason }];
  }
}

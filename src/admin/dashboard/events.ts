/**
 * The dashboard's timeline: what happened to the balancers, as events.
 *
 * Most events are state transitions seen in the shared scoreboard: the watcher remembers each
 * member's flags and error time and compares them every time it looks (every second, every
 * quarter second while someone watches the dashboard). A member whose E flag appeared went into
 * error; E gone: a request retried it and got through (apache-semantics §4.3: only a request, or a
 * passing health check, takes a member out of error); E still there with a later error time: the
 * retry failed. C appearing and going: the health checks. Reading a few integers per member costs
 * nothing on the request path, so the watcher runs whenever the admin listener does and the
 * timeline holds what happened while nobody was looking.
 *
 * What an operator did is recorded by whoever did it, with its words: the balancer-manager and the
 * API (changed(): "+N", "loadfactor 1.00 → 2.00"), a reload (reloaded(): members added, removed,
 * flags the file changed). The watcher then takes those flags as seen, so a drain shows once, as
 * the manager's. A worker thread that died shows as the restart count going up; a reload the file
 * refused as the reloads record changing without a reload having happened.
 */
import type { Balancer } from '../../balancer/balancer.js';
import { Flag, statusLetters } from '../../balancer/flags.js';
import type { Member } from '../../balancer/member.js';
import type { AdminTarget } from '../context.js';
import type { DashboardEvent } from './model.js';
import { wallTime } from '../wall-time.js';

/** How many events the timeline keeps. */
export const EVENTS_KEPT = 200;

/** The flags an operator or the balancer file sets (E and C are the daemon's own). */
const OPERATED = Flag.IGNORE_ERRORS | Flag.DRAIN | Flag.DISABLED | Flag.STOPPED | Flag.HOT_STANDBY | Flag.HOT_SPARE;

const FLAG_WORDS: Record<string, [on: string, off: string]> = {
  I: ['ignores errors', 'no longer ignores errors'],
  N: ['draining', 'no longer draining'],
  D: ['disabled', 'enabled'],
  S: ['stopped', 'no longer stopped'],
  H: ['hot standby', 'no longer hot standby'],
  R: ['hot spare', 'no longer hot spare'],
};

/** "+N" → "+N (draining)": the manager's change list, in words an operator reads at a glance. */
export function describeChange(change: string): string {
  const m = /^([+-])([A-Z])$/.exec(change);
  const words = m === null ? undefined : FLAG_WORDS[m[2]!];
  return words === undefined ? change : `${change} (${m![1] === '+' ? words[0] : words[1]})`;
}

/** The flags in `bits` as +X/-X changes from `before` to `after`. */
function flagChanges(before: number, after: number, bits: number): string[] {
  const out: string[] = [];
  for (const letter of statusLetters(bits)) {
    const bit = { I: Flag.IGNORE_ERRORS, N: Flag.DRAIN, D: Flag.DISABLED, S: Flag.STOPPED, H: Flag.HOT_STANDBY, R: Flag.HOT_SPARE }[letter];
    if (bit === undefined || (before & bit) === (after & bit)) continue;
    out.push(describeChange(`${after & bit ? '+' : '-'}${letter}`));
  }
  return out;
}

function seconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** The last EVENTS_KEPT events, numbered. */
export class EventLog {
  private readonly events: DashboardEvent[] = [];
  private seq = 0;

  record(e: Omit<DashboardEvent, 'seq' | 'time'>, time = Date.now()): DashboardEvent {
    const event: DashboardEvent = { seq: ++this.seq, time, ...e };
    this.events.push(event);
    if (this.events.length > EVENTS_KEPT) this.events.splice(0, this.events.length - EVENTS_KEPT);
    return event;
  }

  /** Events after `seq`, oldest first. */
  since(seq: number): DashboardEvent[] {
    return this.events.filter((e) => e.seq > seq);
  }

  get lastSeq(): number {
    return this.seq;
  }
}

/** What the watcher saw of a member last time. */
interface Seen {
  status: number;
  /** The member's errorTime as it was (balancer clock): a change is a new failure. */
  errorTime: number;
  /** When the member went into error (its first failure of this spell, failed retries included), on the system clock; 0: never. */
  errorSince: number;
}

const key = (balancer: string, url: string): string => `${balancer}\u0000${url}`;

export class StateWatcher {
  private seen = new Map<string, Seen>();
  private restarts: number;
  private reloadTime: string | null;

  /** `toWall`: a member time (balancer clock) on the clock of `check(now)` and of the timeline. */
  constructor(private readonly target: AdminTarget, private readonly log: EventLog, private readonly toWall: (t: number) => number = wallTime) {
    this.restarts = target.workers?.restarts ?? 0;
    this.reloadTime = target.reloads?.status().last.time ?? null;
    this.adoptAll();
  }

  /**
   * Compare every member with what was seen last; record what changed. Returns true when a
   * member's state changed (the dashboard then sends an update at once).
   */
  check(now = Date.now()): boolean {
    let changed = false;
    const present = new Set<string>();
    for (const b of this.target.balancers.values()) {
      if (b.config.implicit) continue;
      for (const m of b.members) {
        const k = key(b.name, m.name);
        present.add(k);
        const status = m.status;
        const errorTime = m.errorTime;
        const before = this.seen.get(k);
        if (before === undefined) {
          // A member the watcher has not met (added by a reload or the manager, which said so).
          this.seen.set(k, { status, errorTime, errorSince: this.wallOrZero(errorTime) });
          changed = true;
          continue;
        }
        if (before.status === status && before.errorTime === errorTime) continue;
        changed = true;
        this.transitions(b, m, before, status, errorTime, now);
        before.status = status;
        before.errorTime = errorTime;
      }
    }
    for (const k of this.seen.keys()) {
      if (!present.has(k)) {
        this.seen.delete(k);
        changed = true;
      }
    }
    this.checkDaemon();
    return changed;
  }

  private transitions(b: Balancer, m: Member, before: Seen, status: number, errorTime: number, now: number): void {
    const who = { balancer: b.name, member: m.name, route: m.route };
    const wasError = (before.status & Flag.IN_ERROR) !== 0;
    const isError = (status & Flag.IN_ERROR) !== 0;
    const retryText = (status & Flag.IGNORE_ERRORS) !== 0 ? 'it has I: the next request tries it again' : `the first request after its retry (${seconds(m.config.retry)}) tries it again`;
    if (!wasError && isError) {
      const at = errorTime > 0 ? Math.min(this.toWall(errorTime), now) : now;
      before.errorSince = at;
      this.log.record({ level: 'bad', kind: 'error', ...who, text: `out of service (E); ${retryText}` }, at);
    } else if (wasError && isError && errorTime > before.errorTime) {
      this.log.record({ level: 'bad', kind: 'error-again', ...who, text: `the retry failed: out of service again; ${retryText}` }, Math.min(this.toWall(errorTime), now));
    } else if (wasError && !isError) {
      const was = before.errorSince > 0 ? ` after ${seconds(now - before.errorSince)} in error` : '';
      this.log.record({ level: 'good', kind: 'recovered', ...who, text: `back in service${was}` }, now);
    }
    const hcBefore = (before.status & Flag.HC_FAIL) !== 0;
    const hcNow = (status & Flag.HC_FAIL) !== 0;
    if (!hcBefore && hcNow) this.log.record({ level: 'bad', kind: 'hcfail', ...who, text: 'failed its health checks: out of service (C)' }, now);
    if (hcBefore && !hcNow) this.log.record({ level: 'good', kind: 'hcpass', ...who, text: 'passes its health checks again' }, now);
    const operated = flagChanges(before.status, status, OPERATED);
    if (operated.length > 0) this.log.record({ level: 'info', kind: 'changed', ...who, text: operated.join(', ') }, now);
  }

  private checkDaemon(): void {
    const restarts = this.target.workers?.restarts ?? 0;
    if (restarts > this.restarts) {
      const n = restarts - this.restarts;
      this.log.record({
        level: 'bad',
        kind: 'worker-restart',
        balancer: null,
        member: null,
        route: null,
        text: `${n === 1 ? 'a worker thread' : `${n} worker threads`} died and ${n === 1 ? 'was' : 'were'} started again (${restarts} restart${restarts === 1 ? '' : 's'} since the start; see the daemon log)`,
      });
    }
    this.restarts = restarts;
    const last = this.target.reloads?.status().last;
    if (last !== undefined && last.time !== this.reloadTime) {
      this.reloadTime = last.time;
      // A successful reload was recorded by reloaded(); a refused one never reaches the daemon.
      if (!last.successful) {
        const more = last.errors.length > 1 ? ` (and ${last.errors.length - 1} more)` : '';
        this.log.record(
          { level: 'bad', kind: 'reload-failed', balancer: null, member: null, route: null, text: `reload (${last.trigger}) refused, the running configuration stays: ${last.errors[0] ?? 'no detail'}${more}` },
          Date.parse(last.time) || Date.now(),
        );
      }
    }
  }

  /** A member's errorTime on the system clock, 0 when it never failed. */
  private wallOrZero(errorTime: number): number {
    return errorTime > 0 ? this.toWall(errorTime) : 0;
  }

  /** When the member's spell in error began as far as the watcher saw it (failed retries do not restart it); null: not seen in error. */
  errorSince(balancer: string, url: string): number | null {
    const seen = this.seen.get(key(balancer, url));
    return seen !== undefined && (seen.status & Flag.IN_ERROR) !== 0 && seen.errorSince > 0 ? seen.errorSince : null;
  }

  /** The operated flags of one member (or of every member of `balancer`) are as they are now: someone recorded the change. */
  adopt(balancer: string, url: string | null): void {
    const b = this.target.balancers.get(balancer);
    if (b === undefined) return;
    for (const m of b.members) {
      if (url !== null && m.name !== url) continue;
      const seen = this.seen.get(key(b.name, m.name));
      const status = m.status;
      // E and C stay as seen: a transition of those between two looks is still reported.
      if (seen === undefined) this.seen.set(key(b.name, m.name), { status, errorTime: m.errorTime, errorSince: this.wallOrZero(m.errorTime) });
      else seen.status = (seen.status & ~OPERATED) | (status & OPERATED);
    }
  }

  /** After a reload: what changed in the balancers, in one line per balancer; then adopt it all. */
  reloadChanges(): string[] {
    const lines: string[] = [];
    const present = new Set<string>();
    for (const b of this.target.balancers.values()) {
      if (b.config.implicit) continue;
      const parts: string[] = [];
      for (const m of b.members) {
        const k = key(b.name, m.name);
        present.add(k);
        const seen = this.seen.get(k);
        if (seen === undefined) {
          parts.push(`added ${m.route || m.name}`);
          continue;
        }
        const flags = flagChanges(seen.status, m.status, OPERATED);
        if (flags.length > 0) parts.push(`${m.route || m.name} ${flags.join(', ')}`);
      }
      const gone = [...this.seen.keys()].filter((k) => k.startsWith(`${b.name}\u0000`) && !present.has(k));
      for (const k of gone) parts.push(`removed ${k.slice(b.name.length + 1)}`);
      if (parts.length > 0) lines.push(`${b.name}: ${parts.join('; ')}`);
    }
    const removedBalancers = new Set([...this.seen.keys()].filter((k) => !present.has(k)).map((k) => k.slice(0, k.indexOf('\u0000'))));
    for (const name of removedBalancers) if (!this.target.balancers.has(name)) lines.push(`balancer ${name} removed`);
    this.adoptAll();
    return lines;
  }

  private adoptAll(): void {
    const next = new Map<string, Seen>();
    for (const b of this.target.balancers.values()) {
      if (b.config.implicit) continue;
      for (const m of b.members) {
        const k = key(b.name, m.name);
        const seen = this.seen.get(k);
        // Keep E and C as seen (their transitions are still to report); take everything else.
        const status = seen === undefined ? m.status : (seen.status & (Flag.IN_ERROR | Flag.HC_FAIL)) | (m.status & ~(Flag.IN_ERROR | Flag.HC_FAIL));
        next.set(k, { status, errorTime: seen?.errorTime ?? m.errorTime, errorSince: seen?.errorSince ?? this.wallOrZero(m.errorTime) });
      }
    }
    this.seen = next;
  }
}

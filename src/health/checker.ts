/**
 * Active health checks (mod_proxy_hcheck's watchdog): every member with `hcmethod` other than None
 * is checked every `hcinterval`, counted from the end of its previous check as httpd does
 * (`now > updated + interval`), so a slow member never has two checks in flight. Checks of
 * different members run concurrently. Members with S (stopped) are not checked (HC:1042); the
 * first check runs at once when a member starts being checked.
 *
 * Results go to the member's flags through applyCheckResult (transition.ts). The checker keeps its
 * per-member state by Member object, and Member objects survive reloads, so `sync()` after a
 * reload keeps counts and last results of members that still exist, starts checks for new ones
 * and stops checks of members that are gone or no longer checked.
 */
import type { Balancer } from '../balancer/balancer.js';
import { Flag } from '../balancer/flags.js';
import type { Member } from '../balancer/member.js';
import type { Logger } from '../log.js';
import { balancerNow } from '../proxy/context.js';
import { MemberProbe, type ProbeResult } from './probe.js';
import { applyCheckResult, type CheckCounts } from './transition.js';

/** The last check of a member, as the manager page, the API and the metrics show it. */
export interface HealthStatus {
  /** Consecutive passes / failures so far (httpd's pcount / fcount). */
  readonly counts: Readonly<CheckCounts>;
  /** The last completed check; null before the first one. */
  readonly last: (ProbeResult & { at: number; durationMs: number }) | null;
  /** Checks completed, passed and failed since the member started being checked. */
  readonly checks: number;
  readonly passed: number;
  readonly failed: number;
  /** A check is running now. */
  readonly inFlight: boolean;
}

/** How a check is made: the real probe, or a stand-in in tests of the scheduling. */
export type ProbeRunner = (member: Member) => Promise<ProbeResult>;

interface State extends HealthStatus {
  member: Member;
  balancer: string;
  counts: CheckCounts;
  last: (ProbeResult & { at: number; durationMs: number }) | null;
  checks: number;
  passed: number;
  failed: number;
  inFlight: boolean;
  timer: NodeJS.Timeout | null;
  /** The interval the pending timer was set with. */
  interval: number;
  probe: MemberProbe;
  running: Promise<void> | null;
  stopped: boolean;
}

export interface HealthCheckerOptions {
  logger?: Logger;
  /** Replaces the network probe (tests of the scheduling). */
  probe?: ProbeRunner;
}

export class HealthChecker {
  private readonly states = new Map<Member, State>();
  private readonly logger: Logger | undefined;
  private readonly runner: ProbeRunner | undefined;
  private closed = false;

  constructor(options: HealthCheckerOptions = {}) {
    this.logger = options.logger;
    this.runner = options.probe;
  }

  /** Start, keep or stop member checks so that they match the balancers now running. */
  sync(balancers: ReadonlyMap<string, Balancer>): void {
    if (this.closed) return;
    const wanted = new Map<Member, string>();
    for (const b of balancers.values()) {
      for (const m of b.members) if (m.config.hcmethod !== 'None') wanted.set(m, b.name);
    }
    for (const [m, state] of this.states) {
      if (!wanted.has(m)) this.drop(state);
    }
    for (const [m, balancer] of wanted) {
      const existing = this.states.get(m);
      if (existing !== undefined) {
        existing.balancer = balancer;
        // A changed interval applies from now on; a check in flight reschedules itself when done.
        if (!existing.inFlight && existing.interval !== m.config.hcinterval) this.schedule(existing, m.config.hcinterval);
        continue;
      }
      const state: State = {
        member: m,
        balancer,
        counts: { passes: 0, fails: 0 },
        last: null,
        checks: 0,
        passed: 0,
        failed: 0,
        inFlight: false,
        timer: null,
        interval: m.config.hcinterval,
        probe: new MemberProbe(),
        running: null,
        stopped: false,
      };
      this.states.set(m, state);
      this.schedule(state, 0);
    }
  }

  /** The check state of a member; undefined when it is not checked. */
  status(m: Member): HealthStatus | undefined {
    return this.states.get(m);
  }

  /** Every checked member with its balancer name (metrics). */
  *entries(): Iterable<[balancer: string, member: Member, status: HealthStatus]> {
    for (const s of this.states.values()) yield [s.balancer, s.member, s];
  }

  /** Stop every check; resolves when checks in flight have ended and their connections are closed. */
  async stop(): Promise<void> {
    this.closed = true;
    const states = [...this.states.values()];
    for (const s of states) this.drop(s);
    await Promise.all(states.flatMap((s) => (s.running === null ? [] : [s.running])));
    await Promise.all(states.map((s) => s.probe.close()));
  }

  private drop(state: State): void {
    state.stopped = true;
    if (state.timer !== null) clearTimeout(state.timer);
    state.timer = null;
    this.states.delete(state.member);
    if (!state.inFlight) this.closeProbe(state);
  }

  /** Close a dropped member's probe connections; a failure to close them only costs a log line. */
  private closeProbe(state: State): void {
    state.probe.close().catch((err: unknown) => this.logger?.debug({ err }, `closing the health check connections of ${state.member.name} failed`));
  }

  private schedule(state: State, delay: number): void {
    if (state.timer !== null) clearTimeout(state.timer);
    state.interval = state.member.config.hcinterval;
    state.timer = setTimeout(() => {
      state.timer = null;
      state.running = this.run(state);
    }, delay);
    state.timer.unref();
  }

  private async run(state: State): Promise<void> {
    const m = state.member;
    if (state.stopped || state.inFlight) return;
    // HC:1042: stopped members are not checked (they are looked at again each interval).
    if (m.has(Flag.STOPPED)) {
      this.schedule(state, m.config.hcinterval);
      return;
    }
    state.inFlight = true;
    const started = performance.now();
    let result: ProbeResult;
    try {
      result = this.runner ? await this.runner(m) : await state.probe.run(m.config);
    } catch (err) {
      result = { ok: false, detail: `check failed: ${(err as Error).message}` };
    }
    state.inFlight = false;
    if (state.stopped) {
      this.closeProbe(state);
      return;
    }
    state.last = { ...result, at: Date.now(), durationMs: Math.round(performance.now() - started) };
    state.checks++;
    if (result.ok) state.passed++;
    else state.failed++;
    // A result that arrives after the member was stopped (S) changes nothing. The member's state is
    // shared with every worker thread: the result goes in under the balancer's lock.
    const change = m.locked(() => (m.has(Flag.STOPPED) ? null : applyCheckResult(m, state.counts, result.ok, balancerNow())));
    if (change === 'disabled') this.logger?.warn(`health check DISABLING ${m.name} in balancer://${state.balancer}: ${result.detail}`);
    else if (change === 'enabled') this.logger?.info(`health check ENABLING ${m.name} in balancer://${state.balancer}`);
    this.schedule(state, m.config.hcinterval);
  }
}

/**
 * One balancer (`<Proxy balancer://name>`, httpd's `proxy_balancer` and its shared state): its
 * members, the settings the balancer-manager may change at runtime, and those changes themselves
 * (apache-semantics §6), validated the way httpd validates them: an out-of-range value is ignored, not an error.
 */
import type { BalancerConfig, LbMethod, MemberConfig, StickySessionConfig } from '../config/types.js';
import { atof, atoi, toCInt } from './cnum.js';
import { Flag } from './flags.js';
import { isLbMethod, resetLbMethod } from './lbmethod.js';
import { Member } from './member.js';

/** Balancer settings the balancer-manager can change at runtime (apache-semantics §6). */
export type BalancerSetting = 'stickysession' | 'lbmethod' | 'timeout' | 'maxattempts' | 'nofailover';

/** A manager change httpd answers with 400 (adding a member: duplicate URL or no free slot). */
export class ManagerError extends Error {
  override name = 'ManagerError';
  readonly status = 400;
}

/** httpd's sticky fields are 64 bytes; the manager ignores a `b_ss` value of 63 bytes or more (balancer fields, B:1234-1378). */
const MAX_STICKY_BYTES = 62;
/** `b_lbm` must fit httpd's 64-byte provider name field. */
const MAX_LBMETHOD_LENGTH = 62;

export class Balancer {
  /** The name in `balancer://name` (lower-cased by the config loader). */
  readonly name: string;
  config: BalancerConfig;
  members: Member[];
  /** `stickysession` at runtime; null = none. A `b_ss` of "|P" leaves an empty cookie name, which disables stickiness like httpd. */
  sticky: StickySessionConfig | null;
  lbmethod: LbMethod;
  /** Wait for a usable member this long (ms); 0 = answer 503 at once (apache-semantics §3.1). */
  timeout: number;
  nofailover: boolean;
  /** Effective maxattempts and whether it is "set" (explicit, or the members−1 default with ≥2 members; apache-semantics §4.5). */
  maxAttempts: number;
  maxAttemptsSet: boolean;
  /** The lbmethod changed: its reset runs at the next request's sync (need_reset, U:4405-4409). */
  needReset = false;
  /** Settings changed at runtime (balancer-manager/API): they survive a reload. */
  readonly overridden = new Set<BalancerSetting>();

  /**
   * `previous`: the balancer of the same name before a reload. Members with the same name keep
   * their runtime state (flags incl. E, errorTime, lbstatus, counters, busy) and their
   * runtime-overridden settings; everything else comes from the new config. The surviving Member
   * objects move over from `previous` (requests in flight release their `busy` on the same object).
   * Members the manager added are not in the file and are dropped, as httpd drops them on a restart.
   */
  constructor(config: BalancerConfig, previous?: Balancer) {
    this.name = config.name;
    this.config = config;
    this.members = config.members.map((mc) => {
      const old = previous?.member(mc.url);
      if (!old) return new Member(mc);
      old.reconfigure(mc);
      return old;
    });
    // A direct worker (ProxyPass to a plain URL) is not a balancer member in httpd: it carries I
    // (ap_proxy_define_worker), so errors never put it out of service.
    if (config.implicit) for (const m of this.members) m.status |= Flag.IGNORE_ERRORS;
    this.sticky = config.stickysession;
    this.lbmethod = config.lbmethod;
    this.timeout = config.timeout;
    this.nofailover = config.nofailover;
    // init_balancer_members (B:127-133): without an explicit value, members − 1, and only with ≥ 2 members.
    if (config.maxattempts !== null) {
      this.maxAttempts = config.maxattempts;
      this.maxAttemptsSet = true;
    } else {
      this.maxAttemptsSet = this.members.length > 1;
      this.maxAttempts = this.maxAttemptsSet ? this.members.length - 1 : 0;
    }
    if (previous) this.inherit(previous);
  }

  private inherit(previous: Balancer): void {
    for (const setting of previous.overridden) this.overridden.add(setting);
    if (this.overridden.has('stickysession')) this.sticky = previous.sticky;
    if (this.overridden.has('timeout')) this.timeout = previous.timeout;
    if (this.overridden.has('nofailover')) this.nofailover = previous.nofailover;
    if (this.overridden.has('maxattempts')) this.maxAttempts = previous.maxAttempts;
    if (this.overridden.has('lbmethod')) this.lbmethod = previous.lbmethod;
    // Switching lbmethod through the file is treated like the manager's switch: the new method starts clean.
    this.needReset = previous.needReset || this.lbmethod !== previous.lbmethod;
  }

  member(name: string): Member | undefined {
    return this.members.find((m) => m.name === name);
  }

  /** BALANCER_NAME: `balancer://name`. */
  get url(): string {
    return balancerUrl(this);
  }

  /** A stickysession with a non-empty cookie name is configured (httpd tests `*balancer->s->sticky`). */
  get stickyEnabled(): boolean {
    return this.sticky !== null && this.sticky.cookie !== '';
  }

  /** Member slots left for the manager to fill: configured members + growth − current members. */
  get freeSlots(): number {
    return Math.max(0, this.config.members.length + this.config.growth - this.members.length);
  }

  /** Runs need_reset at the start of a request (after forcerecovery, as ap_proxy_sync_balancer does). */
  sync(): void {
    if (!this.needReset) return;
    resetLbMethod(this.lbmethod, this.members);
    this.needReset = false;
  }

  // ---- balancer-manager changes (apache-semantics §6; B:1125-1378). Each returns whether it was applied. ----

  /**
   * `w_lf`: int(atof(value) × 100) must be 100..10000, else ignored. Then recalc_factors (B:697-716):
   * every member's lbstatus := its lbfactor; a single-member balancer is forced to 100/100.
   */
  setLoadfactor(m: Member, value: string | number): boolean {
    const lbfactor = toCInt(atof(value) * 100);
    if (lbfactor < 100 || lbfactor > 10000) return false;
    m.lbfactor = lbfactor;
    m.overridden.add('loadfactor');
    if (this.members.length === 1) {
      m.lbfactor = m.lbstatus = 100;
    } else {
      for (const each of this.members) each.lbstatus = each.lbfactor;
    }
    return true;
  }

  /** `b_lbm`: a known lbmethod name other than the current one; its reset runs at the next request. */
  setLbmethod(value: string): boolean {
    if (value.length > MAX_LBMETHOD_LENGTH || value === this.lbmethod || !isLbMethod(value)) return false;
    this.lbmethod = value;
    this.needReset = true;
    this.overridden.add('lbmethod');
    return true;
  }

  /** `b_tmo`: atoi(value) seconds in 0..7200, else ignored. */
  setTimeout(value: string | number): boolean {
    const seconds = atoi(value);
    if (seconds < 0 || seconds > 7200) return false;
    this.timeout = seconds * 1000;
    this.overridden.add('timeout');
    return true;
  }

  /**
   * `b_max`: atoi(value) in 0..99, else ignored. httpd 2.4 stores the value but does not mark it set,
   * so it has no effect on a balancer whose maxattempts was not set (apache-semantics §4.5).
   */
  setMaxAttempts(value: string | number): boolean {
    const n = atoi(value);
    if (n < 0 || n > 99) return false;
    this.maxAttempts = n;
    this.overridden.add('maxattempts');
    return true;
  }

  /** `b_sforce`: atoi(value) ≠ 0 turns nofailover on. */
  setNofailover(value: string | number | boolean): void {
    this.nofailover = atoi(value) !== 0;
    this.overridden.add('nofailover');
  }

  /**
   * `b_ss`: `C`, `C|P` (split at the first "|"), or `-` to remove stickiness. Empty or too long
   * values are ignored.
   */
  setStickysession(value: string): boolean {
    if (value === '' || Buffer.byteLength(value) > MAX_STICKY_BYTES) return false;
    if (value === '-') {
      this.sticky = null;
    } else {
      const bar = value.indexOf('|');
      this.sticky = bar === -1 ? { cookie: value, param: value } : { cookie: value.slice(0, bar), param: value.slice(bar + 1) };
    }
    this.overridden.add('stickysession');
    return true;
  }

  /**
   * `b_nwrkr` with `b_wyes=1`: add a member. `config` carries the default member parameters for its
   * URL (the caller builds it with the config module, as httpd applies its defaults); the new member
   * starts disabled (D). Throws ManagerError (→ 400) when a member already covers the URL (httpd's
   * worker lookup: an existing member URL that is a prefix of the new one, reaching at least past its
   * host and port) or when no slot is free (`growth`).
   */
  addMember(config: MemberConfig): Member {
    const url = config.url;
    const authority = url.indexOf('/', url.indexOf('://') + 3);
    const minMatch = authority === -1 ? url.length : authority;
    const existing = this.members.find((m) => m.name.length >= minMatch && url.startsWith(m.name));
    if (existing) throw new ManagerError(`balancer ${this.url} already has member ${existing.name}`);
    if (this.freeSlots === 0) {
      throw new ManagerError(`balancer ${this.url} has no free member slot (growth ${this.config.growth}); raise its growth setting to add members`);
    }
    const m = new Member(config);
    m.status |= Flag.DISABLED;
    this.members.push(m);
    return m;
  }
}

/** BALANCER_NAME for a balancer: `balancer://name`. */
export function balancerUrl(b: { readonly name: string }): string {
  return `balancer://${b.name}`;
}

/**
 * One balancer (`<Proxy balancer://name>`, httpd's `proxy_balancer` and its shared state): its
 * members, the settings the balancer-manager may change at runtime, and those changes themselves
 * (apache-semantics §6), validated the way httpd validates them: an out-of-range value is ignored, not an error.
 * The runtime settings live in the balancer's record of the scoreboard (scoreboard.ts), with the
 * balancer's lock, so that every worker thread sees one balancer.
 */
import type { BalancerConfig, LbMethod, MemberConfig, StickySessionConfig } from '../config/types.js';
import { atof, atoi, toCInt } from './cnum.js';
import { Flag } from './flags.js';
import { isLbMethod, LB_METHODS, resetLbMethod } from './lbmethod.js';
import { Member, SettingSet } from './member.js';
import { F, I, Kind, Scoreboard, Text, intAt, wideAt } from './scoreboard.js';

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

const BALANCER_SETTINGS: readonly BalancerSetting[] = ['stickysession', 'lbmethod', 'timeout', 'maxattempts', 'nofailover'];

/**
 * Where a balancer's state lives in a scoreboard: its record and its file members' slots in file
 * order. The main thread allocates them; a worker attaches to them (Balancer.attach).
 */
export interface BalancerPlacement {
  record: number;
  slots: number[];
}

/** Makes the configuration of a member the manager added, from its URL (workers rebuild it the way the manager did). */
export type AddedMemberConfig = (url: string) => MemberConfig;

export class Balancer {
  /** The name in `balancer://name` (lower-cased by the config loader). */
  readonly name: string;
  config: BalancerConfig;
  members: Member[];
  readonly #board: Scoreboard;
  /** The balancer record's slot. */
  readonly record: number;
  /** Settings changed at runtime (balancer-manager/API): they survive a reload. */
  readonly overridden: SettingSet<BalancerSetting>;
  /** Int32 index and Float64 index of the record. */
  private readonly i: number;
  private readonly w: number;
  /** Members from the file (the rest of `members` were added by the manager). */
  private fileMembers: Member[];
  /** The record's MEMBERS_VERSION that `members` reflects. */
  private membersSeen: number;
  private readonly addedConfig: AddedMemberConfig | null;
  private stickySeen = -1;
  private stickyValue: StickySessionConfig | null = null;

  /**
   * Build a balancer in the thread that owns the scoreboard (the main thread, or a test).
   * `previous`: the balancer of the same name before a reload. Members with the same name keep
   * their slot, so their runtime state (flags incl. E, errorTime, lbstatus, counters, busy) and
   * their runtime-overridden settings; everything else comes from the new config. The surviving
   * Member objects move over from `previous` (requests in flight release their `busy` on the same
   * slot). Members the manager added are not in the file and are dropped, as httpd drops them on a
   * restart. `board`: where a balancer without `previous` lives (default: a scoreboard of its own).
   */
  constructor(config: BalancerConfig, previous?: Balancer, board?: Scoreboard);
  constructor(config: BalancerConfig, previous?: Balancer, board?: Scoreboard, attach?: { placement: BalancerPlacement; addedConfig: AddedMemberConfig }) {
    this.name = config.name;
    this.config = config;
    this.#board = previous?.board ?? board ?? Scoreboard.create();
    this.addedConfig = attach?.addedConfig ?? null;
    if (attach !== undefined) {
      // A worker: views of what the main thread set up, nothing written.
      this.record = attach.placement.record;
      this.#board.reach(this.record);
      this.i = intAt(this.record, 0);
      this.w = wideAt(this.record, 0);
      this.overridden = new SettingSet(this.#board, this.i + I.B_OVERRIDDEN, BALANCER_SETTINGS);
      this.fileMembers = config.members.map((mc, k) => {
        const slot = attach.placement.slots[k]!;
        const old = previous?.members.find((m) => m.slot === slot && m.name === mc.url && !m.stale);
        if (old === undefined) return new Member(mc, { board: this.#board, slot });
        old.adopt(mc);
        return old;
      });
      this.members = this.fileMembers;
      this.membersSeen = -1;
      this.lock();
      try {
        this.syncMembers();
      } finally {
        this.unlock();
      }
      return;
    }
    this.record = previous?.record ?? this.#board.allocate(Kind.BALANCER);
    this.i = intAt(this.record, 0);
    this.w = wideAt(this.record, 0);
    this.overridden = new SettingSet(this.#board, this.i + I.B_OVERRIDDEN, BALANCER_SETTINGS);
    if (previous === undefined) this.#board.writeText(this.record, Text.NAME, I.NAME_LEN, config.name);
    const kept = new Set<Member>();
    this.fileMembers = config.members.map((mc) => {
      const old = previous?.member(mc.url);
      if (!old) return this.newMember(mc, 0);
      kept.add(old);
      old.reconfigure(mc);
      return old;
    });
    this.members = this.fileMembers;
    this.lock();
    try {
      if (previous !== undefined) {
        for (const m of previous.members) {
          if (!kept.has(m)) this.#board.retire(m.slot);
          else this.#board.i32[intAt(m.slot, I.ADDED)] = 0;
        }
        Atomics.add(this.#board.i32, this.i + I.MEMBERS_VERSION, 1);
      }
      this.membersSeen = this.#board.i32[this.i + I.MEMBERS_VERSION]!;
      this.settle(config, previous);
    } finally {
      this.unlock();
    }
  }

  /**
   * A worker's view of a balancer the main thread built: `placement` says where its record and
   * its file members' slots are. `previous`: this thread's view before the reload (Member objects
   * of surviving slots are kept).
   */
  static attach(config: BalancerConfig, board: Scoreboard, placement: BalancerPlacement, addedConfig: AddedMemberConfig, previous?: Balancer): Balancer {
    return new (Balancer as unknown as new (...args: unknown[]) => Balancer)(config, previous, board, { placement, addedConfig });
  }

  /** The scoreboard the balancer lives in (a getter: deep equality in tests does not walk it). */
  get board(): Scoreboard {
    return this.#board;
  }

  /** The balancer is gone from the configuration: its members' slots can be reused once nothing holds them. */
  retire(): void {
    for (const m of this.members) this.#board.retire(m.slot);
  }

  /** Where this balancer lives, for workers to attach to. */
  get placement(): BalancerPlacement {
    return { record: this.record, slots: this.fileMembers.map((m) => m.slot) };
  }

  /**
   * A member in a fresh slot, initialized from its config; `added`: its number among the manager's
   * additions (0: from the file), which start disabled (D). Other threads find a file member's slot
   * only in a placement sent after this, and an added one only under the lock, which addMember holds.
   */
  private newMember(mc: MemberConfig, added: number): Member {
    const slot = this.#board.allocate(Kind.MEMBER);
    const a = this.#board.i32;
    a[intAt(slot, I.BALANCER)] = this.record;
    a[intAt(slot, I.ADDED)] = added;
    if (added > 0) this.#board.writeText(slot, Text.NAME, I.NAME_LEN, mc.url);
    const m = new Member(mc, { board: this.#board, slot });
    m.initialize(added > 0 ? Flag.DISABLED : 0);
    return m;
  }

  /** The balancer's settings from the file, except those the manager changed (kept from before a reload). */
  private settle(config: BalancerConfig, previous: Balancer | undefined): void {
    // A direct worker (ProxyPass to a plain URL) is not a balancer member in httpd: it carries I
    // (ap_proxy_define_worker), so errors never put it out of service.
    if (config.implicit) for (const m of this.members) m.status |= Flag.IGNORE_ERRORS;
    const previousMethod = previous?.lbmethod;
    if (!this.overridden.has('stickysession')) this.sticky = config.stickysession;
    if (!this.overridden.has('timeout')) this.timeout = config.timeout;
    if (!this.overridden.has('nofailover')) this.nofailover = config.nofailover;
    if (!this.overridden.has('lbmethod')) this.lbmethod = config.lbmethod;
    // init_balancer_members (B:127-133): without an explicit value, members − 1, and only with ≥ 2 members.
    let maxAttempts: number;
    if (config.maxattempts !== null) {
      maxAttempts = config.maxattempts;
      this.maxAttemptsSet = true;
    } else {
      this.maxAttemptsSet = this.members.length > 1;
      maxAttempts = this.maxAttemptsSet ? this.members.length - 1 : 0;
    }
    if (!this.overridden.has('maxattempts')) this.maxAttempts = maxAttempts;
    // Switching lbmethod through the file is treated like the manager's switch: the new method starts clean.
    if (previousMethod !== undefined && this.lbmethod !== previousMethod) this.needReset = true;
  }

  member(name: string): Member | undefined {
    return this.members.find((m) => m.name === name);
  }

  /** BALANCER_NAME: `balancer://name`. */
  get url(): string {
    return balancerUrl(this);
  }

  /** `stickysession` at runtime; null = none. A `b_ss` of "|P" leaves an empty cookie name, which disables stickiness like httpd. */
  get sticky(): StickySessionConfig | null {
    const at = this.i + I.B_TEXT_VERSION;
    let v = this.#board.textVersion(at);
    if (v === this.stickySeen) return this.stickyValue;
    for (;;) {
      if ((v & 1) === 0) {
        const value = this.#board.i32[this.i + I.STICKY] === 0
          ? null
          : { cookie: this.#board.readText(this.record, Text.COOKIE, I.COOKIE_LEN), param: this.#board.readText(this.record, Text.PARAM, I.PARAM_LEN) };
        const after = this.#board.textVersion(at);
        if (after === v) {
          this.stickyValue = value;
          this.stickySeen = v;
          return value;
        }
        v = after;
      } else {
        v = this.#board.textVersion(at);
      }
    }
  }

  set sticky(value: StickySessionConfig | null) {
    const at = this.i + I.B_TEXT_VERSION;
    this.#board.beginText(at);
    this.#board.i32[this.i + I.STICKY] = value === null ? 0 : 1;
    this.#board.writeText(this.record, Text.COOKIE, I.COOKIE_LEN, value?.cookie ?? '');
    this.#board.writeText(this.record, Text.PARAM, I.PARAM_LEN, value?.param ?? '');
    this.#board.endText(at);
  }

  get lbmethod(): LbMethod {
    return LB_METHODS[this.#board.i32[this.i + I.LBMETHOD]!]!;
  }

  set lbmethod(value: LbMethod) {
    this.#board.i32[this.i + I.LBMETHOD] = LB_METHODS.indexOf(value);
  }

  /** Wait for a usable member this long (ms); 0 = answer 503 at once (apache-semantics §3.1). */
  get timeout(): number {
    return this.#board.f64[this.w + F.TIMEOUT]!;
  }

  set timeout(ms: number) {
    this.#board.f64[this.w + F.TIMEOUT] = ms;
  }

  get nofailover(): boolean {
    return this.#board.i32[this.i + I.NOFAILOVER] !== 0;
  }

  set nofailover(on: boolean) {
    this.#board.i32[this.i + I.NOFAILOVER] = on ? 1 : 0;
  }

  /** Effective maxattempts (apache-semantics §4.5). */
  get maxAttempts(): number {
    return this.#board.i32[this.i + I.MAX_ATTEMPTS]!;
  }

  set maxAttempts(n: number) {
    this.#board.i32[this.i + I.MAX_ATTEMPTS] = n;
  }

  /** Whether maxattempts is "set" (explicit, or the members−1 default with ≥2 members; apache-semantics §4.5). */
  get maxAttemptsSet(): boolean {
    return this.#board.i32[this.i + I.MAX_ATTEMPTS_SET] !== 0;
  }

  set maxAttemptsSet(on: boolean) {
    this.#board.i32[this.i + I.MAX_ATTEMPTS_SET] = on ? 1 : 0;
  }

  /** The lbmethod changed: its reset runs at the next request's sync (need_reset, U:4405-4409). */
  get needReset(): boolean {
    return this.#board.i32[this.i + I.NEED_RESET] !== 0;
  }

  set needReset(on: boolean) {
    this.#board.i32[this.i + I.NEED_RESET] = on ? 1 : 0;
  }

  /** A stickysession with a non-empty cookie name is configured (httpd tests `*balancer->s->sticky`). */
  get stickyEnabled(): boolean {
    const sticky = this.sticky;
    return sticky !== null && sticky.cookie !== '';
  }

  /** Member slots left for the manager to fill: configured members + growth − current members. */
  get freeSlots(): number {
    return Math.max(0, this.config.members.length + this.config.growth - this.members.length);
  }

  /** Take the balancer's lock (the pick, its accounting and every change run under it). */
  lock(): void {
    this.#board.lock(this.i + I.LOCK);
  }

  unlock(): void {
    this.#board.unlock(this.i + I.LOCK);
  }

  /** Run `change` under the balancer's lock. */
  locked<T>(change: () => T): T {
    this.lock();
    try {
      return change();
    } finally {
      this.unlock();
    }
  }

  /**
   * ap_proxy_sync_balancer, at the start of a request under the lock (after forcerecovery): take
   * in members the manager added in another thread, then run need_reset.
   */
  sync(): void {
    if (this.#board.i32[this.i + I.MEMBERS_VERSION] !== this.membersSeen) this.syncMembers();
    if (!this.needReset) return;
    resetLbMethod(this.lbmethod, this.members);
    this.needReset = false;
  }

  /** The members the manager added, in the order it added them, after the file's members. */
  private syncMembers(): void {
    this.membersSeen = this.#board.i32[this.i + I.MEMBERS_VERSION]!;
    if (this.addedConfig === null) return;
    this.#board.refresh();
    const added: Array<[order: number, slot: number]> = [];
    for (let s = 1; s < this.#board.capacity; s++) {
      const i = intAt(s, 0);
      if (this.#board.i32[i + I.KIND] === Kind.MEMBER && this.#board.i32[i + I.BALANCER] === this.record && this.#board.i32[i + I.ADDED]! > 0) {
        added.push([this.#board.i32[i + I.ADDED]!, s]);
      }
    }
    added.sort((a, b) => a[0] - b[0]);
    const members = [...this.fileMembers];
    for (const [, slot] of added) {
      const url = this.#board.readText(slot, Text.NAME, I.NAME_LEN);
      const known = this.members.find((m) => m.slot === slot && m.name === url && !m.stale);
      members.push(known ?? new Member(this.addedConfig(url), { board: this.#board, slot }));
    }
    this.members = members;
  }

  // ---- balancer-manager changes (apache-semantics §6; B:1125-1378). Each returns whether it was applied. ----

  /**
   * `w_lf`: int(atof(value) × 100) must be 100..10000, else ignored. Then recalc_factors (B:697-716):
   * every member's lbstatus := its lbfactor; a single-member balancer is forced to 100/100.
   */
  setLoadfactor(m: Member, value: string | number): boolean {
    const lbfactor = toCInt(atof(value) * 100);
    if (lbfactor < 100 || lbfactor > 10000) return false;
    this.locked(() => {
      m.lbfactor = lbfactor;
      m.overridden.add('loadfactor');
      if (this.members.length === 1) {
        m.lbfactor = m.lbstatus = 100;
      } else {
        for (const each of this.members) each.lbstatus = each.lbfactor;
      }
    });
    return true;
  }

  /** `b_lbm`: a known lbmethod name other than the current one; its reset runs at the next request. */
  setLbmethod(value: string): boolean {
    if (value.length > MAX_LBMETHOD_LENGTH || value === this.lbmethod || !isLbMethod(value)) return false;
    this.locked(() => {
      this.lbmethod = value;
      this.needReset = true;
      this.overridden.add('lbmethod');
    });
    return true;
  }

  /** `b_tmo`: atoi(value) seconds in 0..7200, else ignored. */
  setTimeout(value: string | number): boolean {
    const seconds = atoi(value);
    if (seconds < 0 || seconds > 7200) return false;
    this.locked(() => {
      this.timeout = seconds * 1000;
      this.overridden.add('timeout');
    });
    return true;
  }

  /**
   * `b_max`: atoi(value) in 0..99, else ignored. httpd 2.4 stores the value but does not mark it set,
   * so it has no effect on a balancer whose maxattempts was not set (apache-semantics §4.5).
   */
  setMaxAttempts(value: string | number): boolean {
    const n = atoi(value);
    if (n < 0 || n > 99) return false;
    this.locked(() => {
      this.maxAttempts = n;
      this.overridden.add('maxattempts');
    });
    return true;
  }

  /** `b_sforce`: atoi(value) ≠ 0 turns nofailover on. */
  setNofailover(value: string | number | boolean): void {
    this.locked(() => {
      this.nofailover = atoi(value) !== 0;
      this.overridden.add('nofailover');
    });
  }

  /**
   * `b_ss`: `C`, `C|P` (split at the first "|"), or `-` to remove stickiness. Empty or too long
   * values are ignored.
   */
  setStickysession(value: string): boolean {
    if (value === '' || Buffer.byteLength(value) > MAX_STICKY_BYTES) return false;
    this.locked(() => {
      if (value === '-') {
        this.sticky = null;
      } else {
        const bar = value.indexOf('|');
        this.sticky = bar === -1 ? { cookie: value, param: value } : { cookie: value.slice(0, bar), param: value.slice(bar + 1) };
      }
      this.overridden.add('stickysession');
    });
    return true;
  }

  /**
   * `b_nwrkr` with `b_wyes=1`: add a member. `config` carries the default member parameters for its
   * URL (the caller builds it with the config module, as httpd applies its defaults); the new member
   * starts disabled (D). Throws ManagerError (→ 400) when a member already covers the URL (httpd's
   * worker lookup: an existing member URL that is a prefix of the new one, reaching at least past its
   * host and port), when no slot is free (`growth`) or when the URL does not fit httpd's name field.
   * Every thread's balancer takes the new member in at its next request (sync()).
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
    if (Buffer.byteLength(url) > Text.NAME[1]) throw new ManagerError(`member URL ${url} is longer than ${Text.NAME[1]} bytes`);
    return this.locked(() => {
      const order = Atomics.add(this.#board.i32, this.i + I.ADDED_SEQ, 1) + 1;
      const m = this.newMember(config, order);
      this.members = [...this.members, m];
      this.membersSeen = Atomics.add(this.#board.i32, this.i + I.MEMBERS_VERSION, 1) + 1;
      return m;
    });
  }
}

/** BALANCER_NAME for a balancer: `balancer://name`. */
export function balancerUrl(b: { readonly name: string }): string {
  return `balancer://${b.name}`;
}

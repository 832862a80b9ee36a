/**
 * One balancer member (httpd's `proxy_worker` with its shared `proxy_worker_shared` state): the
 * settings from the configuration file plus the runtime state the balancer decisions read and write.
 * The state lives in a slot of the scoreboard (scoreboard.ts), shared by every worker thread; the
 * slot, and in each thread the Member object, lives as long as the member's URL stays in its
 * balancer, across reloads, so that a request in flight during a reload still releases the `busy`
 * count it took (docs/design.md).
 */
import type { MemberConfig } from '../config/types.js';
import { atoi } from './cnum.js';
import { Flag, applyStatus, flagBit, isUsable } from './flags.js';
import { F, G, I, Kind, Scoreboard, Text, intAt, wideAt } from './scoreboard.js';

/** Member settings the balancer-manager can change at runtime (apache-semantics §6). */
export type RuntimeSetting = 'route' | 'redirect' | 'loadfactor' | 'lbset' | 'status';

/** The flags the manager may set or clear: `w_status_I` … `w_status_C` (B:1125-1231). Never E. */
export type ManagerFlag = 'I' | 'N' | 'D' | 'H' | 'R' | 'S' | 'C';
export const MANAGER_FLAGS: readonly ManagerFlag[] = ['I', 'N', 'D', 'H', 'R', 'S', 'C'];

/** Flags that are runtime state rather than configuration: E (errors) and C (health checks). */
const RUNTIME_FLAGS = Flag.IN_ERROR | Flag.HC_FAIL;

/** httpd keeps route and redirect in 64-byte fields; the manager clears a value that does not fit (worker fields, B:1125-1231). */
const MAX_ROUTE_BYTES = 63;

/** `lbfactor` = int(loadfactor × 100), as P:106-115 computes it (so 1.15 gives 114, like C). */
export function lbfactorOf(loadfactor: number): number {
  return Math.trunc(loadfactor * 100);
}

/**
 * A set of setting names kept as bits of one int32 field of the scoreboard (which settings the
 * manager changed): what the code used as a Set<string>.
 */
export class SettingSet<T extends string> implements Iterable<T> {
  readonly #board: Scoreboard;

  constructor(board: Scoreboard, private readonly at: number, private readonly names: readonly T[]) {
    this.#board = board;
  }

  private get bits(): number {
    return this.#board.i32[this.at]!;
  }

  has(name: T): boolean {
    return (this.bits & (1 << this.names.indexOf(name))) !== 0;
  }

  add(name: T): this {
    this.#board.i32[this.at] = this.bits | (1 << this.names.indexOf(name));
    return this;
  }

  get size(): number {
    let n = 0;
    for (let i = 0; i < this.names.length; i++) if (this.bits & (1 << i)) n++;
    return n;
  }

  *[Symbol.iterator](): Iterator<T> {
    const bits = this.bits;
    for (let i = 0; i < this.names.length; i++) if (bits & (1 << i)) yield this.names[i]!;
  }
}

const RUNTIME_SETTINGS: readonly RuntimeSetting[] = ['route', 'redirect', 'loadfactor', 'lbset', 'status'];

/** What a stale view (its slot was given to another member) reports: shutting down, never usable. */
const STALE_STATUS = Flag.INITIALIZED | Flag.IN_SHUTDOWN;

/** Where a member's state lives: a member slot of a scoreboard. */
export interface MemberPlace {
  board: Scoreboard;
  slot: number;
}

/**
 * The member: its configuration (per thread, replaced on reload) and a view over its slot of the
 * scoreboard (shared by every thread). The fields read like plain properties; busy, transferred and
 * read change only through takeBusy/releaseBusy/addTransferred/addRead, which are atomic.
 */
export class Member {
  /** The normalized member URL: identity across reloads and BALANCER_WORKER_NAME (apache-semantics §2.7). */
  readonly name: string;
  /** The file's settings (replaced on reload). */
  config: MemberConfig;
  readonly #board: Scoreboard;
  readonly slot: number;
  /** Settings changed at runtime (balancer-manager/API): they survive a reload. */
  readonly overridden: SettingSet<RuntimeSetting>;
  private readonly incarnation: number;
  /** Int32 index of the slot, and of its Float64/BigInt64 fields. */
  private readonly i: number;
  private readonly w: number;
  /** The balancer's lock (int32 index). */
  private readonly lockAt: number;
  /** route and redirect as last decoded, and the text version they were decoded at. */
  private textSeen = -1;
  private routeText = '';
  private redirectText = '';

  /**
   * Without `place`: a member with a scoreboard of its own, initialized from `config` (tests of the
   * decisions). With `place`: a view of a slot someone already initialized (see initialize()).
   */
  constructor(config: MemberConfig, place?: MemberPlace) {
    this.name = config.url;
    this.config = config;
    let fresh = false;
    if (place === undefined) {
      const board = Scoreboard.create();
      const record = board.allocate(Kind.BALANCER);
      const slot = board.allocate(Kind.MEMBER);
      board.i32[intAt(slot, I.BALANCER)] = record;
      place = { board, slot };
      fresh = true;
    }
    this.#board = place.board;
    this.slot = place.slot;
    this.#board.reach(this.slot);
    this.i = intAt(this.slot, 0);
    this.w = wideAt(this.slot, 0);
    this.incarnation = this.#board.i32[this.i + I.INCARNATION]!;
    this.lockAt = intAt(this.#board.i32[this.i + I.BALANCER]!, I.LOCK);
    this.overridden = new SettingSet(this.#board, this.i + I.OVERRIDDEN, RUNTIME_SETTINGS);
    if (fresh) this.initialize();
  }

  /**
   * Write the file's settings into a fresh slot, before any other thread can see it (or under the
   * balancer's lock). O is set when httpd initializes the worker; the file's status= applies on top
   * of it (P:261-280); `extra`: more flags (D for a member the manager adds).
   */
  initialize(extra = 0): void {
    this.route = this.config.route;
    this.redirect = this.config.redirect;
    this.lbfactor = lbfactorOf(this.config.loadfactor);
    this.lbset = this.config.lbset;
    this.status = applyStatus(this.config.status, Flag.INITIALIZED) | extra;
  }

  /** The scoreboard the member's slot is in (private field + getter: deep equality in tests does not walk it). */
  get board(): Scoreboard {
    return this.#board;
  }

  /** The slot now belongs to another member (it was retired and reused): this view sees nothing of it. */
  get stale(): boolean {
    return this.#board.i32[this.i + I.INCARNATION] !== this.incarnation;
  }

  /** Flag bits (flags.ts). */
  get status(): number {
    const a = this.#board.i32;
    return a[this.i + I.INCARNATION] === this.incarnation ? a[this.i + I.STATUS]! : STALE_STATUS;
  }

  set status(v: number) {
    if (!this.stale) this.#board.i32[this.i + I.STATUS] = v;
  }

  /** byrequests/bybusyness credit (apache-semantics §3.2). */
  get lbstatus(): number {
    return this.#board.i32[this.i + I.LBSTATUS]!;
  }

  set lbstatus(v: number) {
    this.#board.i32[this.i + I.LBSTATUS] = v;
  }

  /** int(loadfactor × 100), 100..10000. */
  get lbfactor(): number {
    return this.#board.i32[this.i + I.LBFACTOR]!;
  }

  set lbfactor(v: number) {
    this.#board.i32[this.i + I.LBFACTOR] = v;
  }

  get lbset(): number {
    return this.#board.i32[this.i + I.LBSET]!;
  }

  set lbset(v: number) {
    this.#board.i32[this.i + I.LBSET] = v;
  }

  /** Times this member was chosen (sticky or load-balanced). */
  get elected(): number {
    return this.#board.f64[this.w + F.ELECTED]!;
  }

  set elected(v: number) {
    this.#board.f64[this.w + F.ELECTED] = v;
  }

  /** When the member was last put in error (ms; 0 = never, so a configured `+E` clears at once, §4.3). */
  get errorTime(): number {
    return this.#board.f64[this.w + F.ERROR_TIME]!;
  }

  set errorTime(v: number) {
    this.#board.f64[this.w + F.ERROR_TIME] = v;
  }

  /** Times the member was taken out of error by retry() or forcerecovery (§4.3, §4.4). */
  get retries(): number {
    return this.#board.f64[this.w + F.RETRIES]!;
  }

  set retries(v: number) {
    this.#board.f64[this.w + F.RETRIES] = v;
  }

  /** Requests in flight on this member, over every thread (apache-semantics §3.3). */
  get busy(): number {
    return Atomics.load(this.#board.i32, this.i + I.BUSY);
  }

  /** Set busy (an lbmethod reset zeroes it); requests in flight still release their share. */
  set busy(v: number) {
    Atomics.store(this.#board.i32, this.i + I.BUSY, v);
  }

  /** busy++ for a request this thread sends to the member. */
  takeBusy(): void {
    this.#board.takeBusy(this.slot);
  }

  /** The request ended: busy-- (not below 0). */
  releaseBusy(): void {
    this.#board.releaseBusy(this.slot);
  }

  /** Bytes sent to the member (request line, headers, body), for bytraffic. */
  get transferred(): number {
    return Number(Atomics.load(this.#board.i64, this.w + G.TRANSFERRED));
  }

  set transferred(v: number) {
    Atomics.store(this.#board.i64, this.w + G.TRANSFERRED, BigInt(v));
  }

  addTransferred(bytes: number): void {
    Atomics.add(this.#board.i64, this.w + G.TRANSFERRED, BigInt(bytes));
  }

  /** Bytes read from the member (status line, headers, body), for bytraffic. */
  get read(): number {
    return Number(Atomics.load(this.#board.i64, this.w + G.READ));
  }

  set read(v: number) {
    Atomics.store(this.#board.i64, this.w + G.READ, BigInt(v));
  }

  addRead(bytes: number): void {
    Atomics.add(this.#board.i64, this.w + G.READ, BigInt(bytes));
  }

  get route(): string {
    this.decodeText();
    return this.routeText;
  }

  /** Set under the balancer's lock (readers outside it see the old or the new value, never a mix). */
  set route(v: string) {
    this.writeText(Text.ROUTE, I.ROUTE_LEN, v);
  }

  get redirect(): string {
    this.decodeText();
    return this.redirectText;
  }

  set redirect(v: string) {
    this.writeText(Text.REDIRECT, I.REDIRECT_LEN, v);
  }

  private writeText(field: readonly [number, number], len: number, v: string): void {
    const at = this.i + I.TEXT_VERSION;
    this.#board.beginText(at);
    this.#board.writeText(this.slot, field, len, v);
    this.#board.endText(at);
  }

  private decodeText(): void {
    const at = this.i + I.TEXT_VERSION;
    let v = this.#board.textVersion(at);
    if (v === this.textSeen) return;
    for (;;) {
      if ((v & 1) === 0) {
        const route = this.#board.readText(this.slot, Text.ROUTE, I.ROUTE_LEN);
        const redirect = this.#board.readText(this.slot, Text.REDIRECT, I.REDIRECT_LEN);
        const after = this.#board.textVersion(at);
        if (after === v) {
          this.routeText = route;
          this.redirectText = redirect;
          this.textSeen = v;
          return;
        }
        v = after;
      } else {
        v = this.#board.textVersion(at);
      }
    }
  }

  /** Take the balancer's lock: the member's state changes under it. */
  lock(): void {
    this.#board.lock(this.lockAt);
  }

  unlock(): void {
    this.#board.unlock(this.lockAt);
  }

  /** PROXY_WORKER_IS_USABLE (MH:347-359): initialized and none of D, S, E, C, U. */
  get usable(): boolean {
    return isUsable(this.status);
  }

  has(bit: number): boolean {
    return (this.status & bit) !== 0;
  }

  /**
   * Take a new configuration for the same URL (a reload, in the thread that owns the slots).
   * Runtime state stays; settings the manager changed stay; everything else comes from `config`.
   * E and C are runtime state (errors, health checks) and are kept whatever the file says; a `+E`
   * in the file still adds E.
   */
  reconfigure(config: MemberConfig): void {
    this.adopt(config);
    this.lock();
    try {
      if (!this.overridden.has('route')) this.route = config.route;
      if (!this.overridden.has('redirect')) this.redirect = config.redirect;
      if (!this.overridden.has('loadfactor')) this.lbfactor = lbfactorOf(config.loadfactor);
      if (!this.overridden.has('lbset')) this.lbset = config.lbset;
      if (!this.overridden.has('status')) {
        this.status = applyStatus(config.status, Flag.INITIALIZED) | (this.status & RUNTIME_FLAGS);
      }
    } finally {
      this.unlock();
    }
  }

  /** Take a new configuration without touching the shared state (a worker following a reload the main thread made). */
  adopt(config: MemberConfig): void {
    if (config.url !== this.name) throw new Error(`member ${this.name} cannot take the configuration of ${config.url}`);
    this.config = config;
  }

  /** Manager `w_wr`: a non-empty value that fits sets the route; anything else clears it. */
  setRoute(value: string): void {
    this.locked(() => {
      this.route = fitsRouteField(value) ? value : '';
      this.overridden.add('route');
    });
  }

  /** Manager `w_rr`: same rule as the route. */
  setRedirect(value: string): void {
    this.locked(() => {
      this.redirect = fitsRouteField(value) ? value : '';
      this.overridden.add('redirect');
    });
  }

  /** Manager `w_ls`: atoi(value) in 0..99, else ignored. Returns whether it was applied. */
  setLbset(value: string | number): boolean {
    const n = atoi(value);
    if (n < 0 || n > 99) return false;
    this.locked(() => {
      this.lbset = n;
      this.overridden.add('lbset');
    });
    return true;
  }

  /**
   * Manager `w_status_<letter>`: atoi(value) ≠ 0 sets the flag, 0 clears it (ap_proxy_set_wstatus).
   * E is not among the manager's fields: asking for it (or any other letter) changes nothing and
   * returns false.
   */
  setFlag(letter: string, value: string | number | boolean): boolean {
    const upper = letter.toUpperCase();
    if (!(MANAGER_FLAGS as readonly string[]).includes(upper)) return false;
    const bit = flagBit(upper)!;
    this.locked(() => {
      this.status = atoi(value) !== 0 ? this.status | bit : this.status & ~bit;
      this.overridden.add('status');
    });
    return true;
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
}

function fitsRouteField(value: string): boolean {
  return value !== '' && Buffer.byteLength(value) <= MAX_ROUTE_BYTES;
}

/**
 * ap_proxy_retry_worker (U:2391-2423, apache-semantics §4.3): a member in error whose retry interval has passed
 * (strictly: now > error_time + retry), or that has I, leaves the error state and counts a retry.
 * A stopped (S) member is never retried. Does nothing to a member without E.
 */
export function retry(m: Member, now: number): void {
  if (!m.has(Flag.IN_ERROR) || m.has(Flag.STOPPED)) return;
  if (m.has(Flag.IGNORE_ERRORS) || now > m.errorTime + m.config.retry) {
    m.retries++;
    m.status &= ~Flag.IN_ERROR;
  }
}

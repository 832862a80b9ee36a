/**
 * One balancer member (httpd's `proxy_worker` with its shared `proxy_worker_shared` state): the
 * settings from the configuration file plus the runtime state the balancer decisions read and write.
 * The object lives as long as the member's URL stays in its balancer, across reloads, so that a
 * request in flight during a reload still releases the `busy` count it took (docs/design.md).
 */
import type { MemberConfig } from '../config/types.js';
import { atoi } from './cnum.js';
import { Flag, applyStatus, flagBit, isUsable } from './flags.js';

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

export class Member {
  /** The normalized member URL: identity across reloads and BALANCER_WORKER_NAME (apache-semantics §2.7). */
  readonly name: string;
  /** The file's settings (replaced on reload). */
  config: MemberConfig;
  route: string;
  redirect: string;
  /** int(loadfactor × 100), 100..10000. */
  lbfactor: number;
  lbset: number;
  /** Flag bits (flags.ts). */
  status: number;
  /** byrequests/bybusyness credit (apache-semantics §3.2). */
  lbstatus = 0;
  /** Times this member was chosen (sticky or load-balanced). */
  elected = 0;
  /** Requests in flight on this member (apache-semantics §3.3). */
  busy = 0;
  /** Bytes sent to the member (request line, headers, body), for bytraffic. */
  transferred = 0;
  /** Bytes read from the member (status line, headers, body), for bytraffic. */
  read = 0;
  /** When the member was last put in error (ms; 0 = never, so a configured `+E` clears at once, §4.3). */
  errorTime = 0;
  /** Times the member was taken out of error by retry() or forcerecovery (§4.3, §4.4). */
  retries = 0;
  /** Settings changed at runtime (balancer-manager/API): they survive a reload. */
  readonly overridden = new Set<RuntimeSetting>();

  constructor(config: MemberConfig) {
    this.name = config.url;
    this.config = config;
    this.route = config.route;
    this.redirect = config.redirect;
    this.lbfactor = lbfactorOf(config.loadfactor);
    this.lbset = config.lbset;
    // O is set when httpd initializes the worker; the file's status= applies on top of it (P:261-280).
    this.status = applyStatus(config.status, Flag.INITIALIZED);
  }

  /** PROXY_WORKER_IS_USABLE (MH:347-359): initialized and none of D, S, E, C, U. */
  get usable(): boolean {
    return isUsable(this.status);
  }

  has(bit: number): boolean {
    return (this.status & bit) !== 0;
  }

  /**
   * Take a new configuration for the same URL (a reload). Runtime state stays; settings the manager
   * changed stay; everything else comes from `config`. E and C are runtime state (errors, health
   * checks) and are kept whatever the file says; a `+E` in the file still adds E.
   */
  reconfigure(config: MemberConfig): void {
    if (config.url !== this.name) throw new Error(`member ${this.name} cannot take the configuration of ${config.url}`);
    this.config = config;
    if (!this.overridden.has('route')) this.route = config.route;
    if (!this.overridden.has('redirect')) this.redirect = config.redirect;
    if (!this.overridden.has('loadfactor')) this.lbfactor = lbfactorOf(config.loadfactor);
    if (!this.overridden.has('lbset')) this.lbset = config.lbset;
    if (!this.overridden.has('status')) {
      this.status = applyStatus(config.status, Flag.INITIALIZED) | (this.status & RUNTIME_FLAGS);
    }
  }

  /** Manager `w_wr`: a non-empty value that fits sets the route; anything else clears it. */
  setRoute(value: string): void {
    this.route = fitsRouteField(value) ? value : '';
    this.overridden.add('route');
  }

  /** Manager `w_rr`: same rule as the route. */
  setRedirect(value: string): void {
    this.redirect = fitsRouteField(value) ? value : '';
    this.overridden.add('redirect');
  }

  /** Manager `w_ls`: atoi(value) in 0..99, else ignored. Returns whether it was applied. */
  setLbset(value: string | number): boolean {
    const n = atoi(value);
    if (n < 0 || n > 99) return false;
    this.lbset = n;
    this.overridden.add('lbset');
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
    this.status = atoi(value) !== 0 ? this.status | bit : this.status & ~bit;
    this.overridden.add('status');
    return true;
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

/**
 * The balancer's per-request decisions (apache-semantics §1-§4): what httpd's proxy_balancer_pre_request and
 * post_request do, and the error bookkeeping of the attempt loop in proxy_handler. Pure and
 * synchronous; `now` is the caller's clock in milliseconds (a fractional, monotonic-enough clock such
 * as `performance.timeOrigin + performance.now()` keeps httpd's microsecond `now > error_time + retry`
 * comparisons meaningful for `retry=0`).
 *
 * The state is shared by every worker thread (scoreboard.ts), so each exported function runs under
 * the balancer's lock, as httpd's pre_request runs under the balancer mutex: a pick and its
 * accounting are one step for all threads. Only the release of busy needs no lock (it is atomic).
 */
import { Flag } from './flags.js';
import { findBestMember } from './lbmethod.js';
import { retry, type Member } from './member.js';
import { balancerUrl, type Balancer } from './balancer.js';
import { findRouteMember, sessionRoute } from './sticky.js';

export interface StickyRequest {
  /** The part of Apache's internal URL after "balancer://name": the %-decoded rest of the path, plus "?" + query when the request had one. */
  url: string;
  /** The Cookie header; repeated Cookie headers joined with ", " as httpd does; undefined when absent. */
  cookie: string | undefined;
}

export interface Chosen {
  kind: 'member';
  member: Member;
  /** BALANCER_SESSION_STICKY / BALANCER_SESSION_ROUTE: null unless a route was extracted (§2.3, §2.7). */
  stickyName: string | null;
  sessionRoute: string | null;
  /** BALANCER_ROUTE_CHANGED (§2.7) as this attempt sets it; across attempts it stays set once set (env.ts). */
  routeChanged: boolean;
}

/**
 * No member right now, but the balancer has a `timeout`: poll retryWait() every `step` ms until
 * `deadline` (§3.1), then answer 503. Unlike httpd, which zeroes the shared timeout while one request
 * waits (so concurrent requests get 503 at once), every waiting request here waits its own timeout.
 */
export interface PendingWait {
  /** timeout / 100, httpd's polling interval (B:356-387). */
  readonly step: number;
  /** now + timeout at the moment preRequest found no member. */
  readonly deadline: number;
  /** The session route of the request, reported with the member the wait finds. */
  readonly stickyName: string | null;
  readonly sessionRoute: string | null;
}

export type Selection =
  | Chosen
  | { kind: 'refused' } // nofailover 503: no BALANCER_* variables (§2.5)
  | { kind: 'unavailable'; wait: PendingWait | null }; // no usable member; wait != null iff balancer timeout > 0 (§3.1)

/**
 * force_recovery (B:414-448, apache-semantics §4.4), run at the start of every attempt: when every member is in
 * error (E alone counts; D, S or C members without E count as fine), retry them in order until one
 * recovers; if none does and forcerecovery is on, take every member out of error (retries++ each).
 */
export function forceRecovery(b: Balancer, now: number): void {
  b.lock();
  try {
    recover(b, now);
  } finally {
    b.unlock();
  }
}

function recover(b: Balancer, now: number): void {
  for (const m of b.members) {
    if (!m.has(Flag.IN_ERROR)) return;
    retry(m, now);
    if (!m.has(Flag.IN_ERROR)) return;
  }
  if (!b.config.forcerecovery) return;
  for (const m of b.members) {
    m.retries++;
    m.status &= ~Flag.IN_ERROR;
  }
}

/**
 * pre_request (B:461-636, apache-semantics §1): force_recovery, need_reset, the sticky route (§2), the sticky
 * accounting (§2.6) or the lbmethod (§3), elected++ and busy++ on the chosen member. Call once per
 * attempt, with the same request; call releaseMember() for the chosen member when the request ends.
 */
export function preRequest(b: Balancer, req: StickyRequest, now: number): Selection {
  b.lock();
  try {
    return pick(b, req, now);
  } finally {
    b.unlock();
  }
}

function pick(b: Balancer, req: StickyRequest, now: number): Selection {
  recover(b, now);
  b.sync();

  let stickyName: string | null = null;
  let route: string | null = null;
  let member: Member | null = null;
  let routeChanged = false;

  // find_session_route (B:272-326): only with a stickysession whose cookie name is not empty.
  const sticky = b.stickyEnabled ? b.sticky : null;
  if (sticky !== null) {
    const found = sessionRoute(sticky, b.config.stickysessionsep, b.config.scolonpathdelim, balancerUrl(b) + req.url, req.cookie);
    if (found) {
      ({ stickyName, route } = found);
      // An empty route ("abc.") is still reported; no member matches it (members without route never match).
      member = findRouteMember(b.members, route, now);
      // A redirect served the session: the member's route differs from the requested one.
      if (member !== null && member.route !== route) routeChanged = true;
    }
  }

  if (member !== null) {
    stickyHit(b, member);
  } else if (route !== null && b.nofailover && b.members.some((m) => m.route !== '' && m.route === route)) {
    // B:533-562: the route names a member of this balancer, none of its members (or redirects) is usable.
    return { kind: 'refused' };
  } else {
    member = findBestMember(b.members, b.lbmethod, now);
    if (member === null) {
      const wait = b.timeout > 0 ? { step: b.timeout / 100, deadline: now + b.timeout, stickyName, sessionRoute: route } : null;
      return { kind: 'unavailable', wait };
    }
    member.elected++;
    // B:586-596: a load-balanced pick in a sticky balancer always reports a changed route.
    if (b.stickyEnabled) routeChanged = true;
  }

  member.takeBusy();
  return { kind: 'member', member, stickyName, sessionRoute: route, routeChanged };
}

/**
 * The sticky-hit accounting (B:503-530, apache-semantics §2.6): every usable member (any lbset, N/H/R included)
 * earns its lbfactor, and the chosen one pays the total, so sticky traffic counts against the
 * member's byrequests share. No 2.4 lbmethod overrides this, so it runs for all three.
 */
function stickyHit(b: Balancer, chosen: Member): void {
  let total = 0;
  for (const m of b.members) {
    if (!m.usable) continue;
    m.lbstatus += m.lbfactor;
    total += m.lbfactor;
  }
  chosen.lbstatus -= total;
  chosen.elected++;
}

/**
 * One more find_best_worker pass while waiting for a usable member (§3.1: the caller polls every
 * `wait.step` ms until `wait.deadline`). Only the lbmethod runs, as in httpd's loop (no force_recovery,
 * no sticky lookup); a member found gets elected++ and busy++ like preRequest's.
 */
export function retryWait(b: Balancer, wait: PendingWait, now: number): Chosen | null {
  b.lock();
  let member: Member | null;
  try {
    member = findBestMember(b.members, b.lbmethod, now);
    if (member === null) return null;
    member.elected++;
    member.takeBusy();
  } finally {
    b.unlock();
  }
  return { kind: 'member', member, stickyName: wait.stickyName, sessionRoute: wait.sessionRoute, routeChanged: b.stickyEnabled };
}

/** The request ended: undo busy++ for a member this request was given (every attempt's member). */
export function releaseMember(m: Member): void {
  // decrement_busy_count (B:450-459): an lbmethod reset may have zeroed busy meanwhile.
  m.releaseBusy();
}

/** A scheme handler reported 503 (nothing sent) or 500: put the member in error unless it has I (§4.1; P:1474-1496). */
export function markInError(m: Member, now: number): void {
  m.lock();
  try {
    if (m.has(Flag.IGNORE_ERRORS)) return;
    m.status |= Flag.IN_ERROR;
    m.errorTime = now;
  } finally {
    m.unlock();
  }
}

/** A connection to the member succeeded: error_time = 0, retries = 0 (§4.3; U:4021-4031). */
export function connectSucceeded(m: Member): void {
  m.lock();
  try {
    m.errorTime = 0;
    m.retries = 0;
  } finally {
    m.unlock();
  }
}

/**
 * post_request (B:638-695, apache-semantics §4.1/§4.6), after the final attempt, for that attempt's member (not
 * when the final preRequest returned no member: httpd then skips post_request). `status` is the
 * status the client gets for that attempt: the backend's, or the one stickyd generated (502, 504,
 * 503, 500), because httpd puts its own error status in r->status before post_request; null when the
 * client went away before any status. `timedOut`: reading the response head timed out
 * (httpd's "proxy_timedout" note). Members with I are never put in error. `now` may be the clock
 * itself: it is read only when the member is put in error (almost never, and every response
 * comes through here).
 */
export function postRequest(b: Balancer, m: Member, outcome: { status: number | null; timedOut: boolean }, now: number | (() => number)): void {
  if (m.has(Flag.IGNORE_ERRORS)) return;
  if (outcome.status !== null && b.config.failonstatus.includes(outcome.status)) markInError(m, typeof now === 'number' ? now : now());
  if (b.config.failontimeout && outcome.timedOut) markInError(m, typeof now === 'number' ? now : now());
}

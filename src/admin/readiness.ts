/**
 * `GET /readyz`: the daemon can serve: its configuration is loaded and every balancer has a member
 * the next request could use. The answer lists why not, one balancer per line. Implicit balancers
 * (direct ProxyPass URLs) count too: their one member is what those paths need.
 *
 * "Could use" is more than `usable` now: a member in error is taken out of error by the next
 * request's retry() once its `retry` interval has passed (or at once with I), and with
 * forcerecovery a balancer whose members are all in error tries them all again (apache-semantics §4.3, §4.4).
 * Both happen only when a request comes; if readiness ignored them, a front load balancer that
 * sends no traffic to an unready instance would keep it unready for ever.
 */
import type { Balancer } from '../balancer/balancer.js';
import { Flag, isUsable, statusText } from '../balancer/flags.js';
import type { Member } from '../balancer/member.js';
import { balancerNow } from '../proxy/context.js';
import type { AdminTarget } from './context.js';

export interface Readiness {
  ready: boolean;
  /** One line per balancer without a member to use. */
  reasons: string[];
}

/** Usable if its E flag were cleared. */
function usableButForError(m: Member): boolean {
  return m.has(Flag.IN_ERROR) && isUsable(m.status & ~Flag.IN_ERROR);
}

/** The next request's retry() would clear E (U:2391-2423): not S, and I or the retry interval passed. */
function retryDue(m: Member, now: number): boolean {
  return usableButForError(m) && !m.has(Flag.STOPPED) && (m.has(Flag.IGNORE_ERRORS) || now > m.errorTime + m.config.retry);
}

export function couldServe(b: Balancer, now: number): boolean {
  if (b.members.some((m) => m.usable || retryDue(m, now))) return true;
  // force_recovery: every member in error, and forcerecovery on → all of them are tried again.
  return b.config.forcerecovery && b.members.length > 0 && b.members.every((m) => m.has(Flag.IN_ERROR)) && b.members.some(usableButForError);
}

export function readiness(target: AdminTarget, now = balancerNow()): Readiness {
  const reasons: string[] = [];
  for (const b of target.balancers.values()) {
    if (couldServe(b, now)) continue;
    const states = b.members.map((m) => `${m.name} ${statusText(m.status).trim()}`).join(', ');
    reasons.push(`balancer://${b.name}: no usable member (${states || 'no members'})`);
  }
  return { ready: reasons.length === 0, reasons };
}

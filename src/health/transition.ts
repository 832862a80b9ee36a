/**
 * What one health-check result does to a member (apache-semantics §3.1, mod_proxy_hcheck hc_check): the
 * decision alone, pure, so that it can be tested exhaustively without sockets.
 *
 * - A member that is failing (C or E set) counts consecutive passes; at `hcpasses` both C and E
 *   are cleared: the member is usable again at once, without waiting for `retry`.
 * - Any other member counts consecutive failures; each failure sets the error time, and at
 *   `hcfails` the member gets C, which makes it unusable like E (the hcheck gate). Failures never
 *   set E themselves.
 * - Counts are of consecutive results (apache-semantics §3.1): a result of the other kind starts the count
 *   again. (httpd's own counters are not reset in between; the spec, checked against its
 *   behaviour, states consecutive counts, and so do mod_proxy_hcheck's docs.)
 */
import { Flag } from '../balancer/flags.js';
import type { Member } from '../balancer/member.js';

/** A member's running counts (httpd's pcount and fcount). */
export interface CheckCounts {
  passes: number;
  fails: number;
}

/** The state change a result caused, for the log: C set ('disabled'), C/E cleared ('enabled'). */
export type Transition = 'disabled' | 'enabled' | null;

export function applyCheckResult(m: Member, counts: CheckCounts, ok: boolean, now: number): Transition {
  const failing = m.has(Flag.HC_FAIL) || m.has(Flag.IN_ERROR);
  if (failing) {
    counts.fails = 0;
    if (!ok) {
      counts.passes = 0;
      return null;
    }
    counts.passes++;
    if (counts.passes < m.config.hcpasses) return null;
    m.status &= ~(Flag.HC_FAIL | Flag.IN_ERROR);
    counts.passes = 0;
    return 'enabled';
  }
  counts.passes = 0;
  if (ok) {
    counts.fails = 0;
    return null;
  }
  m.errorTime = now;
  counts.fails++;
  if (counts.fails < m.config.hcfails) return null;
  m.status |= Flag.HC_FAIL;
  counts.fails = 0;
  return 'disabled';
}

/**
 * Member times (errorTime, and what follows from it) are on the balancer clock (proxy/context.ts
 * balancerNow: the thread's time origin plus the monotonic clock), which never jumps. Pages and
 * documents show them beside Date.now(), the system clock, which an NTP step or a paused VM moves
 * while the monotonic clock does not: mixing the two showed a member that failed a moment ago as
 * "in error for 15 s". Every time shown to people goes through wallTime().
 *
 * The offset between the clocks is kept until it moves by more than STEP_MS, so that two times
 * converted a moment apart keep their exact difference (retryAt = errorTime + retry).
 */
import { balancerNow } from '../proxy/context.js';

const STEP_MS = 100;
let offset = Date.now() - balancerNow();

/** A balancer-clock time as milliseconds of the system clock (Date.now()'s). */
export function wallTime(t: number): number {
  const now = Date.now() - balancerNow();
  if (Math.abs(now - offset) > STEP_MS) offset = now;
  return t + offset;
}

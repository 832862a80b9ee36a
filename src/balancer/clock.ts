/**
 * The origin of the balancer clock (proxy/context.ts balancerNow: origin + performance.now()),
 * one for every thread of the process.
 *
 * Member error times live in the shared scoreboard: one worker writes errorTime, another compares
 * `now > errorTime + retry` (select.ts). A thread's own performance.timeOrigin is the system clock
 * at the thread's start, so two threads started on either side of a step of the system clock (NTP,
 * a paused VM; a worker restarted after a crash, days later) would disagree by that step, and one
 * of them would retry a member early or late. So the main thread hands its clock to each worker as
 * `base`: the system time its clock gives to the monotonic clock's zero (process.hrtime, which
 * every thread shares); a worker's origin is chosen so that its clock reads base + monotonic time too.
 */
import { isMainThread, workerData } from 'node:worker_threads';

/** The monotonic clock every thread of the process shares, in milliseconds. */
function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * monotonicMs() - performance.now() on this thread: constant for the thread's life. Read a few
 * times, keeping the reading taken in the shortest bracket: a thread's first calls of either clock
 * are slow (lazy set-up) and would skew it by a millisecond.
 */
function monotonicLead(): number {
  let bracket = Infinity;
  let lead = 0;
  for (let i = 0; i < 8; i++) {
    const a = monotonicMs();
    const p = performance.now();
    const b = monotonicMs();
    if (b - a < bracket) {
      bracket = b - a;
      lead = (a + b) / 2 - p;
    }
  }
  return lead;
}

/** The main thread's clock as a base for workers (WorkerStart.clockBase): its reading at monotonic zero. */
export function clockBase(): number {
  return performance.timeOrigin - monotonicLead();
}

/** This thread's origin: its own time origin on the main thread, the main thread's clock in a worker. */
export function clockOrigin(): number {
  const base = (workerData as { clockBase?: unknown } | null | undefined)?.clockBase;
  if (isMainThread || typeof base !== 'number' || !Number.isFinite(base)) return performance.timeOrigin;
  return base + monotonicLead();
}

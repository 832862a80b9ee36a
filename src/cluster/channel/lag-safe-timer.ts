/**
 * Timeouts that a busy event loop cannot turn into false verdicts.
 *
 * After the event loop was blocked (a long synchronous task, a GC pause, a state-transfer
 * serialisation), libuv runs expired timers *before* it polls for I/O. A plain timeout would then
 * fire although the awaited event (a completed connect, a heartbeat) is already waiting in the
 * kernel: the failure detector would call a live peer dead. These helpers defer the timer's action
 * to the check phase (`setImmediate`), which runs after the poll phase has delivered pending I/O;
 * the action re-checks its condition there.
 */

/** Like setTimeout, but `fn` runs only after pending I/O was processed. */
export function setLagSafeTimeout(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(() => setImmediate(fn), ms);
}

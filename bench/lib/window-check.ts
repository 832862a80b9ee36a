/**
 * Is a measured window a figure of the target, or of a target that was stuck or failing? One
 * check for every window the proxy benchmark measures: a throughput round, each side of a paired
 * window, a run at a fixed rate.
 *
 * A stuck target does not fail loudly. The minimal node proxy once leaked its member connections
 * until its pools were full and then answered about 10 req/s with its CPU near 0 and no wrk error
 * at all, and the report printed that as its figure. So a window is checked on what it measured:
 * - requests wrk gave up waiting for (its --timeout), or socket errors and non-2xx responses on
 *   more than MAX_FAILED_SHARE of the requests: the target failed, whatever its req/s;
 * - as fast as it goes: fewer than MIN_RPS req/s, or less than COLLAPSED of what the same target
 *   reached in its earlier windows (the machine's drift is up to 2×, a paired side has about half
 *   a core: a collapse is 100× and more), or under IDLE_CPU of a core while 50 connections wait;
 * - at a fixed rate: less than COLLAPSED_PACED of the offered rate achieved.
 * windowProblem is pure; guardedWindow restarts and repeats through the caller's functions
 * (bench/run.ts Bench.guarded).
 */
import type { LoadResult } from './load.js';

/** Below this many req/s no proxy on this machine is working (they make thousands). */
export const MIN_RPS = 200;
/** A window under this share of the target's own earlier req/s has collapsed. */
export const COLLAPSED = 0.2;
/** A share of a core under which a target under full load is waiting, not working. */
export const IDLE_CPU = 0.05;
/** A paced window that achieved less than this share of its offered rate did not run at that rate. */
export const COLLAPSED_PACED = 0.5;
/** Socket errors plus non-2xx responses above this share of the requests: the target failed. */
export const MAX_FAILED_SHARE = 0.001;

/** What one window measured of one target. */
export interface WindowFigures {
  load: LoadResult;
  /** The target's CPU over the window as a share of one core; null where not measured (direct). */
  cpu: number | null;
  /** The offered rate of a paced run; undefined: as fast as it goes. */
  rate?: number;
  /** req/s the target reached in its earlier good windows of this traffic (their median); null: none yet. */
  expected?: number | null;
}

const f0 = (x: number) => Math.round(x).toLocaleString('en-US');
const share = (cpu: number) => `${(100 * cpu).toFixed(1)}% of a core`;

/** Why the window is not a figure of a working target, or null when it is. */
export function windowProblem(w: WindowFigures): string | null {
  const { load } = w;
  const timeouts = load.timeouts ?? 0;
  if (timeouts > 0) return `${f0(timeouts)} request${timeouts === 1 ? '' : 's'} timed out`;
  const failed = load.errors + load.non2xx;
  if (failed > 0 && (load.requests === 0 || failed / load.requests > MAX_FAILED_SHARE)) {
    return `${f0(load.errors)} socket errors and ${f0(load.non2xx)} non-2xx responses in ${f0(load.requests)} requests`;
  }
  // The target's CPU beside a low req/s tells a stuck target (near 0) from a starved one.
  const at = w.cpu === null ? '' : ` at ${share(w.cpu)}`;
  if (w.rate !== undefined) {
    return load.rps < COLLAPSED_PACED * w.rate ? `${f0(load.rps)} req/s achieved of ${f0(w.rate)} offered${at}` : null;
  }
  if (load.rps < MIN_RPS) return `collapsed to ${f0(load.rps)} req/s (under ${f0(MIN_RPS)})${at}`;
  if (w.expected != null && load.rps < COLLAPSED * w.expected) {
    return `collapsed to ${f0(load.rps)} req/s against ${f0(w.expected)} in its earlier windows${at}`;
  }
  if (w.cpu !== null && w.cpu < IDLE_CPU) return `used ${share(w.cpu)} under full load`;
  return null;
}

/** A target (`K`) whose figures in a window the check rejected, and why. */
export type Problem<K> = [K, string];

/**
 * Runs a measured window and checks it. When some target was stuck or failing in it, each such
 * target is restarted and the window is run once more; when a target still is, that second window
 * comes back with `invalid` set to the reasons (`name` says whose), for the report to show and to
 * leave out of every median and ratio. A restart that fails is only told: the repeated window
 * then fails the check too.
 */
export async function guardedWindow<T extends { invalid?: string }, K>(
  run: () => Promise<T>,
  check: (window: T) => Array<Problem<K>>,
  restart: (target: K) => Promise<void>,
  name: (target: K) => string,
  log: (msg: string) => void,
): Promise<T> {
  const say = (ps: Array<Problem<K>>) => ps.map(([k, why]) => `${name(k)} ${why}`).join('; ');
  const first = await run();
  const problems = check(first);
  if (problems.length === 0) return first;
  log(`${say(problems)}: restarting and measuring once more`);
  for (const [k] of problems) {
    await restart(k).catch((e: unknown) => log(`${name(k)}: restart failed: ${(e as Error).message}`));
  }
  const again = await run();
  const still = check(again);
  if (still.length === 0) return again;
  log(`again ${say(still)}: the figure is marked invalid`);
  return { ...again, invalid: say(still) };
}

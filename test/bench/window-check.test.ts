/**
 * The proxy benchmark's window check (bench/lib/window-check.ts): which measured windows are a
 * stuck or failing target rather than a figure, and what happens to them (restart, one repeat,
 * then invalid). Fabricated window figures and functions; no process, no load.
 */
import { describe, expect, it } from 'vitest';
import type { LoadResult } from '../../bench/lib/load.js';
import { guardedWindow, windowProblem, type Problem } from '../../bench/lib/window-check.js';

function load(rps: number, more: Partial<LoadResult> = {}): LoadResult {
  return { requests: rps * 5, seconds: 5, rps, p50: 1, p90: 2, p99: 3, p999: 4, max: 5, mean: 1, errors: 0, timeouts: 0, non2xx: 0, ...more };
}

describe('bench window check: windowProblem', () => {
  it('a working target is a figure: full CPU, no failures, near its earlier req/s or half of it (drift)', () => {
    expect(windowProblem({ load: load(9000), cpu: 0.98, expected: 10_000 })).toBeNull();
    expect(windowProblem({ load: load(5000), cpu: 0.95, expected: 10_000 })).toBeNull();
    // The first window has nothing to compare with; direct has no process CPU.
    expect(windowProblem({ load: load(9000), cpu: 0.98, expected: null })).toBeNull();
    expect(windowProblem({ load: load(20_000), cpu: null })).toBeNull();
  });

  it('the stuck floor: ~10 req/s, CPU near 0, not one wrk error', () => {
    expect(windowProblem({ load: load(10), cpu: 0.002, expected: 9000 })).toBe('collapsed to 10 req/s (under 200) at 0.2% of a core');
    expect(windowProblem({ load: load(10), cpu: 0.002, expected: null })).toBe('collapsed to 10 req/s (under 200) at 0.2% of a core');
    expect(windowProblem({ load: load(10), cpu: null })).toBe('collapsed to 10 req/s (under 200)');
  });

  it('a collapse against the target\'s own earlier windows, above the absolute floor', () => {
    expect(windowProblem({ load: load(1500), cpu: 0.9, expected: 10_000 })).toBe('collapsed to 1,500 req/s against 10,000 in its earlier windows at 90.0% of a core');
  });

  it('a target at almost no CPU under full load is waiting, not working', () => {
    expect(windowProblem({ load: load(3000), cpu: 0.01, expected: null })).toBe('used 1.0% of a core under full load');
  });

  it('wrk timeouts fail a window whatever its req/s', () => {
    expect(windowProblem({ load: load(9000, { errors: 3, timeouts: 3 }), cpu: 0.98, expected: 10_000 })).toBe('3 requests timed out');
  });

  it('socket errors and non-2xx responses fail a window above 0.1% of its requests', () => {
    expect(windowProblem({ load: load(9000, { non2xx: 500 }), cpu: 0.98 })).toBe('0 socket errors and 500 non-2xx responses in 45,000 requests');
    expect(windowProblem({ load: load(9000, { errors: 100 }), cpu: 0.98 })).toBe('100 socket errors and 0 non-2xx responses in 45,000 requests');
    // One read error at the end of a 45,000-request run is not a failing target.
    expect(windowProblem({ load: load(9000, { errors: 1 }), cpu: 0.98 })).toBeNull();
    expect(windowProblem({ load: { ...load(0), requests: 0, errors: 50 }, cpu: 0 })).toBe('50 socket errors and 0 non-2xx responses in 0 requests');
  });

  it('a paced window is judged on the rate it achieved, not on CPU (a cheap proxy idles at a low rate)', () => {
    expect(windowProblem({ load: load(6800), cpu: 0.02, rate: 7000 })).toBeNull();
    expect(windowProblem({ load: load(10), cpu: 0.001, rate: 7000 })).toBe('10 req/s achieved of 7,000 offered at 0.1% of a core');
    expect(windowProblem({ load: load(6800, { timeouts: 1, errors: 1 }), cpu: 0.3, rate: 7000 })).toBe('1 request timed out');
  });
});

interface Window {
  rps: number;
  invalid?: string;
}

describe('bench window check: guardedWindow', () => {
  /** Runs returning the given req/s in turn; the check rejects under 200 req/s, naming target 'floor'. */
  function harness(rps: number[], restartFails = false) {
    const runs: number[] = [];
    const restarts: string[] = [];
    const logs: string[] = [];
    const run = async (): Promise<Window> => {
      const x = rps[runs.length]!;
      runs.push(x);
      return { rps: x };
    };
    const check = (w: Window): Array<Problem<string>> => (w.rps < 200 ? [['floor', `collapsed to ${w.rps} req/s`]] : []);
    const restart = async (k: string): Promise<void> => {
      restarts.push(k);
      if (restartFails) throw new Error('exited before listening');
    };
    const go = () => guardedWindow(run, check, restart, (k) => `the ${k}`, (m) => logs.push(m));
    return { go, runs, restarts, logs };
  }

  it('a good window is taken as it is: one run, no restart', async () => {
    const h = harness([9000]);
    expect(await h.go()).toEqual({ rps: 9000 });
    expect(h.runs).toEqual([9000]);
    expect(h.restarts).toEqual([]);
  });

  it('a stuck window: the target is restarted and the window measured once more', async () => {
    const h = harness([10, 9000]);
    expect(await h.go()).toEqual({ rps: 9000 });
    expect(h.restarts).toEqual(['floor']);
    expect(h.logs).toEqual(['the floor collapsed to 10 req/s: restarting and measuring once more']);
  });

  it('still stuck after the restart: the repeated window is marked invalid with the reason', async () => {
    const h = harness([10, 6, 9000]);
    expect(await h.go()).toEqual({ rps: 6, invalid: 'the floor collapsed to 6 req/s' });
    expect(h.runs).toEqual([10, 6]);
  });

  it('a restart that fails is told, and the repeated window decides', async () => {
    const h = harness([10, 0], true);
    expect(await h.go()).toEqual({ rps: 0, invalid: 'the floor collapsed to 0 req/s' });
    expect(h.logs).toContain('the floor: restart failed: exited before listening');
  });
});

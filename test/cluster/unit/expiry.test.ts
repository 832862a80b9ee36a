import { describe, expect, it } from 'vitest';
import { createClock } from '../../../src/cluster/clock.js';
import { expiryDecision } from '../../../src/cluster/session/expiry.js';
import { shouldReplay } from '../../../src/cluster/managers/transfer-filter.js';

describe('expiry rule (cluster-semantics §2.6)', () => {
  const t0 = 1_000_000;
  const facts = (primary: boolean, idleMs: number, maxInactiveInterval = 60, activeRequests = 0) => ({
    primary,
    lastAccessedTime: t0,
    maxInactiveInterval,
    activeRequests,
    now: t0 + idleMs,
  });

  it('primary: expires (and tells the cluster) at exactly maxInactiveInterval', () => {
    const { now, ...f } = facts(true, 59_999);
    expect(expiryDecision(f, now)).toBe('keep');
    expect(expiryDecision(f, t0 + 60_000)).toBe('expire');
  });

  it('replica: waits for 2 × maxInactiveInterval, then disappears silently', () => {
    const { now: _n, ...f } = facts(false, 0);
    expect(expiryDecision(f, t0 + 60_000)).toBe('keep');
    expect(expiryDecision(f, t0 + 119_999)).toBe('keep');
    expect(expiryDecision(f, t0 + 120_000)).toBe('expire-silently');
  });

  it('never expires with maxInactiveInterval ≤ 0 or while a request uses it', () => {
    for (const primary of [true, false]) {
      for (const mi of [0, -1]) {
        const { now: _n, ...f } = facts(primary, 0, mi);
        expect(expiryDecision(f, t0 + 1e12)).toBe('keep');
      }
      const { now: _n, ...busy } = facts(primary, 0, 1, 1);
      expect(expiryDecision(busy, t0 + 1e12)).toBe('keep');
    }
  });

  it('handles fractional timeouts (tests use 2.5 s)', () => {
    const { now: _n, ...f } = facts(true, 0, 2.5);
    expect(expiryDecision(f, t0 + 2_499)).toBe('keep');
    expect(expiryDecision(f, t0 + 2_500)).toBe('expire');
  });
});

describe('logical clock', () => {
  it('stamps strictly increase even when wall time stands still or goes back', () => {
    let t = 1000;
    const c = createClock(() => t);
    const a = c.stamp();
    const b = c.stamp();
    t = 900;
    const d = c.stamp();
    t = 2000;
    const e = c.stamp();
    expect(a).toBe(1000);
    expect(b).toBeGreaterThan(a);
    expect(d).toBeGreaterThan(b);
    expect(e).toBe(2000);
  });
});

describe('state-transfer replay filter (cluster-semantics §2.5, per session)', () => {
  const T = 5000;
  it('drops queued GET_ALL, always', () => {
    expect(shouldReplay({ t: 'get-all' }, undefined, T, true)).toBe(false);
    expect(shouldReplay({ t: 'get-all' }, undefined, T, false)).toBe(false);
  });

  it('for a transferred session: replays only what is newer than its version', () => {
    expect(shouldReplay({ t: 'delta', stamp: 4000 }, 3999, T, true)).toBe(true); // older than T but newer than the copy
    expect(shouldReplay({ t: 'delta', stamp: 3999 }, 3999, T, true)).toBe(false);
    expect(shouldReplay({ t: 'delta', stamp: 6000 }, 7000, T, true)).toBe(false);
    expect(shouldReplay({ t: 'expire', stamp: 7001 }, 7000, T, true)).toBe(true);
  });

  it('for a session the state does not hold: creates always, others only from T on', () => {
    expect(shouldReplay({ t: 'create', stamp: 1 }, undefined, T, true)).toBe(true);
    expect(shouldReplay({ t: 'delta', stamp: 4999 }, undefined, T, true)).toBe(false);
    expect(shouldReplay({ t: 'delta', stamp: 5000 }, undefined, T, true)).toBe(true);
    expect(shouldReplay({ t: 'change-id', stamp: 10 }, undefined, T, true)).toBe(false);
  });

  it('replays everything with stateTimestampDrop=false', () => {
    expect(shouldReplay({ t: 'delta', stamp: 1 }, 9999, T, false)).toBe(true);
  });
});

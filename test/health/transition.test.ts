// What each health-check result does to a member's flags (apache-semantics §3.1, HC:951-973), without sockets.
import { describe, expect, it } from 'vitest';
import { Flag, applyStatus, statusText } from '../../src/balancer/flags.js';
import { Member } from '../../src/balancer/member.js';
import { newMemberConfig } from '../../src/admin/changes.js';
import { applyCheckResult, type CheckCounts } from '../../src/health/transition.js';

function member(hcpasses: number, hcfails: number, status = ''): Member {
  const m = new Member({ ...newMemberConfig('http://127.0.0.1:8080', 60_000), hcmethod: 'TCP', hcpasses, hcfails });
  m.status = applyStatus(status, Flag.INITIALIZED);
  return m;
}

/** Feeds a sequence of results ("+" pass, "-" fail) and returns the status text after each. */
function run(m: Member, results: string, counts: CheckCounts = { passes: 0, fails: 0 }): string[] {
  return [...results].map((r, i) => {
    applyCheckResult(m, counts, r === '+', 1000 + i);
    return statusText(m.status).trim();
  });
}

describe('a healthy member gets C after hcfails consecutive failures', () => {
  it.each<[number, string, string[]]>([
    [1, '-', ['Init HcFl']],
    [2, '-', ['Init Ok']],
    [2, '--', ['Init Ok', 'Init HcFl']],
    [3, '--+--', ['Init Ok', 'Init Ok', 'Init Ok', 'Init Ok', 'Init Ok']], // a pass starts the count again
    [3, '-+---', ['Init Ok', 'Init Ok', 'Init Ok', 'Init Ok', 'Init HcFl']],
    [2, '+++', ['Init Ok', 'Init Ok', 'Init Ok']],
  ])('hcfails=%i, results %s', (hcfails, results, expected) => {
    expect(run(member(1, hcfails), results)).toEqual(expected);
  });

  it('each failure of a healthy member sets its error time, not E', () => {
    const m = member(1, 3);
    applyCheckResult(m, { passes: 0, fails: 0 }, false, 4242);
    expect(m.errorTime).toBe(4242);
    expect(m.has(Flag.IN_ERROR)).toBe(false);
    expect(m.usable).toBe(true);
  });

  it('C makes the member unusable, like E (the hcheck gate)', () => {
    const m = member(1, 1);
    applyCheckResult(m, { passes: 0, fails: 0 }, false, 1);
    expect(m.has(Flag.HC_FAIL)).toBe(true);
    expect(m.usable).toBe(false);
  });
});

describe('a failing member (C or E) is cleared after hcpasses consecutive passes', () => {
  it.each<[string, number, string, string[]]>([
    ['+C', 1, '+', ['Init Ok']],
    ['+C', 2, '+', ['Init HcFl']],
    ['+C', 2, '++', ['Init HcFl', 'Init Ok']],
    ['+C', 3, '++-++', ['Init HcFl', 'Init HcFl', 'Init HcFl', 'Init HcFl', 'Init HcFl']], // a failure starts the count again
    ['+C', 3, '+-+++', ['Init HcFl', 'Init HcFl', 'Init HcFl', 'Init HcFl', 'Init Ok']],
    // E alone (from traffic) is cleared by passing checks too, without waiting for retry.
    ['+E', 1, '+', ['Init Ok']],
    ['+E', 2, '-+-++', ['Init Err', 'Init Err', 'Init Err', 'Init Err', 'Init Ok']],
    // Both at once are cleared together.
    ['+CE', 1, '+', ['Init Ok']],
    // Failures of a failing member change nothing: E does not become C.
    ['+E', 1, '---', ['Init Err', 'Init Err', 'Init Err']],
  ])('status %s, hcpasses=%i, results %s', (status, hcpasses, results, expected) => {
    expect(run(member(hcpasses, 1, status), results)).toEqual(expected);
  });

  it('other flags (D, N, H) are left alone', () => {
    const m = member(1, 1, '+DC');
    run(m, '+');
    expect(statusText(m.status)).toBe('Init Dis ');
    const n = member(1, 1, '+N');
    run(n, '-');
    expect(statusText(n.status)).toBe('Init Drn HcFl ');
  });
});

describe('a full down-and-up cycle', () => {
  it('hcfails=2, hcpasses=3: disabled after 2 failures, enabled after 3 passes', () => {
    const m = member(3, 2);
    const counts = { passes: 0, fails: 0 };
    expect(run(m, '--', counts)).toEqual(['Init Ok', 'Init HcFl']);
    expect(counts).toEqual({ passes: 0, fails: 0 });
    expect(run(m, '+++', counts)).toEqual(['Init HcFl', 'Init HcFl', 'Init Ok']);
    // Healthy again: a single failure does not disable it.
    expect(run(m, '-', counts)).toEqual(['Init Ok']);
  });

  it('reports the transitions for the log', () => {
    const m = member(1, 1);
    const counts = { passes: 0, fails: 0 };
    expect(applyCheckResult(m, counts, true, 1)).toBeNull();
    expect(applyCheckResult(m, counts, false, 2)).toBe('disabled');
    expect(applyCheckResult(m, counts, false, 3)).toBeNull();
    expect(applyCheckResult(m, counts, true, 4)).toBe('enabled');
  });
});

// The member scan every lbmethod shares (§3.1): lbsets, drain, hot spares, hot standbys, retry().
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/balancer/balancer.js';
import { Flag } from '../../src/balancer/flags.js';
import { T0, balancerConfig, lbstatus, memberConfig, picks } from './fixtures.js';

/** Members from `name[/lbset][:status]` shorthand, e.g. "a", "b/1", "r:R", "h/2:H". */
function scanBalancer(specs: string[]): Balancer {
  return new Balancer(
    balancerConfig(
      specs.map((spec) => {
        const [head, status = ''] = spec.split(':');
        const [name, lbset = '0'] = head!.split('/');
        return memberConfig(name!, { lbset: Number(lbset), status });
      }),
    ),
  );
}

describe('lbsets', () => {
  it.each([
    // [members, picks]
    [['a', 'b/1'], 'aaaa'], // lbset 1 only when lbset 0 has no usable member
    [['a:D', 'b/1'], 'bbbb'],
    [['a:D', 'c/2'], 'cccc'], // lbset 1 is empty: tried, nothing found, lbset 2 used
    [['a:D', 'b/1:H', 'c/2'], 'bbbb'], // lbset 1's hot standby comes before lbset 2
    [['a:D', 'b/1:N', 'c/2'], 'cccc'], // a draining member is never load-balanced
  ])('%j picks %s', (specs, expected) => {
    expect(picks(scanBalancer(specs), 4)).toBe(expected);
  });

  it('an lbset whose only member is in error (retry not passed) is skipped', () => {
    const b = scanBalancer(['x/3', 'a:S', 'b/1:E']);
    b.members[2]!.errorTime = T0;
    expect(picks(b, 2, undefined, T0 + 1)).toBe('xx');
  });

  it('members of other lbsets are not touched', () => {
    const b = scanBalancer(['a', 'b', 'c/1']);
    picks(b, 3);
    expect(lbstatus(b)).toEqual({ a: -100, b: 100, c: 0 }); // picks a b a; c never earns credit
  });

  it('the highest lbset is found even when it is listed first', () => {
    expect(picks(scanBalancer(['z/5', 'a:D']), 2)).toBe('zz');
  });

  it('no usable member in any lbset: no pick', () => {
    expect(picks(scanBalancer(['a:D', 'b/1:S', 'c/2:N']), 1)).toBe('-');
  });
});

describe('hot spares (R) fill gaps 1:1, in configuration order', () => {
  it('no gap: spares are never used', () => {
    expect(picks(scanBalancer(['a', 'b', 'r:R', 's:R']), 6)).toBe('ababab');
  });

  it('one unusable regular member admits the first spare only', () => {
    expect(picks(scanBalancer(['a:D', 'b', 'r:R', 's:R']), 6)).toBe('brbrbr');
  });

  it('two gaps admit two spares', () => {
    expect(picks(scanBalancer(['a:D', 'b:S', 'r:R', 's:R']), 4)).toBe('rsrs');
  });

  it('a draining regular member counts as a gap', () => {
    expect(picks(scanBalancer(['a:N', 'b', 'r:R']), 4)).toBe('brbr');
  });

  it('a draining spare or standby is not a gap and is not used', () => {
    expect(picks(scanBalancer(['a', 'r:RN', 'h:HN']), 3)).toBe('aaa');
  });

  it('an unusable spare does not fill a gap; the next usable one does', () => {
    expect(picks(scanBalancer(['a:D', 'b', 'r:RD', 's:R']), 4)).toBe('bsbs');
  });

  it('a member flagged both R and H is a spare', () => {
    expect(picks(scanBalancer(['a:D', 'b', 'x:RH']), 4)).toBe('bxbx');
  });

  it('spares belong to their own lbset', () => {
    expect(picks(scanBalancer(['a:D', 'b', 'r/1:R']), 3)).toBe('bbb');
  });
});

describe('hot standbys (H) serve only when their lbset has nothing else', () => {
  it.each([
    [['a', 'h:H'], 'aaa'],
    [['a:D', 'h:H'], 'hhh'],
    [['a:D', 'h:H', 'k:H'], 'hkh'], // standbys are load-balanced among themselves
    [['a:D', 'r:R', 'h:H'], 'rrr'], // a spare filling the gap is chosen before a standby
    [['a:N', 'h:H'], 'hhh'], // a draining member does not keep the standby out
    [['a/1', 'h:H'], 'hhh'], // lbset 0 has only its standby: it is used before lbset 1
  ])('%j picks %s', (specs, expected) => {
    expect(picks(scanBalancer(specs), 3)).toBe(expected);
  });
});

describe('retry() on every unusable member scanned (U:1435-1437)', () => {
  it('clears E once retry has passed even when another member is chosen', () => {
    const b = scanBalancer(['a:E', 'b']);
    const [a, bm] = [b.members[0]!, b.members[1]!];
    a.errorTime = T0 - 60_001;
    bm.lbstatus = 1000; // b wins the pick
    expect(picks(b, 1, undefined, T0)).toBe('b');
    expect(a.has(Flag.IN_ERROR)).toBe(false);
    expect(a.retries).toBe(1);
    expect(a.usable).toBe(true);
  });

  it('does not retry members of lbsets the scan never reached, nor draining ones', () => {
    const b = scanBalancer(['a', 'n:NE', 'x/1:E']);
    picks(b, 1);
    expect(b.members.map((m) => [m.has(Flag.IN_ERROR), m.retries])).toEqual([[false, 0], [true, 0], [true, 0]]);
  });

  it('leaves E alone while retry has not passed', () => {
    const b = scanBalancer(['a:E', 'b']);
    b.members[0]!.errorTime = T0 - 60_000;
    expect(picks(b, 2, undefined, T0)).toBe('bb');
    expect(b.members[0]!.retries).toBe(0);
  });

  it('gives a recovered member the pick in the same scan', () => {
    // forcerecovery off and a second member in S: nothing but the scan's retry() can bring a back.
    const b = new Balancer(balancerConfig([memberConfig('a', { status: 'E' }), memberConfig('s', { status: 'S' })], { forcerecovery: false }));
    b.members[0]!.errorTime = T0 - 60_001;
    expect(picks(b, 1, undefined, T0)).toBe('a');
    expect(b.members[0]!.retries).toBe(1);
  });
});

// The three lbmethods against the spec's worked examples (§3.2-§3.4).
import { describe, expect, it } from 'vitest';
import { lbfactorOf } from '../../src/balancer/member.js';
import { preRequest, releaseMember } from '../../src/balancer/select.js';
import { T0, expectMember, lbstatus, letter, picks, weighted } from './fixtures.js';

describe('lbfactor = int(loadfactor × 100) (P:106-115)', () => {
  it.each([
    [1, 100],
    [2.25, 225],
    [1.15, 114], // 1.15 × 100 is 114.999… in binary floating point; C truncates it to 114
    [1.005, 100],
    [70, 7000],
    [100, 10000],
  ])('loadfactor %s gives lbfactor %s', (loadfactor, lbfactor) => {
    expect(lbfactorOf(loadfactor)).toBe(lbfactor);
    expect(weighted([loadfactor]).members[0]!.lbfactor).toBe(lbfactor);
  });
});

describe('byrequests (§3.2)', () => {
  it('1,2,3 gives c b a c b c c b a c b c', () => {
    expect(picks(weighted([1, 2, 3]), 12)).toBe('cbacbccbacbc');
  });

  it('follows the lbstatus table of the worked example pick by pick', () => {
    const b = weighted([1, 2, 3]);
    const table: Array<[string, Record<string, number>]> = [
      ['c', { a: 100, b: 200, c: -300 }],
      ['b', { a: 200, b: -200, c: 0 }],
      ['a', { a: -300, b: 0, c: 300 }], // tie a=c=300: the earlier member wins (strict >)
      ['c', { a: -200, b: 200, c: 0 }],
      ['b', { a: -100, b: -200, c: 300 }],
      ['c', { a: 0, b: 0, c: 0 }],
    ];
    for (const [chosen, after] of table) {
      expect(picks(b, 1)).toBe(chosen);
      expect(lbstatus(b)).toEqual(after);
    }
  });

  it('1,1,1,2 gives d a b c d d a b c d', () => {
    expect(picks(weighted([1, 1, 1, 2]), 10)).toBe('dabcddabcd');
  });

  it('70/30 gives exactly 7 a per 10 picks, in every block of 10', () => {
    const seq = picks(weighted([70, 30]), 100);
    for (let i = 0; i < 100; i += 10) {
      expect([...seq.slice(i, i + 10)].filter((c) => c === 'a')).toHaveLength(7);
    }
  });

  it('a fractional loadfactor (1 and 2.25) cycles every 13 picks with 4 a and 9 b', () => {
    // lbfactors 100 and 225: the sum 325 is handed out per pick; the cycle is 325/25 = 13 picks.
    const seq = picks(weighted([1, 2.25]), 26);
    expect(seq).toBe('babbabbbabbab'.repeat(2));
  });

  it('counts elected on every pick and leaves busy at 0 once requests end', () => {
    const b = weighted([1, 2, 3]);
    picks(b, 12);
    expect(b.members.map((m) => [m.elected, m.busy])).toEqual([[2, 0], [4, 0], [6, 0]]);
  });
});

describe('bybusyness (§3.3)', () => {
  it('sequential traffic gives exactly the byrequests order', () => {
    expect(picks(weighted([1, 2, 3], { lbmethod: 'bybusyness' }), 12)).toBe('cbacbccbacbc');
  });

  it('with c held busy by a slow request, the next picks are b a b a b b', () => {
    const b = weighted([1, 2, 3], { lbmethod: 'bybusyness' });
    const slow = expectMember(preRequest(b, { url: '/slow', cookie: undefined }, T0));
    expect(letter(slow.member)).toBe('c');
    expect(slow.member.busy).toBe(1);
    expect(picks(b, 6)).toBe('bababb');
    releaseMember(slow.member);
    expect(slow.member.busy).toBe(0);
  });

  it('fewest in flight wins over a higher lbstatus', () => {
    const b = weighted([1, 1], { lbmethod: 'bybusyness' });
    const first = expectMember(preRequest(b, { url: '/', cookie: undefined }, T0));
    const second = expectMember(preRequest(b, { url: '/', cookie: undefined }, T0));
    const third = expectMember(preRequest(b, { url: '/', cookie: undefined }, T0));
    // a, then b (a is busy), then a again: both have 1 in flight and a has the higher lbstatus.
    expect([first, second, third].map((c) => letter(c.member)).join('')).toBe('aba');
    expect(b.members.map((m) => m.busy)).toEqual([2, 1]);
  });
});

describe('bytraffic (§3.4)', () => {
  /** Sequential requests that each move `sent` bytes to and `received` bytes from the chosen member. */
  function trafficPicks(lbfactors: number[], n: number, sent: number, received: number): string {
    const b = weighted(lbfactors, { lbmethod: 'bytraffic' });
    let out = '';
    for (let i = 0; i < n; i++) {
      const { member } = expectMember(preRequest(b, { url: '/', cookie: undefined }, T0));
      member.transferred += sent;
      member.read += received;
      releaseMember(member);
      out += letter(member);
    }
    return out;
  }

  it('1,2,3 with equal responses gives a b c c b c a b c c b c', () => {
    expect(trafficPicks([1, 2, 3], 12, 300, 700)).toBe('abccbcabccbc');
  });

  it('weighs each byte count by integer division separately; ties go to the earlier member', () => {
    const b = weighted([1, 1], { lbmethod: 'bytraffic' });
    const [a, bb] = b.members as [typeof b.members[0], typeof b.members[0]];
    // a: 199/100 + 199/100 = 1 + 1 = 2 (exact division: 3.98); b: 299/100 + 0 = 2 (exact: 2.99).
    a.transferred = 199;
    a.read = 199;
    bb.transferred = 299;
    expect(picks(b, 1)).toBe('a');
    bb.transferred = 300; // b: 3 > 2
    expect(picks(b, 1)).toBe('a');
    a.read = 300; // a: 1 + 3 = 4 > 3
    expect(picks(b, 1)).toBe('b');
  });

  it('does not use lbstatus', () => {
    const b = weighted([1, 1], { lbmethod: 'bytraffic' });
    picks(b, 4);
    expect(lbstatus(b)).toEqual({ a: 0, b: 0 });
  });
});

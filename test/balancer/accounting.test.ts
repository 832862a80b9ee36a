// Sticky-hit accounting (§2.6), busy/elected counting, and the wait for a usable member (§3.1).
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/balancer/balancer.js';
import { Flag } from '../../src/balancer/flags.js';
import { preRequest, releaseMember, retryWait } from '../../src/balancer/select.js';
import { NO_SESSION, T0, balancerConfig, expectMember, lbstatus, letter, memberConfig, picks } from './fixtures.js';

const STICKY = { stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' } };
const to = (route: string) => ({ url: '/', cookie: `JSESSIONID=x.${route}` });

describe('sticky hit accounting (§2.6)', () => {
  it('5 load-balanced picks of a, then sticky hits to c (N) and d (H): a=200 c=-100 d=-100', () => {
    const b = new Balancer(
      balancerConfig(
        [
          memberConfig('a', { route: 'a' }),
          memberConfig('b', { route: 'b', status: 'D' }), // unusable: untouched
          memberConfig('c', { route: 'c', status: 'N' }),
          memberConfig('d', { route: 'd', status: 'H' }),
        ],
        STICKY,
      ),
    );
    expect(picks(b, 5)).toBe('aaaaa');
    expect(picks(b, 1, to('c'))).toBe('c');
    expect(picks(b, 1, to('d'))).toBe('d');
    expect(lbstatus(b)).toEqual({ a: 200, b: 0, c: -100, d: -100 });
    expect(b.members.map((m) => m.elected)).toEqual([5, 0, 1, 1]);
  });

  it('every lbset and every usable member earns its lbfactor; the chosen one pays the total', () => {
    const b = new Balancer(
      balancerConfig(
        [memberConfig('a', { route: 'a', loadfactor: 2 }), memberConfig('r', { route: 'r', status: 'R' }), memberConfig('z', { route: 'z', lbset: 1, loadfactor: 3 })],
        STICKY,
      ),
    );
    expect(picks(b, 1, to('z'))).toBe('z');
    expect(lbstatus(b)).toEqual({ a: 200, r: 100, z: 300 - 600 });
  });

  it('runs for bytraffic and bybusyness too (no 2.4 lbmethod overrides it)', () => {
    for (const lbmethod of ['bytraffic', 'bybusyness'] as const) {
      const b = new Balancer(balancerConfig([memberConfig('a', { route: 'a' }), memberConfig('b', { route: 'b' })], { ...STICKY, lbmethod }));
      picks(b, 1, to('b'));
      expect(lbstatus(b)).toEqual({ a: 100, b: -100 });
    }
  });

  it('sticky traffic counts against the member\'s byrequests share', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { route: 'a' }), memberConfig('b', { route: 'b' })], STICKY));
    picks(b, 3, to('a'));
    // a owes 3 picks' worth (-300), b holds +300: the next load-balanced picks all go to b.
    expect(picks(b, 3)).toBe('bbb');
  });
});

describe('busy and elected', () => {
  it('sticky and load-balanced requests in flight both count as busy for bybusyness', () => {
    const b = new Balancer(
      balancerConfig([memberConfig('a', { route: 'a' }), memberConfig('b', { route: 'b' }), memberConfig('c', { route: 'c' })], { ...STICKY, lbmethod: 'bybusyness' }),
    );
    const held = [expectMember(preRequest(b, to('a'), T0))];
    b.members[0]!.lbstatus = 10_000; // a would win any tie on busy
    held.push(expectMember(preRequest(b, NO_SESSION, T0)), expectMember(preRequest(b, NO_SESSION, T0)));
    expect(held.map((c) => letter(c.member)).join('')).toBe('abc');
    expect(b.members.map((m) => m.busy)).toEqual([1, 1, 1]);
    expect(picks(b, 1)).toBe('a'); // all equally busy: lbstatus decides
  });

  it('busy++ on every attempt\'s member, undone once per releaseMember, never below 0', () => {
    const b = new Balancer(balancerConfig([memberConfig('a'), memberConfig('b')]));
    const one = expectMember(preRequest(b, NO_SESSION, T0));
    const two = expectMember(preRequest(b, NO_SESSION, T0));
    expect(b.members.map((m) => m.busy)).toEqual([1, 1]);
    releaseMember(one.member);
    releaseMember(one.member);
    releaseMember(two.member);
    expect(b.members.map((m) => m.busy)).toEqual([0, 0]);
  });
});

describe('waiting for a usable member: balancer timeout (§3.1)', () => {
  it('timeout 0: unavailable at once, no wait', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { status: 'D' })]));
    expect(preRequest(b, NO_SESSION, T0)).toEqual({ kind: 'unavailable', wait: null });
  });

  it('timeout 2 s: poll every 20 ms until the deadline; a member enabled meanwhile is taken', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { status: 'D' }), memberConfig('b', { status: 'D' })], { ...STICKY, timeout: 2_000 }));
    const sel = preRequest(b, { url: '/', cookie: 'JSESSIONID=x.gone' }, T0);
    expect(sel).toEqual({ kind: 'unavailable', wait: { step: 20, deadline: T0 + 2_000, stickyName: 'JSESSIONID', sessionRoute: 'gone' } });
    if (sel.kind !== 'unavailable' || sel.wait === null) throw new Error('no wait');
    expect(retryWait(b, sel.wait, T0 + 20)).toBeNull();
    b.members[1]!.status &= ~Flag.DISABLED;
    const found = retryWait(b, sel.wait, T0 + 40);
    expect(found && letter(found.member)).toBe('b');
    expect(found).toMatchObject({ stickyName: 'JSESSIONID', sessionRoute: 'gone', routeChanged: true });
    expect([b.members[1]!.elected, b.members[1]!.busy]).toEqual([1, 1]);
  });

  it('a member whose retry passes during the wait is retried and taken', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { status: 'E', retry: 1_000 }), memberConfig('s', { status: 'S' })], { timeout: 5_000 }));
    b.members[0]!.errorTime = T0;
    const sel = preRequest(b, NO_SESSION, T0 + 1);
    if (sel.kind !== 'unavailable' || sel.wait === null) throw new Error('expected a wait');
    expect(retryWait(b, sel.wait, T0 + 1_000)).toBeNull();
    expect(retryWait(b, sel.wait, T0 + 1_050)?.member).toBe(b.members[0]);
    expect(b.members[0]!.retries).toBe(1);
  });

  it('no ROUTE_CHANGED from the wait without a stickysession', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { status: 'D' })], { timeout: 1_000 }));
    const sel = preRequest(b, NO_SESSION, T0);
    if (sel.kind !== 'unavailable' || sel.wait === null) throw new Error('expected a wait');
    b.members[0]!.status &= ~Flag.DISABLED;
    expect(retryWait(b, sel.wait, T0 + 10)).toMatchObject({ stickyName: null, sessionRoute: null, routeChanged: false });
  });

  it('nofailover refusal never waits', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { route: 'a', status: 'D' })], { ...STICKY, nofailover: true, timeout: 2_000 }));
    expect(preRequest(b, to('a'), T0)).toEqual({ kind: 'refused' });
  });

  it('an empty balancer is unavailable', () => {
    const b = new Balancer(balancerConfig([]));
    expect(preRequest(b, NO_SESSION, T0)).toEqual({ kind: 'unavailable', wait: null });
  });
});

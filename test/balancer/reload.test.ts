// A reload builds new Balancers with `previous`: runtime state and runtime-overridden settings survive.
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/balancer/balancer.js';
import { Flag, statusText } from '../../src/balancer/flags.js';
import { markInError, preRequest, releaseMember } from '../../src/balancer/select.js';
import { NO_SESSION, T0, balancerConfig, expectMember, letter, memberConfig, picks } from './fixtures.js';

function build(members = [memberConfig('a', { route: 'a' }), memberConfig('b', { route: 'b' })], overrides: Parameters<typeof balancerConfig>[1] = {}): Balancer {
  return new Balancer(balancerConfig(members, overrides));
}

describe('reload', () => {
  it('keeps runtime state of surviving members, on the same Member object', () => {
    const old = build();
    picks(old, 3);
    const inFlight = expectMember(preRequest(old, NO_SESSION, T0));
    markInError(old.members[1]!, T0);
    old.members[1]!.retries = 4;
    old.members[0]!.transferred = 10;
    old.members[0]!.read = 20;
    const snapshot = old.members.map((m) => [m.status, m.errorTime, m.retries, m.lbstatus, m.elected, m.busy, m.transferred, m.read]);

    const next = new Balancer(balancerConfig([memberConfig('b', { route: 'b' }), memberConfig('a', { route: 'a' })]), old);
    expect(next.member('http://a.backend:8080')).toBe(old.members[0]);
    expect(next.members.map(letter)).toEqual(['b', 'a']); // the new file's order
    const [a, b] = [next.member('http://a.backend:8080')!, next.member('http://b.backend:8080')!];
    expect([a, b].map((m) => [m.status, m.errorTime, m.retries, m.lbstatus, m.elected, m.busy, m.transferred, m.read])).toEqual(snapshot);

    // The request that started before the reload releases its busy on the member the new balancer sees.
    releaseMember(inFlight.member);
    expect(next.member(inFlight.member.name)!.busy).toBe(0);
  });

  it('takes settings the manager did not change from the new file', () => {
    const old = build();
    const next = new Balancer(
      balancerConfig([memberConfig('a', { route: 'a2', redirect: 'b', loadfactor: 2.5, lbset: 1, status: 'N' }), memberConfig('b', { route: 'b' })]),
      old,
    );
    const a = next.members[0]!;
    expect([a.route, a.redirect, a.lbfactor, a.lbset, statusText(a.status)]).toEqual(['a2', 'b', 250, 1, 'Init Drn Ok ']);
    expect(a.config.loadfactor).toBe(2.5);
  });

  it('keeps E and C whatever the file says; other flags follow the file', () => {
    const old = build([memberConfig('a', { status: 'H' }), memberConfig('b')]);
    markInError(old.members[0]!, T0);
    old.members[0]!.status |= Flag.HC_FAIL;
    const next = new Balancer(balancerConfig([memberConfig('a', { status: 'D' }), memberConfig('b')]), old);
    expect(statusText(next.members[0]!.status)).toBe('Init Dis Err HcFl ');
    expect(next.members[0]!.errorTime).toBe(T0);
  });

  it('keeps the settings the manager changed', () => {
    const old = build();
    const a = old.members[0]!;
    a.setRoute('manual');
    a.setRedirect('b');
    a.setLbset('3');
    a.setFlag('D', '1');
    old.setLoadfactor(a, '4');
    const next = new Balancer(balancerConfig([memberConfig('a', { route: 'a-file', loadfactor: 1, status: 'H' }), memberConfig('b', { route: 'b' })]), old);
    const m = next.members[0]!;
    expect([m.route, m.redirect, m.lbset, m.lbfactor, statusText(m.status)]).toEqual(['manual', 'b', 3, 400, 'Init Dis ']);
    expect([...m.overridden].sort()).toEqual(['lbset', 'loadfactor', 'redirect', 'route', 'status']);
  });

  it('drops members no longer in the file (and those the manager added); new members start fresh', () => {
    const old = build([memberConfig('a'), memberConfig('b')], { growth: 1 });
    old.addMember(memberConfig('m'));
    picks(old, 2);
    const next = new Balancer(balancerConfig([memberConfig('a'), memberConfig('c')], { growth: 1 }), old);
    expect(next.members.map(letter)).toEqual(['a', 'c']);
    expect(next.members[1]!.elected).toBe(0);
    expect(next.freeSlots).toBe(1);
  });

  it('keeps the balancer settings the manager changed, takes the others from the file', () => {
    const old = build(undefined, { timeout: 1000, nofailover: false, stickysession: null });
    old.setTimeout('7');
    old.setStickysession('JSESSIONID|jsessionid');
    const next = new Balancer(
      balancerConfig([memberConfig('a'), memberConfig('b')], { timeout: 3000, nofailover: true, stickysession: { cookie: 'X', param: 'X' } }),
      old,
    );
    expect([next.timeout, next.sticky, next.nofailover]).toEqual([7000, { cookie: 'JSESSIONID', param: 'jsessionid' }, true]);
    expect([...next.overridden].sort()).toEqual(['stickysession', 'timeout']);
  });

  it('recomputes the default maxattempts for the new member count, unless the manager set it', () => {
    const old = build([memberConfig('a')]);
    expect([old.maxAttempts, old.maxAttemptsSet]).toEqual([0, false]);
    const three = new Balancer(balancerConfig([memberConfig('a'), memberConfig('b'), memberConfig('c')]), old);
    expect([three.maxAttempts, three.maxAttemptsSet]).toEqual([2, true]);
    three.setMaxAttempts('1');
    const again = new Balancer(balancerConfig([memberConfig('a'), memberConfig('b'), memberConfig('c'), memberConfig('d')]), three);
    expect([again.maxAttempts, again.maxAttemptsSet]).toEqual([1, true]);
  });

  it('an lbmethod change in the file resets the new method\'s state at the next request', () => {
    const old = build([memberConfig('a', { loadfactor: 1 }), memberConfig('b', { loadfactor: 2 }), memberConfig('c', { loadfactor: 3 })]);
    expect(picks(old, 1)).toBe('c');
    const next = new Balancer(balancerConfig(old.config.members, { lbmethod: 'bybusyness' }), old);
    expect(picks(next, 1)).toBe('c'); // without the reset: b
    const same = new Balancer(balancerConfig(old.config.members, { lbmethod: 'bybusyness' }), next);
    expect(same.needReset).toBe(false);
    expect(picks(same, 1)).toBe('b'); // state carried over, no reset
  });
});

// Runtime changes the balancer-manager makes (§6, B:1125-1378), with httpd's validation.
import { describe, expect, it } from 'vitest';
import { Balancer, ManagerError } from '../../src/balancer/balancer.js';
import { statusText } from '../../src/balancer/flags.js';
import { preRequest } from '../../src/balancer/select.js';
import { request } from './attempts.js';
import { NO_SESSION, T0, balancerConfig, lbstatus, memberConfig, picks, weighted } from './fixtures.js';

describe('w_lf: loadfactor', () => {
  it.each<[string | number, number | null]>([
    // [value, lbfactor after (null = ignored)]
    ['2.5', 250],
    ['1', 100],
    ['100', 10000],
    ['1.15', 114], // (int)(1.15 × 100.0) in C
    ['2x', 200], // atof reads the leading number
    [' 3', 300],
    [4, 400],
    ['0.5', null],
    ['0.999', null],
    ['100.01', null],
    ['101', null],
    ['abc', null],
    ['', null],
    ['-5', null],
  ])('%j → %s', (value, lbfactor) => {
    const b = weighted([1, 2]);
    picks(b, 2); // lbstatus a=-100 b=100
    const applied = b.setLoadfactor(b.members[0]!, value);
    expect(applied).toBe(lbfactor !== null);
    if (lbfactor === null) {
      expect([b.members[0]!.lbfactor, lbstatus(b)]).toEqual([100, { a: -100, b: 100 }]);
      expect(b.members[0]!.overridden.has('loadfactor')).toBe(false);
    } else {
      // recalc_factors: every member's lbstatus := its lbfactor.
      expect([b.members[0]!.lbfactor, lbstatus(b)]).toEqual([lbfactor, { a: lbfactor, b: 200 }]);
      expect(b.members[0]!.overridden.has('loadfactor')).toBe(true);
    }
  });

  it('a single-member balancer is forced to 100/100', () => {
    const b = weighted([3]);
    expect(b.setLoadfactor(b.members[0]!, '5')).toBe(true);
    expect([b.members[0]!.lbfactor, b.members[0]!.lbstatus]).toEqual([100, 100]);
  });

  it('the new factor drives the next picks from the recalculated state', () => {
    const b = weighted([1, 1]);
    b.setLoadfactor(b.members[1]!, '3'); // lbstatus a=100, b=300
    expect(picks(b, 8)).toBe('bbabbbab');
  });
});

describe('w_ls, w_wr, w_rr', () => {
  it.each<[string | number, number | null]>([
    ['3', 3],
    ['99', 99],
    ['0', 0],
    ['x', 0], // atoi("x") is 0, which is in range
    ['-1', null],
    ['100', null],
  ])('w_ls %j → %s', (value, lbset) => {
    const b = weighted([1]);
    b.members[0]!.lbset = 5;
    expect(b.members[0]!.setLbset(value)).toBe(lbset !== null);
    expect(b.members[0]!.lbset).toBe(lbset ?? 5);
  });

  it('w_wr sets a route that fits and clears it otherwise (empty or 64 bytes and more)', () => {
    const m = weighted([1]).members[0]!;
    m.setRoute('node1');
    expect(m.route).toBe('node1');
    m.setRoute('x'.repeat(63));
    expect(m.route).toBe('x'.repeat(63));
    m.setRoute('x'.repeat(64));
    expect(m.route).toBe('');
    m.setRoute('node2');
    m.setRoute('');
    expect(m.route).toBe('');
    expect(m.overridden.has('route')).toBe(true);
  });

  it('w_rr follows the same rule', () => {
    const m = weighted([1]).members[0]!;
    m.setRedirect('node2');
    expect(m.redirect).toBe('node2');
    m.setRedirect('é'.repeat(32)); // 64 bytes in UTF-8
    expect(m.redirect).toBe('');
    expect(m.overridden.has('redirect')).toBe(true);
  });
});

describe('w_status_<flag>', () => {
  it.each<[string, string | number | boolean, string]>([
    ['D', '1', 'Init Dis '],
    ['D', 'yes', 'Init Ok '], // atoi("yes") = 0: clears
    ['N', '2', 'Init Drn Ok '],
    ['H', 1, 'Init Stby Ok '],
    ['R', true, 'Init Spar Ok '],
    ['S', '1', 'Init Stop '],
    ['I', '1', 'Init Ign Ok '],
    ['C', '1', 'Init HcFl '],
  ])('%s=%j → %j', (flag, value, text) => {
    const m = weighted([1]).members[0]!;
    expect(m.setFlag(flag, value)).toBe(true);
    expect(statusText(m.status)).toBe(text);
    expect(m.overridden.has('status')).toBe(true);
  });

  it('=0 clears a flag', () => {
    const m = new Balancer(balancerConfig([memberConfig('a', { status: 'DH' })])).members[0]!;
    m.setFlag('D', '0');
    expect(statusText(m.status)).toBe('Init Stby Ok ');
  });

  it('E can be neither set nor cleared', () => {
    const m = new Balancer(balancerConfig([memberConfig('a', { status: 'E' })])).members[0]!;
    expect(m.setFlag('E', '0')).toBe(false);
    expect(statusText(m.status)).toBe('Init Err ');
    const n = weighted([1]).members[0]!;
    expect(n.setFlag('E', '1')).toBe(false);
    expect(statusText(n.status)).toBe('Init Ok ');
    expect(n.setFlag('O', '0')).toBe(false);
    expect(n.overridden.size).toBe(0);
  });
});

describe('balancer fields', () => {
  it('b_lbm: the new method starts from its reset at the next request', () => {
    const b = weighted([1, 2, 3]);
    expect(picks(b, 1)).toBe('c'); // lbstatus a=100 b=200 c=-300
    expect(b.setLbmethod('bybusyness')).toBe(true);
    expect(lbstatus(b)).toEqual({ a: 100, b: 200, c: -300 }); // not yet
    // After the reset the pick is c again; without it, it would be b (a=200 b=400 c=0).
    expect(picks(b, 1)).toBe('c');
    expect(b.overridden.has('lbmethod')).toBe(true);
  });

  it('b_lbm to bytraffic zeroes the byte counts; to bybusyness zeroes busy', () => {
    const b = weighted([1, 1]);
    const held = preRequest(b, NO_SESSION, T0); // a request in flight
    b.members[0]!.transferred = 5000;
    b.setLbmethod('bytraffic');
    expect(picks(b, 1)).toBe('a'); // a's 5000 bytes were forgotten
    expect(b.members.map((m) => [m.transferred, m.busy])).toEqual([[0, 0], [0, 0]]);
    expect(held.kind).toBe('member');
  });

  it.each(['byrequests', 'heartbeat', 'ByBusyness', 'nonsense', ''])('b_lbm %j is ignored', (name) => {
    const b = weighted([1, 2, 3]);
    picks(b, 1);
    expect(b.setLbmethod(name)).toBe(false);
    expect([b.lbmethod, b.needReset]).toEqual(['byrequests', false]);
    expect(picks(b, 1)).toBe('b');
  });

  it.each<[string, number | null]>([
    ['5', 5000],
    ['0', 0],
    ['7200', 7_200_000],
    ['7201', null],
    ['-1', null],
    ['2s', 2000],
  ])('b_tmo %j → %s ms', (value, ms) => {
    const b = weighted([1], { timeout: 9000 });
    expect(b.setTimeout(value)).toBe(ms !== null);
    expect(b.timeout).toBe(ms ?? 9000);
  });

  it('b_max has no effect where maxattempts was not set (one member, no explicit value)', () => {
    const b = weighted([1]);
    expect(b.setMaxAttempts('3')).toBe(true);
    expect([b.maxAttempts, b.maxAttemptsSet]).toEqual([3, false]);
    expect(request(b, new Set(['a']), NO_SESSION, T0).connects).toBe('a');
  });

  it('b_max changes the attempts where maxattempts is set (the members−1 default counts)', () => {
    const b = weighted([1, 1, 1]);
    expect(request(b, new Set(['a', 'b', 'c']), NO_SESSION, T0).connects).toHaveLength(3);
    expect(b.setMaxAttempts('0')).toBe(true);
    expect(request(b, new Set(['a', 'b', 'c']), NO_SESSION, T0 + 100_000).connects).toHaveLength(1);
    expect(b.setMaxAttempts('100')).toBe(false);
    expect(b.maxAttempts).toBe(0);
  });

  it('b_sforce: atoi ≠ 0 turns nofailover on', () => {
    const b = weighted([1]);
    b.setNofailover('1');
    expect(b.nofailover).toBe(true);
    b.setNofailover('off');
    expect(b.nofailover).toBe(false);
    expect(b.overridden.has('nofailover')).toBe(true);
  });

  it.each<[string, { cookie: string; param: string } | null | 'unchanged']>([
    ['JSESSIONID', { cookie: 'JSESSIONID', param: 'JSESSIONID' }],
    ['JSESSIONID|jsessionid', { cookie: 'JSESSIONID', param: 'jsessionid' }],
    ['a|b|c', { cookie: 'a', param: 'b|c' }],
    ['-', null],
    ['', 'unchanged'],
    ['x'.repeat(62), { cookie: 'x'.repeat(62), param: 'x'.repeat(62) }],
    ['x'.repeat(63), 'unchanged'],
  ])('b_ss %j', (value, expected) => {
    const before = { cookie: 'ROUTEID', param: 'ROUTEID' };
    const b = weighted([1], { stickysession: before });
    expect(b.setStickysession(value)).toBe(expected !== 'unchanged');
    expect(b.sticky).toEqual(expected === 'unchanged' ? before : expected);
  });

  it('b_ss "-" stops stickiness and ROUTE_CHANGED', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { route: 'a' }), memberConfig('b', { route: 'b' })], { stickysession: { cookie: 'JSESSIONID', param: 'JSESSIONID' } }));
    b.setStickysession('-');
    const sel = preRequest(b, { url: '/', cookie: 'JSESSIONID=x.b' }, T0);
    expect(sel).toMatchObject({ member: b.members[0], sessionRoute: null, routeChanged: false });
  });
});

describe('adding a member (b_nwrkr, b_wyes=1)', () => {
  it('growth 0 (the default): no free slot → 400', () => {
    const b = weighted([1]);
    expect(() => b.addMember(memberConfig('n'))).toThrow(ManagerError);
    expect(b.members).toHaveLength(1);
  });

  it('growth 1: the new member starts disabled, then the slot is used up', () => {
    const b = weighted([1], { growth: 1 });
    const m = b.addMember(memberConfig('n'));
    expect([statusText(m.status), m.route, m.lbfactor]).toEqual(['Init Dis ', '', 100]);
    expect(picks(b, 3)).toBe('aaa');
    m.setFlag('D', '0');
    expect(picks(b, 2)).toBe('an'); // both at lbstatus 0: a wins the tie, then n
    let error: unknown;
    try {
      b.addMember(memberConfig('o'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManagerError);
    expect((error as ManagerError).status).toBe(400);
  });

  it('a duplicate → 400, also when an existing member URL is a prefix of the new one', () => {
    const b = weighted([1], { growth: 5 });
    expect(() => b.addMember(memberConfig('a'))).toThrow(/already has member http:\/\/a\.backend:8080/);
    expect(() => b.addMember(memberConfig('a', { url: 'http://a.backend:8080/app' }))).toThrow(ManagerError);
    // A longer port is another host:port, not a duplicate.
    expect(b.addMember(memberConfig('a', { url: 'http://a.backend:80801' })).name).toBe('http://a.backend:80801');
  });
});

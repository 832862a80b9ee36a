// Runtime changes shared by the manager form and the API (apache-semantics §6): validation, "only what differs", atomicity, adds.
import { describe, expect, it } from 'vitest';
import { statusText } from '../../src/balancer/flags.js';
import { addMember, changeBalancer, changeMember, ChangeError, parseStatusChange, parseStickysession } from '../../src/admin/changes.js';
import { balancerOf } from './fixtures.js';

const TWO = `balancers:
  c1:
    stickysession: JSESSIONID|jsessionid
    growth: 1
    members:
      - { url: http://127.0.0.1:8081, route: a }
      - { url: http://127.0.0.1:8082, route: b, loadfactor: 2 }
`;

function refused(fn: () => unknown): ChangeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ChangeError) return e;
    throw e;
  }
  throw new Error('expected a ChangeError');
}

describe('member changes', () => {
  it('applies valid values and reports them', () => {
    const b = balancerOf(TWO);
    const a = b.members[0]!;
    const done = changeMember(b, a, { loadfactor: '2.5', lbset: '3', route: 'a2', redirect: 'b', flags: { N: true } });
    expect(done).toEqual(['loadfactor 1.00 → 2.50', 'lbset 0 → 3', 'route "a" → "a2"', 'redirect "" → "b"', '+N']);
    expect([a.lbfactor, a.lbset, a.route, a.redirect, statusText(a.status)]).toEqual([250, 3, 'a2', 'b', 'Init Drn Ok ']);
    expect([...a.overridden].sort()).toEqual(['lbset', 'loadfactor', 'redirect', 'route', 'status']);
  });

  it('a loadfactor change recalculates every lbstatus (recalc_factors)', () => {
    const b = balancerOf(TWO);
    b.members[0]!.lbstatus = -100;
    b.members[1]!.lbstatus = 100;
    changeMember(b, b.members[0]!, { loadfactor: 3 });
    expect(b.members.map((m) => m.lbstatus)).toEqual([300, 200]);
  });

  it('values equal to the current ones are not changes: no recalc, no override', () => {
    const b = balancerOf(TWO);
    const a = b.members[0]!;
    a.lbstatus = -100;
    const done = changeMember(b, a, { loadfactor: '1.00', lbset: '0', route: 'a', redirect: '', flags: { I: false, N: false, D: false, H: false, R: false, S: false, C: false } });
    expect(done).toEqual([]);
    expect(a.lbstatus).toBe(-100);
    expect(a.overridden.size).toBe(0);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['loadfactor below 1', { loadfactor: '0.5' }, 'loadfactor', /from 1 to 100/],
    ['loadfactor above 100', { loadfactor: '101' }, 'loadfactor', /from 1 to 100/],
    ['loadfactor not a number', { loadfactor: '2x' }, 'loadfactor', /from 1 to 100 \(got "2x"\)/],
    ['lbset 100', { lbset: '100' }, 'lbset', /from 0 to 99/],
    ['lbset negative', { lbset: -1 }, 'lbset', /from 0 to 99/],
    ['lbset decimal', { lbset: '1.5' }, 'lbset', /whole number/],
    ['route too long', { route: 'x'.repeat(64) }, 'route', /at most 63 characters/],
    ['route with a control character', { route: 'a\nb' }, 'route', /control characters/],
    ['redirect to no member', { redirect: 'zz' }, 'redirect', /not the route of a member/],
    ['flag E', { flags: { E: false } }, 'status', /E flag .* cannot be set or cleared by hand/],
    ['unknown flag', { flags: { X: true } }, 'status', /unknown status flag "X"/],
  ])('refuses %s, names the field, changes nothing', (_what, changes, field, message) => {
    const b = balancerOf(TWO);
    const a = b.members[0]!;
    const before = JSON.stringify([a.lbfactor, a.lbset, a.route, a.redirect, a.status]);
    // A valid value alongside must not be applied either.
    const e = refused(() => changeMember(b, a, { route: 'new', ...changes }));
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
    expect(JSON.stringify([a.lbfactor, a.lbset, a.route, a.redirect, a.status])).toBe(before);
    expect(a.overridden.size).toBe(0);
  });

  it('a route used by another member is a conflict (409)', () => {
    const b = balancerOf(TWO);
    const e = refused(() => changeMember(b, b.members[0]!, { route: 'b' }));
    expect([e.status, e.field]).toEqual([409, 'route']);
  });

  it('an empty route clears it', () => {
    const b = balancerOf(TWO);
    changeMember(b, b.members[0]!, { route: '' });
    expect(b.members[0]!.route).toBe('');
  });
});

describe('status strings', () => {
  it.each<[string, Record<string, boolean>]>([
    ['+N', { N: true }],
    ['D', { D: true }],
    ['-D', { D: false }],
    ['+N-D', { N: true, D: false }],
    ['-DS', { D: false, S: false }],
    ['S-H', { S: true, H: false }],
    ['+c', { C: true }],
  ])('%s', (text, flags) => {
    expect(parseStatusChange(text)).toEqual(flags);
  });

  it.each([['+', /ends with a sign/], ['', /names no flag/], ['+E', /E flag/], ['+Q', /unknown status flag "Q"/]])('refuses %j', (text, message) => {
    expect(() => parseStatusChange(text)).toThrow(message);
  });
});

describe('balancer changes', () => {
  it('applies lbmethod, timeout, maxattempts, nofailover, stickysession', () => {
    const b = balancerOf(TWO);
    const done = changeBalancer(b, { lbmethod: 'bybusyness', timeout: '5', maxattempts: 0, nofailover: '1', stickysession: 'SID' });
    expect(done).toEqual(['lbmethod byrequests → bybusyness', 'timeout 0 → 5', 'maxattempts 1 → 0', 'nofailover Off → On', 'stickysession JSESSIONID|jsessionid → SID']);
    expect([b.lbmethod, b.timeout, b.maxAttempts, b.nofailover, b.sticky]).toEqual(['bybusyness', 5000, 0, true, { cookie: 'SID', param: 'SID' }]);
    expect(b.needReset).toBe(true);
  });

  it('"-" removes stickiness; "C | P" as the page shows it is read back', () => {
    const b = balancerOf(TWO);
    expect(changeBalancer(b, { stickysession: 'JSESSIONID | jsessionid' })).toEqual([]);
    changeBalancer(b, { stickysession: '-' });
    expect(b.sticky).toBeNull();
    expect(b.stickyEnabled).toBe(false);
  });

  it.each<[Record<string, unknown>, string, RegExp]>([
    [{ lbmethod: 'heartbeat' }, 'lbmethod', /one of byrequests, bybusyness, bytraffic/],
    [{ timeout: '7201' }, 'timeout', /from 0 to 7200 seconds/],
    [{ timeout: '-1' }, 'timeout', /from 0 to 7200/],
    [{ maxattempts: 100 }, 'maxattempts', /from 0 to 99/],
    [{ nofailover: 'yes' }, 'nofailover', /must be 0 or 1/],
    [{ stickysession: 'a b' }, 'stickysession', /not a valid cookie/],
    [{ stickysession: 'C|' }, 'stickysession', /needs both names/],
    [{ stickysession: '' }, 'stickysession', /must name a cookie/],
  ])('refuses %j', (changes, field, message) => {
    const b = balancerOf(TWO);
    const e = refused(() => changeBalancer(b, { timeout: 9, ...changes }));
    expect([e.field, e.status]).toEqual([field, 400]);
    expect(e.message).toMatch(message);
    expect(b.timeout).toBe(0);
    expect(b.overridden.size).toBe(0);
  });

  it('maxattempts on a balancer where it is not set is refused with the reason (httpd ignores it, §4.5)', () => {
    const b = balancerOf('balancers:\n  c1:\n    members:\n      - { url: http://127.0.0.1:8081 }\n');
    expect(b.maxAttemptsSet).toBe(false);
    const e = refused(() => changeBalancer(b, { maxattempts: 3 }));
    expect(e.message).toMatch(/not set for balancer:\/\/c1 .* no effect/);
    // The same value as now is no change, so a form that sends it back passes.
    expect(changeBalancer(b, { maxattempts: 0 })).toEqual([]);
  });

  it('parseStickysession trims around the bar', () => {
    expect(parseStickysession(' A | b ')).toEqual({ cookie: 'A', param: 'b' });
    expect(parseStickysession(null)).toBeNull();
  });
});

describe('adding a member', () => {
  it('needs a free slot (growth); the new member starts disabled with default settings', () => {
    const b = balancerOf(TWO);
    const { member, changes } = addMember(b, 'HTTP://127.0.0.1:8083/', 60_000, { route: 'c', loadfactor: 2 });
    expect(changes).toEqual(['added http://127.0.0.1:8083 (disabled)', 'loadfactor 1.00 → 2.00', 'route "" → "c"']);
    expect([member.name, member.route, member.lbfactor, statusText(member.status)]).toEqual(['http://127.0.0.1:8083', 'c', 200, 'Init Dis ']);
    expect([member.config.timeout, member.config.retry, member.config.hcmethod]).toEqual([60_000, 60_000, 'None']);
    // growth 1 is used up.
    const e = refused(() => addMember(b, 'http://127.0.0.1:8084', 60_000));
    expect([e.status, e.field]).toEqual([409, 'url']);
    expect(e.message).toMatch(/no free member slot \(growth 1/);
  });

  it('a status given with the add applies after it (e.g. enable at once)', () => {
    const b = balancerOf(TWO);
    const { member } = addMember(b, 'http://127.0.0.1:8083', 60_000, { flags: { D: false } });
    expect(statusText(member.status)).toBe('Init Ok ');
  });

  it('a duplicate is a conflict; a bad URL or a bad setting adds nothing', () => {
    const b = balancerOf(TWO);
    expect(refused(() => addMember(b, 'http://127.0.0.1:8081', 60_000)).status).toBe(409);
    expect(refused(() => addMember(b, 'ftp://x', 60_000)).field).toBe('url');
    expect(refused(() => addMember(b, '', 60_000)).field).toBe('url');
    expect(refused(() => addMember(b, 'http://127.0.0.1:8083', 60_000, { route: 'a' })).status).toBe(409);
    expect(refused(() => addMember(b, 'http://127.0.0.1:8083', 60_000, { loadfactor: 0 })).field).toBe('loadfactor');
    expect(b.members).toHaveLength(2);
  });
});

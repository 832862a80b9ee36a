// Matching a route to a member (§2.4) and the outcome table (§2.5), row by row.
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/balancer/balancer.js';
import { Flag } from '../../src/balancer/flags.js';
import { markInError, preRequest, type Selection } from '../../src/balancer/select.js';
import { T0, balancerConfig, expectMember, letter, memberConfig, sticky } from './fixtures.js';

const cookieFor = (route: string) => ({ url: '/app', cookie: `JSESSIONID=abc.${route}` });

/** A compact view of a selection: "refused", "unavailable", or the member letter plus the route variables. */
function view(sel: Selection): string {
  if (sel.kind !== 'member') return sel.kind;
  return `${letter(sel.member)} route=${sel.sessionRoute} changed=${sel.routeChanged}`;
}

/**
 * The §2.5 rows for a request with route "a": member a in `state` (status letters, optionally a
 * redirect), members b and c usable, lbstatus favouring c so that load-balanced picks show as c.
 */
function row(state: string, redirect: string, nofailover: boolean, prepare?: (b: Balancer) => void): string {
  const b = new Balancer(
    balancerConfig(
      [memberConfig('a', { route: 'a', status: state, redirect }), memberConfig('b', { route: 'b' }), memberConfig('c', { route: 'c' })],
      { stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' }, nofailover },
    ),
  );
  b.members[0]!.errorTime = T0 - 1000; // a configured E is recent: retry (60 s) has not passed
  b.members[2]!.lbstatus = 10_000;
  prepare?.(b);
  return view(preRequest(b, cookieFor('a'), T0));
}

describe('outcome table (§2.5)', () => {
  it.each<[string, string, string, boolean, string]>([
    // [row, a's status, a's redirect, nofailover, outcome]
    ['OK', '', '', false, 'a route=a changed=false'],
    ['N drain', 'N', '', false, 'a route=a changed=false'],
    ['H standby (second pass)', 'H', '', false, 'a route=a changed=false'],
    ['R spare', 'R', '', false, 'a route=a changed=false'],
    ['I with E: cleared at once', 'IE', '', false, 'a route=a changed=false'],
    ['D with a usable redirect', 'D', 'b', false, 'b route=a changed=true'],
    ['S with a usable redirect', 'S', 'b', false, 'b route=a changed=true'],
    ['E (not elapsed) with a usable redirect', 'E', 'b', false, 'b route=a changed=true'],
    ['C with a usable redirect', 'C', 'b', false, 'b route=a changed=true'],
    ['D with a usable redirect, nofailover On', 'D', 'b', true, 'b route=a changed=true'],
    ['D without redirect, nofailover Off', 'D', '', false, 'c route=a changed=true'],
    ['S without redirect, nofailover Off', 'S', '', false, 'c route=a changed=true'],
    ['E without redirect, nofailover Off', 'E', '', false, 'c route=a changed=true'],
    ['C without redirect, nofailover Off', 'C', '', false, 'c route=a changed=true'],
    ['D without redirect, nofailover On', 'D', '', true, 'refused'],
    ['S without redirect, nofailover On', 'S', '', true, 'refused'],
    ['E without redirect, nofailover On', 'E', '', true, 'refused'],
    ['C without redirect, nofailover On', 'C', '', true, 'refused'],
    ['D, redirect to an unknown route, nofailover On', 'D', 'zz', true, 'refused'],
    ['D, redirect to an unknown route, nofailover Off', 'D', 'zz', false, 'c route=a changed=true'],
  ])('%s', (_label, state, redirect, nofailover, expected) => {
    expect(row(state, redirect, nofailover)).toBe(expected);
  });

  it('E with retry elapsed: E cleared, retries counted, that member', () => {
    let a: Balancer['members'][number] | undefined;
    const out = row('E', '', true, (b) => {
      a = b.members[0]!;
      a.errorTime = T0 - 60_001;
    });
    expect(out).toBe('a route=a changed=false');
    expect(a!.has(Flag.IN_ERROR)).toBe(false);
    expect(a!.retries).toBe(1);
  });

  it('a redirect to a member that is itself unusable, nofailover On: 503', () => {
    expect(row('D', 'b', true, (b) => (b.members[1]!.status |= Flag.DISABLED))).toBe('refused');
  });

  it('a redirect target in E whose retry passed is retried and used', () => {
    let target: Balancer['members'][number] | undefined;
    const out = row('D', 'b', false, (b) => {
      target = b.members[1]!;
      target.status |= Flag.IN_ERROR;
      target.errorTime = T0 - 60_001;
    });
    expect(out).toBe('b route=a changed=true');
    expect(target!.retries).toBe(1);
  });

  it.each([false, true])('unknown route, nofailover %s: load-balanced with ROUTE_CHANGED', (nofailover) => {
    const b = sticky(['a:a', 'b:b'], { nofailover });
    expect(view(preRequest(b, cookieFor('zz'), T0))).toBe('a route=zz changed=true');
  });

  it('an empty route ("abc.") is never refused, even with nofailover On', () => {
    const b = sticky(['a::D', 'b:b'], { nofailover: true }); // a has no route: "" matches nothing
    expect(view(preRequest(b, { url: '/', cookie: 'JSESSIONID=abc.' }, T0))).toBe('b route= changed=true');
  });

  it('a value without separator is never refused, even with nofailover On', () => {
    const b = sticky(['a:a:D', 'b:b'], { nofailover: true });
    expect(view(preRequest(b, { url: '/', cookie: 'JSESSIONID=a' }, T0))).toBe('b route=null changed=true');
  });

  it('refusal sets no variables and counts nothing', () => {
    const b = sticky(['a:a:D', 'b:b'], { nofailover: true });
    expect(preRequest(b, cookieFor('a'), T0)).toEqual({ kind: 'refused' });
    expect(b.members.map((m) => [m.elected, m.busy, m.lbstatus])).toEqual([[0, 0, 0], [0, 0, 0]]);
  });
});

describe('member dies during the request (§2.5 last rows)', () => {
  it('nofailover On: the next attempt is refused', () => {
    const b = sticky(['a:a', 'b:b'], { nofailover: true });
    const first = expectMember(preRequest(b, cookieFor('a'), T0));
    expect(letter(first.member)).toBe('a');
    markInError(first.member, T0); // connect failed: 503 from the scheme handler
    expect(preRequest(b, cookieFor('a'), T0 + 1)).toEqual({ kind: 'refused' });
  });

  it('nofailover Off: the next attempt fails over through the lbmethod with ROUTE_CHANGED', () => {
    const b = sticky(['a:a', 'b:b', 'c:c'], { nofailover: false });
    markInError(expectMember(preRequest(b, cookieFor('a'), T0)).member, T0);
    expect(view(preRequest(b, cookieFor('a'), T0 + 1))).toBe('b route=a changed=true');
  });
});

describe('find_route_worker (§2.4)', () => {
  it('regular members are searched before hot standbys, whatever the order', () => {
    const b = sticky(['h:x:H', 'r:x']);
    expect(view(preRequest(b, cookieFor('x'), T0))).toBe('r route=x changed=false');
    b.members[1]!.status |= Flag.DISABLED;
    expect(view(preRequest(b, cookieFor('x'), T0))).toBe('h route=x changed=false');
  });

  it('lbset plays no part', () => {
    const b = new Balancer(
      balancerConfig([memberConfig('a', { route: 'a' }), memberConfig('z', { route: 'z', lbset: 7 })], {
        stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' },
      }),
    );
    expect(view(preRequest(b, cookieFor('z'), T0))).toBe('z route=z changed=false');
  });

  it('route matching is exact and case-sensitive', () => {
    const b = sticky(['a:node1', 'b:Node1', 'c:node10']);
    expect(view(preRequest(b, cookieFor('Node1'), T0))).toBe('b route=Node1 changed=false');
    expect(view(preRequest(b, cookieFor('node10'), T0))).toBe('c route=node10 changed=false');
  });

  it('a second member with the same route is used when the first is unusable', () => {
    const b = sticky(['a:x:D', 'b:x', 'c:c']);
    expect(view(preRequest(b, cookieFor('x'), T0))).toBe('b route=x changed=false');
  });

  it('a redirect found among the hot standbys is honoured', () => {
    const b = new Balancer(
      balancerConfig([memberConfig('a', { route: 'a', status: 'D', redirect: 's' }), memberConfig('s', { route: 's', status: 'H' }), memberConfig('c', { route: 'c' })], {
        stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' },
      }),
    );
    expect(view(preRequest(b, cookieFor('a'), T0))).toBe('s route=a changed=true');
  });

  it('a redirect chain through every member reaches the last one (depth starts at 1, limit = member count)', () => {
    // a → b → c → d: three hops with four members; the redirect from c happens at depth 3 < 4.
    const b = new Balancer(
      balancerConfig(
        [
          memberConfig('a', { route: 'a', status: 'D', redirect: 'b' }),
          memberConfig('b', { route: 'b', status: 'D', redirect: 'c' }),
          memberConfig('c', { route: 'c', status: 'D', redirect: 'd' }),
          memberConfig('d', { route: 'd' }),
        ],
        { stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' }, nofailover: true },
      ),
    );
    expect(view(preRequest(b, cookieFor('a'), T0))).toBe('d route=a changed=true');
  });

  it('a redirect cycle ends, and nofailover then refuses', () => {
    const b = new Balancer(
      balancerConfig(
        [
          memberConfig('a', { route: 'a', status: 'D', redirect: 'b' }),
          memberConfig('b', { route: 'b', status: 'D', redirect: 'a' }),
          memberConfig('c', { route: 'c' }),
        ],
        { stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' }, nofailover: true },
      ),
    );
    expect(preRequest(b, cookieFor('a'), T0)).toEqual({ kind: 'refused' });
  });

  it('retries every unusable member it matches on the way, also along a redirect', () => {
    const b = new Balancer(
      balancerConfig(
        [
          memberConfig('a', { route: 'a', status: 'E', redirect: 'b' }),
          memberConfig('b', { route: 'b', status: 'E', redirect: 'c' }),
          memberConfig('c', { route: 'c' }),
        ],
        { stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' } },
      ),
    );
    const [a, bm] = [b.members[0]!, b.members[1]!];
    a.errorTime = T0 - 1000; // not elapsed
    bm.errorTime = T0 - 60_001; // elapsed: b recovers during the redirect lookup
    expect(view(preRequest(b, cookieFor('a'), T0))).toBe('b route=a changed=true');
    expect([a.retries, a.has(Flag.IN_ERROR), bm.retries, bm.has(Flag.IN_ERROR)]).toEqual([0, true, 1, false]);
  });

  it('stopped members are never retried on the sticky path', () => {
    const b = sticky(['a:a:SE', 'b:b'], { nofailover: true });
    b.members[0]!.errorTime = T0 - 3_600_000;
    expect(preRequest(b, cookieFor('a'), T0)).toEqual({ kind: 'refused' });
    expect(b.members[0]!.retries).toBe(0);
  });
});

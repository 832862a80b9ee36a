// Where the session value comes from and which part is the route (§2.1-§2.3, the §9.3 matrix).
import { describe, expect, it } from 'vitest';
import type { BalancerConfig } from '../../src/config/types.js';
import { cookieParam, pathParam } from '../../src/balancer/sticky.js';
import { preRequest } from '../../src/balancer/select.js';
import { T0, expectMember, letter, sticky } from './fixtures.js';

/** What a request gets: the member letter, and the session variables (null = not set). */
interface Outcome {
  member: string;
  stickyName: string | null;
  route: string | null;
  routeChanged: boolean;
}

/** Members a, b, c with routes a, b, c; stickysession=JSESSIONID|jsessionid unless overridden. */
function outcome(url: string, cookie: string | undefined, overrides: Partial<BalancerConfig> = {}): Outcome {
  // lbstatus favours c, so a load-balanced pick (c) is told apart from a sticky one.
  const b = sticky(['a:a', 'b:b', 'c:c'], overrides);
  b.members[2]!.lbstatus = 10_000;
  const chosen = expectMember(preRequest(b, { url, cookie }, T0));
  return { member: letter(chosen.member), stickyName: chosen.stickyName, route: chosen.sessionRoute, routeChanged: chosen.routeChanged };
}

const toB = { member: 'b', stickyName: 'JSESSIONID', route: 'b', routeChanged: false };
const balanced = (route: string | null, stickyName: string | null = route === null ? null : 'JSESSIONID') => ({ member: 'c', stickyName, route, routeChanged: true });

describe('cookie lookup (B:165-197)', () => {
  it.each<[string, string, Outcome]>([
    ['plain value', 'JSESSIONID=abc.b', toB],
    ['value ".b"', 'JSESSIONID=.b', toB],
    ['no separator: no route at all', 'JSESSIONID=abc', balanced(null)],
    ['two separators: route after the first', 'JSESSIONID=abc.a.b', balanced('a.b')],
    ['trailing separator: empty route, still reported', 'JSESSIONID=abc.', balanced('')],
    ['quoted value is not unquoted', 'JSESSIONID="abc.b"', balanced('b"')],
    ['blanks around =', 'JSESSIONID = abc.b', toB],
    ['tab before =', 'JSESSIONID\t=abc.b', toB],
    ['cut at ;', 'JSESSIONID=abc.b;Path=/', toB],
    ['cut at , (two Cookie headers joined)', 'JSESSIONID=abc.b, other=1', toB],
    ['second of two joined Cookie headers', 'other=1, JSESSIONID=abc.b', toB],
    ['right after ","', 'other=1,JSESSIONID=abc.b', toB],
    ['after ; without blank', 'x=1;JSESSIONID=abc.b', toB],
    ['after a tab', 'x=1\tJSESSIONID=abc.b', toB],
    ['wrong case name', 'jsessionid=abc.b', balanced(null)],
    ['name inside another name is skipped', 'MYJSESSIONID=abc.a; JSESSIONID=abc.b', toB],
    ['name inside another name only', 'xJSESSIONID=abc.b', balanced(null)],
    ['"=" without a value', 'JSESSIONID=', balanced(null)],
    ['empty value before ";": no separator, no route', 'JSESSIONID=; JSESSIONID=abc.b', balanced(null)],
    // httpd resumes the search two characters past the one it examined for "=", so an occurrence
    // starting right after "JSESSIONID;" is never seen.
    ['bare name directly followed by the cookie', 'JSESSIONID;JSESSIONID=abc.b', balanced(null)],
    ['bare name, blank, then the cookie', 'JSESSIONID; JSESSIONID=abc.b', toB],
  ])('%s: %s', (_label, cookie, expected) => {
    expect(outcome('/app', cookie)).toEqual(expected);
  });

  it('no Cookie header: load-balanced, no session variables', () => {
    expect(outcome('/app', undefined)).toEqual(balanced(null));
  });

  it('cookieParam returns the raw value', () => {
    // Blanks are skipped before "=" only: the value keeps the blank after it.
    expect(cookieParam('a=1; JSESSIONID = x.y;z', 'JSESSIONID')).toBe(' x.y');
    expect(cookieParam('JSESSIONID=x.y,z;w', 'JSESSIONID')).toBe('x.y');
    expect(cookieParam('JSESSIONID=x\0.b', 'JSESSIONID')).toBe('x'); // a C string ends at NUL
  });
});

describe('URL lookup (B:139-163)', () => {
  const toC = { member: 'c', stickyName: 'jsessionid', route: 'c', routeChanged: false };
  const viaUrl = (route: string) => ({ ...balanced(route, 'jsessionid') });

  it.each<[string, string, Outcome]>([
    ['path parameter', '/app;jsessionid=abc.c', toC],
    ['scolonpathdelim Off: ";foo" stays in the value', '/app;jsessionid=abc.c;foo=1', viaUrl('c;foo=1')],
    ['"/" is not a delimiter', '/app;jsessionid=abc.c/more', viaUrl('c/more')],
    ['start of the query', '/app?jsessionid=abc.c', toC],
    ['middle of the query', '/app?x=1&jsessionid=abc.c&y=2', toC],
    ['substring of another name matches', '/app?xjsessionid=abc.c', toC],
    ['path before query: first occurrence wins', '/app;jsessionid=abc.c?jsessionid=abc.b', toC],
    ['strtok skips leading delimiters', '/app?jsessionid=&x=abc.c', toC],
    ['wrong case name: not found', '/app?JSESSIONID=abc.c', balanced(null)],
    ['"=" at the end: not found', '/app?jsessionid=', balanced(null)],
    ['occurrence right after a bare name is skipped', '/jsessionidjsessionid=abc.c', balanced(null)],
  ])('%s: %s', (_label, url, expected) => {
    expect(outcome(url, undefined)).toEqual(expected);
  });

  it('scolonpathdelim On: ";" ends the value', () => {
    expect(outcome('/app;jsessionid=abc.c;foo=1', undefined, { scolonpathdelim: true })).toEqual(toC);
    expect(pathParam('/x;jsessionid=abc.c;foo=1', 'jsessionid', true)).toBe('abc.c');
    expect(pathParam('/x;jsessionid=abc.c;foo=1', 'jsessionid', false)).toBe('abc.c;foo=1');
  });

  it('URL first, cookie only when the URL gave no value', () => {
    expect(outcome('/app?jsessionid=abc.c', 'JSESSIONID=abc.b')).toEqual(toC);
    expect(outcome('/app', 'JSESSIONID=abc.b')).toEqual(toB);
  });

  it('a URL value without a separator shadows a valid cookie', () => {
    expect(outcome('/app;jsessionid=abc', 'JSESSIONID=abc.b')).toEqual(balanced(null));
  });

  it('a URL value of only delimiters is no value: the cookie is used', () => {
    expect(outcome('/app?jsessionid=&', 'JSESSIONID=abc.b')).toEqual(toB);
  });

  it('the search covers httpd\'s whole internal URL, balancer://name included', () => {
    // A contrived parameter name that only occurs across the boundary: "balancer://cluster" + "/p=…".
    const o = outcome('/p=abc.b', undefined, { stickysession: { cookie: 'X', param: 'er/p' } });
    expect(o).toEqual({ member: 'b', stickyName: 'er/p', route: 'b', routeChanged: false });
  });
});

describe('stickysession names and separators (§2.1)', () => {
  it('stickysession=X uses X for both the cookie and the URL', () => {
    const both = { stickysession: { cookie: 'ROUTEID', param: 'ROUTEID' } };
    expect(outcome('/', 'ROUTEID=.b', both)).toEqual({ ...toB, stickyName: 'ROUTEID' });
    expect(outcome('/?ROUTEID=.b', undefined, both)).toEqual({ ...toB, stickyName: 'ROUTEID' });
  });

  it('stickysessionsep=! splits at "!" only', () => {
    expect(outcome('/', 'JSESSIONID=abc!b', { stickysessionsep: '!' })).toEqual(toB);
    expect(outcome('/', 'JSESSIONID=abc.b', { stickysessionsep: '!' })).toEqual(balanced(null));
  });

  it('stickysessionsep=Off: the whole value is the route', () => {
    const off = { stickysessionsep: null, stickysession: { cookie: 'ROUTEID', param: 'ROUTEID' } };
    expect(outcome('/', 'ROUTEID=b', off)).toEqual({ ...toB, stickyName: 'ROUTEID' });
    expect(outcome('/', 'ROUTEID=.b', off)).toEqual({ member: 'c', stickyName: 'ROUTEID', route: '.b', routeChanged: true });
  });

  it('no stickysession: no lookup and ROUTE_CHANGED never set', () => {
    expect(outcome('/app;jsessionid=abc.b', 'JSESSIONID=abc.b', { stickysession: null })).toEqual({
      member: 'c',
      stickyName: null,
      route: null,
      routeChanged: false,
    });
  });

  it('an empty cookie name (manager b_ss "|P") disables stickiness like no stickysession', () => {
    expect(outcome('/app?P=abc.b', undefined, { stickysession: { cookie: '', param: 'P' } })).toEqual({
      member: 'c',
      stickyName: null,
      route: null,
      routeChanged: false,
    });
  });
});

// Where the sticky route comes from, httpd vs stickyd (apache-semantics §2.1-§2.3, §9.3): the cookie and URL
// parameter matrix, scolonpathdelim, stickysessionsep. Every case has a balancer of its own, so a
// difference in one case cannot shift the load-balanced picks of the next.
//
// Members: a, b, c (routes a, b, c), d (route "a.b") and e (route z, loadfactor 5). A request
// without a usable route is load-balanced, and the first pick of a fresh balancer is e, so "no
// route" and "routed" are told apart at a glance. Each case sends its request twice and then a
// request without a session, which shows the lbstatus accounting of the sticky hits (§2.6).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Pair } from './harness/pair.js';

type Variant = 'pair' | 'scolon' | 'bang' | 'off' | 'single';

const VARIANT_PARAMS: Record<Variant, string> = {
  pair: 'stickysession=JSESSIONID|jsessionid',
  scolon: 'stickysession=JSESSIONID|jsessionid scolonpathdelim=On',
  bang: 'stickysession=ROUTEID stickysessionsep=!',
  off: 'stickysession=ROUTEID stickysessionsep=Off',
  single: 'stickysession=JSESSIONID',
};

interface StickyCase {
  name: string;
  variant: Variant;
  /** The request target after the mount (`/x...`). */
  path: string;
  headers?: Array<[string, string]>;
  /** What the spec says httpd extracts: BALANCER_SESSION_ROUTE (null: no route). */
  route: string | null;
  /** The member the spec says serves it (e: load-balanced). */
  served: string;
}

const cookie = (v: string): Array<[string, string]> => [['Cookie', v]];

const CASES: StickyCase[] = [
  // Cookie lookup (§2.2, §2.3).
  { name: 'cookie with a leading dot: .b', variant: 'pair', path: '/x', headers: cookie('JSESSIONID=.b'), route: 'b', served: 'b' },
  { name: 'cookie without a separator: no route', variant: 'pair', path: '/x', headers: cookie('JSESSIONID=abc'), route: null, served: 'e' },
  { name: 'cookie with two dots: the route is after the first', variant: 'pair', path: '/x', headers: cookie('JSESSIONID=abc.a.b'), route: 'a.b', served: 'd' },
  { name: 'cookie with a trailing dot: route ""', variant: 'pair', path: '/x', headers: cookie('JSESSIONID=abc.'), route: '', served: 'e' },
  { name: 'quoted cookie value: the quote stays in the route', variant: 'pair', path: '/x', headers: cookie('JSESSIONID="abc.b"'), route: 'b"', served: 'e' },
  { name: 'spaces around =', variant: 'pair', path: '/x', headers: cookie('JSESSIONID = abc.b'), route: 'b', served: 'b' },
  { name: 'cookie among others', variant: 'pair', path: '/x', headers: cookie('other=1; JSESSIONID=abc.c; more=2'), route: 'c', served: 'c' },
  { name: 'two Cookie headers, the session in the second', variant: 'pair', path: '/x', headers: [['Cookie', 'foo=1'], ['Cookie', 'JSESSIONID=abc.c']], route: 'c', served: 'c' },
  { name: 'two Cookie headers with a session each: the first wins', variant: 'pair', path: '/x', headers: [['Cookie', 'JSESSIONID=x.a'], ['Cookie', 'JSESSIONID=y.b']], route: 'a', served: 'a' },
  { name: 'wrong-case cookie name', variant: 'pair', path: '/x', headers: cookie('jsessionid=abc.b'), route: null, served: 'e' },
  { name: 'cookie name as a suffix of another name (xJSESSIONID)', variant: 'pair', path: '/x', headers: cookie('xJSESSIONID=abc.b'), route: null, served: 'e' },
  { name: 'cookie name inside another value (a=JSESSIONID=...)', variant: 'pair', path: '/x', headers: cookie('a=JSESSIONID=abc.b'), route: null, served: 'e' },
  { name: 'cookie name as a prefix of another name (JSESSIONIDX), then the real one', variant: 'pair', path: '/x', headers: cookie('JSESSIONIDX=abc.a; JSESSIONID=abc.c'), route: 'c', served: 'c' },
  { name: 'empty cookie value', variant: 'pair', path: '/x', headers: cookie('JSESSIONID='), route: null, served: 'e' },
  { name: 'cookie value cut at a comma', variant: 'pair', path: '/x', headers: cookie('JSESSIONID=abc.c,b'), route: 'c', served: 'c' },

  // URL lookup (§2.2): path parameters, query, precedence, decoding.
  { name: ';jsessionid= in the path', variant: 'pair', path: '/x;jsessionid=abc.b', route: 'b', served: 'b' },
  { name: ';jsessionid= followed by ;foo, scolonpathdelim Off: the rest is in the route', variant: 'pair', path: '/x;jsessionid=abc.c;foo=1', route: 'c;foo=1', served: 'e' },
  { name: ';jsessionid= followed by a path segment', variant: 'pair', path: '/x;jsessionid=abc.c/more', route: 'c/more', served: 'e' },
  { name: '?jsessionid= at the start of the query', variant: 'pair', path: '/x?jsessionid=abc.b', route: 'b', served: 'b' },
  { name: '&jsessionid= in the middle of the query', variant: 'pair', path: '/x?foo=1&jsessionid=abc.c&bar=2', route: 'c', served: 'c' },
  { name: 'the path parameter wins over the query', variant: 'pair', path: '/x;jsessionid=abc.a?jsessionid=abc.b', route: 'a', served: 'a' },
  { name: 'the URL wins over the cookie', variant: 'pair', path: '/x;jsessionid=abc.a', headers: cookie('JSESSIONID=abc.b'), route: 'a', served: 'a' },
  { name: 'a URL value without a dot shadows a valid cookie', variant: 'pair', path: '/x;jsessionid=abc', headers: cookie('JSESSIONID=abc.b'), route: null, served: 'e' },
  { name: '%3B is decoded: a path parameter', variant: 'pair', path: '/x%3Bjsessionid=abc.c', route: 'c', served: 'c' },
  { name: '%2E in the path is decoded to the separator', variant: 'pair', path: '/x;jsessionid=abc%2Eb', route: 'b', served: 'b' },
  { name: '%2E in the query is not decoded', variant: 'pair', path: '/x?jsessionid=abc%2Eb', route: null, served: 'e' },
  { name: 'xjsessionid= matches (plain substring search)', variant: 'pair', path: '/x?xjsessionid=abc.c', route: 'c', served: 'c' },
  { name: 'wrong-case URL parameter', variant: 'pair', path: '/x;JSESSIONID=abc.b', route: null, served: 'e' },
  { name: 'empty URL value at the end: the cookie is used', variant: 'pair', path: '/x?jsessionid=', headers: cookie('JSESSIONID=abc.b'), route: 'b', served: 'b' },
  { name: 'empty URL value before &: strtok skips to the next token', variant: 'pair', path: '/x?jsessionid=&a.c', headers: cookie('JSESSIONID=abc.b'), route: 'c', served: 'c' },
  { name: 'the cookie name is not looked up in the URL (C|P)', variant: 'pair', path: '/x?JSESSIONID=abc.b', route: null, served: 'e' },

  // scolonpathdelim On (§2.1, §2.2).
  { name: 'scolonpathdelim On: ; ends the value', variant: 'scolon', path: '/x;jsessionid=abc.c;foo=1', route: 'c', served: 'c' },
  { name: 'scolonpathdelim On: leading ; skipped', variant: 'scolon', path: '/x;jsessionid=;abc.b', route: 'b', served: 'b' },
  { name: 'scolonpathdelim On: ; in the query ends the value', variant: 'scolon', path: '/x?jsessionid=abc.b;x=1', route: 'b', served: 'b' },
  { name: 'scolonpathdelim On: the cookie is unaffected', variant: 'scolon', path: '/x', headers: cookie('JSESSIONID=abc.a'), route: 'a', served: 'a' },

  // stickysessionsep (§2.3).
  { name: 'stickysessionsep=!: cookie abc!b', variant: 'bang', path: '/x', headers: cookie('ROUTEID=abc!b'), route: 'b', served: 'b' },
  { name: 'stickysessionsep=!: a dot is no separator', variant: 'bang', path: '/x', headers: cookie('ROUTEID=abc.b'), route: null, served: 'e' },
  { name: 'stickysessionsep=!: URL parameter', variant: 'bang', path: '/x?ROUTEID=abc!c', route: 'c', served: 'c' },
  { name: 'stickysessionsep=Off: the whole value is the route', variant: 'off', path: '/x', headers: cookie('ROUTEID=b'), route: 'b', served: 'b' },
  { name: 'stickysessionsep=Off: a leading dot stays', variant: 'off', path: '/x', headers: cookie('ROUTEID=.b'), route: '.b', served: 'e' },
  { name: 'stickysessionsep=Off: a dotted value is a route of its own', variant: 'off', path: '/x', headers: cookie('ROUTEID=a.b'), route: 'a.b', served: 'd' },
  { name: 'stickysessionsep=Off: URL parameter', variant: 'off', path: '/x;ROUTEID=c', route: 'c', served: 'c' },

  // One name for cookie and URL parameter.
  { name: 'stickysession=JSESSIONID: cookie', variant: 'single', path: '/x', headers: cookie('JSESSIONID=abc.b'), route: 'b', served: 'b' },
  { name: 'stickysession=JSESSIONID: URL parameter of the same name', variant: 'single', path: '/x;JSESSIONID=abc.c', route: 'c', served: 'c' },
  { name: 'stickysession=JSESSIONID: lower-case URL parameter does not match', variant: 'single', path: '/x;jsessionid=abc.c', route: null, served: 'e' },
];

let pair: Pair;
let backends: Backend[];

describeConformance('conformance: sticky route extraction', () => {
  beforeAll(async () => {
    backends = await Promise.all(['a', 'b', 'c', 'd', 'e'].map(startBackend));
    const [a, b, c, d, e] = backends.map((x) => x.url);
    const blocks = CASES.map((k, i) => `
<Proxy balancer://s${i}>
  BalancerMember ${a} route=a
  BalancerMember ${b} route=b
  BalancerMember ${c} route=c
  BalancerMember ${d} route=a.b
  BalancerMember ${e} route=z loadfactor=5
  ProxySet ${VARIANT_PARAMS[k.variant]}
</Proxy>
ProxyPass /s${i} balancer://s${i}`);
    pair = await startPair(`ServerName front.test\n${blocks.join('\n')}`, backends);
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it.each(CASES.map((k, i) => [k.name, k, i] as const))('%s', async (_name, k, i) => {
    const req = { path: `/s${i}${k.path}`, ...(k.headers ? { headers: k.headers } : {}) };
    const r = await pair.run([
      { label: 'request', ...req },
      { label: 'same request again', ...req },
      { label: 'no session', path: `/s${i}/plain` },
    ]);
    // The spec's answer for httpd first: the harness reads httpd right.
    const first = r.apache[0]!;
    expect({ route: first.env.BALANCER_SESSION_ROUTE, served: first.servedBy }).toEqual({ route: k.route, served: k.served });
    expect(r.stickyd).toEqual(r.apache);
    // lbstatus and elected after the sticky hits and the load-balanced pick (§2.6, §3.2).
    const m = await pair.members(`s${i}`);
    expect(m.stickyd).toEqual(m.apache);
  });
});

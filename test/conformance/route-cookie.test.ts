// The route-cookie recipe of the mod_proxy_balancer docs, httpd vs stickyd:
//
//   Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
//
// httpd runs it through mod_headers; import-apache turns it into the balancers' `routecookie`.
// Compared: which responses carry the cookie and its value (attribute names compared without
// case, which cookies ignore: stickyd writes `Path`, the recipe `path`).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deadMemberUrl, startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Exchange, type Pair, type Step } from './harness/pair.js';

let pair: Pair;
let backends: Backend[];

/** Status, member, and the Set-Cookie headers with attribute names lower-cased. */
function cookies(e: Exchange) {
  const setCookie = e.headers
    .filter(([k]) => k === 'set-cookie')
    .map(([, v]) => v.split(';').map((part, i) => {
      const t = part.trim();
      if (i === 0) return t;
      const eq = t.indexOf('=');
      return eq < 0 ? t.toLowerCase() : `${t.slice(0, eq).toLowerCase()}=${t.slice(eq + 1)}`;
    }).join('; '));
  return { step: e.observation.step, status: e.observation.status, servedBy: e.observation.servedBy, routeChanged: e.observation.env.BALANCER_ROUTE_CHANGED, setCookie };
}

const get = (label: string, path: string, cookie?: string): Step => ({ label, path, ...(cookie ? { headers: [['Cookie', cookie]] } : {}) });

describeConformance('conformance: the ROUTEID route-cookie recipe', () => {
  beforeAll(async () => {
    backends = await Promise.all(['a', 'b'].map(startBackend));
    const [a, b] = backends.map((x) => x.url);
    const dead = await deadMemberUrl();
    pair = await startPair(
      `
ServerName front.test
Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
<Proxy balancer://rc>
  BalancerMember ${a} route=a
  BalancerMember ${b} route=b
  ProxySet stickysession=ROUTEID
</Proxy>
<Proxy balancer://rcdead>
  BalancerMember ${dead} route=x
  BalancerMember ${b} route=b
  ProxySet stickysession=ROUTEID
</Proxy>
<Proxy balancer://rcnone>
  BalancerMember ${dead} route=x
  ProxySet stickysession=ROUTEID
</Proxy>
<Proxy balancer://rc500>
  BalancerMember ${a}/status/500 route=a
  ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass /rc balancer://rc
ProxyPass /rcdead balancer://rcdead
ProxyPass /rcnone balancer://rcnone
ProxyPass /rc500 balancer://rc500
`,
      backends,
    );
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('the cookie is set when the route changed and only then', async () => {
    const x = await pair.exchange([
      get('no cookie: load-balanced', '/rc/x'),
      get('valid cookie', '/rc/x', 'ROUTEID=.b'),
      get('cookie without the dot: no route', '/rc/x', 'ROUTEID=b'),
      get('unknown route', '/rc/x', 'ROUTEID=.q'),
      get('route of a dead member: failover', '/rcdead/x', 'ROUTEID=.x'),
      get('the member answers 500', '/rc500/x'),
      get('no member answers: 503 from the proxy', '/rcnone/x'),
    ]);
    const apache = x.apache.map(cookies);
    expect(apache.map((c) => c.setCookie)).toEqual([
      ['ROUTEID=.a; path=/'],
      [],
      ['ROUTEID=.a; path=/'],
      ['ROUTEID=.b; path=/'],
      ['ROUTEID=.b; path=/'],
      ['ROUTEID=.a; path=/'],
      [],
    ]);
    expect(x.stickyd.map(cookies)).toEqual(apache);
  });
});

// Names and request mapping, httpd vs stickyd (apache-semantics §2.7, §7.2, §8): BALANCER_NAME lower-cased,
// member URLs normalized (scheme case), a member's base path prepended, and which path (and
// query) the member receives for the ProxyPass prefix cases, runs of slashes included. A member
// URL's trailing slash is a deliberate difference, pinned by a test of its own.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Pair, type Step } from './harness/pair.js';

let pair: Pair;
let backends: Backend[];

describeConformance('conformance: names and request mapping', () => {
  beforeAll(async () => {
    backends = await Promise.all(['a', 'b'].map(startBackend));
    const [a, b] = backends as [Backend, Backend];
    pair = await startPair(
      `
ServerName front.test
<Proxy balancer://MixedCase>
  BalancerMember HTTP://127.0.0.1:${a.port}
  BalancerMember http://127.0.0.1:${b.port}/base
</Proxy>
<Proxy balancer://trailing>
  BalancerMember http://127.0.0.1:${b.port}/base/
</Proxy>
<Proxy balancer://app>
  BalancerMember ${a.url}
</Proxy>
ProxyPass /names balancer://MixedCase
ProxyPass /trailing balancer://trailing
ProxyPass /app/static !
ProxyPass /app balancer://app/inner
ProxyPass /slash/ balancer://app/
`,
      backends,
    );
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  async function compare(steps: Step[]) {
    const x = await pair.exchange(steps);
    const view = (e: (typeof x.apache)[number]) => ({ ...e.observation, received: e.received.map((r) => `${r.backend} ${r.method} ${r.url}`) });
    const apache = x.apache.map(view);
    expect(x.stickyd.map(view)).toEqual(apache);
    return apache;
  }

  it('BALANCER_NAME is lower-cased; member URLs are normalized; a base path is prepended (§2.7, §7.2)', async () => {
    const r = await compare([
      { label: 'first', path: '/names/x?q=1' },
      { label: 'second', path: '/names/x?q=1' },
    ]);
    expect(r.map((o) => [o.env.BALANCER_NAME, o.env.BALANCER_WORKER_NAME, o.received[0]])).toEqual([
      ['balancer://mixedcase', `http://127.0.0.1:${backends[0]!.port}`, 'a GET /x?q=1'],
      ['balancer://mixedcase', `http://127.0.0.1:${backends[1]!.port}/base`, 'b GET /base/x?q=1'],
    ]);
  });

  it('ProxyPass prefixes: exact, an exclusion, encoded characters, a prefix ending in / (§8)', async () => {
    await compare([
      { label: 'exact mount', path: '/app' },
      { label: 'below the mount', path: '/app/x/y?a=1&b=%20' },
      { label: 'not a path segment boundary', path: '/appx' },
      { label: 'excluded', path: '/app/static/logo.png' },
      { label: 'encoded characters', path: '/app/a%20b/c%3Fd' },
      { label: 'dot segments', path: '/app/x/../y/./z' },
      { label: 'prefix with trailing slash', path: '/slash/x' },
      { label: 'prefix with trailing slash, exact without it', path: '/slash' },
    ]);
  });

  it('requests httpd refuses or does not map: 404 and 400, no member chosen (§8)', async () => {
    const r = await compare([
      { label: 'no ProxyPass matches', path: '/nowhere' },
      { label: 'encoded slash (AllowEncodedSlashes Off)', path: '/app/a%2Fb' },
      { label: 'malformed escape', path: '/app/%zz' },
      { label: 'climbs above the root', path: '/app/../../x' },
    ]);
    expect(r.map((o) => o.status)).toEqual([404, 404, 400, 400]);
  });

  // DELIBERATE DIFFERENCE (src/config/url.ts): stickyd drops a member URL's trailing slash, so
  // that `http://h/base/` + `/x` does not send `//x`; httpd keeps the slash in the worker name and
  // sends the doubled slash. This test pins both behaviours.
  it('deliberate: a member URL with a trailing slash (httpd sends //, stickyd does not)', async () => {
    const x = await pair.exchange([{ label: 'trailing', path: '/trailing/x' }]);
    const port = backends[1]!.port;
    const seen = (front: 'apache' | 'stickyd') => [x[front][0]!.observation.env.BALANCER_WORKER_NAME, x[front][0]!.received[0]?.url];
    expect(seen('apache')).toEqual([`http://127.0.0.1:${port}/base/`, '/base//x']);
    expect(seen('stickyd')).toEqual([`http://127.0.0.1:${port}/base`, '/base/x']);
  });

  // httpd's core merges runs of slashes in the request path before mod_proxy sees it
  // (MergeSlashes, default On since 2.4.39), so `//app//x` reaches the member as `/inner/x`.
  // Found by this suite as a stickyd bug (it forwarded `/inner//x`); fixed in 109bf08.
  it('runs of slashes are merged before forwarding (MergeSlashes On)', async () => {
    const r = await compare([
      { label: 'runs of slashes', path: '//app//x' },
      { label: 'runs of slashes below the mount', path: '/app/x//y///z' },
    ]);
    expect(r.map((o) => o.received[0])).toEqual(['a GET /inner/x', 'a GET /inner/x/y/z']);
  });
});

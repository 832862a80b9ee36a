// The path a member receives, httpd vs stickyd: ProxyPass's default canonicalisation
// (ap_proxy_canonenc: the decoded path re-encoded, `|` → %7C, %3B → `;`, %41 → `A`, …), the raw
// query, and `nocanon` (the client's bytes). Then the deliberate difference of the servlet-form
// matching: an exclusion httpd lets through with a path parameter, stickyd holds.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Pair, type Step } from './harness/pair.js';

let pair: Pair;
let backends: Backend[];

/** Byte shapes of a request path: raw characters, escapes of every class, bytes above 0x7F. */
const SHAPES = [
  '/plain/x-1_2.3',
  '/a|b',
  '/a%7Cb',
  '/a%7cb',
  '/x%3Bjsessionid=abc.b',
  '/x;jsessionid=abc.b',
  '/a%2Eb',
  '/a%2e%2e/b',
  '/a/%2e%2e/b',
  '/%41%42%63',
  '/a%20b',
  '/a+b%2B',
  '/~user/%7E',
  '/[x]{y}',
  '/a^b`c',
  '/a"b<c>',
  '/%25/%2525',
  '/a%3Fb%23c',
  "/a:b@c&d=e$f,g!h*i'j(k)l",
  '/%C3%A9t%C3%A9',
  '/a%09b%7F%01',
  '/a?q=%7C|&x=%20',
  '/a%7C?b=%41',
  '/seg;p=1/%3B/x',
];

describeConformance('conformance: the forwarded path (ProxyPass canonicalisation, nocanon)', () => {
  beforeAll(async () => {
    backends = await Promise.all(['a'].map(startBackend));
    const [a] = backends as [Backend];
    pair = await startPair(
      `
ServerName front.test
<Proxy balancer://canon>
  BalancerMember ${a.url}/base
</Proxy>
<Proxy balancer://raw>
  BalancerMember ${a.url}
</Proxy>
ProxyPass /manager !
ProxyPass /raw balancer://raw/raw nocanon
ProxyPass / balancer://canon/
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
    const view = (e: (typeof x.apache)[number]) => ({ step: e.observation.step, status: e.observation.status, received: e.received.map((r) => r.url) });
    const apache = x.apache.map(view);
    expect(x.stickyd.map(view)).toEqual(apache);
    return apache;
  }

  it('canonicalised: the member receives the same bytes for every shape (ap_proxy_canonenc)', async () => {
    const r = await compare(SHAPES.map((p) => ({ label: p, path: p })));
    // httpd's own answers, so that both fronts cannot agree on nonsense.
    const got = (p: string) => r.find((o) => o.step === p)?.received[0];
    expect(got('/a|b')).toBe('/base/a%7Cb');
    expect(got('/a%7cb')).toBe('/base/a%7Cb');
    expect(got('/x%3Bjsessionid=abc.b')).toBe('/base/x;jsessionid=abc.b');
    expect(got('/a%2Eb')).toBe('/base/a.b');
    expect(got('/%41%42%63')).toBe('/base/ABc');
    expect(got('/a?q=%7C|&x=%20')).toBe('/base/a?q=%7C|&x=%20');
  });

  it('nocanon: the member receives the client\'s bytes after the prefix, query included', async () => {
    const r = await compare(['/raw/a%7cb?x=%41', '/raw/a|b', '/raw/%41/%3B;p', '/raw/x%20y'].map((p) => ({ label: p, path: p })));
    expect(r.map((o) => o.received[0])).toEqual(['/raw/a%7cb?x=%41', '/raw/a|b', '/raw/%41/%3B;p', '/raw/x%20y']);
  });

  // DELIBERATE DIFFERENCE (README, "Differences from Apache"): httpd matches `ProxyPass /manager !`
  // against the decoded path, so a path parameter in it, or `..;` (a dot segment to Tomcat, not to
  // httpd), passes the exclusion; the Tomcat member then strips the parameter and serves
  // /manager/html. stickyd matches every rule on the servlet form (httpd's `mapping=servlet`) and
  // answers 404 without forwarding anything.
  it('deliberate: an exclusion holds for the servlet spellings of its path', async () => {
    const shapes = ['/manager;x/html', '/app/..;/manager/html', '/manager%3Bx/html', '/;x/manager/html'];
    const x = await pair.exchange(shapes.map((p) => ({ label: p, path: p })));
    expect(x.apache.map((e) => [e.observation.status, e.received.map((r) => r.url)])).toEqual([
      [200, ['/base/manager;x/html']],
      [200, ['/base/app/..;/manager/html']],
      [200, ['/base/manager;x/html']],
      [200, ['/base/;x/manager/html']],
    ]);
    expect(x.stickyd.map((e) => [e.observation.status, e.received.length])).toEqual([[404, 0], [404, 0], [404, 0], [404, 0]]);
  });
});

// Headers, httpd vs stickyd (apache-semantics §8, §9.12): what the member receives (Host with
// ProxyPreserveHost Off and On, X-Forwarded-* appended, hop-by-hop headers stripped) and what
// the client gets back (ProxyPassReverse on Location / Content-Location, cookie path and domain
// rewrites, hop-by-hop response headers stripped, Connection: close on a 503).
//
// Every request carries the same explicit Host on both fronts, so absolute URLs built from it
// are the same strings.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Exchange, type Pair, type Step } from './harness/pair.js';

const HOST = 'www.example.test:8080';

function scenario(a: string, b: string, preserveHost: 'On' | 'Off'): string {
  return `
ServerName front.test
ProxyPreserveHost ${preserveHost}
<Proxy balancer://rv>
  BalancerMember ${a}
  BalancerMember ${b}
</Proxy>
<Proxy balancer://down>
  BalancerMember ${a} status=+D
</Proxy>
ProxyPass /rv balancer://rv
ProxyPassReverse /rv balancer://rv
ProxyPass /down balancer://down
ProxyPassReverseCookiePath /app /rv
ProxyPassReverseCookieDomain backend.local public.test
`;
}

/** The request headers a member received, for the names a test looks at. */
function receivedHeaders(x: Exchange, names: string[]): Array<[string, string]> {
  const r = x.received[0];
  if (r === undefined) throw new Error(`no backend received ${x.observation.step}`);
  return r.headers.filter(([k]) => names.includes(k));
}

function responseHeaders(x: Exchange, names: string[]): Array<[string, string]> {
  return x.headers.filter(([k]) => names.includes(k));
}

/** Both fronts, one Host-preserving setting. */
function suite(preserveHost: 'On' | 'Off'): void {
  let pair: Pair;
  let backends: Backend[];

  beforeAll(async () => {
    backends = await Promise.all(['a', 'b'].map(startBackend));
    pair = await startPair(scenario(backends[0]!.url, backends[1]!.url, preserveHost), backends);
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  it(`Host and X-Forwarded-* reach the member as httpd sends them (ProxyPreserveHost ${preserveHost})`, async () => {
    const steps: Step[] = [
      { label: 'plain', path: '/rv/x', host: HOST },
      {
        label: 'X-Forwarded-* already present: appended',
        path: '/rv/x',
        host: HOST,
        headers: [['X-Forwarded-For', '10.0.0.9'], ['X-Forwarded-Host', 'first.test'], ['X-Forwarded-Server', 'edge.test']],
      },
    ];
    const x = await pair.exchange(steps);
    const names = ['host', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-server', 'via'];
    const seen = (front: 'apache' | 'stickyd') => x[front].map((e) => receivedHeaders(e, names));
    const member = `127.0.0.1:${backends[x.apache[0]!.received[0]!.backend === 'a' ? 0 : 1]!.port}`;
    expect(seen('apache')[0]).toEqual([
      ['host', preserveHost === 'On' ? HOST : member],
      ['x-forwarded-for', '127.0.0.1'],
      ['x-forwarded-host', HOST],
      ['x-forwarded-server', 'front.test'],
    ]);
    expect(seen('stickyd')).toEqual(seen('apache'));
    expect(x.stickyd.map((e) => e.observation)).toEqual(x.apache.map((e) => e.observation));
  });

  it(`repeated X-Forwarded-For headers are merged, then appended to (ProxyPreserveHost ${preserveHost})`, async () => {
    const x = await pair.exchange([
      { label: 'two X-Forwarded-For', path: '/rv/x', host: HOST, headers: [['X-Forwarded-For', '10.0.0.1'], ['X-Forwarded-For', '10.0.0.2']] },
    ]);
    const apache = receivedHeaders(x.apache[0]!, ['x-forwarded-for']);
    expect(apache).toEqual([['x-forwarded-for', '10.0.0.1, 10.0.0.2, 127.0.0.1']]);
    expect(receivedHeaders(x.stickyd[0]!, ['x-forwarded-for'])).toEqual(apache);
  });

  // DELIBERATE DIFFERENCE (not in the spec): httpd merges every repeated request header into one
  // line joined with ", " when it reads the request (the core compresses headers_in with
  // APR_OVERLAP_TABLES_MERGE), so the member gets `Cookie: a=1, JSESSIONID=s.b`. That is allowed
  // only for list-based fields (RFC 9110 §5.3); Cookie is not one, and RFC 6265 parsers (Tomcat's
  // among them) read "1," as the value of a. stickyd forwards repeated headers as the separate lines
  // the client sent, in order: the same information, without the damage (README, "Differences").
  it(`repeated request headers: httpd merges them with ", ", stickyd keeps the client's lines (ProxyPreserveHost ${preserveHost})`, async () => {
    const x = await pair.exchange([
      { label: 'repeated headers', path: '/rv/x', host: HOST, headers: [['Cookie', 'a=1'], ['Cookie', 'JSESSIONID=s.b'], ['X-Multi', 'one'], ['X-Multi', 'two']] },
    ]);
    const names = ['cookie', 'x-multi'];
    expect(receivedHeaders(x.apache[0]!, names)).toEqual([['cookie', 'a=1, JSESSIONID=s.b'], ['x-multi', 'one, two']]);
    expect(receivedHeaders(x.stickyd[0]!, names)).toEqual([['cookie', 'a=1'], ['cookie', 'JSESSIONID=s.b'], ['x-multi', 'one'], ['x-multi', 'two']]);
    // Routing agrees: both proxies read the route from the joined Cookie value (apache-semantics §2.2).
    expect(x.stickyd[0]!.observation.servedBy).toBe(x.apache[0]!.observation.servedBy);
  });

  // (Trailer is left out: node's client refuses it on a request without a chunked body.)
  it(`hop-by-hop request headers are not forwarded (ProxyPreserveHost ${preserveHost})`, async () => {
    const x = await pair.exchange([
      {
        label: 'hop-by-hop',
        path: '/rv/x',
        host: HOST,
        headers: [
          ['Connection', 'close, X-Hop-Req'],
          ['X-Hop-Req', 'listed in Connection'],
          ['Keep-Alive', 'timeout=5'],
          ['TE', 'trailers'],
          ['Upgrade', 'h2c'],
          ['X-Kept', 'end to end'],
        ],
      },
    ]);
    const names = ['x-hop-req', 'keep-alive', 'te', 'trailer', 'upgrade', 'x-kept'];
    const apache = receivedHeaders(x.apache[0]!, names);
    expect(apache).toEqual([['x-kept', 'end to end']]);
    expect(receivedHeaders(x.stickyd[0]!, names)).toEqual(apache);
    // Connection on the member's side is the proxy's own (httpd sends "Keep-Alive" for its pooled
    // connection); the client's "close, X-Hop-Req" must not be in it.
    for (const front of ['apache', 'stickyd'] as const) {
      for (const [, v] of receivedHeaders(x[front][0]!, ['connection'])) expect(v.toLowerCase(), front).toBe('keep-alive');
    }
  });

  it(`ProxyPassReverse rewrites Location and Content-Location; cookie paths and domains are rewritten (ProxyPreserveHost ${preserveHost})`, async () => {
    const steps: Step[] = ['own', 'bare', 'upper', 'local', 'foreign'].map((loc) => ({ label: `Location ${loc}`, path: `/rv/reverse?loc=${loc}`, host: HOST }));
    const x = await pair.exchange(steps);
    const names = ['location', 'content-location', 'set-cookie'];
    const apache = x.apache.map((e) => responseHeaders(e, names));
    // The spec's examples (§8) on httpd's first answer.
    expect(apache[0]).toEqual([
      ['location', `http://${HOST}/rv/bar?q=1`],
      ['content-location', `http://${HOST}/rv/content`],
      ['set-cookie', 'A=1; Path=/rv; HttpOnly'],
      ['set-cookie', 'B=2; path=/rv'],
      ['set-cookie', 'C=3; Path=/other'],
      ['set-cookie', 'D=4; Domain=public.test; Path=/rv'],
      ['set-cookie', 'E=5; domain=sub.backend.local'],
    ]);
    expect(apache.slice(1).map((h) => h[0])).toEqual([
      ['location', `http://${HOST}/rv`],
      ['location', `http://${HOST}/rv/upper`],
      ['location', '/local'],
      ['location', 'http://elsewhere.test:8080/x'],
    ]);
    expect(x.stickyd.map((e) => responseHeaders(e, names))).toEqual(apache);
    expect(x.stickyd.map((e) => e.observation)).toEqual(x.apache.map((e) => e.observation));
  });

  it(`hop-by-hop response headers are stripped (ProxyPreserveHost ${preserveHost})`, async () => {
    const x = await pair.exchange([{ label: 'hop response', path: '/rv/hop', host: HOST }]);
    const names = ['keep-alive', 'proxy-authenticate', 'trailer', 'upgrade', 'x-resp-hop', 'x-resp-kept', 'x-resp-multi'];
    const apache = responseHeaders(x.apache[0]!, names);
    expect(apache.filter(([k]) => k !== 'x-resp-multi')).toEqual([['x-resp-kept', 'end to end']]);
    expect(responseHeaders(x.stickyd[0]!, names)).toEqual(apache);
  });

  it(`a 503 closes the client connection, also when the client asked to keep it (ProxyPreserveHost ${preserveHost})`, async () => {
    const x = await pair.exchange([{ label: '503 keep-alive', path: '/down/x', host: HOST, headers: [['Connection', 'keep-alive']] }]);
    const apache = { status: x.apache[0]!.observation.status, connection: responseHeaders(x.apache[0]!, ['connection']) };
    expect(apache).toEqual({ status: 503, connection: [['connection', 'close']] });
    expect({ status: x.stickyd[0]!.observation.status, connection: responseHeaders(x.stickyd[0]!, ['connection']) }).toEqual(apache);
  });
}

describeConformance('conformance: headers, ProxyPreserveHost Off', () => suite('Off'));
describeConformance('conformance: headers, ProxyPreserveHost On', () => suite('On'));

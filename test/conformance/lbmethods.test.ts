// Load-balanced picks, httpd vs stickyd (apache-semantics §3, §9.1, §9.13): byrequests with 1,2,3, with
// 1,1,1,2 and with fractional loadfactors; bybusyness and bytraffic on sequential traffic. Each
// balancer serves one test, so the tests do not share lbstatus.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { patience } from '../helpers/patience.js';
import { startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Observation, type Pair, type Step } from './harness/pair.js';

let pair: Pair;
let backends: Backend[];

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + patience(timeoutMs);
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a backend to receive the held request');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function gets(mount: string, n: number, suffix = (_i: number) => '/x'): Step[] {
  return Array.from({ length: n }, (_, i) => ({ label: `${mount} #${i + 1}`, path: `/${mount}${suffix(i)}` }));
}

describeConformance('conformance: load-balancing methods', () => {
  beforeAll(async () => {
    backends = await Promise.all(['a', 'b', 'c', 'd'].map(startBackend));
    const [a, b, c, d] = backends.map((x) => x.url);
    pair = await startPair(
      `
ServerName front.test
<Proxy balancer://br123>
  BalancerMember ${a} route=a loadfactor=1
  BalancerMember ${b} route=b loadfactor=2
  BalancerMember ${c} route=c loadfactor=3
</Proxy>
<Proxy balancer://br1112>
  BalancerMember ${a} loadfactor=1
  BalancerMember ${b} loadfactor=1
  BalancerMember ${c} loadfactor=1
  BalancerMember ${d} loadfactor=2
</Proxy>
<Proxy balancer://brfrac>
  BalancerMember ${a} loadfactor=2.25
  BalancerMember ${b} loadfactor=1
  BalancerMember ${c} loadfactor=1.5
</Proxy>
<Proxy balancer://busy>
  BalancerMember ${a} loadfactor=1
  BalancerMember ${b} loadfactor=2
  BalancerMember ${c} loadfactor=3
  ProxySet lbmethod=bybusyness
</Proxy>
<Proxy balancer://busyheld>
  BalancerMember ${a} loadfactor=1
  BalancerMember ${b} loadfactor=2
  BalancerMember ${c} loadfactor=3
  ProxySet lbmethod=bybusyness
</Proxy>
<Proxy balancer://traffic>
  BalancerMember ${a} loadfactor=1
  BalancerMember ${b} loadfactor=2
  BalancerMember ${c} loadfactor=3
  ProxySet lbmethod=bytraffic
</Proxy>
<Proxy balancer://trafficexact>
  BalancerMember ${a}
  BalancerMember ${b}
  ProxySet lbmethod=bytraffic
</Proxy>
<Proxy balancer://trafficbig>
  BalancerMember ${a}
  BalancerMember ${b}
  BalancerMember ${c}
  ProxySet lbmethod=bytraffic
</Proxy>
ProxyPass /br123 balancer://br123
ProxyPass /br1112 balancer://br1112
ProxyPass /brfrac balancer://brfrac
ProxyPass /busy balancer://busy
ProxyPass /busyheld balancer://busyheld
ProxyPass /traffic balancer://traffic
ProxyPass /trafficbig balancer://trafficbig
ProxyPass /trafficexact balancer://trafficexact
`,
      backends,
    );
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('byrequests 1,2,3 over 12 requests: c b a c b c c b a c b c (§3.2 worked example)', async () => {
    const r = await pair.run(gets('br123', 12));
    expect(r.apache.map((o) => o.servedBy).join(' ')).toBe('c b a c b c c b a c b c');
    expect(r.stickyd).toEqual(r.apache);
    const m = await pair.members('br123');
    // After two full cycles every lbstatus is back to 0 and elected follows the loadfactors.
    expect(m.apache.map((x) => [x.lbstatus, x.elected])).toEqual([[0, 2], [0, 4], [0, 6]]);
    expect(m.stickyd).toEqual(m.apache);
  });

  it('byrequests 1,1,1,2: d a b c d d a b c d (§3.2)', async () => {
    const r = await pair.run(gets('br1112', 10));
    expect(r.apache.map((o) => o.servedBy).join(' ')).toBe('d a b c d d a b c d');
    expect(r.stickyd).toEqual(r.apache);
    const m = await pair.members('br1112');
    expect(m.stickyd).toEqual(m.apache);
  });

  it('byrequests with fractional loadfactors 2.25, 1, 1.5 (lbfactor = int(loadfactor × 100))', async () => {
    const r = await pair.run(gets('brfrac', 19));
    // 19 picks = one cycle of the 225:100:150 ratio (lbstatus sums to 0 every 475/25 = 19 picks).
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const o of r.apache) counts[o.servedBy!]!++;
    expect(counts).toEqual({ a: 9, b: 4, c: 6 });
    expect(r.stickyd).toEqual(r.apache);
    const m = await pair.members('brfrac');
    expect(m.apache.map((x) => x.loadfactor)).toEqual([2.25, 1, 1.5]);
    expect(m.stickyd).toEqual(m.apache);
  });

  it('bybusyness on sequential traffic picks like byrequests (§3.3)', async () => {
    // httpd lowers busy only after the response has gone out, so the client can send the next
    // request before that: each request waits until the front shows no member busy.
    const r = { apache: [] as Observation[], stickyd: [] as Observation[] };
    for (const front of ['apache', 'stickyd'] as const) {
      for (const step of gets('busy', 12)) {
        r[front].push((await pair.send(front, step)).observation);
        for (const deadline = Date.now() + patience(5_000); (await pair.members('busy'))[front].some((m) => m.busy !== 0); ) {
          if (Date.now() > deadline) throw new Error(`${front}: a member of balancer://busy stayed busy`);
        }
      }
    }
    expect(r.apache.map((o) => o.servedBy).join(' ')).toBe('c b a c b c c b a c b c');
    expect(r.stickyd).toEqual(r.apache);
    const m = await pair.members('busy');
    expect(m.stickyd).toEqual(m.apache);
  });

  it('bybusyness with c held busy by an unanswered request: b a b a b b (§3.3, §9.13)', async () => {
    const seen = { apache: [] as Observation[], stickyd: [] as Observation[] };
    for (const front of ['apache', 'stickyd'] as const) {
      // The first pick of the fresh balancer is c (highest lbfactor); it stays in flight.
      const held = pair.send(front, { label: 'held', path: `/busyheld/hold/${front}` });
      await until(() => backends[2]!.received.some((r) => r.url === `/hold/${front}`));
      for (let i = 1; i <= 6; i++) seen[front].push((await pair.send(front, { label: `while c is busy #${i}`, path: '/busyheld/x' })).observation);
      backends[2]!.release(front);
      seen[front].unshift({ ...(await held).observation, reached: [] });
    }
    expect(seen.apache.map((o) => o.servedBy).join(' ')).toBe('c b a b a b b');
    expect(seen.stickyd).toEqual(seen.apache);
    // busy is back to 0 everywhere once the held request has ended.
    const m = await pair.members('busyheld');
    expect(m.apache.map((x) => x.busy)).toEqual([0, 0, 0]);
    expect(m.stickyd).toEqual(m.apache);
  });

  it('bytraffic with unequal response sizes: the member with the fewest weighted bytes wins (§3.4)', async () => {
    // Response sizes dwarf the request headers (whose exact byte count differs between the two
    // proxies), so every pick is decided by the bodies alone.
    const sizes = [60_000, 20_000, 1, 1, 30_000, 1, 90_000, 1, 1, 1, 45_000, 1];
    const r = await pair.run(gets('traffic', sizes.length, (i) => `/bytes/${sizes[i]}`));
    expect(r.apache.slice(0, 4).map((o) => o.servedBy).join(' ')).toBe('a b c c');
    expect(r.stickyd).toEqual(r.apache);
  });

  it('bytraffic with equal loadfactors: big responses push a member back until the others catch up', async () => {
    const sizes = [50_000, 1, 1, 20_000, 1, 1, 1, 1];
    const r = await pair.run(gets('trafficbig', sizes.length, (i) => `/bytes/${sizes[i]}`));
    expect(r.apache.slice(0, 3).map((o) => o.servedBy).join(' ')).toBe('a b c');
    expect(r.stickyd).toEqual(r.apache);
  });

  it('bytraffic counts exactly what httpd counts: transferred = every byte sent, read = status line + body (§3.4)', async () => {
    // Unequal request sizes (POST bodies) and response sizes, and members with unequal numbers of
    // requests: a proxy that counted the response header lines, or missed a request header line
    // of its own, would see b's two requests as heavier than a's one at step 4 and pick a there.
    const steps: Step[] = [
      { label: 'a: big response', path: '/trafficexact/bytes/400' },
      { label: 'b: small response', path: '/trafficexact/bytes/50' },
      { label: 'b again: still the lighter one', path: '/trafficexact/bytes/50' },
      { label: 'b by less than a header block', path: '/trafficexact/bytes/7' },
      { label: 'POST with a body', path: '/trafficexact/bytes/3', method: 'POST', body: Buffer.alloc(333, 0x62) },
      { label: 'POST with a bigger body', path: '/trafficexact/bytes/3', method: 'POST', body: Buffer.alloc(611, 0x62) },
      { label: 'after the posts', path: '/trafficexact/bytes/1' },
      { label: 'and once more', path: '/trafficexact/bytes/1' },
    ];
    const r = await pair.run(steps);
    expect(r.apache.slice(0, 4).map((o) => o.servedBy).join(' ')).toBe('a b b b');
    expect(r.stickyd).toEqual(r.apache);
    const t = await pair.traffic('trafficexact');
    // The Host and X-Forwarded-Host lines name each front's own port: same length on both.
    expect(String(pair.apache.port).length).toBe(String(pair.stickyd.port).length);
    expect(t.stickyd).toEqual(t.apache);
  });
});

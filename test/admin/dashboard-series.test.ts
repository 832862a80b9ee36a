// The dashboard's arithmetic, without sockets: the fine response-time buckets and their
// percentiles, and the per-second samples and windows taken from the request figures (the sums
// /metrics publishes) — counts, shares, errors by kind, a reset of the figures, the ring's limit.
import { describe, expect, it } from 'vitest';
import { LATENCY_BUCKET_COUNT, latencyBucket, latencyUpperMs, quantileOfPairs, toPairs } from '../../src/admin/latency.js';
import { CAPACITY, SeriesKeeper, WINDOW_S } from '../../src/admin/dashboard/series.js';
import { RequestSums, type RequestFigures } from '../../src/admin/request-figures.js';
import { Balancer } from '../../src/balancer/balancer.js';
import type { AccessRecord } from '../../src/log.js';
import { ProxyCounters } from '../../src/proxy/counters.js';
import { configOf } from './fixtures.js';

const A = 'http://127.0.0.1:8081';
const B = 'http://127.0.0.1:8082';

function dense(values: number[]): number[] {
  const d = new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
  for (const v of values) d[latencyBucket(v)]!++;
  return d;
}

describe('response-time buckets', () => {
  it('put a duration in the bucket whose bounds hold it, a quarter octave wide, 50 µs to about 90 s', () => {
    expect(latencyBucket(0)).toBe(0);
    expect(latencyBucket(0.05)).toBe(0);
    expect(latencyBucket(0.0501)).toBe(1);
    expect(latencyBucket(1e9)).toBe(LATENCY_BUCKET_COUNT - 1);
    for (const ms of [0.06, 0.3, 0.8, 1, 1.5, 7, 42, 999, 12_345, 60_000]) {
      const i = latencyBucket(ms);
      expect(ms, `${ms} ms`).toBeLessThanOrEqual(latencyUpperMs(i) * (1 + 1e-12));
      expect(ms, `${ms} ms`).toBeGreaterThan(latencyUpperMs(i - 1) * (1 - 1e-12));
      expect(latencyUpperMs(i) / latencyUpperMs(i - 1)).toBeCloseTo(2 ** 0.25, 10);
    }
  });

  it('give percentiles within a bucket of the true ones', () => {
    const uniform = Array.from({ length: 1000 }, (_, i) => i + 1);
    const pairs = toPairs(dense(uniform));
    expect(quantileOfPairs(pairs, 0.5)! / 500).toBeGreaterThan(0.9);
    expect(quantileOfPairs(pairs, 0.5)! / 500).toBeLessThan(1.1);
    expect(quantileOfPairs(pairs, 0.99)! / 990).toBeGreaterThan(0.9);
    expect(quantileOfPairs(pairs, 0.99)! / 990).toBeLessThan(1.1);
    // 98 fast requests and 2 slow ones: p50 is fast, p99 is slow.
    const mixed = toPairs(dense([...Array<number>(98).fill(0.8), 250, 300]));
    expect(quantileOfPairs(mixed, 0.5)!).toBeGreaterThan(0.8 / 1.19);
    expect(quantileOfPairs(mixed, 0.5)!).toBeLessThanOrEqual(0.8 * 1.19);
    expect(quantileOfPairs(mixed, 0.99)!).toBeGreaterThan(200);
    expect(quantileOfPairs([], 0.5)).toBeNull();
  });
});

/** A thread's sums over a live balancer, fed with access records as the request path makes them. */
function sumsOf(): { sums: RequestSums; figures: () => RequestFigures; send: (rec: Partial<AccessRecord>, n?: number) => void } {
  const config = configOf(`balancers:
  c1:
    stickysession: JSESSIONID
    members:
      - { url: ${A}, route: a }
      - { url: ${B}, route: b }
`);
  const balancers = new Map([['c1', new Balancer(config.balancers[0]!)]]);
  const sums = new RequestSums({ config, balancers });
  const base: AccessRecord = {
    time: '',
    client: '127.0.0.1',
    method: 'GET',
    url: '/',
    status: 200,
    bytes: 10,
    duration: 1,
    balancer: 'balancer://c1',
    member: A,
    memberRoute: 'a',
    sessionRoute: null,
    stickyName: null,
    routeChanged: false,
    attempts: 1,
  };
  return {
    sums,
    figures: () => sums.figures({ ...new ProxyCounters() }),
    send(rec, n = 1) {
      for (let i = 0; i < n; i++) sums.observe({ ...base, ...rec });
    },
  };
}

const noBusy = (): number => 0;
const live = new Map([['c1', [A, B]]]);

describe('the samples and their windows', () => {
  it('count each second what was sent: requests, sticky hits, load-balanced picks, failures by kind, percentiles', () => {
    const t = sumsOf();
    const keeper = new SeriesKeeper();
    t.send({}, 5); // before the first reading: in the totals only
    expect(keeper.read(t.figures(), 10_000, live, noBusy)).toBeNull();

    t.send({ member: A, memberRoute: 'a', sessionRoute: null, duration: 2 }, 4); // new sessions on a
    t.send({ member: B, memberRoute: 'b', sessionRoute: null, duration: 2 }, 2); // new sessions on b
    t.send({ member: A, memberRoute: 'a', sessionRoute: 'a', stickyName: 'JSESSIONID', duration: 0.5 }, 3); // sticky on a
    // A session on b that failed over to a: load-balanced (BALANCER_ROUTE_CHANGED), b's connect failure counted.
    t.send({ member: A, memberRoute: 'a', sessionRoute: 'b', routeChanged: true, attempts: 2, failures: [{ member: B, kind: 'connect' }], duration: 40 });
    const s1 = keeper.read(t.figures(), 11_000, live, (_b, m) => (m === A ? 2 : 0))!;
    expect(s1.dt).toBe(1000);
    const c1 = s1.balancers.get('c1')!;
    expect([c1.n, c1.sticky, c1.failovers]).toEqual([10, 3, 1]);
    expect(c1.members.get(A)).toMatchObject({ n: 8, sticky: 3, errors: null, busy: 2 });
    expect(c1.members.get(B)).toMatchObject({ n: 2, sticky: 0, errors: { connect: 1 }, busy: 0 });

    t.send({ member: B, memberRoute: 'b', sessionRoute: 'b', stickyName: 'JSESSIONID', duration: 1 }, 2);
    keeper.read(t.figures(), 12_000, live, noBusy);
    // A quiet second: nothing kept for it but its time.
    const quiet = keeper.read(t.figures(), 13_000, live, noBusy)!;
    expect(quiet.balancers.size).toBe(0);

    const w = keeper.windows(13_000);
    const wb = w.balancers.get('c1')!;
    expect(wb).toMatchObject({ requests: 12, sticky: 5, balanced: 7, failovers: 1, errors: { connect: 1 } });
    expect(wb.rate).toBeCloseTo(12 / 3, 10);
    const wa = w.members.get('c1')!.get(A)!;
    const wB = w.members.get('c1')!.get(B)!;
    expect(wa).toMatchObject({ requests: 8, sticky: 3, balanced: 5, errors: {} });
    expect(wB).toMatchObject({ requests: 4, sticky: 2, balanced: 2, errors: { connect: 1 } });
    // a: 4 × 2 ms, 3 × 0.5 ms, 1 × 40 ms → the median is about 2 ms and p99 the slow one.
    expect(wa.p50!).toBeGreaterThan(2 / 1.19);
    expect(wa.p50!).toBeLessThanOrEqual(2 * 1.19);
    expect(wa.p99!).toBeGreaterThan(40 / 1.19);
    expect(wa.p99!).toBeLessThanOrEqual(40 * 1.19);
    expect(keeper.samples().map((s) => s.t)).toEqual([11_000, 12_000, 13_000]);
  });

  it('leaves out samples older than the window, keeps at most CAPACITY, and starts again after a pause or a reset', () => {
    const t = sumsOf();
    const keeper = new SeriesKeeper();
    keeper.read(t.figures(), 0, live, noBusy);
    for (let i = 1; i <= CAPACITY + 5; i++) {
      t.send({});
      keeper.read(t.figures(), i * 1000, live, noBusy);
    }
    expect(keeper.samples()).toHaveLength(CAPACITY);
    expect(keeper.samples()[0]!.t).toBe(6000);
    const end = (CAPACITY + 5) * 1000;
    expect(keeper.windows(end).balancers.get('c1')!.requests).toBe(WINDOW_S);
    expect(keeper.windows(end + 100 * 1000).balancers.get('c1')!.requests).toBe(WINDOW_S - 100);

    // Paused: the next reading is a baseline (the requests in between are not a second's).
    keeper.pause();
    t.send({}, 50);
    expect(keeper.read(t.figures(), end + 60_000, live, noBusy)).toBeNull();
    // Figures that start afresh (lower than before) are a baseline too, never negative counts.
    const fresh = sumsOf();
    fresh.send({}, 3);
    expect(keeper.read(fresh.figures(), end + 61_000, live, noBusy)).toBeNull();
    fresh.send({}, 2);
    expect(keeper.read(fresh.figures(), end + 62_000, live, noBusy)!.balancers.get('c1')!.n).toBe(2);
  });
});

describe('series documents keyed by names that are data', () => {
  it('a balancer named "constructor", removed while its samples remain, is a series like any other', async () => {
    const { seriesDoc } = await import('../../src/admin/dashboard/state.js');
    const member = { n: 3, sticky: 1, errors: null, lat: [], busy: 0 };
    const sample = (t: number) => ({
      t,
      dt: 1000,
      balancers: new Map([
        ['constructor', { n: 3, sticky: 1, failovers: 0, unavailable: 0, lat: [], members: new Map([['toString', member]]) }],
      ]),
    });
    const doc = seriesDoc([sample(1000), sample(2000)], []);
    expect(Object.keys(doc.balancers)).toEqual(['constructor']);
    const name: string = 'constructor';
    const url: string = 'toString';
    expect(doc.balancers[name]!.n).toEqual([3, 3]);
    expect(Object.keys(doc.balancers[name]!.members)).toEqual(['toString']);
    expect(doc.balancers[name]!.members[url]!.n).toEqual([3, 3]);
    // What the page receives parses into the same figures.
    expect(JSON.parse(JSON.stringify(doc)).balancers.constructor.n).toEqual([3, 3]);
  });
});

/**
 * The dashboard's memory of the last minutes: one sample per second in a ring of CAPACITY samples
 * (ten minutes), each holding what happened in that second per balancer and member — requests,
 * sticky hits, failures by kind, response times as a sparse histogram (latency.ts) — and the busy
 * count seen at its end.
 *
 * A sample is the difference between two readings of the request figures (request-figures.ts, the
 * sums /metrics publishes), so it is the same with one worker or N: with N the figures are the
 * totals the workers report, added up in this thread. Nothing is added to the request path.
 *
 * The windows the table shows are computed from the ring: the request rate over the last
 * RATE_WINDOW_S seconds, p50 and p99 over the last LATENCY_WINDOW_S seconds (the histograms of
 * those seconds added up, so the percentiles are of the requests, not an average of per-second
 * percentiles), and counts and shares over the whole WINDOW_S.
 */
import { addPairs, emptyLatency, quantileOfPairs, toPairs } from '../latency.js';
import type { RequestFigures } from '../request-figures.js';
import type { WindowFigures } from './model.js';

export const INTERVAL_MS = 1000;
export const CAPACITY = 600;
export const RATE_WINDOW_S = 10;
export const LATENCY_WINDOW_S = 60;
export const WINDOW_S = 600;

/** One member's second. */
export interface MemberSample {
  n: number;
  sticky: number;
  /** Failures by kind; null when none. */
  errors: Record<string, number> | null;
  /** Response times as (bucket, count) pairs. */
  lat: number[];
  busy: number;
}

/** One balancer's second. */
export interface BalancerSample {
  n: number;
  sticky: number;
  failovers: number;
  unavailable: number;
  lat: number[];
  members: Map<string, MemberSample>;
}

export interface Sample {
  /** The end of the interval (Unix ms) and its length (ms). */
  t: number;
  dt: number;
  balancers: Map<string, BalancerSample>;
}

/** Running totals of one member URL (over its routes) or one balancer, as read from the figures. */
interface MemberTotals {
  requests: number;
  sticky: number;
  errors: Record<string, number>;
  latency: number[];
}

interface BalancerTotals {
  requests: number;
  stickyHits: number;
  failovers: number;
  unavailable: number;
  latency: number[];
}

/** The figures regrouped: balancer name → totals, and balancer name → member URL → totals (routes summed). */
export interface Totals {
  balancers: Map<string, BalancerTotals>;
  members: Map<string, Map<string, MemberTotals>>;
}

export function totalsOf(f: RequestFigures): Totals {
  const balancers = new Map<string, BalancerTotals>();
  for (const b of f.balancers) {
    balancers.set(b.name, { requests: b.requests, stickyHits: b.stickyHits, failovers: b.failovers, unavailable: b.unavailable, latency: b.latency });
  }
  const members = new Map<string, Map<string, MemberTotals>>();
  for (const m of f.members) {
    let byUrl = members.get(m.balancer);
    if (byUrl === undefined) members.set(m.balancer, (byUrl = new Map()));
    const t = byUrl.get(m.member);
    if (t === undefined) {
      byUrl.set(m.member, { requests: m.requests, sticky: m.sticky, errors: { ...m.errors }, latency: [...m.latency] });
      continue;
    }
    // The same URL under an earlier route (the route was changed at runtime): one member for the dashboard.
    t.requests += m.requests;
    t.sticky += m.sticky;
    for (const [kind, n] of Object.entries(m.errors)) t.errors[kind] = (t.errors[kind] ?? 0) + n;
    m.latency.forEach((n, i) => (t.latency[i] = (t.latency[i] ?? 0) + n));
  }
  return { balancers, members };
}

/** cur − prev per bucket, as pairs (a counter that went down, which cannot happen, counts as 0). */
function latencyDelta(cur: readonly number[], prev: readonly number[] | undefined): number[] {
  const d = new Array<number>(cur.length);
  for (let i = 0; i < cur.length; i++) d[i] = Math.max(0, cur[i]! - (prev?.[i] ?? 0));
  return toPairs(d);
}

function errorsDelta(cur: Record<string, number>, prev: Record<string, number> | undefined): Record<string, number> | null {
  let out: Record<string, number> | null = null;
  for (const [kind, n] of Object.entries(cur)) {
    const d = n - (prev?.[kind] ?? 0);
    if (d > 0) (out ??= {})[kind] = d;
  }
  return out;
}

function errorCount(e: Record<string, number> | null): number {
  let n = 0;
  if (e !== null) for (const v of Object.values(e)) n += v;
  return n;
}

/** A fixed-size ring of samples, oldest first when read. */
class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  get length(): number {
    return this.items.length;
  }

  /** The newest item, then older ones, while `fn` returns true. */
  newestFirst(fn: (item: T) => boolean): void {
    for (let k = 0; k < this.items.length; k++) {
      const idx = (this.start + this.items.length - 1 - k) % this.items.length;
      if (!fn(this.items[idx]!)) return;
    }
  }
}

export interface Windows {
  balancers: Map<string, WindowFigures & { failovers: number; unavailable: number }>;
  members: Map<string, Map<string, WindowFigures>>;
}

function emptyWindow(): WindowFigures {
  return { rate: 0, requests: 0, sticky: 0, balanced: 0, errors: {}, p50: null, p99: null };
}

export class SeriesKeeper {
  private readonly ring: Ring<Sample>;
  /** The totals at the end of the last sample; null: the next reading is a new baseline. */
  private last: { t: number; totals: Totals } | null = null;

  constructor(capacity = CAPACITY) {
    this.ring = new Ring(capacity);
  }

  get capacity(): number {
    return this.ring.capacity;
  }

  /**
   * Take a reading of the figures at `now`; returns the sample of the interval since the previous
   * reading (null for the first reading after start() or a pause). `busy(balancer, member)` is
   * the busy count now; `members` lists the live members per balancer (whose busy is sampled).
   */
  read(figures: RequestFigures, now: number, members: ReadonlyMap<string, readonly string[]>, busy: (balancer: string, member: string) => number): Sample | null {
    const totals = totalsOf(figures);
    const last = this.last;
    this.last = { t: now, totals };
    if (last === null) return null;
    // Figures that went down were started afresh (the workers stop keeping them while the admin
    // listener moves): this reading is a new baseline, not an interval.
    for (const [name, prev] of last.totals.balancers) if ((totals.balancers.get(name)?.requests ?? 0) < prev.requests) return null;
    const sample: Sample = { t: now, dt: now - last.t, balancers: new Map() };
    const names = new Set([...totals.balancers.keys(), ...members.keys()]);
    for (const name of names) {
      const cur = totals.balancers.get(name);
      const prev = last.totals.balancers.get(name);
      const b: BalancerSample = {
        n: Math.max(0, (cur?.requests ?? 0) - (prev?.requests ?? 0)),
        sticky: Math.max(0, (cur?.stickyHits ?? 0) - (prev?.stickyHits ?? 0)),
        failovers: Math.max(0, (cur?.failovers ?? 0) - (prev?.failovers ?? 0)),
        unavailable: Math.max(0, (cur?.unavailable ?? 0) - (prev?.unavailable ?? 0)),
        lat: cur === undefined ? [] : latencyDelta(cur.latency, prev?.latency),
        members: new Map(),
      };
      const curMembers = totals.members.get(name);
      const prevMembers = last.totals.members.get(name);
      const urls = new Set([...(curMembers?.keys() ?? []), ...(members.get(name) ?? [])]);
      for (const url of urls) {
        const c = curMembers?.get(url);
        const p = prevMembers?.get(url);
        const m: MemberSample = {
          n: Math.max(0, (c?.requests ?? 0) - (p?.requests ?? 0)),
          sticky: Math.max(0, (c?.sticky ?? 0) - (p?.sticky ?? 0)),
          errors: c === undefined ? null : errorsDelta(c.errors, p?.errors),
          lat: c === undefined ? [] : latencyDelta(c.latency, p?.latency),
          busy: busy(name, url),
        };
        // Quiet members cost nothing in the ring.
        if (m.n > 0 || m.errors !== null || m.busy > 0) b.members.set(url, m);
      }
      if (b.n > 0 || b.members.size > 0 || b.unavailable > 0) sample.balancers.set(name, b);
    }
    this.ring.push(sample);
    return sample;
  }

  /** Sampling stopped: the next reading starts a new baseline (the gap shows as no samples). */
  pause(): void {
    this.last = null;
  }

  samples(): Sample[] {
    return this.ring.toArray();
  }

  /** The table's figures: rates, counts, shares and percentiles over the recent samples, as of `now`. */
  windows(now: number): Windows {
    const out: Windows = { balancers: new Map(), members: new Map() };
    const latB = new Map<string, number[]>();
    const latM = new Map<string, Map<string, number[]>>();
    let rateSeconds = 0;
    this.ring.newestFirst((s) => {
      const age = now - s.t;
      if (age >= WINDOW_S * 1000) return false;
      const inRate = age < RATE_WINDOW_S * 1000;
      const inLatency = age < LATENCY_WINDOW_S * 1000;
      if (inRate) rateSeconds += s.dt / 1000;
      for (const [name, b] of s.balancers) {
        let w = out.balancers.get(name);
        if (w === undefined) out.balancers.set(name, (w = { ...emptyWindow(), failovers: 0, unavailable: 0 }));
        w.requests += b.n;
        w.sticky += b.sticky;
        w.failovers += b.failovers;
        w.unavailable += b.unavailable;
        if (inRate) w.rate += b.n;
        if (inLatency && b.lat.length > 0) {
          let dense = latB.get(name);
          if (dense === undefined) latB.set(name, (dense = emptyLatency()));
          addPairs(dense, b.lat);
        }
        let ms = out.members.get(name);
        if (ms === undefined) out.members.set(name, (ms = new Map()));
        for (const [url, m] of b.members) {
          let mw = ms.get(url);
          if (mw === undefined) ms.set(url, (mw = emptyWindow()));
          mw.requests += m.n;
          mw.sticky += m.sticky;
          if (inRate) mw.rate += m.n;
          if (m.errors !== null) for (const [kind, n] of Object.entries(m.errors)) mw.errors[kind] = (mw.errors[kind] ?? 0) + n;
          if (inLatency && m.lat.length > 0) {
            let byUrl = latM.get(name);
            if (byUrl === undefined) latM.set(name, (byUrl = new Map()));
            let dense = byUrl.get(url);
            if (dense === undefined) byUrl.set(url, (dense = emptyLatency()));
            addPairs(dense, m.lat);
          }
        }
      }
      return true;
    });
    const finish = (w: WindowFigures, dense: number[] | undefined): void => {
      w.balanced = w.requests - w.sticky;
      w.rate = rateSeconds > 0 ? w.rate / rateSeconds : 0;
      if (dense !== undefined) {
        const pairs = toPairs(dense);
        w.p50 = quantileOfPairs(pairs, 0.5);
        w.p99 = quantileOfPairs(pairs, 0.99);
      }
    };
    for (const [name, w] of out.balancers) {
      finish(w, latB.get(name));
      const ms = out.members.get(name)!;
      for (const [url, mw] of ms) {
        finish(mw, latM.get(name)?.get(url));
        // A balancer's failures are its members' (the attempts that failed, failonstatus).
        for (const [kind, n] of Object.entries(mw.errors)) w.errors[kind] = (w.errors[kind] ?? 0) + n;
      }
    }
    return out;
  }
}

/** The numbers one sample contributes to the charts. */
export function sampleColumns(s: Sample): {
  t: number;
  balancers: Record<string, { n: number; e: number; p50: number | null; p99: number | null; members: Record<string, { n: number; e: number; busy: number }> }>;
} {
  const balancers: ReturnType<typeof sampleColumns>['balancers'] = {};
  for (const [name, b] of s.balancers) {
    const members: Record<string, { n: number; e: number; busy: number }> = {};
    let e = 0;
    for (const [url, m] of b.members) {
      const me = errorCount(m.errors);
      e += me;
      members[url] = { n: m.n, e: me, busy: m.busy };
    }
    balancers[name] = { n: b.n, e, p50: quantileOfPairs(b.lat, 0.5), p99: quantileOfPairs(b.lat, 0.99), members };
  }
  return { t: s.t, balancers };
}

/**
 * The per-request figures /metrics publishes and the dashboard samples: sums over the access
 * records (requests, sticky hits, route changes, failovers, durations, per-member requests, sticky
 * hits, errors and response times) and the request path's own counters. Every thread that serves requests keeps its own (the request observer only adds to
 * plain numbers); the admin listener adds them up when Prometheus scrapes, so `/metrics` shows one
 * set of totals whatever `server.workers` is.
 */
import type { Balancer } from '../balancer/balancer.js';
import { Flag } from '../balancer/flags.js';
import type { Config } from '../config/types.js';
import type { AccessRecord } from '../log.js';
import { ProxyCounters, type ClientErrorReason } from '../proxy/counters.js';
import type { BackendErrorKind } from '../members/connector.js';
import { emptyLatency, latencyBucket } from './latency.js';

/** Request duration buckets in seconds: sub-millisecond proxying up to slow backends. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Per-request sums of one member (under one route: a route changed at runtime starts a new one). */
export interface MemberSums {
  balancer: string;
  member: string;
  route: string;
  requests: number;
  /** Of those, sticky hits: the member their session route named (the rest were load-balanced picks). */
  sticky: number;
  responseBytes: number;
  errors: Record<string, number>;
  /** Response times of its requests, in the dashboard's fine buckets (latency.ts). */
  latency: number[];
}

/** Per-request sums of one balancer. */
export interface BalancerSums {
  name: string;
  requests: number;
  stickyHits: number;
  routeChanges: number;
  failovers: number;
  retries: number;
  unavailable: number;
  /** Duration histogram: count per bucket (not cumulative), sum and count. */
  buckets: number[];
  durationSum: number;
  durationCount: number;
  /** The same durations in the dashboard's fine buckets (latency.ts), for its p50 and p99. */
  latency: number[];
}

/** The request path's counters (ProxyCounters' fields), as plain data. */
export interface CounterValues {
  requests: number;
  tunnels: number;
  clientErrors: Record<ClientErrorReason, number>;
  backendErrors: Record<BackendErrorKind, number>;
}

/** Everything one thread (or the sum of all) contributes to /metrics: plain data, posted between threads. */
export interface RequestFigures {
  unbalanced: number;
  balancers: BalancerSums[];
  /** Every MemberSums ever made (a route change retires one but its counts stay exported). */
  members: MemberSums[];
  counters: CounterValues;
}

/** What the sums look the live state up in: the thread's running configuration and balancers. */
export interface FiguresSource {
  readonly config: Config;
  readonly balancers: ReadonlyMap<string, Balancer>;
}

interface LiveBalancer {
  sums: BalancerSums;
  /** The live balancer and the configuration generation it was looked up in. */
  balancer: Balancer | undefined;
  config: Config | null;
  /** Current MemberSums by member URL. */
  members: Map<string, MemberSums>;
}

/** One thread's sums, kept by the request observer: a few additions per request, never throws. */
export class RequestSums {
  private readonly balancers = new Map<string, LiveBalancer>();
  private readonly memberSums: MemberSums[] = [];
  private unbalanced = 0;

  constructor(private readonly source: FiguresSource) {}

  readonly observe = (rec: AccessRecord): void => {
    if (rec.balancer === null) {
      this.unbalanced++;
      return;
    }
    const live = this.balancerOf(rec.balancer);
    const b = live.sums;
    b.requests++;
    const seconds = rec.duration / 1000;
    b.durationSum += seconds;
    b.durationCount++;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    if (i < DURATION_BUCKETS.length) b.buckets[i]!++;
    const fine = latencyBucket(rec.duration);
    b.latency[fine]!++;
    const sticky = !rec.routeChanged && rec.sessionRoute !== null && rec.member !== null;
    if (rec.routeChanged) b.routeChanges++;
    else if (sticky) b.stickyHits++;
    if (rec.attempts > 1) {
      b.failovers++;
      b.retries += rec.attempts - 1;
    }
    const balancer = this.liveBalancer(live);
    if (rec.failures !== undefined) {
      for (const f of rec.failures) this.memberError(live, f.member, balancer?.member(f.member)?.route ?? '', f.kind);
    }
    if (rec.member === null) {
      if (rec.status === 503) b.unavailable++;
      return;
    }
    const m = this.memberOf(live, rec.member, rec.memberRoute ?? '');
    m.requests++;
    if (sticky) m.sticky++;
    m.latency[fine]!++;
    m.responseBytes += rec.bytes;
    if (rec.status === null || balancer === undefined) return;
    if (balancer.config.failonstatus.includes(rec.status)) this.memberError(live, rec.member, m.route, 'failonstatus');
    else if (rec.status === 503 && balancer.member(rec.member)?.has(Flag.IN_ERROR)) {
      // The last attempt could not reach its member (it is in error now): stickyd's own 503.
      b.unavailable++;
    }
  };

  /** A copy of the sums so far, with `counters` (the thread's ProxyCounters). */
  figures(counters: CounterValues): RequestFigures {
    return structuredClone({
      unbalanced: this.unbalanced,
      balancers: [...this.balancers.values()].map((b) => b.sums),
      members: this.memberSums,
      counters,
    });
  }

  private balancerOf(url: string): LiveBalancer {
    let b = this.balancers.get(url);
    if (b === undefined) {
      b = {
        sums: {
          name: url.startsWith('balancer://') ? url.slice('balancer://'.length) : url,
          requests: 0,
          stickyHits: 0,
          routeChanges: 0,
          failovers: 0,
          retries: 0,
          unavailable: 0,
          buckets: DURATION_BUCKETS.map(() => 0),
          durationSum: 0,
          durationCount: 0,
          latency: emptyLatency(),
        },
        balancer: undefined,
        config: null,
        members: new Map(),
      };
      this.balancers.set(url, b);
    }
    return b;
  }

  /** The live balancer for a record, looked up again only after a reload. */
  private liveBalancer(b: LiveBalancer): Balancer | undefined {
    const config = this.source.config;
    if (b.config !== config) {
      b.config = config;
      b.balancer = this.source.balancers.get(b.sums.name);
    }
    return b.balancer;
  }

  private memberOf(b: LiveBalancer, url: string, route: string): MemberSums {
    let m = b.members.get(url);
    if (m === undefined || m.route !== route) {
      m = this.memberSums.find((x) => x.balancer === b.sums.name && x.member === url && x.route === route);
      if (m === undefined) {
        m = { balancer: b.sums.name, member: url, route, requests: 0, sticky: 0, responseBytes: 0, errors: {}, latency: emptyLatency() };
        this.memberSums.push(m);
      }
      b.members.set(url, m);
    }
    return m;
  }

  private memberError(b: LiveBalancer, url: string, route: string, kind: string): void {
    const m = this.memberOf(b, url, route);
    m.errors[kind] = (m.errors[kind] ?? 0) + 1;
  }
}

/** No requests yet. */
export function emptyFigures(): RequestFigures {
  return {
    unbalanced: 0,
    balancers: [],
    members: [],
    // Plain data (it crosses threads), with every kind the request path counts.
    counters: structuredClone({ ...new ProxyCounters() }),
  };
}

/** The totals of several threads' figures (the order of series follows their first appearance). */
export function addFigures(parts: readonly RequestFigures[]): RequestFigures {
  const total = emptyFigures();
  const balancers = new Map<string, BalancerSums>();
  const members = new Map<string, MemberSums>();
  for (const f of parts) {
    total.unbalanced += f.unbalanced;
    for (const b of f.balancers) {
      let t = balancers.get(b.name);
      if (t === undefined) {
        t = { ...b, buckets: [...b.buckets], latency: [...b.latency] };
        balancers.set(b.name, t);
        total.balancers.push(t);
        continue;
      }
      t.requests += b.requests;
      t.stickyHits += b.stickyHits;
      t.routeChanges += b.routeChanges;
      t.failovers += b.failovers;
      t.retries += b.retries;
      t.unavailable += b.unavailable;
      t.durationSum += b.durationSum;
      t.durationCount += b.durationCount;
      b.buckets.forEach((n, i) => (t.buckets[i] = (t.buckets[i] ?? 0) + n));
      b.latency.forEach((n, i) => (t.latency[i] = (t.latency[i] ?? 0) + n));
    }
    for (const m of f.members) {
      const key = `${m.balancer}\u0000${m.member}\u0000${m.route}`;
      let t = members.get(key);
      if (t === undefined) {
        t = { ...m, errors: { ...m.errors }, latency: [...m.latency] };
        members.set(key, t);
        total.members.push(t);
        continue;
      }
      t.requests += m.requests;
      t.sticky += m.sticky;
      m.latency.forEach((n, i) => (t.latency[i] = (t.latency[i] ?? 0) + n));
      t.responseBytes += m.responseBytes;
      for (const [kind, n] of Object.entries(m.errors)) t.errors[kind] = (t.errors[kind] ?? 0) + n;
    }
    const c = total.counters;
    c.requests += f.counters.requests;
    c.tunnels += f.counters.tunnels;
    for (const [k, n] of Object.entries(f.counters.clientErrors)) c.clientErrors[k as ClientErrorReason] += n;
    for (const [k, n] of Object.entries(f.counters.backendErrors)) c.backendErrors[k as BackendErrorKind] += n;
  }
  return total;
}

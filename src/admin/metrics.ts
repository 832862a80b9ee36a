/**
 * `GET /metrics`: Prometheus text format from prom-client, on a Registry of our own (default
 * process metrics included).
 *
 * Cheap on the hot path: the request observer (one AccessRecord per finished request) only adds
 * to plain numbers in objects resolved once per balancer and member and kept in maps keyed by the
 * record's strings, so a request costs two map lookups and a few additions. prom-client's own
 * `labels().inc()` hashes the label set on every call, so it is not used per request: the
 * counters and the duration histogram read those numbers when Prometheus scrapes, like the member
 * state (flags, busy, elected, lbstatus, bytes, retries), the health-check results and the request
 * path's own counters, which are read from the live objects.
 *
 * Metric names and labels are listed in docs/operations.md.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Balancer } from '../balancer/balancer.js';
import { Flag } from '../balancer/flags.js';
import type { Member } from '../balancer/member.js';
import type { Config } from '../config/types.js';
import type { HealthChecker } from '../health/checker.js';
import type { AccessRecord } from '../log.js';
import type { AdminTarget } from './context.js';


const MEMBER_LABELS = ['balancer', 'member', 'route'] as const;

/** Request duration buckets in seconds: sub-millisecond proxying up to slow backends. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The flags exported as stickyd_member_flag{flag=...}: the ones with a meaning for an operator. */
const FLAGS: ReadonlyArray<[string, number]> = [
  ['I', Flag.IGNORE_ERRORS],
  ['N', Flag.DRAIN],
  ['D', Flag.DISABLED],
  ['S', Flag.STOPPED],
  ['E', Flag.IN_ERROR],
  ['H', Flag.HOT_STANDBY],
  ['R', Flag.HOT_SPARE],
  ['C', Flag.HC_FAIL],
];

/** Per-request sums of one member (under one route: a route changed at runtime starts a new one). */
interface MemberSums {
  balancer: string;
  member: string;
  route: string;
  requests: number;
  responseBytes: number;
  errors: Map<string, number>;
}

/** Per-request sums of one balancer. */
interface BalancerSums {
  name: string;
  /** The live balancer and the configuration generation it was looked up in. */
  balancer: Balancer | undefined;
  config: Config | null;
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
  /** Current sums by member URL. */
  members: Map<string, MemberSums>;
}

type Labels = Record<string, string | number>;

/**
 * A histogram whose observations are kept elsewhere (BalancerSums) and read at scrape time: what
 * prom-client's Registry needs of a metric (name, help, type, get, reset).
 */
class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Iterable<{ labels: Labels; buckets: readonly number[]; sum: number; count: number }>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Labels; value: number; metricName: string }> }> {
    const values: Array<{ labels: Labels; value: number; metricName: string }> = [];
    for (const h of this.read()) {
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += h.buckets[i]!;
        values.push({ labels: { ...h.labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...h.labels, le: '+Inf' }, value: h.count, metricName: `${this.name}_bucket` });
      values.push({ labels: h.labels, value: h.sum, metricName: `${this.name}_sum` });
      values.push({ labels: h.labels, value: h.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {}
}

export class Metrics {
  readonly registry = new Registry();
  private readonly balancers = new Map<string, BalancerSums>();
  /** Every MemberSums ever made (a route change retires one but its counts stay exported). */
  private readonly memberSums: MemberSums[] = [];
  private unbalanced = 0;
  private health: HealthChecker | null = null;

  constructor(private readonly target: AdminTarget) {
    collectDefaultMetrics({ register: this.registry });
    this.requestMetrics();
    this.scrapeTimeMetrics();
  }

  /** Health-check results are exported while a checker is attached. */
  attachHealth(health: HealthChecker | null): void {
    this.health = health;
  }

  /** The request observer: a few additions, never throws. */
  readonly observe = (rec: AccessRecord): void => {
    if (rec.balancer === null) {
      this.unbalanced++;
      return;
    }
    const b = this.balancerSums(rec.balancer);
    b.requests++;
    const seconds = rec.duration / 1000;
    b.durationSum += seconds;
    b.durationCount++;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    if (i < DURATION_BUCKETS.length) b.buckets[i]!++;
    if (rec.routeChanged) b.routeChanges++;
    else if (rec.sessionRoute !== null && rec.member !== null) b.stickyHits++;
    if (rec.attempts > 1) {
      b.failovers++;
      b.retries += rec.attempts - 1;
    }
    const live = this.liveBalancer(b);
    if (rec.failures !== undefined) {
      for (const f of rec.failures) this.memberError(b, f.member, live?.member(f.member)?.route ?? '', f.kind);
    }
    if (rec.member === null) {
      if (rec.status === 503) b.unavailable++;
      return;
    }
    const m = this.memberOf(b, rec.member, rec.memberRoute ?? '');
    m.requests++;
    m.responseBytes += rec.bytes;
    if (rec.status === null || live === undefined) return;
    if (live.config.failonstatus.includes(rec.status)) this.memberError(b, rec.member, m.route, 'failonstatus');
    else if (rec.status === 503 && live.member(rec.member)?.has(Flag.IN_ERROR)) {
      // The last attempt could not reach its member (it is in error now): stickyd's own 503.
      b.unavailable++;
    }
  };

  /** The text of GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private balancerSums(url: string): BalancerSums {
    let b = this.balancers.get(url);
    if (b === undefined) {
      b = {
        name: url.startsWith('balancer://') ? url.slice('balancer://'.length) : url,
        balancer: undefined,
        config: null,
        requests: 0,
        stickyHits: 0,
        routeChanges: 0,
        failovers: 0,
        retries: 0,
        unavailable: 0,
        buckets: DURATION_BUCKETS.map(() => 0),
        durationSum: 0,
        durationCount: 0,
        members: new Map(),
      };
      this.balancers.set(url, b);
    }
    return b;
  }

  /** The live balancer for a record, looked up again only after a reload. */
  private liveBalancer(b: BalancerSums): Balancer | undefined {
    const config = this.target.config;
    if (b.config !== config) {
      b.config = config;
      b.balancer = this.target.balancers.get(b.name);
    }
    return b.balancer;
  }

  private memberOf(b: BalancerSums, url: string, route: string): MemberSums {
    let m = b.members.get(url);
    if (m === undefined || m.route !== route) {
      m = this.memberSums.find((x) => x.balancer === b.name && x.member === url && x.route === route);
      if (m === undefined) {
        m = { balancer: b.name, member: url, route, requests: 0, responseBytes: 0, errors: new Map() };
        this.memberSums.push(m);
      }
      b.members.set(url, m);
    }
    return m;
  }

  private memberError(b: BalancerSums, url: string, route: string, kind: string): void {
    const m = this.memberOf(b, url, route);
    m.errors.set(kind, (m.errors.get(kind) ?? 0) + 1);
  }

  /** Counters and the histogram of the per-request sums, published at scrape time. */
  private requestMetrics(): void {
    const r = [this.registry];
    const self = this;
    const memberCounter = (name: string, help: string, value: (m: MemberSums) => number): void => {
      scrapedCounter(r, name, help, MEMBER_LABELS, (emit) => {
        for (const m of self.memberSums) emit({ balancer: m.balancer, member: m.member, route: m.route }, value(m));
      });
    };
    memberCounter('stickyd_member_requests_total', "Requests answered through this member (the last attempt's member)", (m) => m.requests);
    memberCounter('stickyd_member_response_bytes_total', 'Response body bytes sent to clients from this member', (m) => m.responseBytes);
    scrapedCounter(
      r,
      'stickyd_member_errors_total',
      'Member failures by kind: failonstatus (a status in failonstatus), and the attempt failures connect, acquire, ping, dns, tls, timeout, send-timeout, closed, protocol',
      [...MEMBER_LABELS, 'kind'],
      (emit) => {
        for (const m of self.memberSums) {
          for (const [kind, n] of m.errors) emit({ balancer: m.balancer, member: m.member, route: m.route, kind }, n);
        }
      },
    );
    const balancerCounter = (name: string, help: string, value: (b: BalancerSums) => number): void => {
      scrapedCounter(r, name, help, ['balancer'], (emit) => {
        for (const b of self.balancers.values()) emit({ balancer: b.name }, value(b));
      });
    };
    balancerCounter('stickyd_balancer_requests_total', 'Requests that reached a balancer', (b) => b.requests);
    balancerCounter('stickyd_balancer_sticky_hits_total', 'Requests served by the member their session route names', (b) => b.stickyHits);
    balancerCounter('stickyd_balancer_route_changes_total', 'Requests with BALANCER_ROUTE_CHANGED (load-balanced in a sticky balancer, or redirected)', (b) => b.routeChanges);
    balancerCounter('stickyd_balancer_failovers_total', 'Requests that needed more than one attempt', (b) => b.failovers);
    balancerCounter('stickyd_balancer_retries_total', 'Attempts after the first, summed over requests', (b) => b.retries);
    balancerCounter(
      'stickyd_balancer_unavailable_total',
      'Requests answered 503 because no member could take them (all unusable, all attempts failed, or nofailover)',
      (b) => b.unavailable,
    );
    scrapedCounter(r, 'stickyd_unbalanced_requests_total', 'Requests that reached no balancer (404 from the mount table, bad paths)', [], (emit) => emit({}, self.unbalanced));
    this.registry.registerMetric(
      new ScrapedHistogram('stickyd_request_duration_seconds', "Time from the request's arrival to the end of its response, per balancer", function* () {
        for (const b of self.balancers.values()) yield { labels: { balancer: b.name }, buckets: b.buckets, sum: b.durationSum, count: b.durationCount };
      }) as never,
    );
  }

  /** Gauges and counters read from live objects when Prometheus scrapes. */
  private scrapeTimeMetrics(): void {
    const r = [this.registry];
    const target = this.target;
    const eachMember = (fn: (m: Member, labels: Labels) => void): void => {
      for (const b of target.balancers.values()) {
        for (const m of b.members) fn(m, { balancer: b.name, member: m.name, route: m.route });
      }
    };
    const memberGauge = (name: string, help: string, value: (m: Member) => number): void => {
      scrapedGauge(r, name, help, MEMBER_LABELS, (emit) => eachMember((m, labels) => emit(labels, value(m))));
    };
    const memberCounter = (name: string, help: string, value: (m: Member) => number): void => {
      scrapedCounter(r, name, help, MEMBER_LABELS, (emit) => eachMember((m, labels) => emit(labels, value(m))));
    };
    memberGauge('stickyd_member_busy', 'Requests in flight on the member (Busy)', (m) => m.busy);
    memberCounter('stickyd_member_elected_total', 'Times the member was chosen, sticky or load-balanced (Elected)', (m) => m.elected);
    memberGauge('stickyd_member_lbstatus', "The member's lbstatus (Load)", (m) => m.lbstatus);
    memberCounter('stickyd_member_transferred_bytes_total', 'Bytes sent to the member (To); a bytraffic lbmethod reset zeroes it', (m) => m.transferred);
    memberCounter('stickyd_member_read_bytes_total', 'Bytes read from the member (From); a bytraffic lbmethod reset zeroes it', (m) => m.read);
    memberGauge('stickyd_member_retries', 'Times the member was taken out of error since its last successful connect (retries)', (m) => m.retries);
    memberGauge('stickyd_member_loadfactor', "The member's loadfactor (lbfactor / 100)", (m) => m.lbfactor / 100);
    memberGauge('stickyd_member_lbset', "The member's lbset", (m) => m.lbset);
    memberGauge('stickyd_member_usable', '1 when the member can take requests (initialized, none of D S E C)', (m) => (m.usable ? 1 : 0));
    scrapedGauge(r, 'stickyd_member_flag', 'Status flags of the member, one series per flag (I N D S E H R C), 1 when set', [...MEMBER_LABELS, 'flag'], (emit) =>
      eachMember((m, labels) => {
        for (const [flag, bit] of FLAGS) emit({ ...labels, flag }, m.has(bit) ? 1 : 0);
      }),
    );
    scrapedGauge(r, 'stickyd_balancer_usable_members', 'Members of the balancer that can take requests now', ['balancer'], (emit) => {
      for (const b of target.balancers.values()) emit({ balancer: b.name }, b.members.filter((m) => m.usable).length);
    });
    const self = this;
    scrapedCounter(
      r,
      'stickyd_member_health_checks_total',
      'Active health checks completed since the member started being checked, by result (pass, fail)',
      [...MEMBER_LABELS, 'result'],
      (emit) => {
        if (self.health === null) return;
        for (const [balancer, m, s] of self.health.entries()) {
          const labels = { balancer, member: m.name, route: m.route };
          emit({ ...labels, result: 'pass' }, s.passed);
          emit({ ...labels, result: 'fail' }, s.failed);
        }
      },
    );
    scrapedCounter(r, 'stickyd_requests_received_total', 'Requests that reached the proxy handler since the start', [], (emit) => emit({}, target.counters.requests));
    scrapedCounter(
      r,
      'stickyd_backend_errors_total',
      'Failed member attempts since the start, by kind (connect, dns, tls, acquire, ping, timeout, send-timeout, closed, protocol, aborted)',
      ['kind'],
      (emit) => {
        for (const [kind, n] of Object.entries(target.counters.backendErrors)) emit({ kind }, n);
      },
    );
    scrapedCounter(
      r,
      'stickyd_client_errors_total',
      'Client requests refused or dropped since the start, by reason (bad-request, header-too-large, timeout, bad-path, reset)',
      ['reason'],
      (emit) => {
        for (const [reason, n] of Object.entries(target.counters.clientErrors)) emit({ reason }, n);
      },
    );
  }
}

/** Hands one series (labels, value) to the metric being collected. */
type Emit = (labels: Labels, value: number) => void;

/**
 * A counter whose values live elsewhere, refilled at every scrape: prom-client counters cannot be
 * set, hence reset + inc.
 */
function scrapedCounter(registers: Registry[], name: string, help: string, labelNames: readonly string[], fill: (emit: Emit) => void): void {
  new Counter({
    name,
    help,
    labelNames: [...labelNames],
    registers,
    collect() {
      this.reset();
      fill((labels, value) => this.inc(labels, value));
    },
  });
}

/** A gauge whose values live elsewhere, refilled at every scrape (series that disappeared go with the reset). */
function scrapedGauge(registers: Registry[], name: string, help: string, labelNames: readonly string[], fill: (emit: Emit) => void): void {
  new Gauge({
    name,
    help,
    labelNames: [...labelNames],
    registers,
    collect() {
      this.reset();
      fill((labels, value) => this.set(labels, value));
    },
  });
}

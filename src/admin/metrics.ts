/**
 * `GET /metrics`: Prometheus text format from prom-client, on a Registry of our own (default
 * process metrics included).
 *
 * Cheap on the hot path: the request observer (one AccessRecord per finished request) only adds
 * to plain numbers in objects resolved once per balancer and member and kept in maps keyed by the
 * record's strings, so a request costs two map lookups and a few additions (request-figures.ts).
 * prom-client's own `labels().inc()` hashes the label set on every call, so it is not used per
 * request: the counters and the duration histogram read those numbers when Prometheus scrapes,
 * like the member state (flags, busy, elected, lbstatus, bytes, retries, from the shared
 * scoreboard), the health-check results and the request path's own counters.
 *
 * With server.workers > 1 every worker thread keeps its own sums and counters; a scrape collects
 * them from the workers and publishes their totals (AdminTarget.figures), so there is one set of
 * figures, not one per worker.
 *
 * Metric names and labels are listed in docs/operations.md.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { Flag } from '../balancer/flags.js';
import type { Member } from '../balancer/member.js';
import type { HealthChecker } from '../health/checker.js';
import type { AccessRecord } from '../log.js';
import type { AdminTarget } from './context.js';
import { buildInfo } from '../version.js';
import { DURATION_BUCKETS, emptyFigures, RequestSums, type BalancerSums, type MemberSums, type RequestFigures } from './request-figures.js';


const MEMBER_LABELS = ['balancer', 'member', 'route'] as const;

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
  /** This thread's sums (with server.workers: 1; the workers keep their own otherwise). */
  private readonly sums: RequestSums;
  /** The figures the scrape in progress publishes: this thread's, or the totals over the workers. */
  private current: RequestFigures = emptyFigures();
  private health: HealthChecker | null = null;

  constructor(private readonly target: AdminTarget) {
    this.sums = new RequestSums(target);
    collectDefaultMetrics({ register: this.registry });
    this.requestMetrics();
    this.scrapeTimeMetrics();
  }

  /** Health-check results are exported while a checker is attached. */
  attachHealth(health: HealthChecker | null): void {
    this.health = health;
  }

  /** The request observer (server.workers: 1): a few additions, never throws. */
  readonly observe = (rec: AccessRecord): void => this.sums.observe(rec);

  /** Start keeping request figures wherever requests are served; returns the function that stops it. */
  keep(): () => void {
    return this.target.figures?.keep() ?? this.target.onRequest(this.observe);
  }

  /** The request figures so far: this thread's, or the totals over the workers (the dashboard samples them). */
  figures(): Promise<RequestFigures> {
    return this.target.figures ? this.target.figures.collect() : Promise.resolve(this.sums.figures(this.target.counters));
  }

  /** The text of GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    this.current = await this.figures();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Counters and the histogram of the per-request sums, published at scrape time. */
  private requestMetrics(): void {
    const r = [this.registry];
    const self = this;
    const memberCounter = (name: string, help: string, value: (m: MemberSums) => number): void => {
      scrapedCounter(r, name, help, MEMBER_LABELS, (emit) => {
        for (const m of self.current.members) emit({ balancer: m.balancer, member: m.member, route: m.route }, value(m));
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
        for (const m of self.current.members) {
          for (const [kind, n] of Object.entries(m.errors)) emit({ balancer: m.balancer, member: m.member, route: m.route, kind }, n);
        }
      },
    );
    const balancerCounter = (name: string, help: string, value: (b: BalancerSums) => number): void => {
      scrapedCounter(r, name, help, ['balancer'], (emit) => {
        for (const b of self.current.balancers) emit({ balancer: b.name }, value(b));
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
    scrapedCounter(r, 'stickyd_unbalanced_requests_total', 'Requests that reached no balancer (404 from the mount table, bad paths)', [], (emit) => emit({}, self.current.unbalanced));
    this.registry.registerMetric(
      new ScrapedHistogram('stickyd_request_duration_seconds', "Time from the request's arrival to the end of its response, per balancer", function* () {
        for (const b of self.current.balancers) yield { labels: { balancer: b.name }, buckets: b.buckets, sum: b.durationSum, count: b.durationCount };
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
    // Prometheus's own names for the same facts (prometheus_config_last_reload_successful, …).
    scrapedGauge(r, 'stickyd_config_last_reload_successful', 'Whether the last reload of the balancer file (SIGHUP, POST /api/reload) was successful; the start counts as one', [], (emit) => {
      const s = target.reloads?.status();
      if (s !== undefined) emit({}, s.last.successful ? 1 : 0);
    });
    scrapedGauge(r, 'stickyd_config_last_reload_success_timestamp_seconds', 'When the configuration running now was loaded (Unix time)', [], (emit) => {
      const s = target.reloads?.status();
      if (s !== undefined) emit({}, Date.parse(s.lastSuccess) / 1000);
    });
    const build = buildInfo();
    scrapedGauge(r, 'stickyd_build_info', 'Always 1; the labels say which build of stickyd runs on which Node.js', ['version', 'revision', 'node'], (emit) => {
      emit({ version: build.version, revision: build.commit, node: build.node }, 1);
    });
    scrapedCounter(r, 'stickyd_requests_received_total', 'Requests that reached the proxy handler since the start', [], (emit) => emit({}, self.current.counters.requests));
    scrapedCounter(
      r,
      'stickyd_backend_errors_total',
      'Failed member attempts since the start, by kind (connect, dns, tls, acquire, ping, timeout, send-timeout, closed, protocol, aborted)',
      ['kind'],
      (emit) => {
        for (const [kind, n] of Object.entries(self.current.counters.backendErrors)) emit({ kind }, n);
      },
    );
    scrapedCounter(
      r,
      'stickyd_client_errors_total',
      'Client requests refused or dropped since the start, by reason (bad-request, header-too-large, timeout, bad-path, reset)',
      ['reason'],
      (emit) => {
        for (const [reason, n] of Object.entries(self.current.counters.clientErrors)) emit({ reason }, n);
      },
    );
    scrapedGauge(r, 'stickyd_workers', 'Worker threads serving requests (server.workers; 1 = the main thread serves)', [], (emit) => emit({}, target.workers?.count ?? 1));
    scrapedCounter(r, 'stickyd_worker_restarts_total', 'Worker threads that died and were started again', [], (emit) => emit({}, target.workers?.restarts ?? 0));
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

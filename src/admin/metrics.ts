/**
 * `GET /metrics`: Prometheus text format from prom-client, on a Registry of our own (default
 * process metrics included).
 *
 * Two sources, chosen for a cheap hot path:
 * - Per-request counters and histograms are fed by the daemon's request observer (one AccessRecord
 *   per finished request). Label children are resolved once per balancer and member and kept in
 *   maps keyed by the record's strings, so a request costs two map lookups and a few increments,
 *   never a label-set lookup in prom-client.
 * - Member state (flags, busy, elected, lbstatus, bytes, retries), health-check results and the
 *   request path's own counters are read at scrape time from the live objects, so nothing has to
 *   keep them up to date.
 *
 * Metric names and labels are listed in docs/operations.md.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type CounterConfiguration } from 'prom-client';
import type { Balancer } from '../balancer/balancer.js';
import { Flag } from '../balancer/flags.js';
import type { Member } from '../balancer/member.js';
import type { Config } from '../config/types.js';
import type { HealthChecker } from '../health/checker.js';
import type { AccessRecord } from '../log.js';
import type { AdminTarget } from './context.js';

/** One failed attempt of a request, when the request path reports them (kind: a BackendErrorKind). */
interface AttemptFailure {
  member: string;
  kind: string;
}

/** The record as the observer reads it; `failures` is used when the request path provides it. */
type ObservedRecord = AccessRecord & { failures?: readonly AttemptFailure[] };

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

type Child = ReturnType<Counter['labels']>;

interface MemberChildren {
  route: string;
  requests: Child;
  responseBytes: Child;
  /** By error kind, created on first use. */
  errors: Map<string, Child>;
}

interface BalancerChildren {
  /** `balancer://name` as the record has it. */
  url: string;
  name: string;
  /** The live balancer and the configuration generation it was looked up in. */
  balancer: Balancer | undefined;
  config: Config | null;
  requests: Child;
  duration: ReturnType<Histogram['labels']>;
  stickyHits: Child;
  routeChanges: Child;
  failovers: Child;
  retries: Child;
  unavailable: Child;
  members: Map<string, MemberChildren>;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly balancers = new Map<string, BalancerChildren>();
  private health: HealthChecker | null = null;

  private readonly memberRequests: Counter<string>;
  private readonly memberErrors: Counter<string>;
  private readonly memberResponseBytes: Counter<string>;
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly stickyHits: Counter<string>;
  private readonly routeChanges: Counter<string>;
  private readonly failovers: Counter<string>;
  private readonly retries: Counter<string>;
  private readonly unavailable: Counter<string>;
  private readonly unbalanced: Child;

  constructor(private readonly target: AdminTarget) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    const counter = (c: CounterConfiguration<string>): Counter<string> => new Counter({ ...c, registers: [r] });

    this.memberRequests = counter({ name: 'stickyd_member_requests_total', help: 'Requests answered through this member (the last attempt\'s member)', labelNames: MEMBER_LABELS });
    this.memberErrors = counter({
      name: 'stickyd_member_errors_total',
      help: 'Member failures by kind: failonstatus (a status in failonstatus), and connect, timeout, closed, protocol, ... when the request path reports attempt failures',
      labelNames: [...MEMBER_LABELS, 'kind'],
    });
    this.memberResponseBytes = counter({ name: 'stickyd_member_response_bytes_total', help: 'Response body bytes sent to clients from this member', labelNames: MEMBER_LABELS });
    this.requests = counter({ name: 'stickyd_balancer_requests_total', help: 'Requests that reached a balancer', labelNames: ['balancer'] });
    this.duration = new Histogram({
      name: 'stickyd_request_duration_seconds',
      help: 'Time from the request\'s arrival to the end of its response, per balancer',
      labelNames: ['balancer'],
      buckets: DURATION_BUCKETS,
      registers: [r],
    });
    this.stickyHits = counter({ name: 'stickyd_balancer_sticky_hits_total', help: 'Requests served by the member their session route names', labelNames: ['balancer'] });
    this.routeChanges = counter({ name: 'stickyd_balancer_route_changes_total', help: 'Requests with BALANCER_ROUTE_CHANGED (load-balanced in a sticky balancer, or redirected)', labelNames: ['balancer'] });
    this.failovers = counter({ name: 'stickyd_balancer_failovers_total', help: 'Requests that needed more than one attempt', labelNames: ['balancer'] });
    this.retries = counter({ name: 'stickyd_balancer_retries_total', help: 'Attempts after the first, summed over requests', labelNames: ['balancer'] });
    this.unavailable = counter({
      name: 'stickyd_balancer_unavailable_total',
      help: 'Requests answered 503 because no member could take them (all unusable, all attempts failed, or nofailover)',
      labelNames: ['balancer'],
    });
    this.unbalanced = counter({ name: 'stickyd_unbalanced_requests_total', help: 'Requests that reached no balancer (404 from the mount table, bad paths)' }).labels();

    this.scrapeTimeMetrics();
  }

  /** Health-check results are exported while a checker is attached. */
  attachHealth(health: HealthChecker | null): void {
    this.health = health;
  }

  /** The request observer: cheap, never throws. */
  readonly observe = (record: AccessRecord): void => {
    const rec = record as ObservedRecord;
    if (rec.balancer === null) {
      this.unbalanced.inc();
      return;
    }
    const b = this.balancerChildren(rec.balancer);
    b.requests.inc();
    b.duration.observe(rec.duration / 1000);
    if (rec.routeChanged) b.routeChanges.inc();
    else if (rec.sessionRoute !== null && rec.member !== null) b.stickyHits.inc();
    if (rec.attempts > 1) {
      b.failovers.inc();
      b.retries.inc(rec.attempts - 1);
    }
    const live = this.liveBalancer(b);
    if (rec.failures !== undefined) {
      for (const f of rec.failures) this.memberError(b, f.member, live?.member(f.member)?.route ?? '', f.kind);
    }
    if (rec.member === null) {
      if (rec.status === 503) b.unavailable.inc();
      return;
    }
    const m = this.memberChildren(b, rec.member, rec.memberRoute ?? '');
    m.requests.inc();
    if (rec.bytes > 0) m.responseBytes.inc(rec.bytes);
    if (rec.status === null || live === undefined) return;
    if (live.config.failonstatus.includes(rec.status)) this.memberError(b, rec.member, m.route, 'failonstatus');
    else if (rec.status === 503 && live.member(rec.member)?.has(Flag.IN_ERROR)) {
      // The last attempt could not reach its member (it is in error now): stickyd's own 503.
      b.unavailable.inc();
    }
  };

  /** The text of GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private balancerChildren(url: string): BalancerChildren {
    let b = this.balancers.get(url);
    if (b === undefined) {
      const name = url.startsWith('balancer://') ? url.slice('balancer://'.length) : url;
      b = {
        url,
        name,
        balancer: undefined,
        config: null,
        requests: this.requests.labels(name),
        duration: this.duration.labels(name),
        stickyHits: this.stickyHits.labels(name),
        routeChanges: this.routeChanges.labels(name),
        failovers: this.failovers.labels(name),
        retries: this.retries.labels(name),
        unavailable: this.unavailable.labels(name),
        members: new Map(),
      };
      this.balancers.set(url, b);
    }
    return b;
  }

  /** The live balancer for a record, looked up again only after a reload. */
  private liveBalancer(b: BalancerChildren): Balancer | undefined {
    const config = this.target.config;
    if (b.config !== config) {
      b.config = config;
      b.balancer = this.target.balancers.get(b.name);
    }
    return b.balancer;
  }

  private memberChildren(b: BalancerChildren, url: string, route: string): MemberChildren {
    let m = b.members.get(url);
    // A route changed at runtime is a new label set.
    if (m === undefined || m.route !== route) {
      m = {
        route,
        requests: this.memberRequests.labels(b.name, url, route),
        responseBytes: this.memberResponseBytes.labels(b.name, url, route),
        errors: new Map(),
      };
      b.members.set(url, m);
    }
    return m;
  }

  private memberError(b: BalancerChildren, url: string, route: string, kind: string): void {
    const m = this.memberChildren(b, url, route);
    let child = m.errors.get(kind);
    if (child === undefined) {
      child = this.memberErrors.labels(b.name, url, route, kind);
      m.errors.set(kind, child);
    }
    child.inc();
  }

  /** Gauges and counters read from live objects when Prometheus scrapes. */
  private scrapeTimeMetrics(): void {
    const r = this.registry;
    const target = this.target;
    const eachMember = (fn: (b: Balancer, m: Member, labels: Record<string, string>) => void): void => {
      for (const b of target.balancers.values()) {
        for (const m of b.members) fn(b, m, { balancer: b.name, member: m.name, route: m.route });
      }
    };
    const memberGauge = (name: string, help: string, value: (m: Member) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: MEMBER_LABELS,
        registers: [r],
        collect() {
          this.reset();
          eachMember((_b, m, labels) => this.set(labels, value(m)));
        },
      });
    };
    /** A counter whose value lives in a Member: set at scrape time (prom-client counters cannot be set, hence reset + inc). */
    const memberCounter = (name: string, help: string, value: (m: Member) => number): void => {
      new Counter({
        name,
        help,
        labelNames: MEMBER_LABELS,
        registers: [r],
        collect() {
          this.reset();
          eachMember((_b, m, labels) => this.inc(labels, value(m)));
        },
      });
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
    new Gauge({
      name: 'stickyd_member_flag',
      help: 'Status flags of the member, one series per flag (I N D S E H R C), 1 when set',
      labelNames: [...MEMBER_LABELS, 'flag'],
      registers: [r],
      collect() {
        this.reset();
        eachMember((_b, m, labels) => {
          for (const [flag, bit] of FLAGS) this.set({ ...labels, flag }, m.has(bit) ? 1 : 0);
        });
      },
    });
    new Gauge({
      name: 'stickyd_balancer_usable_members',
      help: 'Members of the balancer that can take requests now',
      labelNames: ['balancer'],
      registers: [r],
      collect() {
        this.reset();
        for (const b of target.balancers.values()) this.set({ balancer: b.name }, b.members.filter((m) => m.usable).length);
      },
    });
    const self = this;
    new Counter({
      name: 'stickyd_member_health_checks_total',
      help: 'Active health checks completed since the member started being checked, by result (pass, fail)',
      labelNames: [...MEMBER_LABELS, 'result'],
      registers: [r],
      collect() {
        this.reset();
        if (self.health === null) return;
        for (const [balancer, m, s] of self.health.entries()) {
          const labels = { balancer, member: m.name, route: m.route };
          this.inc({ ...labels, result: 'pass' }, s.passed);
          this.inc({ ...labels, result: 'fail' }, s.failed);
        }
      },
    });
    new Counter({
      name: 'stickyd_requests_received_total',
      help: 'Requests that reached the proxy handler since the start',
      registers: [r],
      collect() {
        this.reset();
        this.inc(target.counters.requests);
      },
    });
    new Counter({
      name: 'stickyd_backend_errors_total',
      help: 'Failed member attempts since the start, by kind (connect, dns, acquire, ping, timeout, send-timeout, closed, protocol, aborted)',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        this.reset();
        for (const [kind, n] of Object.entries(target.counters.backendErrors)) this.inc({ kind }, n);
      },
    });
    new Counter({
      name: 'stickyd_client_errors_total',
      help: 'Client requests refused or dropped since the start, by reason (bad-request, header-too-large, timeout, bad-path, reset)',
      labelNames: ['reason'],
      registers: [r],
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(target.counters.clientErrors)) this.inc({ reason }, n);
      },
    });
  }
}

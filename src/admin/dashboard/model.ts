/**
 * The documents the dashboard sends: `GET /dashboard/data` answers a Snapshot; the event stream
 * (`GET /dashboard/stream`, server-sent events) starts with a `snapshot` event and then sends an
 * `update` every second (and within a quarter second of a member changing state). The page's
 * script (client.js) reads nothing else, and a script can read the same (docs/operations.md).
 *
 * Times are Unix milliseconds, durations milliseconds; members are named by their URL within a
 * balancer (the manager's Worker URL), their route is a field.
 */

/** How a member is doing, worst first: what the colour of its row says. */
export type MemberState = 'stopped' | 'disabled' | 'error' | 'hcfail' | 'draining' | 'standby' | 'ok';

/** Figures over the recent samples (the keeper's windows: see series.ts). */
export interface WindowFigures {
  /** Requests per second over the last RATE_WINDOW_S seconds sampled. */
  rate: number;
  /** Requests in the last WINDOW_S seconds sampled, and of those, sticky hits and load-balanced picks. */
  requests: number;
  sticky: number;
  balanced: number;
  /** Failures by kind (connect, timeout, failonstatus…) in the last WINDOW_S seconds sampled. */
  errors: Record<string, number>;
  /** Response-time percentiles over the last LATENCY_WINDOW_S seconds sampled; null: no request then. */
  p50: number | null;
  p99: number | null;
}

/** Totals since the daemon started, as /metrics counts them. */
export interface MemberTotals {
  requests: number;
  sticky: number;
  errors: Record<string, number>;
}

export interface MemberDoc {
  url: string;
  route: string;
  state: MemberState;
  /** The manager's status text ("Init Drn Ok ") and the set flags as letters ("ON"). */
  status: string;
  flags: string;
  usable: boolean;
  loadfactor: number;
  lbset: number;
  busy: number;
  elected: number;
  /**
   * When it was last put in error (the scoreboard's error time), when the next request may try it
   * again (error time + retry), and since when it has been in error (the first failure of this
   * spell: a failed retry sets a new error time, not a new spell); null when not in error.
   */
  errorTime: number | null;
  retryAt: number | null;
  errorSince: number | null;
  /** The member's retry interval. */
  retry: number;
  totals: MemberTotals;
  window: WindowFigures;
  /** Share (0..1) of the balancer's load-balanced picks and of its sticky hits in the window; null when the balancer had none. */
  balancedShare: number | null;
  stickyShare: number | null;
  /** Result of the last active health check, when the member has one. */
  health: { ok: boolean; detail: string; at: string } | null;
}

export interface BalancerDoc {
  name: string;
  lbmethod: string;
  stickysession: string | null;
  paths: string[];
  usableMembers: number;
  /** Since the start: requests, sticky hits (the rest were load-balanced or found no member), failovers, 503s for want of a member. */
  totals: { requests: number; stickyHits: number; failovers: number; unavailable: number };
  window: WindowFigures & { failovers: number; unavailable: number };
  members: MemberDoc[];
}

/** Something that happened, for the timeline. */
export interface DashboardEvent {
  /** Increasing; the stream sends each event once. */
  seq: number;
  time: number;
  /** bad: a member went down, a reload was refused, a worker died; good: back up; info: operated. */
  level: 'bad' | 'good' | 'warn' | 'info';
  /** error, error-again, recovered, hcfail, hcpass, changed, added, removed, reload, reload-failed, worker-restart. */
  kind: string;
  balancer: string | null;
  member: string | null;
  route: string | null;
  text: string;
}

/** Per-second history, oldest first, one entry per sample in every array. */
export interface SeriesDoc {
  /** The end of each one-second interval. */
  t: number[];
  balancers: Record<
    string,
    {
      /** Requests, failures (all kinds), and the response-time percentiles of the interval. */
      n: number[];
      e: number[];
      p50: Array<number | null>;
      p99: Array<number | null>;
      members: Record<string, { n: number[]; e: number[]; busy: number[] }>;
    }
  >;
}

export interface DaemonDoc {
  version: string;
  node: string;
  pid: number;
  started: number;
  workers: number;
  workerRestarts: number;
  /** The last reload of the balancer file; null when the daemon was not started from one. */
  reload: { time: string; trigger: string; successful: boolean; errors: string[] } | null;
}

export interface Snapshot {
  now: number;
  /** Sample interval, and how many samples the history keeps. */
  intervalMs: number;
  capacity: number;
  windows: { rateS: number; windowS: number; latencyS: number };
  daemon: DaemonDoc;
  balancers: BalancerDoc[];
  series: SeriesDoc;
  events: DashboardEvent[];
}

/** What the stream sends after the snapshot. */
export interface Update {
  now: number;
  daemon: DaemonDoc;
  balancers: BalancerDoc[];
  /** The newest sample when this update closes a one-second interval (same shape as one column of SeriesDoc). */
  sample: { t: number; balancers: Record<string, { n: number; e: number; p50: number | null; p99: number | null; members: Record<string, { n: number; e: number; busy: number }> }> } | null;
  events: DashboardEvent[];
}

/**
 * What the admin listener works on: the running daemon (its configuration, live balancers,
 * counters and request observer), the admin settings, the manager nonces, the health checker,
 * the metrics and the dashboard. The daemon satisfies AdminTarget; tests may pass anything shaped like it.
 */
import type { Balancer } from '../balancer/balancer.js';
import type { ReloadControl } from '../config/reloader.js';
import type { AdminConfig, Config } from '../config/types.js';
import type { HealthChecker } from '../health/checker.js';
import type { Logger, RequestObserver } from '../log.js';
import type { ProxyCounters } from '../proxy/counters.js';
import type { Dashboard } from './dashboard/dashboard.js';
import type { Metrics } from './metrics.js';
import type { RequestFigures } from './request-figures.js';
import type { NonceStore } from './nonce.js';

export interface AdminTarget {
  /** The configuration running now (it changes on reload). */
  readonly config: Config;
  /** Live balancers by name (they change on reload; Member objects of surviving members stay). */
  readonly balancers: ReadonlyMap<string, Balancer>;
  readonly counters: ProxyCounters;
  onRequest(observer: RequestObserver): () => void;
  /** Reloads of the balancer file (the run command's); absent or null: /api/reload answers 404. */
  readonly reloads?: ReloadControl | null;
  /**
   * With worker threads: the request figures are kept where requests are served and added up
   * here. Absent: the metrics keep them from onRequest in this thread.
   */
  readonly figures?: FiguresFeed;
  /** Worker threads and how often one had to be started again; absent: requests are served on this thread. */
  readonly workers?: { readonly count: number; readonly restarts: number };
}

/** Request figures kept by the worker threads (request-figures.ts). */
export interface FiguresFeed {
  /** Start keeping figures in every worker; returns the function that stops it. */
  keep(): () => void;
  /** The totals over every worker, those that died included. */
  collect(): Promise<RequestFigures>;
}

export interface AdminContext {
  readonly target: AdminTarget;
  /** The admin settings now in force. */
  readonly admin: AdminConfig;
  readonly nonces: NonceStore;
  readonly health: HealthChecker | null;
  readonly metrics: Metrics;
  /** The live dashboard (its timeline is fed by the manager and the API); null while the listener is not up. */
  readonly dashboard: Dashboard | null;
  readonly logger: Logger | undefined;
}

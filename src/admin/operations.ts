/**
 * Everything that operates a running daemon, in one handle the daemon starts, reloads and stops:
 * the active health checks (always, for members with an hcmethod) and, when `admin:` is
 * configured, the admin listener with its manager, API, metrics and dashboard.
 *
 * On reload the health checks follow the new balancers (members keep their counts), and the admin
 * listener is moved when its address or port changed, closed when `admin:` was removed, started
 * when it was added. Token and readonly changes apply at once (the listener reads the current
 * settings per request). The metrics observer is subscribed only while the admin listener runs,
 * so a daemon without `admin:` pays nothing for it.
 */
import type { AdminConfig } from '../config/types.js';
import { HealthChecker } from '../health/checker.js';
import type { Logger } from '../log.js';
import type { AdminContext, AdminTarget } from './context.js';
import { Dashboard } from './dashboard/dashboard.js';
import { Metrics } from './metrics.js';
import { NonceStore } from './nonce.js';
import { closeAdminServer, startAdminServer, updateAdminTls, type AdminListener, type BoundAdmin } from './server.js';

export interface Operations {
  /** Where the admin listener is bound; null while `admin:` is not configured. */
  readonly admin: BoundAdmin | null;
  readonly health: HealthChecker;
  /** The target has just swapped in a new configuration's balancers (synchronously with the swap). */
  balancersSwapped(): void;
  /** Follow a reload: the target already runs the new configuration. */
  reload(): Promise<void>;
  /** Stop health checks and close the admin listener. */
  stop(): Promise<void>;
}

class RunningOperations implements Operations {
  readonly health: HealthChecker;
  private readonly nonces = new NonceStore();
  private metrics: Metrics | null = null;
  private dashboard: Dashboard | null = null;
  private unsubscribe: (() => void) | null = null;
  private server: AdminListener | null = null;
  private bound: BoundAdmin | null = null;
  private listening: AdminConfig | null = null;
  private stopped = false;

  constructor(private readonly target: AdminTarget, private readonly logger: Logger | undefined) {
    this.health = new HealthChecker(logger === undefined ? {} : { logger });
  }

  get admin(): BoundAdmin | null {
    return this.bound;
  }

  private context(): AdminContext {
    // The file's admin settings; while a reload's new address could not be had, the old listener
    // runs on with the settings it was started with.
    const admin = this.target.config.admin;
    return {
      target: this.target,
      admin: admin !== null && admin.address === this.listening?.address && admin.port === this.listening.port ? admin : this.listening!,
      nonces: this.nonces,
      health: this.health,
      metrics: this.metrics!,
      dashboard: this.dashboard,
      logger: this.logger,
    };
  }

  async start(): Promise<void> {
    this.health.sync(this.target.balancers);
    await this.syncAdmin();
  }

  async reload(): Promise<void> {
    if (this.stopped) return;
    this.health.sync(this.target.balancers);
    try {
      await this.syncAdmin();
    } catch (err) {
      const keep = this.bound === null ? '' : `; the admin listener stays on ${this.bound.address}:${this.bound.port}`;
      this.logger?.error({ err }, `admin listener: ${(err as Error).message}${keep}`);
    }
  }

  /**
   * The daemon has just swapped in the new balancers (called synchronously with the swap, before
   * the reload waits for listeners or workers): the dashboard compares them with what it saw last
   * before one of its ticks can take the new members in as unexplained changes.
   */
  balancersSwapped(): void {
    if (this.stopped) return;
    this.dashboard?.reloaded();
  }

  private async syncAdmin(): Promise<void> {
    const wanted = this.target.config.admin;
    const current = this.listening;
    // The same address, and TLS or not as before: the listener stays (new certificates for new handshakes).
    if (wanted !== null && current !== null && wanted.address === current.address && wanted.port === current.port && !wanted.tls === !current.tls) {
      if (wanted.tls && this.server !== null) updateAdminTls(this.server, wanted.tls);
      this.listening = wanted;
      return;
    }
    if (wanted === null) {
      await this.closeAdmin();
      this.dashboard?.stop();
      this.dashboard = null;
      return;
    }
    // Moving to another port: open the new listener first, so that a port that cannot be had
    // leaves the old one running (the error is logged by reload()). On the same port the old one
    // has to go first.
    if (current !== null && current.port === wanted.port) await this.closeAdmin();
    if (this.metrics === null) {
      this.metrics = new Metrics(this.target);
      this.metrics.attachHealth(this.health);
    }
    const server = await startAdminServer(wanted.address, wanted.port, () => this.context(), wanted.tls);
    await this.closeAdmin();
    this.server = server;
    const bound = server.bound;
    this.bound = bound;
    this.listening = wanted;
    this.unsubscribe = this.metrics.keep();
    // The dashboard (and its timeline) stays when the listener moves to another address.
    this.dashboard ??= new Dashboard(this.target, this.metrics, this.health, this.logger);
    const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
    this.logger?.info(`admin listener on ${wanted.tls ? 'https' : 'http'}://${host}:${bound.port} (balancer-manager, dashboard, /api/balancers, /metrics, /healthz, /readyz)`);
  }

  private async closeAdmin(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    const server = this.server;
    this.server = null;
    this.bound = null;
    this.listening = null;
    if (server !== null) await closeAdminServer(server);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.dashboard?.stop();
    this.dashboard = null;
    await Promise.all([this.closeAdmin(), this.health.stop()]);
  }
}

/**
 * Start health checks and, when configured, the admin listener. Rejects (with nothing left
 * running) when the admin listener cannot listen.
 */
export async function startOperations(target: AdminTarget, logger?: Logger): Promise<Operations> {
  const ops = new RunningOperations(target, logger);
  try {
    await ops.start();
  } catch (err) {
    await ops.stop();
    throw err;
  }
  return ops;
}

/**
 * The daemon's life cycle: start the listeners on a configuration, swap configurations on reload
 * (SIGHUP) without dropping connections or member state, and stop gracefully (SIGTERM/SIGINT).
 *
 * `server.workers` decides who serves requests. With 1, this thread does (InProcessDaemon). With
 * more, worker threads do, each with its own listeners and member pools, while this thread keeps
 * the configuration, the admin listener, the health checks, the signals and the workers'
 * supervision (workers/supervised.ts). Either way the balancers' runtime state is one scoreboard
 * (balancer/scoreboard.ts) that every thread reads and writes.
 *
 * A reload builds new Balancers with the previous ones (members keep their scoreboard slot: E,
 * error time, lbstatus and counters; docs/design.md), keeps each member's connector unless its
 * connection settings changed, and adds or removes listeners; open client connections stay on the
 * listener they came in on and requests in flight finish on the configuration they started with.
 */
import { startOperations, type Operations } from './admin/operations.js';
import type { Balancer } from './balancer/balancer.js';
import { Scoreboard } from './balancer/scoreboard.js';
import type { ReloadControl } from './config/reloader.js';
import type { Config } from './config/types.js';
import { AccessLog, destinationOf, type LineOutput, type Logger, type RequestObserver } from './log.js';
import { ConnectorStore } from './members/connectors.js';
import { ProxyCounters } from './proxy/counters.js';
import { TicketKeyStore } from './tls/tickets.js';
import { workerCount } from './workers/count.js';
import { listenerUrl, Serving, type BoundAddress } from './workers/serving.js';
import { SupervisedDaemon } from './workers/supervised.js';

export { listenerUrl, type BoundAddress };

export interface DaemonOptions {
  /** The daemon's own messages. */
  logger: Logger;
  /**
   * Where access records go when `log.access` is on; default: a logger on `logger`'s destination.
   * null: never write access lines (observers still get records).
   */
  accessLogger?: Logger | null;
  /** Where access lines go (the log outputs of src/log/outputs.ts); takes precedence over accessLogger. */
  accessOutput?: LineOutput;
  /** The reloads of the balancer file, for the admin API and metrics. */
  reloads?: ReloadControl;
}

/** Where the main thread writes access lines: accessOutput, else accessLogger's (or logger's) destination; null: none. */
export function accessOutputOf(options: DaemonOptions): LineOutput | null {
  if (options.accessOutput !== undefined) return options.accessOutput;
  if (options.accessLogger === null) return null;
  return destinationOf(options.accessLogger ?? options.logger);
}

export interface Daemon {
  /** The configuration running now. */
  readonly config: Config;
  /** The live balancers by name (the balancer-manager reads and changes them). */
  readonly balancers: ReadonlyMap<string, Balancer>;
  /** The addresses the listeners are bound to, in `listen` order. */
  readonly addresses: readonly BoundAddress[];
  /** The request path's counters (with worker threads: their totals as of the last /metrics scrape). */
  readonly counters: ProxyCounters;
  /** Worker threads serving requests (1: this thread serves) and how often one was started again. */
  readonly workers: { readonly count: number; readonly restarts: number };
  /** Observe every finished request (metrics); returns the function that stops observing. */
  onRequest(observer: RequestObserver): () => void;
  /** Active health checks and, with `admin:`, the admin listener (src/admin/operations.ts). */
  readonly operations: Operations;
  /** Reloads of the balancer file (null when the daemon was started without a file to reload). */
  readonly reloads: ReloadControl | null;
  /**
   * Hand the log lines batched where requests are served (worker threads) to this thread's
   * outputs now; run before the outputs change (a reload that names other log files).
   */
  flushLines(): Promise<void>;
  /** Run on a new, already validated configuration. */
  reload(config: Config): Promise<void>;
  /**
   * Stop accepting, let requests in flight finish for at most `server.gracefultimeout`, close idle
   * keep-alive connections at once, then cut what is left and close member connections.
   */
  stop(): Promise<void>;
}

/** server.workers: 1: this thread serves requests. */
class InProcessDaemon implements Daemon {
  private readonly serving: Serving;
  private stopping: Promise<void> | null = null;
  private ops: Operations | null = null;
  readonly reloads: ReloadControl | null;
  /** The TLS listeners' session ticket keys (rotated here: there is no other thread to share them with). */
  readonly ticketKeys = new TicketKeyStore();

  constructor(config: Config, private readonly logger: Logger, options: DaemonOptions) {
    this.reloads = options.reloads ?? null;
    this.serving = new Serving(config, {
      board: Scoreboard.create(),
      connectors: new ConnectorStore(),
      access: new AccessLog(config.log.access, accessOutputOf(options)),
      counters: new ProxyCounters(),
      logger,
      tunnels: new Set(),
      draining: false,
    }, false, this.ticketKeys);
  }

  get config(): Config {
    return this.serving.runtime.config;
  }

  get balancers(): ReadonlyMap<string, Balancer> {
    return this.serving.runtime.balancers;
  }

  get addresses(): readonly BoundAddress[] {
    return this.serving.addresses;
  }

  get counters(): ProxyCounters {
    return this.serving.state.counters;
  }

  readonly workers = { count: 1, restarts: 0 };

  get operations(): Operations {
    return this.ops!;
  }

  onRequest(observer: RequestObserver): () => void {
    return this.serving.state.access.subscribe(observer);
  }

  async start(): Promise<void> {
    await this.serving.listen(this.config.listen);
    try {
      this.ops = await startOperations(this, this.logger);
    } catch (err) {
      await this.serving.stop(0);
      throw err;
    }
  }

  /** Requests are served on this thread: their lines are in this thread's outputs already. */
  flushLines(): Promise<void> {
    return Promise.resolve();
  }

  async reload(config: Config): Promise<void> {
    if (this.stopping) return;
    if (workerCount(config.server.workers) !== 1) this.logger.warn('server.workers changed: the new number of workers takes effect when stickyd restarts');
    // serving.reload swaps the runtime before its first await; the dashboard hears of it then.
    const reloading = this.serving.reload(config);
    this.ops?.balancersSwapped();
    const changes = await reloading;
    this.serving.state.access.configure(config.log.access);
    this.logger.level = config.log.level;
    for (const b of changes.closed) this.logger.info(`stickyd stopped listening on ${listenerUrl(b)}`);
    for (const b of changes.opened) this.logger.info(`stickyd listening on ${listenerUrl(b)}`);
    for (const f of changes.failed) this.logger.error({ err: f.error }, `cannot listen on ${f.entry.address}:${f.entry.port}: ${f.error.message}`);
    // Health checks follow the new balancers; the admin listener its new settings.
    await this.ops?.reload();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.serving.state.draining = true;
    await this.ops?.stop();
    await this.serving.stop(this.config.server.gracefultimeout);
    this.ticketKeys.stop();
  }
}

/** Start the daemon: listeners bound (or an error thrown, nothing left open). */
export async function startDaemon(config: Config, options: DaemonOptions): Promise<Daemon> {
  const count = workerCount(config.server.workers);
  if (count > 1) return SupervisedDaemon.start(config, count, options);
  const daemon = new InProcessDaemon(config, options.logger, options);
  await daemon.start();
  return daemon;
}

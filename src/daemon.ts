/**
 * The daemon's life cycle: start the listeners on a configuration, swap configurations on reload
 * (SIGHUP) without dropping connections or member state, and stop gracefully (SIGTERM/SIGINT).
 *
 * A reload builds new Balancers with the previous ones (members keep E, error time, lbstatus and
 * counters; docs/design.md), keeps each member's connector unless its connection settings changed, and
 * adds or removes listeners; open client connections stay on the listener they came in on and
 * requests in flight finish on the configuration they started with.
 */
import type http from 'node:http';
import { startOperations, type Operations } from './admin/operations.js';
import type { Balancer } from './balancer/balancer.js';
import { Scoreboard } from './balancer/scoreboard.js';
import type { Config, ListenConfig } from './config/types.js';
import { AccessLog, createAccessLogger, type Logger, type RequestObserver } from './log.js';
import { ConnectorStore } from './proxy/connectors.js';
import { ProxyCounters } from './proxy/counters.js';
import { handleRequest } from './proxy/handler.js';
import { ProxyRuntime, type ProcessState } from './proxy/runtime.js';
import { applyServerSettings, createListener, listen } from './proxy/server.js';
import { handleUpgrade } from './proxy/upgrade.js';

export interface DaemonOptions {
  /** The daemon's own messages. */
  logger: Logger;
  /**
   * Where access records go when `log.access` is on; default: a logger on `logger`'s destination.
   * null: never write access lines (observers still get records).
   */
  accessLogger?: Logger | null;
}

export interface BoundAddress {
  address: string;
  port: number;
}

export interface Daemon {
  /** The configuration running now. */
  readonly config: Config;
  /** The live balancers by name (the balancer-manager reads and changes them). */
  readonly balancers: ReadonlyMap<string, Balancer>;
  /** The addresses the listeners are bound to, in `listen` order. */
  readonly addresses: readonly BoundAddress[];
  readonly counters: ProxyCounters;
  /** Observe every finished request (metrics); returns the function that stops observing. */
  onRequest(observer: RequestObserver): () => void;
  /** Active health checks and, with `admin:`, the admin listener (src/admin/operations.ts). */
  readonly operations: Operations;
  /** Run on a new, already validated configuration. */
  reload(config: Config): Promise<void>;
  /**
   * Stop accepting, let requests in flight finish for at most `server.gracefultimeout`, close idle
   * keep-alive connections at once, then cut what is left and close member connections.
   */
  stop(): Promise<void>;
}

function listenKey(l: ListenConfig): string {
  return `${l.address}|${l.port}`;
}

interface Listener {
  key: string;
  server: http.Server;
  bound: BoundAddress;
}

class StickyDaemon implements Daemon {
  private runtime: ProxyRuntime;
  private readonly state: ProcessState;
  private listeners: Listener[] = [];
  private stopping: Promise<void> | null = null;
  private readonly accessLogger: Logger | null;
  private ops: Operations | null = null;

  constructor(config: Config, private readonly logger: Logger, accessLogger: Logger | null | undefined) {
    this.accessLogger = accessLogger === undefined ? createAccessLogger(logger) : accessLogger;
    this.state = {
      board: Scoreboard.create(),
      connectors: new ConnectorStore(),
      access: new AccessLog(config.log.access ? this.accessLogger : null),
      counters: new ProxyCounters(),
      logger,
      tunnels: new Set(),
      draining: false,
    };
    this.runtime = new ProxyRuntime(config, this.state);
  }

  get config(): Config {
    return this.runtime.config;
  }

  get balancers(): ReadonlyMap<string, Balancer> {
    return this.runtime.balancers;
  }

  get addresses(): readonly BoundAddress[] {
    return this.listeners.map((l) => l.bound);
  }

  get counters(): ProxyCounters {
    return this.state.counters;
  }

  get operations(): Operations {
    return this.ops!;
  }

  onRequest(observer: RequestObserver): () => void {
    return this.state.access.subscribe(observer);
  }

  private async open(l: ListenConfig): Promise<Listener> {
    const server = createListener(this.runtime.config.server, {
      // Each request runs on the configuration current when it arrives.
      request: (req, res, keepalives) => handleRequest(this.runtime, req, res, keepalives),
      upgrade: (req, socket, head) => handleUpgrade(this.runtime, req, socket, head),
    }, this.state.counters);
    const info = await listen(server, l.address, l.port);
    return { key: listenKey(l), server, bound: { address: info.address, port: info.port } };
  }

  async start(): Promise<void> {
    try {
      for (const l of this.runtime.config.listen) this.listeners.push(await this.open(l));
      this.ops = await startOperations(this, this.logger);
    } catch (err) {
      await this.closeListeners(0);
      throw err;
    }
  }

  async reload(config: Config): Promise<void> {
    if (this.stopping) return;
    const previous = this.runtime;
    this.runtime = new ProxyRuntime(config, this.state, previous);
    previous.supersede();
    this.state.access.setLogger(config.log.access ? this.accessLogger : null);
    this.logger.level = config.log.level;

    const wanted = new Map(config.listen.map((l) => [listenKey(l), l]));
    const kept: Listener[] = [];
    for (const l of this.listeners) {
      if (wanted.has(l.key)) {
        applyServerSettings(l.server, config.server);
        kept.push(l);
      } else {
        // Stop accepting on a removed address; its open connections finish what they do.
        l.server.close();
        l.server.closeIdleConnections();
        this.logger.info(`stickyd stopped listening on http://${hostPort(l.bound)}`);
      }
    }
    const keys = new Set(kept.map((l) => l.key));
    const added: Listener[] = [];
    for (const [key, l] of wanted) {
      if (keys.has(key)) continue;
      try {
        const opened = await this.open(l);
        added.push(opened);
        this.logger.info(`stickyd listening on http://${hostPort(opened.bound)}`);
      } catch (err) {
        this.logger.error({ err }, `cannot listen on ${l.address}:${l.port}: ${(err as Error).message}`);
      }
    }
    // Keep the configuration's order.
    const order = [...wanted.keys()];
    this.listeners = [...kept, ...added].sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
    // Health checks follow the new balancers; the admin listener its new settings.
    await this.ops?.reload();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state.draining = true;
    await this.ops?.stop();
    await this.closeListeners(this.runtime.config.server.gracefultimeout);
    for (const t of this.state.tunnels) t.destroy();
    await this.state.connectors.destroyAll();
  }

  /** Stop accepting; wait up to `graceMs` for open connections to finish, then cut them. */
  private async closeListeners(graceMs: number): Promise<void> {
    const servers = this.listeners.map((l) => l.server);
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    // Connections that go idle after their last response are closed as soon as they do.
    const sweep = setInterval(() => {
      for (const s of servers) s.closeIdleConnections();
    }, 50);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    for (const s of servers) s.closeIdleConnections();
    await Promise.race([closed, deadline]);
    clearInterval(sweep);
    clearTimeout(timer);
    for (const s of servers) s.closeAllConnections();
    for (const t of this.state.tunnels) t.destroy();
  }
}

function hostPort(b: BoundAddress): string {
  return b.address.includes(':') ? `[${b.address}]:${b.port}` : `${b.address}:${b.port}`;
}

/** Start the daemon: listeners bound (or an error thrown, nothing left open). */
export async function startDaemon(config: Config, options: DaemonOptions): Promise<Daemon> {
  const daemon = new StickyDaemon(config, options.logger, options.accessLogger);
  await daemon.start();
  return daemon;
}

/** `http://ADDR:PORT` of a bound address, for messages. */
export function listenerUrl(b: BoundAddress): string {
  return `http://${hostPort(b)}`;
}

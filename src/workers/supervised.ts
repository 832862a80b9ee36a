/**
 * The daemon with worker threads (server.workers > 1). This thread keeps what exists once per
 * process: the configuration and its reloads, the balancers (it allocates their scoreboard slots;
 * the workers attach to them), the admin listener (balancer-manager, API, metrics), the active
 * health checks (one checker, writing into the shared state), the signals and the workers'
 * supervision. The workers serve requests (thread.ts).
 *
 * Before the workers open a `listen` address, this thread binds it once without SO_REUSEPORT and
 * lets it go: a port another process holds is an error here, as it is with one worker, rather than
 * a listener silently sharing connections with that process. Port 0 (a program embedding the daemon
 * may give it) becomes one port for every worker: see claimListen.
 */
import net from 'node:net';
import { startOperations, type Operations } from '../admin/operations.js';
import type { FiguresFeed } from '../admin/context.js';
import type { Balancer } from '../balancer/balancer.js';
import { Scoreboard } from '../balancer/scoreboard.js';
import type { Config, ListenConfig } from '../config/types.js';
import type { ReloadControl } from '../config/reloader.js';
import { accessOutputOf, type Daemon, type DaemonOptions } from '../daemon.js';
import { destinationOf, writeLines, type LinesOutput, type Logger, type RequestObserver } from '../log.js';
import { ProxyCounters } from '../proxy/counters.js';
import { buildBalancers } from '../proxy/runtime.js';
import { TicketKeyStore } from '../tls/tickets.js';
import { workerCount } from './count.js';
import type { Placements } from './messages.js';
import { listenerUrl, listenKey, type BoundAddress } from './serving.js';
import { Supervisor, type Launch } from './supervisor.js';

/** An address the workers may open, as `claimListen` found it. */
interface Claim {
  /** The entry with its port: the configuration's, or the one the kernel picked for port 0. */
  entry: ListenConfig;
  /** Let go of what this thread holds (once the workers listen). */
  release(): Promise<void>;
}

function listenOn(server: net.Server, options: net.ListenOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closed(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Check that `l` can be had; rejects like a listener would (EADDRINUSE, EACCES, ...). A port is
 * bound exclusively (no SO_REUSEPORT) and let go at once.
 *
 * Port 0 must become one port that every worker opens (each binding 0 itself would get a port of
 * its own, and `addresses` would name only the first). The kernel picks a free port for an
 * exclusive bind; this thread then listens on that port with SO_REUSEPORT (the workers join it) and
 * holds it until the workers listen, so that nothing else takes the port meanwhile. Nobody knows
 * the port before the daemon reports it, so no client connects to this thread's socket; a
 * connection that does arrive is closed.
 */
async function claimListen(l: ListenConfig): Promise<Claim> {
  if (l.port !== 0) {
    const probe = net.createServer();
    await listenOn(probe, { port: l.port, host: l.address });
    await closed(probe);
    return { entry: l, release: () => Promise.resolve() };
  }
  for (let attempt = 1; ; attempt++) {
    const probe = net.createServer();
    const port = await listenOn(probe, { port: 0, host: l.address });
    const holder = net.createServer((socket) => socket.destroy());
    // The probe's socket is closed at once (its callback comes later), so the port is free again
    // for the holder's bind, which follows without a turn of the event loop in between.
    const probed = closed(probe);
    try {
      await listenOn(holder, { port, host: l.address, reusePort: true });
    } catch (err) {
      await probed;
      // Taken in that instant: another port.
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue;
      throw err;
    }
    await probed;
    return { entry: { ...l, port }, release: () => closed(holder) };
  }
}

async function claimAll(entries: readonly ListenConfig[]): Promise<Claim[]> {
  const claims: Claim[] = [];
  try {
    for (const l of entries) claims.push(await claimListen(l));
  } catch (err) {
    await releaseAll(claims);
    throw err;
  }
  return claims;
}

async function releaseAll(claims: readonly Claim[]): Promise<void> {
  await Promise.all(claims.map((c) => c.release()));
}

function placementsOf(balancers: ReadonlyMap<string, Balancer>): Placements {
  const out: Placements = {};
  for (const [name, b] of balancers) out[name] = b.placement;
  return out;
}

export class SupervisedDaemon implements Daemon {
  private current: Config;
  private live: Map<string, Balancer>;
  private readonly board = Scoreboard.create();
  readonly supervisor: Supervisor;
  private bound: BoundAddress[] = [];
  /**
   * The listen entries the workers have open, by the key of the configuration's entry (a port 0
   * entry keeps the port it was given across reloads).
   */
  private listening = new Map<string, ListenConfig>();
  private ops: Operations | null = null;
  private stopping: Promise<void> | null = null;
  /** Where the workers' access lines are written (null: nowhere). */
  private readonly accessOutput: LinesOutput | null;
  private readonly logger: Logger;
  readonly reloads: ReloadControl | null;
  private observers: RequestObserver[] = [];
  private figureKeepers = 0;
  private totals = new ProxyCounters();
  /**
   * The TLS listeners' session ticket keys, made and rotated here and posted to every worker:
   * a client resumes its session whichever worker its next connection lands on.
   */
  readonly ticketKeys: TicketKeyStore;

  private constructor(config: Config, count: number, options: DaemonOptions) {
    const logger = options.logger;
    this.logger = logger;
    this.current = config;
    this.reloads = options.reloads ?? null;
    this.accessOutput = accessOutputOf(options);
    this.live = buildBalancers(config, this.board);
    this.ticketKeys = new TicketKeyStore((listener, key) => this.supervisor.ticketKey(listener, key));
    const logDestination: LinesOutput = destinationOf(logger);
    const accessDestination = this.accessOutput;
    this.supervisor = new Supervisor({
      count,
      board: this.board,
      logger,
      lines: (channel, bytes) => {
        const destination = channel === 'access' ? accessDestination : logDestination;
        if (destination !== null) writeLines(destination, bytes, channel);
      },
      records: (records) => {
        for (const r of records) {
          for (const o of this.observers) {
            try {
              o(r);
            } catch {
              // An observer's bug must not break the daemon.
            }
          }
        }
      },
    });
  }

  static async start(config: Config, count: number, options: DaemonOptions): Promise<SupervisedDaemon> {
    const logger = options.logger;
    const daemon = new SupervisedDaemon(config, count, options);
    const claims = await claimAll(config.listen);
    daemon.listening = new Map(config.listen.map((l, i) => [listenKey(l), claims[i]!.entry]));
    try {
      daemon.bound = await daemon.supervisor.start(daemon.launch());
    } finally {
      await releaseAll(claims);
    }
    try {
      daemon.ops = await startOperations(daemon, logger);
    } catch (err) {
      await daemon.supervisor.stop(0);
      throw err;
    }
    return daemon;
  }

  private launch(): Launch {
    // Every TLS listener with tickets has its key before a worker opens it (keyed as the workers
    // key their listeners: by the entry with the port it was given).
    const entries = [...this.listening.values()];
    const keyed = entries.filter((l) => l.tls !== undefined && l.tls.sessiontickets);
    for (const l of keyed) this.ticketKeys.source(listenKey(l), l.tls!.ticketkeyrotation);
    this.ticketKeys.retain(new Set(keyed.map(listenKey)));
    return { config: this.current, placements: placementsOf(this.live), listen: entries, access: this.accessOutput !== null, tickets: this.ticketKeys.snapshot() };
  }

  get config(): Config {
    return this.current;
  }

  get balancers(): ReadonlyMap<string, Balancer> {
    return this.live;
  }

  get addresses(): readonly BoundAddress[] {
    return this.bound;
  }

  /** The request path's counters summed over the workers, as of the last collection (/metrics). */
  get counters(): ProxyCounters {
    return this.totals;
  }

  get workers(): { count: number; restarts: number } {
    return { count: this.supervisor.count, restarts: this.supervisor.restarts };
  }

  get operations(): Operations {
    return this.ops!;
  }

  /** Every access record of every worker (posted to this thread while someone observes). */
  onRequest(observer: RequestObserver): () => void {
    this.observers = [...this.observers, observer];
    if (this.observers.length === 1) this.supervisor.setObserve(true);
    return () => {
      const before = this.observers.length;
      this.observers = this.observers.filter((o) => o !== observer);
      if (before > 0 && this.observers.length === 0) this.supervisor.setObserve(false);
    };
  }

  /** /metrics: the workers keep the request figures, a scrape adds them up. */
  readonly figures: FiguresFeed = {
    keep: () => {
      if (++this.figureKeepers === 1) this.supervisor.setFigures(true);
      let kept = true;
      return () => {
        if (!kept) return;
        kept = false;
        if (--this.figureKeepers === 0) this.supervisor.setFigures(false);
      };
    },
    collect: async () => {
      const figures = await this.supervisor.collect();
      this.totals = Object.assign(new ProxyCounters(), structuredClone(figures.counters));
      return figures;
    },
  };

  /** The lines the workers have batched, handed to this thread's outputs now (see Daemon.flushLines). */
  flushLines(): Promise<void> {
    return this.supervisor.flushLines();
  }

  async reload(config: Config): Promise<void> {
    if (this.stopping) return;
    if (workerCount(config.server.workers) !== this.supervisor.count) {
      this.logger.warn(`server.workers changed: the new number of workers takes effect when stickyd restarts (running ${this.supervisor.count})`);
    }
    // The balancers first (this thread allocates scoreboard slots; surviving members keep theirs).
    this.live = buildBalancers(config, this.board, this.live);
    this.current = config;
    this.ops?.balancersSwapped();
    this.logger.level = config.log.level;

    const wanted = new Map(config.listen.map((l) => [listenKey(l), l]));
    const had = this.listening;
    const listening = new Map<string, ListenConfig>();
    const claims: Claim[] = [];
    for (const [key, l] of wanted) {
      const open = had.get(key);
      if (open !== undefined) {
        listening.set(key, { ...l, port: open.port });
        continue;
      }
      try {
        const claim = await claimListen(l);
        claims.push(claim);
        listening.set(key, claim.entry);
      } catch (err) {
        this.logger.error({ err }, `cannot listen on ${l.address}:${l.port}: ${(err as Error).message}`);
      }
    }
    this.listening = listening;
    try {
      await this.supervisor.reload(this.launch());
    } finally {
      await releaseAll(claims);
    }
    for (const [key, l] of had) if (!listening.has(key)) this.logger.info(`stickyd stopped listening on ${listenerUrl(l)}`);
    for (const [key, l] of listening) if (!had.has(key)) this.logger.info(`stickyd listening on ${listenerUrl(l)}`);
    this.bound = [...listening.values()].map((l) => (l.tls !== undefined ? { address: l.address, port: l.port, tls: true } : { address: l.address, port: l.port }));
    // Health checks follow the new balancers; the admin listener its new settings.
    await this.ops?.reload();
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.ops?.stop();
    await this.supervisor.stop(this.current.server.gracefultimeout);
    this.ticketKeys.stop();
  }
}

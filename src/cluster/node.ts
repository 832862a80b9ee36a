/**
 * ClusterNode: one Tomcat cluster node embedded in a Node.js backend — the group channel, a session
 * manager (DeltaManager or BackupManager) and the request-side pieces (middleware, express-session
 * store and cookie adapter, node:http wrapper), with events, counters and `inspect` for tests.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import pino, { type Logger } from 'pino';
import type { Channel, ChannelStats, ClusterMember } from './channel/types.js';
import { createClock, type Clock } from './clock.js';
import { BackupManager } from './managers/backup-manager.js';
import { DeltaManager } from './managers/delta-manager.js';
import type { ClusterManagerBase } from './managers/manager-base.js';
import type { SessionManager } from './managers/manager.js';
import type { ManagerStats } from './managers/stats.js';
import { createCookieAdapter, type CookieAdapterOptions } from './middleware/express-session-adapter.js';
import { createStore, type ExpressSessionModule, type ClusterStore } from './middleware/express-session-store.js';
import { createMiddleware, type ClusterRequest, type Middleware } from './middleware/middleware.js';
import { resolveNodeOptions, type ClusterNodeOptions, type ResolvedNodeOptions } from './options.js';
import { generateSessionId } from './session/id.js';
import type { SessionInspection } from './session/session.js';
import type { RedisStoreStats } from './store/stats.js';

export interface ClusterNodeStats extends ManagerStats {
  jvmRoute: string;
  members: Array<{ route: string; host: string; port: number }>;
  channel: ChannelStats;
  /** With `store: redis`: commands, errors, latency, the local cache's hits and misses, availability. */
  store?: RedisStoreStats;
}

/**
 * What a node drives: the request-side SessionManager plus the channel-facing hooks. DeltaManager
 * and BackupManager (ClusterManagerBase) implement them; the Redis store's manager has no peers
 * and implements them as no-ops (store/redis-manager.ts).
 */
export type NodeSessionManager = SessionManager &
  Pick<ClusterManagerBase, 'receive' | 'answer' | 'memberAdded' | 'memberRemoved' | 'processExpires'>;

export interface ManagerFactoryContext {
  options: ResolvedNodeOptions;
  clock: Clock;
  logger: Logger;
  random?: ClusterNodeOptions['random'];
}

/**
 * Events:
 * - 'ready' (): state transfer done, the node may take traffic.
 * - 'memberAdded' (member), 'memberRemoved' (member, reason).
 * - 'sessionCreated' ({ id, local }), 'sessionExpired' ({ id, reason, local }),
 *   'sessionChangedId' ({ oldId, newId, local }), 'sessionPrimary' ({ id, reason }).
 * - 'replicationFailed' ({ type, sessionId, routes, error }).
 * - 'stateTransferred' ({ state, from, sessions, ms }).
 */
export class ClusterNode extends EventEmitter {
  /** Resolves once this node is announced and has received the cluster's session state (Tomcat starts its connector after this). */
  readonly ready: Promise<void>;
  readonly jvmRoute: string;
  readonly options: ResolvedNodeOptions;
  private readonly channel: Channel;
  private readonly manager: NodeSessionManager;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: ClusterNodeOptions['random'];
  private stopping: Promise<void> | null = null;
  private middlewareFn: Middleware | null = null;

  /** `createManager`: a manager other than DeltaManager/BackupManager (the Redis store's). */
  constructor(options: ClusterNodeOptions, channel: Channel, createManager?: (ctx: ManagerFactoryContext) => NodeSessionManager) {
    super();
    this.options = resolveNodeOptions(options);
    this.jvmRoute = this.options.jvmRoute;
    this.channel = channel;
    this.clock = createClock(options.clock);
    this.random = options.random;
    const base = options.logger ?? pino({ name: 'stickyd-cluster', level: 'info' });
    this.log = base.child({ jvmRoute: this.jvmRoute, component: 'cluster' });
    const ctx = { channel, options: this.options, clock: this.clock, logger: this.log, random: this.random };
    this.manager = createManager
      ? createManager({ options: this.options, clock: this.clock, logger: this.log, ...(this.random ? { random: this.random } : {}) })
      : this.options.manager === 'backup' ? new BackupManager(ctx) : new DeltaManager(ctx);
    for (const event of ['sessionCreated', 'sessionExpired', 'sessionChangedId', 'sessionPrimary', 'replicationFailed', 'stateTransferred']) {
      this.manager.on(event, (info: unknown) => this.emit(event, info));
    }
    channel.on('memberAdded', (m: ClusterMember) => {
      this.log.info({ member: m.route, host: m.host, port: m.port }, 'member added');
      this.manager.memberAdded(m);
      this.emit('memberAdded', m);
    });
    channel.on('memberRemoved', (m: ClusterMember, reason: string) => {
      this.log.info({ member: m.route, reason }, 'member removed');
      this.manager.memberRemoved(m);
      this.emit('memberRemoved', m, reason);
    });
    channel.onMessage((from, msg) => this.manager.receive(from, msg));
    channel.onRequest((from, msg) => this.manager.answer(from, msg));
    this.ready = this.start();
    // Callers that never await `ready` must not crash on an unhandled rejection; those who do still see it.
    this.ready.catch((err: unknown) => this.log.error({ err }, 'cluster node failed to start'));
  }

  private async start(): Promise<void> {
    await this.channel.start();
    await this.manager.start();
    this.log.info({ manager: this.manager.kind, members: this.channel.members().map((m) => m.route) }, 'cluster node ready');
    this.emit('ready');
  }

  /** An application listener that throws is logged and counted; it never unwinds into the cluster code. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    try {
      return super.emit(event, ...args);
    } catch (err) {
      this.manager.reportError(`'${String(event)}' listener`, err);
      return true;
    }
  }

  /** The session middleware (Connect/Express style): req.session, JSESSIONID cookie, route binder, replication. */
  middleware(): Middleware {
    if (!this.middlewareFn) {
      const inner = createMiddleware({ manager: this.manager, options: this.options, log: this.log, random: this.random });
      // Requests that arrive before `ready` wait for it: no request sees a half-transferred state.
      this.middlewareFn = (req, res, next) => {
        this.ready
          .then(() => inner(req, res, next), next)
          .catch((err: unknown) => this.manager.reportError('session middleware', err));
      };
    }
    return this.middlewareFn;
  }

  /**
   * For plain node:http servers: `http.createServer(node.wrap((req, res) => { req.session.n = 1; res.end() }))`.
   * Errors thrown or rejected by the listener become a 500.
   */
  wrap(listener: (req: ClusterRequest, res: ServerResponse) => void | Promise<void>): RequestListener {
    const mw = this.middleware();
    return (req: IncomingMessage, res: ServerResponse) => {
      const fail = (err: unknown) => {
        this.log.error({ err }, 'request failed');
        if (!res.headersSent) {
          res.statusCode = (err as { status?: number })?.status === 503 ? 503 : 500;
          res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        }
        res.end(res.statusCode === 503 ? 'Service Unavailable\n' : 'Internal Server Error\n');
      };
      mw(req, res, (err?: unknown) => {
        if (err) return fail(err);
        try {
          Promise.resolve(listener(req as ClusterRequest, res)).catch(fail);
        } catch (e) {
          fail(e);
        }
      });
    };
  }

  /** express-session's `genid`: a new `<32 HEX>.<jvmRoute>` id. */
  readonly genid = (): string => generateSessionId(this.jvmRoute, this.random);

  /**
   * An express-session Store backed by this node's sessions. express-session is loaded from the
   * application (it is an optional peer dependency); pass the module when it cannot be resolved
   * from here (`node.store(session)`).
   */
  store(sessionModule?: ExpressSessionModule): ClusterStore {
    return createStore({ manager: this.manager, options: this.options, log: this.log, ready: this.ready }, sessionModule);
  }

  /**
   * Middleware to put BEFORE express-session: routable unsigned `JSESSIONID=<hex>.<route>` cookies,
   * `;jsessionid=` URLs and the route binder for express-session apps (see express-session-adapter.ts).
   */
  cookieAdapter(options: CookieAdapterOptions): Middleware {
    return createCookieAdapter({ manager: this.manager, options: this.options, log: this.log, ready: this.ready }, options);
  }

  /** rep(X): this node's copy of a session, for tests and debugging (never through a request). */
  inspect(id: string): SessionInspection | undefined {
    return this.manager.inspect(id);
  }

  /** Ids of the sessions this node holds a value for. */
  sessionIds(): string[] {
    return this.manager.sessionIds();
  }

  /** Live members other than this node, oldest first. */
  members(): ClusterMember[] {
    return this.channel.members();
  }

  /** This node as its peers see it. */
  get local(): ClusterMember {
    return this.channel.local;
  }

  stats(): ClusterNodeStats {
    return {
      jvmRoute: this.jvmRoute,
      ...this.manager.stats(),
      members: this.channel.members().map((m) => ({ route: m.route, host: m.host, port: m.port })),
      channel: this.channel.stats(),
    };
  }

  /** Runs one expiry sweep now (normally every processExpiresFrequency ms). */
  processExpires(): void {
    this.manager.processExpires();
  }

  /**
   * Graceful stop: with expireSessionsOnShutdown the sessions are expired cluster-wide first;
   * then the leave is announced (peers drop this member at once) and everything is closed.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.ready.catch(() => undefined);
      await this.manager.stop();
      await this.channel.stop();
      this.log.info('cluster node stopped');
    })();
    return this.stopping;
  }
}

/**
 * The part of the daemon that serves requests: the listeners (edge/listener.ts, one per `listen`
 * entry) and the running configuration (ProxyRuntime) with the process-wide state of the request
 * path (member connectors, access log, counters, open tunnels). It runs on the main thread with
 * `server.workers: 1`, and once in each worker thread otherwise (then with SO_REUSEPORT, so that
 * every worker has its own listening socket on each address).
 *
 * A reload swaps the runtime and opens or closes listeners; open client connections stay on the
 * listener they came in on and requests in flight finish on the configuration they started with.
 */
import type { Config, ListenConfig } from '../config/types.js';
import { EdgeListener, listenKey } from '../edge/listener.js';
import type { AccessRecord } from '../log.js';
import type { ClientRequest, ClientResponse } from '../proxy/client-messages.js';
import { clientInfo, handleRequest } from '../proxy/handler.js';
import { ProxyRuntime, type BalancerBuilder, type ProcessState } from '../proxy/runtime.js';
import { handleUpgrade } from '../proxy/upgrade.js';
import type { TicketKeyProvider } from '../tls/tickets.js';

export { listenKey };

export interface BoundAddress {
  address: string;
  port: number;
  /** A TLS listener (absent for plain HTTP). */
  tls?: true;
}

interface Listener {
  key: string;
  edge: EdgeListener;
  bound: BoundAddress;
  tls: boolean;
}

/** What a reload did to the listeners, for the caller to log. */
export interface ListenerChanges {
  opened: BoundAddress[];
  closed: BoundAddress[];
  failed: Array<{ entry: ListenConfig; error: Error }>;
}

export class Serving {
  runtime: ProxyRuntime;
  private listeners: Listener[] = [];

  constructor(config: Config, readonly state: ProcessState, private readonly reusePort: boolean, private readonly tickets: TicketKeyProvider, build?: BalancerBuilder) {
    this.runtime = new ProxyRuntime(config, state, undefined, build);
  }

  /** The addresses the listeners are bound to, in `listen` order. */
  get addresses(): BoundAddress[] {
    return this.listeners.map((l) => (l.tls ? { ...l.bound, tls: true } : l.bound));
  }

  /** The listener of a `listen` entry (tests). */
  listener(key: string): EdgeListener | undefined {
    return this.listeners.find((l) => l.key === key)?.edge;
  }

  private async open(l: ListenConfig): Promise<Listener> {
    const edge = new EdgeListener(l, this.runtime.config.server, {
      // Each request runs on the configuration current when it arrives.
      request: (req, res, keepalives) => handleRequest(this.runtime, req, res, keepalives),
      upgrade: (req, socket, head) => handleUpgrade(this.runtime, req, socket, head),
      answered: (req, res, a) => this.logAnswered(req, res, a),
      serverName: () => this.runtime.config.server.servername,
    }, this.state.counters, this.tickets, this.state.logger);
    const info = await edge.listen(this.reusePort);
    return { key: listenKey(l), edge, bound: { address: info.address, port: info.port }, tls: l.tls !== undefined };
  }

  /** The access record of a request the listener answered itself (a redirect, a refused CONNECT). */
  private logAnswered(req: ClientRequest, res: ClientResponse | null, a: { status: number; bytes: number; startMs: number; started: number }): void {
    const { access, config } = this.runtime;
    if (!access.wanted) return;
    const client = clientInfo(req, config.server.servername);
    const record: AccessRecord = {
      time: new Date(a.startMs).toISOString(),
      client: client.remoteAddress,
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      status: a.status,
      bytes: a.bytes,
      duration: Math.round((performance.now() - a.started) * 1000) / 1000,
      balancer: null,
      member: null,
      memberRoute: null,
      sessionRoute: null,
      stickyName: null,
      routeChanged: false,
      attempts: 0,
      context: { req, res, startMs: a.startMs, keepalives: 0, client, implicit: false },
    };
    access.emit(record);
  }

  /** Open the listeners of `entries` (at start); on a failure, close what was opened and throw. */
  async listen(entries: readonly ListenConfig[]): Promise<void> {
    try {
      for (const l of entries) this.listeners.push(await this.open(l));
    } catch (err) {
      await this.close(0);
      throw err;
    }
  }

  /**
   * Run on a new configuration: a new runtime (built with the previous one, so member state and
   * connectors carry over), then listeners for `entries` (default: the configuration's) opened or
   * closed. A removed address stops accepting; its open connections finish what they do.
   */
  async reload(config: Config, build?: BalancerBuilder, entries: readonly ListenConfig[] = config.listen): Promise<ListenerChanges> {
    const previous = this.runtime;
    this.runtime = new ProxyRuntime(config, this.state, previous, build);
    previous.supersede();

    const changes: ListenerChanges = { opened: [], closed: [], failed: [] };
    const wanted = new Map(entries.map((l) => [listenKey(l), l]));
    const kept: Listener[] = [];
    for (const l of this.listeners) {
      const entry = wanted.get(l.key);
      if (entry !== undefined) {
        l.edge.update(entry, config.server);
        l.tls = entry.tls !== undefined;
        kept.push(l);
      } else {
        l.edge.stopAccepting();
        l.edge.closeIdle();
        changes.closed.push(l.tls ? { ...l.bound, tls: true } : l.bound);
      }
    }
    // Ticket keys of listeners that are gone (or no longer TLS) are dropped.
    this.tickets.retain(new Set(entries.filter((l) => l.tls !== undefined && l.tls.sessiontickets).map(listenKey)));
    const keys = new Set(kept.map((l) => l.key));
    const added: Listener[] = [];
    for (const [key, l] of wanted) {
      if (keys.has(key)) continue;
      try {
        const opened = await this.open(l);
        added.push(opened);
        changes.opened.push(opened.tls ? { ...opened.bound, tls: true } : opened.bound);
      } catch (err) {
        changes.failed.push({ entry: l, error: err as Error });
      }
    }
    // Keep the configuration's order.
    const order = [...wanted.keys()];
    this.listeners = [...kept, ...added].sort((a, b) => order.indexOf(a.key) - order.indexOf(b.key));
    return changes;
  }

  /**
   * Stop: answer what is in flight with `Connection: close`, stop accepting, let open connections
   * finish for at most `graceMs`, close idle keep-alive connections at once, then cut what is left,
   * end tunnels and close member connections.
   */
  async stop(graceMs: number): Promise<void> {
    this.state.draining = true;
    await this.close(graceMs);
    for (const t of this.state.tunnels) t.destroy();
    await this.state.connectors.destroyAll();
  }

  /** Stop accepting; wait up to `graceMs` for open connections to finish, then cut them. */
  private async close(graceMs: number): Promise<void> {
    const edges = this.listeners.map((l) => l.edge);
    for (const e of edges) e.stopAccepting();
    const closed = Promise.all(edges.map((e) => e.drained()));
    // Connections that go idle after their last response are closed as soon as they do.
    const sweep = setInterval(() => {
      for (const e of edges) e.closeIdle();
    }, 50);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    for (const e of edges) e.closeIdle();
    await Promise.race([closed, deadline]);
    clearInterval(sweep);
    clearTimeout(timer);
    for (const e of edges) e.closeAll();
    for (const t of this.state.tunnels) t.destroy();
  }
}

function hostPort(b: { address: string; port: number }): string {
  return b.address.includes(':') ? `[${b.address}]:${b.port}` : `${b.address}:${b.port}`;
}

/** `http://ADDR:PORT` (`https://` for a TLS listener) of a bound address, for messages. */
export function listenerUrl(b: { address: string; port: number; tls?: unknown }): string {
  return `${b.tls ? 'https' : 'http'}://${hostPort(b)}`;
}

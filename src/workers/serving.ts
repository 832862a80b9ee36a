/**
 * The part of the daemon that serves requests: the listeners (one node:http server per `listen`
 * entry) and the running configuration (ProxyRuntime) with the process-wide state of the request
 * path (member connectors, access log, counters, open tunnels). It runs on the main thread with
 * `server.workers: 1`, and once in each worker thread otherwise (then with SO_REUSEPORT, so that
 * every worker has its own listening socket on each address).
 *
 * A reload swaps the runtime and opens or closes listeners; open client connections stay on the
 * listener they came in on and requests in flight finish on the configuration they started with.
 */
import type http from 'node:http';
import type { Config, ListenConfig } from '../config/types.js';
import { handleRequest } from '../proxy/handler.js';
import { ProxyRuntime, type BalancerBuilder, type ProcessState } from '../proxy/runtime.js';
import { applyServerSettings, createListener, listen } from '../proxy/server.js';
import { handleUpgrade } from '../proxy/upgrade.js';

export interface BoundAddress {
  address: string;
  port: number;
}

export function listenKey(l: ListenConfig): string {
  return `${l.address}|${l.port}`;
}

interface Listener {
  key: string;
  server: http.Server;
  bound: BoundAddress;
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

  constructor(config: Config, readonly state: ProcessState, private readonly reusePort: boolean, build?: BalancerBuilder) {
    this.runtime = new ProxyRuntime(config, state, undefined, build);
  }

  /** The addresses the listeners are bound to, in `listen` order. */
  get addresses(): BoundAddress[] {
    return this.listeners.map((l) => l.bound);
  }

  private async open(l: ListenConfig): Promise<Listener> {
    const server = createListener(this.runtime.config.server, {
      // Each request runs on the configuration current when it arrives.
      request: (req, res, keepalives) => handleRequest(this.runtime, req, res, keepalives),
      upgrade: (req, socket, head) => handleUpgrade(this.runtime, req, socket, head),
    }, this.state.counters);
    const info = await listen(server, l.address, l.port, this.reusePort);
    return { key: listenKey(l), server, bound: { address: info.address, port: info.port } };
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
      if (wanted.has(l.key)) {
        applyServerSettings(l.server, config.server);
        kept.push(l);
      } else {
        l.server.close();
        l.server.closeIdleConnections();
        changes.closed.push(l.bound);
      }
    }
    const keys = new Set(kept.map((l) => l.key));
    const added: Listener[] = [];
    for (const [key, l] of wanted) {
      if (keys.has(key)) continue;
      try {
        const opened = await this.open(l);
        added.push(opened);
        changes.opened.push(opened.bound);
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

/** `http://ADDR:PORT` of a bound address, for messages. */
export function listenerUrl(b: BoundAddress): string {
  return `http://${hostPort(b)}`;
}

/**
 * The connections of one AJP member (mod_proxy's per-worker pool, apache-semantics §7.2):
 * - a request takes one of the member's `max` connection slots first (slots.ts: the one queue,
 *   with `acquire`'s wait and its kind 'acquire' when no slot frees up in time), then an idle
 *   connection, or opens one; so there are never more than `max` connections;
 * - an idle connection is closed after `ttl` ms (<= 0: kept until the container closes it);
 *   the most recently used idle connection is handed out first, so surplus ones age out;
 * - `disablereuse` is the caller's business: it just never gives a connection back.
 */
import { BackendError, type ClientAbort } from '../connector.js';
import { ConnectionSlots, type SlotWaiter } from '../slots.js';
import { AjpConnection, connect, type ConnectOptions } from './connection.js';

export interface PoolOptions extends ConnectOptions {
  max: number;
  /** ms to wait for a free slot; null = wait as long as it takes. */
  acquire: number | null;
  /** Idle lifetime in ms; <= 0 = no limit. */
  ttl: number;
}

/** Counters, for tests, the manager and metrics. */
export interface PoolStats {
  /** Connections open now (idle + busy). */
  open: number;
  idle: number;
  /** Connections opened since the pool was made. */
  opened: number;
  /** Requests waiting for a slot. */
  waiting: number;
}

export class ConnectionPool {
  private readonly idle: AjpConnection[] = [];
  private readonly idleTimers = new Map<AjpConnection, NodeJS.Timeout>();
  private readonly slots: ConnectionSlots;
  private opened = 0;
  private closing = false;
  private readonly all = new Set<AjpConnection>();
  private drained: (() => void) | null = null;
  private readonly name: string;

  constructor(private readonly opts: PoolOptions) {
    this.name = `ajp://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
    this.slots = new ConnectionSlots(opts.max, opts.acquire, this.name);
  }

  stats(): PoolStats {
    return { open: this.all.size, idle: this.idle.length, opened: this.opened, waiting: this.slots.waiting };
  }

  /**
   * A connection for one request, in a slot of its own: an idle one if there is one (its
   * `cycles` > 0 tells it is reused), else a new one. Rejects with a BackendError: 'acquire' (no
   * slot in time), 'connect' (or 'dns'), or 'aborted' (the client went away). The caller gives
   * the connection (and with it the slot) back with release().
   */
  async acquire(client: ClientAbort): Promise<AjpConnection> {
    if (this.closing) throw this.closedError();
    if (client.aborted) throw new BackendError('aborted', 'the client went away');
    if (!this.slots.tryTake()) await this.waitForSlot(client.signal);
    const conn = this.takeIdle();
    if (conn !== null) return conn;
    return this.open();
  }

  /** Opens a new connection in a slot already taken; gives the slot back if the connect fails. */
  private async open(): Promise<AjpConnection> {
    let conn: AjpConnection;
    try {
      conn = await connect(this.opts);
    } catch (err) {
      this.slots.release();
      throw err;
    }
    this.opened++;
    this.all.add(conn);
    conn.onGone = (c) => this.forget(c);
    if (this.closing) {
      conn.destroy();
      this.slots.release();
      throw this.closedError();
    }
    return conn;
  }

  /**
   * Replaces a connection the caller holds by a new one in the same slot (after a failed CPing,
   * mod_proxy_ajp closes the connection and tries once more on a fresh one).
   */
  async reopen(conn: AjpConnection): Promise<AjpConnection> {
    conn.detach();
    conn.destroy();
    if (this.closing) {
      this.slots.release();
      throw this.closedError();
    }
    return this.open();
  }

  /** Gives a connection and its slot back after a cycle: the connection is kept when `reusable`, else closed. */
  release(conn: AjpConnection, reusable: boolean): void {
    conn.detach();
    if (!reusable || this.closing || !conn.alive) {
      conn.destroy();
    } else {
      conn.socket.resume();
      this.idle.push(conn);
      if (this.opts.ttl > 0) {
        const t = setTimeout(() => conn.destroy(), this.opts.ttl);
        t.unref();
        this.idleTimers.set(conn, t);
      }
    }
    // The next waiter, if any, takes this slot (and finds the connection idle).
    this.slots.release();
  }

  /**
   * Stop handing out connections once the requests already waiting for a slot have theirs;
   * resolve once every connection is closed.
   */
  async close(): Promise<void> {
    await this.slots.noneWaiting();
    this.closing = true;
    for (const c of [...this.idle]) c.destroy();
    if (this.all.size === 0) return;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
    });
  }

  /** Close everything now. */
  destroy(): void {
    this.closing = true;
    this.slots.close(this.closedError());
    for (const c of [...this.all]) c.destroy();
  }

  private closedError(): BackendError {
    return new BackendError('connect', `${this.name}: the connector is closed`);
  }

  private takeIdle(): AjpConnection | null {
    while (this.idle.length > 0) {
      const conn = this.idle.pop()!;
      this.clearIdleTimer(conn);
      if (conn.alive) return conn;
    }
    return null;
  }

  private clearIdleTimer(conn: AjpConnection): void {
    const t = this.idleTimers.get(conn);
    if (t) clearTimeout(t);
    this.idleTimers.delete(conn);
  }

  /** A connection closed (idle ones too: the container or the ttl closed it). */
  private forget(conn: AjpConnection): void {
    this.clearIdleTimer(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    this.all.delete(conn);
    if (this.closing && this.all.size === 0 && this.drained) {
      const d = this.drained;
      this.drained = null;
      d();
    }
  }

  /** Queue for a slot (slots.ts); rejects when `acquire` runs out or the client goes away. */
  private waitForSlot(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.slots.leave(waiter);
        reject(new BackendError('aborted', 'the client went away while waiting for a connection'));
      };
      const waiter: SlotWaiter = {
        granted: () => {
          signal.removeEventListener('abort', onAbort);
          if (this.closing) {
            this.slots.release();
            reject(this.closedError());
          } else resolve();
        },
        refused: (err) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.slots.take(waiter);
    });
  }
}

/**
 * The connection pool of one AJP member (mod_proxy's per-worker pool, apache-semantics §7.2):
 * - at most `max` connections (idle + busy + being opened);
 * - a request that finds none free waits at most `acquire` ms for one (null: as long as it
 *   takes), then fails with kind 'acquire' (apache-semantics §4.1: member in error, failover);
 * - an idle connection is closed after `ttl` ms (<= 0: kept until the container closes it);
 *   the most recently used idle connection is handed out first, so surplus ones age out;
 * - `disablereuse` is the caller's business: it just never gives a connection back.
 */
import { BackendError } from '../connector.js';
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

interface Waiter {
  /** Hands over an idle connection, or null: "a slot is yours, open a connection". */
  grant(conn: AjpConnection | null): void;
}

export class ConnectionPool {
  private readonly idle: AjpConnection[] = [];
  private readonly idleTimers = new Map<AjpConnection, NodeJS.Timeout>();
  private readonly waiters: Waiter[] = [];
  /** Slots taken: idle + busy + connecting. */
  private slots = 0;
  private opened = 0;
  private closing = false;
  private readonly all = new Set<AjpConnection>();

  constructor(private readonly opts: PoolOptions) {}

  stats(): PoolStats {
    return { open: this.all.size, idle: this.idle.length, opened: this.opened, waiting: this.waiters.length };
  }

  /**
   * A connection for one request: an idle one if there is one (its `cycles` > 0 tells it is
   * reused), else a new one if a slot is free, else waits for one. Rejects with a BackendError:
   * 'acquire' (no slot in time), 'connect', or 'aborted' (signal).
   */
  async acquire(signal: AbortSignal): Promise<AjpConnection> {
    if (this.closing) throw new BackendError('connect', `ajp://${this.opts.host}:${this.opts.port}: the connector is closed`);
    if (signal.aborted) throw new BackendError('aborted', 'the client went away');
    const conn = this.takeIdle();
    if (conn) return conn;
    if (this.slots < this.opts.max) {
      this.slots++;
      return this.open();
    }
    const granted = await this.wait(signal);
    return granted ?? this.open();
  }

  /** Opens a new connection in a slot already counted. Frees the slot if the connect fails. */
  private async open(): Promise<AjpConnection> {
    try {
      const conn = await connect(this.opts);
      this.opened++;
      this.all.add(conn);
      conn.onGone = (c) => this.forget(c);
      if (this.closing) {
        conn.destroy();
        throw new BackendError('connect', `ajp://${this.opts.host}:${this.opts.port}: the connector is closed`);
      }
      return conn;
    } catch (err) {
      this.freeSlot();
      throw err;
    }
  }

  /**
   * Replaces a connection the caller holds by a new one in the same slot (after a failed CPing,
   * mod_proxy_ajp closes the connection and tries once more on a fresh one).
   */
  async reopen(conn: AjpConnection, signal: AbortSignal): Promise<AjpConnection> {
    if (conn.alive) {
      conn.onGone = null; // the slot stays taken for the replacement
      this.all.delete(conn);
      conn.destroy();
      return this.open();
    }
    // It closed by itself, and its slot was freed then: take one like any request.
    if (this.closing) throw new BackendError('connect', `ajp://${this.opts.host}:${this.opts.port}: the connector is closed`);
    if (this.slots < this.opts.max) {
      this.slots++;
      return this.open();
    }
    return (await this.wait(signal)) ?? this.open();
  }

  /** Gives a connection back after a cycle: kept when `reusable`, else closed. */
  release(conn: AjpConnection, reusable: boolean): void {
    conn.detach();
    if (!reusable || this.closing || !conn.alive) {
      conn.destroy(); // onGone frees the slot (once)
      return;
    }
    conn.socket.resume();
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.grant(conn);
      return;
    }
    this.idle.push(conn);
    if (this.opts.ttl > 0) {
      const t = setTimeout(() => conn.destroy(), this.opts.ttl);
      t.unref();
      this.idleTimers.set(conn, t);
    }
  }

  /** Stop handing out connections; resolve once every connection is closed. */
  async close(): Promise<void> {
    this.closing = true;
    for (const w of this.waiters.splice(0)) w.grant(null);
    for (const c of [...this.idle]) c.destroy();
    if (this.all.size === 0) return;
    await new Promise<void>((resolve) => {
      this.drained = resolve;
    });
  }

  /** Close everything now. */
  destroy(): void {
    this.closing = true;
    for (const w of this.waiters.splice(0)) w.grant(null);
    for (const c of [...this.all]) c.destroy();
  }

  private drained: (() => void) | null = null;

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

  /** A connection closed (idle ones too: the container or the ttl closed it): its slot is free. */
  private forget(conn: AjpConnection): void {
    this.clearIdleTimer(conn);
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    this.all.delete(conn);
    this.freeSlot();
  }

  private freeSlot(): void {
    const waiter = this.closing ? undefined : this.waiters.shift();
    if (waiter) waiter.grant(null); // the slot passes straight to the waiter
    else this.slots--;
    if (this.closing && this.all.size === 0 && this.drained) {
      const d = this.drained;
      this.drained = null;
      d();
    }
  }

  private wait(signal: AbortSignal): Promise<AjpConnection | null> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
      };
      const waiter: Waiter = {
        grant: (conn) => {
          done();
          if (this.closing && conn === null) {
            reject(new BackendError('connect', `ajp://${this.opts.host}:${this.opts.port}: the connector is closed`));
          } else resolve(conn);
        },
      };
      const onAbort = () => {
        done();
        reject(new BackendError('aborted', 'the client went away while waiting for a connection'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.opts.acquire !== null) {
        timer = setTimeout(() => {
          done();
          reject(
            new BackendError(
              'acquire',
              `no free connection to ajp://${this.opts.host}:${this.opts.port} within acquire=${this.opts.acquire} ms (max=${this.opts.max})`,
            ),
          );
        }, this.opts.acquire);
      }
      this.waiters.push(waiter);
    });
  }
}

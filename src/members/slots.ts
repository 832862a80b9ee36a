/**
 * The connection slots of one member (mod_proxy's per-worker connection pool, apache-semantics
 * §7.2), one queue for every transport, as undici's PoolBase keeps one queue of pending requests
 * for the clients it dispatches to:
 * - at most `max` requests on the member at once, each on a connection of its own (HTTP/1.1
 *   without pipelining, AJP: one request per connection at a time);
 * - a request that finds every slot taken waits, first come first served, at most `acquire` ms
 *   (null: as long as it takes), then fails with kind 'acquire' (apache-semantics §4.1: nothing
 *   was sent → member in error, failover);
 * - a request whose client goes away while it waits leaves the queue, so that the slot goes to
 *   one that still wants it.
 *
 * Taking a free slot is a counter increment: nothing is allocated for a request that does not wait.
 */
import { BackendError } from './connector.js';

/** A request waiting for a slot. */
export interface SlotWaiter {
  /** A slot is now this request's (it releases it when it is done). */
  granted(): void;
  /** No slot: `acquire` ran out (kind 'acquire') or the connector closed (kind 'connect'). */
  refused(err: BackendError): void;
}

interface Waiting {
  waiter: SlotWaiter;
  timer: NodeJS.Timeout | null;
}

export class ConnectionSlots {
  private active = 0;
  private readonly queue: Waiting[] = [];
  private closed: BackendError | null = null;
  private emptied: Array<() => void> = [];

  /** @param name the member, for messages ("http://10.0.0.1:8080", "ajp://tomcat-a:8009"). */
  constructor(
    private readonly max: number,
    private readonly acquire: number | null,
    private readonly name: string,
  ) {}

  /** Requests waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Take a free slot now; false when all are taken (then `wait`). */
  tryTake(): boolean {
    if (this.closed !== null || this.active >= this.max) return false;
    this.active++;
    return true;
  }

  /** Take a slot now (granted() at once) or queue for one. */
  take(waiter: SlotWaiter): void {
    if (this.closed !== null) return waiter.refused(this.closed);
    if (this.tryTake()) return waiter.granted();
    const entry: Waiting = { waiter, timer: null };
    if (this.acquire !== null) {
      entry.timer = setTimeout(() => {
        this.remove(entry);
        waiter.refused(new BackendError('acquire', `no free connection to ${this.name} within acquire=${this.acquire} ms (max=${this.max})`));
      }, this.acquire);
    }
    this.queue.push(entry);
  }

  /** A waiting request gives up (its client went away); no-op when it is not waiting. */
  leave(waiter: SlotWaiter): void {
    const entry = this.queue.find((e) => e.waiter === waiter);
    if (entry !== undefined) this.remove(entry);
  }

  /** A request that held a slot is done: the first waiter gets it. */
  release(): void {
    const next = this.queue.shift();
    if (next === undefined) {
      this.active--;
      return;
    }
    if (next.timer !== null) clearTimeout(next.timer);
    next.waiter.granted();
    this.checkEmpty();
  }

  /**
   * Resolves once no request waits any more (each got its slot, gave up or timed out): a
   * connector that closes gracefully serves the requests queued before it closed, as undici's
   * Pool serves the requests in its queue before it closes.
   */
  noneWaiting(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  /** Refuse every waiter and every later request with `err` (the connector is destroyed). */
  close(err: BackendError): void {
    this.closed = err;
    for (const entry of this.queue.splice(0)) {
      if (entry.timer !== null) clearTimeout(entry.timer);
      entry.waiter.refused(err);
    }
    this.checkEmpty();
  }

  private remove(entry: Waiting): void {
    if (entry.timer !== null) clearTimeout(entry.timer);
    const i = this.queue.indexOf(entry);
    if (i >= 0) this.queue.splice(i, 1);
    this.checkEmpty();
  }

  private checkEmpty(): void {
    if (this.queue.length > 0 || this.emptied.length === 0) return;
    for (const resolve of this.emptied.splice(0)) resolve();
  }
}

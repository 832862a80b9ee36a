/**
 * Per-peer delivery queue: the receiving side of the per-peer FIFO guarantee (types.ts). Frames
 * from one member are handled one at a time, in arrival order, each handler's promise settling
 * before the next starts — also across a reconnect, because the queue belongs to the member, not to
 * the connection.
 *
 * While the sending member is still being verified the queue is held, not dropped: a joiner asks the
 * oldest member for state right after it verified that member, often before that member finished
 * verifying the joiner (cluster-semantics §2.5 step 3). Its request waits here for the few milliseconds the
 * probe takes and is then handled in order; if verification fails the held frames are answered with
 * a failure. Memory stays bounded because each connection stops being read after PAUSE_AT
 * unhandled frames (receiver.ts).
 */
import { Fifo } from './fifo.js';
import type { InboundConnection } from './receiver.js';

export interface InboxItem {
  conn: InboundConnection;
  type: number;
  payload: Buffer;
}

export class PeerInbox {
  private readonly items = new Fifo<InboxItem>();
  private running = false;
  private open = false;

  /**
   * @param deliver handles one frame; it is expected to catch its own errors.
   * @param onError last line of defence: a delivery that throws anyway is reported here and the queue
   *   moves on (a fire-and-forget loop must never turn into an unhandled rejection that kills the node).
   */
  constructor(
    private readonly deliver: (item: InboxItem) => void | Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  push(item: InboxItem): void {
    item.conn.queued();
    this.items.push(item);
    if (this.open && !this.running) this.start();
  }

  /** The member is verified: deliver what was held and everything after it. */
  release(): void {
    this.open = true;
    if (!this.running) this.start();
  }

  private start(): void {
    this.run().catch((err: unknown) => this.onError(err));
  }

  isReleased(): boolean {
    return this.open;
  }

  /** Verification failed: hand every held frame to `refuse` (which answers its sender) instead. */
  refuseHeld(refuse: (item: InboxItem) => void): void {
    if (this.open) return;
    for (let item = this.items.shift(); item; item = this.items.shift()) {
      refuse(item);
      item.conn.handled();
    }
  }

  isEmpty(): boolean {
    return this.items.length === 0 && !this.running;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let item = this.items.shift(); item; item = this.items.shift()) {
        try {
          // Synchronous deliveries run back to back; only an asynchronous one is waited for.
          const r = this.deliver(item);
          if (r !== undefined) await r;
        } catch (err) {
          this.onError(err);
        } finally {
          item.conn.handled();
        }
      }
    } finally {
      this.running = false;
    }
  }
}

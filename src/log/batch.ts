/**
 * Lines → Buffers of whole lines, a batch at a time. Whoever formats log lines (the daemon's
 * messages through pino, access lines through AccessLog) writes them here one by one; every
 * BATCH_MS the batch goes to its consumer as one Buffer: a sink in the main thread (sink.ts), or,
 * from a worker thread, a message to the main thread that owns the sink. One write system call
 * per batch instead of one per request: per-request writes cost a proxy at moderate load about as
 * much CPU as the request itself.
 *
 * Each line is encoded into the batch's Buffer (UTF-8, outside the JS heap) as it comes, or, when
 * deferred (`defer`), as the batch is handed over; what waits then is the item the line is made
 * of (an access record, made anyway), never the line's string: queued strings would be live young
 * objects that every scavenge in those milliseconds has to copy.
 * A batch Buffer has an ArrayBuffer of its own (never node's shared pool), so it can be
 * transferred to another thread. A line is never split across two batches.
 */
import type { DestinationStream } from 'pino';
import { atExitHandOver } from './exit.js';

/** How long a line may wait to be written together with the ones after it. */
export const BATCH_MS = 10;
/** Room for a batch: at 10k requests/s the 10 ms of access lines fit (~35 KB). */
const BATCH_BYTES = 64 * 1024;

/** Takes a Buffer of whole lines; owns it from then on. */
export type LinesConsumer = (lines: Buffer) => void;

/** Writes the line of `item` into `batch` (room/commit, or write): AccessFormat.writeTo's shape. */
export type LineEncoder<T> = (item: T, batch: LineBatcher) => void;

/** Deferred lines encoded at once when this many wait: bounds what they keep alive. */
const MAX_DEFERRED = 512;

export class LineBatcher implements DestinationStream {
  private batch: Buffer | null = null;
  private used = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Items whose lines are written at the hand-over (`defer`), in order, all with `encoder`. */
  private deferred: unknown[] = [];
  private encoder: LineEncoder<never> | null = null;

  constructor(private consumer: LinesConsumer) {}

  /** Send the next batches elsewhere (a reload changed the file); what is queued goes to the old consumer first. */
  redirect(consumer: LinesConsumer): void {
    this.handOver();
    this.consumer = consumer;
  }

  /**
   * A line that is encoded when the batch is handed over, not now: `encode(item, this)` then.
   * Encoding a batch's lines one after another, with the encoder's code and data hot in the
   * cache, costs a fraction of encoding each one among the rest of a request's work: paired on
   * one core against the log off, the JSON access log went from +17 % (cookieless) and +12 %
   * (sticky) of a request's CPU to +3 to +9 % and −3 to +6 % (README, Performance). Only for an
   * item whose line cannot change after this call. A line written any other way meanwhile comes
   * after the deferred ones: the order of lines is the order of the calls.
   */
  defer<T>(item: T, encode: LineEncoder<T>): void {
    if (this.encoder !== encode && this.deferred.length > 0) this.encodeDeferred();
    this.encoder = encode as LineEncoder<never>;
    this.deferred.push(item);
    if (this.deferred.length >= MAX_DEFERRED) this.encodeDeferred();
    else this.timer ??= setTimeout(this.handOver, BATCH_MS).unref();
  }

  private encodeDeferred(): void {
    const items = this.deferred;
    const encode = this.encoder as LineEncoder<unknown>;
    // Swapped out first: the encoder calls room/commit/write, which must not come back here.
    this.deferred = [];
    for (const item of items) {
      try {
        encode(item, this);
      } catch {
        // A formatting bug loses that one line, as it would have on the request path (AccessLog.emit).
      }
    }
  }

  /** One or more whole lines, each ending in "\n". */
  write(line: string): void {
    if (this.deferred.length > 0) this.encodeDeferred();
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = line.length * 3;
    if (this.batch !== null && this.used + most > this.batch.length) this.handOver();
    if (this.batch === null) {
      // Larger than the pool's half: its own ArrayBuffer (transferable).
      this.batch = Buffer.allocUnsafe(Math.max(BATCH_BYTES, most));
      this.used = 0;
    }
    this.used += this.batch.write(line, this.used, 'utf8');
    // unref: a queued line must not keep the process alive; exit hands it over (sink.ts writes it).
    this.timer ??= setTimeout(this.handOver, BATCH_MS).unref();
  }

  /**
   * A line encoded straight into the batch (ascii.ts), without a string: `room` returns the batch
   * Buffer, with at least `bytes` free from `end`; the encoder writes its line from `end` (never
   * past the Buffer's length) and `commit`s where it ends. An encoder that gives up commits nothing
   * and writes its line as a string instead.
   */
  room(bytes: number): Buffer {
    if (this.deferred.length > 0) this.encodeDeferred();
    if (this.batch !== null && this.used + bytes > this.batch.length) this.handOver();
    if (this.batch === null) {
      this.batch = Buffer.allocUnsafe(Math.max(BATCH_BYTES, bytes));
      this.used = 0;
    }
    return this.batch;
  }

  /** Where the next line starts in the batch `room` returned. */
  get end(): number {
    return this.used;
  }

  /** The line written into `room()` from `end` ends at `lineEnd`. */
  commit(lineEnd: number): void {
    this.used = lineEnd;
    this.timer ??= setTimeout(this.handOver, BATCH_MS).unref();
  }

  /**
   * Whole lines already encoded (a worker thread's batch, posted to the main thread): queued
   * behind the lines before them, never split.
   */
  writeBytes(bytes: Buffer): void {
    if (this.deferred.length > 0) this.encodeDeferred();
    if (this.batch !== null && this.used + bytes.length > this.batch.length) this.handOver();
    if (this.batch === null && bytes.length >= BATCH_BYTES) {
      // A full batch of its own: hand it over as it is.
      this.consumer(bytes);
      return;
    }
    if (this.batch === null) {
      this.batch = Buffer.allocUnsafe(BATCH_BYTES);
      this.used = 0;
    }
    this.used += bytes.copy(this.batch, this.used);
    this.timer ??= setTimeout(this.handOver, BATCH_MS).unref();
  }

  /** Hand over what is queued now (pino calls this from logger.flush). */
  flush(cb?: (err?: Error) => void): void {
    this.handOver();
    cb?.();
  }

  readonly handOver = (): void => {
    // Before the timer is cleared: the lines' commits then find it set and start no other.
    if (this.deferred.length > 0) this.encodeDeferred();
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.batch;
    if (batch === null || this.used === 0) return;
    this.batch = null;
    this.consumer(batch.subarray(0, this.used));
  };
}

/** A batcher that hands over at process exit, before the sinks write out (for the process-wide outputs). */
export function exitFlushedBatcher(consumer: LinesConsumer): LineBatcher {
  const b = new LineBatcher(consumer);
  atExitHandOver(b.handOver);
  return b;
}

/**
 * The request body across failover attempts (apache-semantics §4.6). httpd keeps what it prefetched of the
 * client's body in the request pool and hands it to the next attempt, which then goes on reading
 * the rest from the client. Here every attempt gets a fresh Readable that first replays what
 * earlier attempts consumed, then continues with the client stream.
 *
 * Before the first attempt the request path prefetches the start of the body (`prefetch()`, see
 * body-prefetch.ts); connectors read the rest only once they are connected, and failover only
 * happens when nothing reached the member (connect, acquire, ping), so what is kept is small in
 * practice. Keeping stops at `limit` bytes and when the caller says no further attempt can happen
 * (`release()`), so a large upload is never held in memory whole.
 *
 * A `ReadClock` (RequestReadTimeout's body stage) is told of every chunk, and paused while the
 * client is not being read (nothing wants the body yet, or the member is not taking it).
 */
import { Readable } from 'node:stream';

/** What the body's read deadline needs to know (request-read-timeout.ts ReadDeadline). */
export interface ReadClock {
  received(bytes: number): void;
  pause(): void;
  resume(): void;
  stop(): void;
}

/** Default cap of what is kept for a replay. */
export const REPLAY_LIMIT = 1024 * 1024;

export class BodyReplayError extends Error {
  override name = 'BodyReplayError';
}

export class BodyReplay {
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private keeping = true;
  /** Part of the body was consumed and not kept: another attempt cannot send the whole body. */
  private lost = false;
  private ended = false;
  private error: Error | null = null;
  private current: AttemptBody | null = null;
  private listening = false;
  /** A prefetch in progress: resolved once `bytes` are kept or the body ended or failed. */
  private prefetching: { bytes: number; done: () => void } | null = null;

  constructor(
    private readonly source: Readable,
    private readonly limit = REPLAY_LIMIT,
    private readonly clock: ReadClock | null = null,
  ) {}

  /** True while a fresh attempt can still be given the complete body. */
  get replayable(): boolean {
    return !this.lost;
  }

  /** The whole body has arrived. */
  get complete(): boolean {
    return this.ended && this.error === null;
  }

  /** The body failed (client gone, or `fail()`). */
  get failed(): boolean {
    return this.error !== null;
  }

  /** Body bytes kept so far (all of them when `complete` and nothing was released). */
  get keptLength(): number {
    return this.keptBytes;
  }

  /**
   * Read from the client until `bytes` are kept, or the body ended or failed (the caller asks
   * `complete` / `failed`). No attempt may have started yet.
   */
  prefetch(bytes: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.ended || this.error !== null || this.keptBytes >= bytes) return resolve();
      this.prefetching = { bytes, done: resolve };
      if (!this.listening) this.listen();
      this.resumeSource();
    });
  }

  /** A fresh body stream for the next attempt; the previous attempt's stream is cut off. */
  attempt(): AttemptBody {
    if (this.lost) throw new BodyReplayError('the request body was partly sent already and was not kept, so it cannot be sent again');
    if (this.current !== null) this.current.detach();
    this.pauseSource();
    const body = new AttemptBody(this, this.kept.slice());
    this.current = body;
    return body;
  }

  /** End the body with `err` (RequestReadTimeout's body stage ran out): the attempt's stream fails with it. */
  fail(err: Error): void {
    if (this.error !== null) return;
    this.error = err;
    this.clock?.stop();
    this.endPrefetch();
    this.current?.destroy(err);
  }

  private pauseSource(): void {
    this.source.pause();
    this.clock?.pause();
  }

  private resumeSource(): void {
    this.source.resume();
    this.clock?.resume();
  }

  private endPrefetch(): void {
    const p = this.prefetching;
    this.prefetching = null;
    p?.done();
  }

  /** No further attempt will need the body: stop keeping it and drop what was kept. */
  release(): void {
    this.keeping = false;
    this.kept.length = 0;
    this.keptBytes = 0;
  }

  /** Called by the current attempt stream when it wants client data. */
  pull(body: AttemptBody): void {
    if (body !== this.current) return;
    if (this.error !== null) { body.destroy(this.error); return; }
    if (this.ended) { body.push(null); return; }
    if (!this.listening) this.listen();
    this.resumeSource();
  }

  private listen(): void {
    this.listening = true;
    this.source.on('data', (chunk: Buffer) => {
      this.clock?.received(chunk.length);
      if (this.keeping) {
        if (this.keptBytes + chunk.length <= this.limit) {
          this.kept.push(chunk);
          this.keptBytes += chunk.length;
        } else {
          this.release();
          this.lost = true;
        }
      } else {
        this.lost = true;
      }
      const body = this.current;
      if (body === null) {
        // Prefetching: read on until enough is kept.
        const p = this.prefetching;
        if (p !== null && this.keptBytes < p.bytes && !this.lost) return;
        this.pauseSource();
        this.endPrefetch();
      } else if (!body.deliver(chunk)) {
        this.pauseSource();
      }
    });
    this.source.on('end', () => {
      this.ended = true;
      this.clock?.stop();
      this.endPrefetch();
      this.current?.push(null);
    });
    this.source.on('error', (err: Error) => this.fail(err));
    // The client went away before the body was complete (node emits 'close' without 'end').
    this.source.on('close', () => {
      if (!this.ended) this.fail(new Error('the client closed the connection before the request body was complete'));
    });
  }

}

/** One attempt's view of the body. `bytes` counts what it delivered (for member.transferred). */
export class AttemptBody extends Readable {
  bytes = 0;
  private detached = false;

  constructor(private readonly owner: BodyReplay, private replay: Buffer[]) {
    super();
  }

  override _read(): void {
    // Replay first, as far as the consumer wants.
    while (this.replay.length > 0) {
      const chunk = this.replay.shift()!;
      this.bytes += chunk.length;
      if (!this.push(chunk)) return;
    }
    this.owner.pull(this);
  }

  /** A new client chunk for this attempt; false asks the owner to pause the client. */
  deliver(chunk: Buffer): boolean {
    if (this.detached || this.destroyed) return false;
    this.bytes += chunk.length;
    return this.push(chunk);
  }

  detach(): void {
    this.detached = true;
  }
}

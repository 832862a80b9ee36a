/**
 * The request body across failover attempts (apache-semantics §4.6). httpd keeps what it prefetched of the
 * client's body in the request pool and hands it to the next attempt, which then goes on reading
 * the rest from the client. Here every attempt gets a fresh Readable that first replays what
 * earlier attempts consumed, then continues with the client stream.
 *
 * Failover only happens when nothing reached the member (connect, acquire, ping), and connectors
 * read the body only once they are connected, so what is kept is small in practice (AJP reads its
 * first chunk with the request packet). Keeping stops at `limit` bytes and when the caller says no
 * further attempt can happen (`release()`), so a large upload is never held in memory whole.
 */
import { Readable } from 'node:stream';

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

  constructor(private readonly source: Readable, private readonly limit = REPLAY_LIMIT) {}

  /** True while a fresh attempt can still be given the complete body. */
  get replayable(): boolean {
    return !this.lost;
  }

  /** A fresh body stream for the next attempt; the previous attempt's stream is cut off. */
  attempt(): AttemptBody {
    if (this.lost) throw new BodyReplayError('the request body was partly sent already and was not kept, so it cannot be sent again');
    if (this.current !== null) this.current.detach();
    this.source.pause();
    const body = new AttemptBody(this, this.kept.slice());
    this.current = body;
    return body;
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
    this.source.resume();
  }

  private listen(): void {
    this.listening = true;
    this.source.on('data', (chunk: Buffer) => {
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
      if (body === null || !body.deliver(chunk)) this.source.pause();
    });
    this.source.on('end', () => {
      this.ended = true;
      this.current?.push(null);
    });
    this.source.on('error', (err: Error) => this.fail(err));
    // The client went away before the body was complete (node emits 'close' without 'end').
    this.source.on('close', () => {
      if (!this.ended) this.fail(new Error('the client closed the connection before the request body was complete'));
    });
  }

  private fail(err: Error): void {
    if (this.error !== null) return;
    this.error = err;
    this.current?.destroy(err);
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

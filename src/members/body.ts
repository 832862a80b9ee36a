/**
 * The response body side of an attempt, shared by the transports: chunks go straight into the
 * consumer's sink once it is attached; the ones that come before (in the same read as the head,
 * a few microtasks earlier) wait here, and past EARLY_LIMIT the transport pauses the member.
 */
import type { BodySink, ResponseBody } from './connector.js';

/** Body bytes a transport may parse before the consumer attaches; then it pauses. */
const EARLY_LIMIT = 64 * 1024;

export abstract class DeliveredBody implements ResponseBody {
  private sink: BodySink | null = null;
  /** Body chunks parsed before a sink was attached. */
  private early: Buffer[] | null = null;
  private earlyBytes = 0;
  /** The body completed, or failed, before a sink was attached. */
  private ended = false;
  private bodyError: Error | null = null;
  /** The consumer destroyed the body: it is told nothing more. */
  protected dropped = false;

  /** A chunk of the body from the member; false: pause the member until `resume()`. */
  protected deliver(chunk: Buffer): boolean {
    if (this.sink !== null) return this.sink.write(chunk);
    (this.early ??= []).push(chunk);
    this.earlyBytes += chunk.length;
    return this.earlyBytes < EARLY_LIMIT;
  }

  /** The body is complete. */
  protected complete(): void {
    if (this.sink !== null) this.sink.end();
    else this.ended = true;
  }

  /** The member failed mid-body. */
  protected bodyFailed(err: Error): void {
    if (this.dropped) return;
    if (this.sink !== null) this.sink.fail(err);
    else {
      this.ended = true;
      this.bodyError = err;
    }
  }

  attach(sink: BodySink): void {
    this.sink = sink;
    const early = this.early;
    if (early !== null && early.length === 1 && this.ended && this.bodyError === null && sink.whole !== undefined) {
      this.early = null;
      sink.whole(early[0]!);
      return;
    }
    let room = true;
    if (early !== null) {
      this.early = null;
      for (const chunk of early) room = sink.write(chunk);
    }
    if (this.bodyError !== null) sink.fail(this.bodyError);
    else if (this.ended) sink.end();
    // The transport paused when too much came before the sink: go on once the sink has room.
    else if (early !== null && room) this.resume();
  }

  abstract resume(): void;
  abstract destroy(err?: Error): void;
}

/**
 * A whole body (at most `limit` bytes, then the rest is dropped and the member request aborted),
 * for consumers that want it at once: health checks, tests. `error` is set when the member failed
 * mid-body; `data` then has what came before.
 */
export function collectBody(body: ResponseBody, limit = Infinity): Promise<{ data: Buffer; error: Error | null }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | null): void => {
      if (done) return;
      done = true;
      const data = Buffer.concat(chunks);
      resolve({ data: data.length > limit ? data.subarray(0, limit) : data, error });
    };
    body.attach({
      write(chunk) {
        if (done) return true;
        chunks.push(chunk);
        size += chunk.length;
        if (size >= limit) {
          finish(null);
          body.destroy();
        }
        return true;
      },
      end: () => finish(null),
      fail: (err) => finish(err),
    });
  });
}

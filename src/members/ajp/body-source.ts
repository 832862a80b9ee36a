/**
 * Pulls the request body out of a Readable in pieces of a requested size. AJP is pull-based: the
 * container asks for body data (GET_BODY_CHUNK) when the servlet reads, so the client's stream is
 * kept paused and read only as far as the container asks; backpressure then reaches the client.
 *
 * The stream is owned by the attempt loop: detach() lets go of it without destroying it.
 */
import type { Readable } from 'node:stream';

export class BodySource {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private detached = false;

  private readonly onData = (chunk: Buffer | string) => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (b.length > 0) {
      this.chunks.push(b);
      this.size += b.length;
    }
    // Hold the client back until the container asks for more.
    this.stream.pause();
    this.signal();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.signal();
  };
  private readonly onError = (err: Error) => {
    this.failure ??= err;
    this.signal();
  };
  private readonly onClose = () => {
    if (!this.ended) this.failure ??= new Error('the request body stream closed before its end');
    this.signal();
  };

  constructor(private readonly stream: Readable) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
    stream.pause();
    if (stream.readableEnded) this.ended = true;
  }

  /** Up to `max` bytes (at least 1), as soon as some are there; null at the end of the body. Rejects if the stream fails. */
  async take(max: number): Promise<Buffer | null> {
    while (this.size === 0) {
      if (this.failure) throw this.failure;
      if (this.ended || this.detached) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.stream.resume();
      });
    }
    const parts: Buffer[] = [];
    let n = 0;
    while (n < max && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      const want = max - n;
      if (head.length <= want) {
        parts.push(head);
        n += head.length;
        this.chunks.shift();
      } else {
        parts.push(head.subarray(0, want));
        this.chunks[0] = head.subarray(want);
        n += want;
      }
    }
    this.size -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  /** Stop reading: listeners removed, stream left paused for its owner. */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.off('close', this.onClose);
    // An error after we let go must not become an unhandled 'error' event that kills the process.
    this.stream.on('error', ignore);
    this.stream.pause();
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

function ignore(): void {}

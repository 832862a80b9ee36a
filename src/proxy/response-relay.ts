/**
 * A member's response body on its way to the client (mod_proxy_http's body loop): each chunk is
 * written to the client response as the member's transport (HTTP or AJP) hands it over, with no
 * stream layer in between, and counted for bytraffic (member.read) and the access log (bytes).
 *
 * - Back-pressure: when the client's socket is full, the member's socket is paused until the
 *   client drains it.
 * - The client goes away: the member request is aborted (its connection is not reused).
 * - The member fails mid-body (reset, read timeout, invalid framing): the client cannot be told
 *   with a status any more, so its connection is cut and it sees a truncated response rather
 *   than a complete-looking one.
 * - With a compression plan (compression/), each chunk goes through a ResponseEncoder first;
 *   member.read counts what the member sent, the access log's bytes what went to the client.
 */
import type { Member } from '../balancer/member.js';
import { ResponseEncoder, type CompressionPlan, type EncoderSink } from './compression/index.js';
import type { ClientResponse } from './client-messages.js';
import type { BodySink, ClientAbort, ClientGoneListener, ResponseBody } from '../members/connector.js';

/** What the relay counts into: the request's Exchange. */
export interface RelayedExchange extends ClientAbort {
  /** Response body bytes sent to the client. */
  bytes: number;
}

export class ResponseRelay implements BodySink, ClientGoneListener, EncoderSink {
  /** Waiting for the client's 'drain' (registered only when its socket was full). */
  private waiting = false;
  /** The compressor the body goes through, when the response is compressed. */
  private readonly encoder: ResponseEncoder | null;

  constructor(
    private readonly ex: RelayedExchange,
    private readonly member: Member,
    private readonly res: ClientResponse,
    private readonly body: ResponseBody,
    compression: CompressionPlan | null = null,
  ) {
    this.encoder = compression === null ? null : new ResponseEncoder(compression.coding, compression.settings, compression.sizeHint, this);
  }

  /** Start relaying; from now on the relay owns the member request's life. */
  start(): void {
    if (this.ex.aborted) {
      this.body.destroy();
      this.encoder?.destroy();
      return;
    }
    this.ex.watch(this);
    this.body.attach(this);
  }

  write(chunk: Buffer): boolean {
    this.member.addRead(chunk.length);
    // Compressed: the member waits while the compressor is full (drain() resumes it).
    if (this.encoder !== null) return this.encoder.write(chunk);
    this.ex.bytes += chunk.length;
    if (this.res.write(chunk)) return true;
    if (!this.waiting) {
      this.waiting = true;
      this.res.once('drain', () => {
        this.waiting = false;
        this.body.resume();
      });
    }
    return false;
  }

  whole(chunk: Buffer): void {
    if (this.encoder !== null) {
      this.write(chunk);
      return this.end();
    }
    this.member.addRead(chunk.length);
    this.ex.bytes += chunk.length;
    this.ex.unwatch(this);
    this.res.end(chunk);
  }

  end(): void {
    // Compressed: the response ends once the compressor has written its last bytes (encoder end → this.finished()).
    if (this.encoder !== null) return this.encoder.end();
    this.ex.unwatch(this);
    this.res.end();
  }

  fail(): void {
    this.encoder?.destroy();
    this.ex.unwatch(this);
    this.res.destroy();
  }

  clientGone(): void {
    this.body.destroy();
    this.encoder?.destroy();
  }

  // EncoderSink: the compressed body on its way to the client.

  data(chunk: Buffer): boolean {
    this.ex.bytes += chunk.length;
    if (this.res.write(chunk)) return true;
    if (!this.waiting) {
      this.waiting = true;
      this.res.once('drain', () => {
        this.waiting = false;
        this.encoder?.resume();
      });
    }
    return false;
  }

  /** The compressed body is complete. */
  finished(): void {
    this.ex.unwatch(this);
    this.res.end();
  }

  error(): void {
    // A compressor failure leaves the body incomplete: cut the connection, stop the member.
    this.body.destroy();
    this.fail();
  }

  drain(): void {
    this.body.resume();
  }
}

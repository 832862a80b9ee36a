/**
 * Limits of one HTTP/2 connection against the attacks that cost a server more than the client
 * (each tested in test/edge/h2-attacks.test.ts with hand-made frames):
 *
 * - Rapid reset (CVE-2023-44487): a client opens streams and resets them at once. Each one starts
 *   a request (here: a member request), and resetting it frees the client's concurrency slot, so
 *   `maxsessionstreams` does not bound the work. Streams the client resets before their response
 *   ended are counted (`maxresets` per 10 s); past that the connection gets GOAWAY
 *   ENHANCE_YOUR_CALM and is closed. nghttp2's own limit (node's streamResetBurst/Rate) stays
 *   behind it.
 * - PING and SETTINGS floods (CVE-2019-9512, -9515): each frame must be acknowledged. nghttp2
 *   closes a connection whose acknowledgements pile up unsent (a client that does not read), but
 *   not one that reads them as fast as it sends: `maxcontrolframes` per 10 s bounds that one.
 *
 * Not here because nghttp2 and node handle them (and the tests check it): CONTINUATION floods
 * (nghttp2 ≥ 1.61 caps the frames of one header block, then GOAWAY), HPACK bombs (node refuses a
 * stream whose decoded header list exceeds SETTINGS_MAX_HEADER_LIST_SIZE, server.maxheadersize
 * here, with RST_STREAM ENHANCE_YOUR_CALM), too many concurrent streams (nghttp2 refuses those
 * past SETTINGS_MAX_CONCURRENT_STREAMS with REFUSED_STREAM).
 *
 * A token bucket per limit: it holds `limit` tokens and refills `limit` per 10 s, so a burst of
 * `limit` at once is allowed and a steady `limit / 10` per second forever.
 */

const WINDOW_MS = 10_000;

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly limit: number, private readonly now: () => number = () => performance.now()) {
    this.tokens = limit;
    this.last = now();
  }

  /** Take one token; false when the bucket is empty (the limit is exceeded). */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.limit, this.tokens + ((t - this.last) * this.limit) / WINDOW_MS);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export type H2Abuse = 'rapid-reset' | 'control-flood';

export interface H2Limits {
  maxresets: number;
  maxcontrolframes: number;
}

/** The counters of one connection; `tripped` is called once, with the first limit exceeded. */
export class H2Guard {
  private readonly resets: TokenBucket;
  private readonly control: TokenBucket;
  private done = false;

  constructor(limits: H2Limits, private readonly tripped: (why: H2Abuse) => void) {
    this.resets = new TokenBucket(limits.maxresets);
    this.control = new TokenBucket(limits.maxcontrolframes);
  }

  /** The client reset a stream before its response ended. */
  reset(): void {
    if (!this.done && !this.resets.take()) this.trip('rapid-reset');
  }

  /** The client sent a PING or SETTINGS frame. */
  controlFrame(): void {
    if (!this.done && !this.control.take()) this.trip('control-flood');
  }

  private trip(why: H2Abuse): void {
    this.done = true;
    this.tripped(why);
  }
}

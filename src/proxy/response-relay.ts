/**
 * A member's response body on its way to the client (mod_proxy_http's body loop): each chunk is
 * written to the client response as the member's transport hands it over, with no stream layer
 * in between, and counted for bytraffic (member.read) and the access log (bytes).
 *
 * - Back-pressure: when the client's socket is full, the member's socket is paused until the
 *   client drains it.
 * - The client goes away: the member request is aborted (its connection is not reused).
 * - The member fails mid-body (reset, read timeout, invalid framing): the client cannot be told
 *   with a status any more, so its connection is cut and it sees a truncated response rather
 *   than a complete-looking one.
 */
import type { ServerResponse } from 'node:http';
import type { Member } from '../balancer/member.js';
import type { ClientAbort, ClientGoneListener } from './connector.js';
import type { BodySink, ForwardedBody } from './http-connector.js';

/** What the relay counts into: the request's Exchange. */
export interface RelayedExchange extends ClientAbort {
  /** Response body bytes sent to the client. */
  bytes: number;
}

export class ResponseRelay implements BodySink, ClientGoneListener {
  /** Waiting for the client's 'drain' (registered only when its socket was full). */
  private waiting = false;

  constructor(
    private readonly ex: RelayedExchange,
    private readonly member: Member,
    private readonly res: ServerResponse,
    private readonly body: ForwardedBody,
  ) {}

  /** Start relaying; from now on the relay owns the member request's life. */
  start(): void {
    if (this.ex.aborted) {
      this.body.destroy();
      return;
    }
    this.ex.watch(this);
    this.body.attach(this);
  }

  write(chunk: Buffer): boolean {
    this.member.addRead(chunk.length);
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

  end(): void {
    this.ex.unwatch(this);
    this.res.end();
  }

  fail(): void {
    this.ex.unwatch(this);
    this.res.destroy();
  }

  clientGone(): void {
    this.body.destroy();
  }
}

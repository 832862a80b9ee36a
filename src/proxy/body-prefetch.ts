/**
 * The request body before a member is chosen, as httpd handles it:
 *
 * - **Prefetch** (mod_proxy_http, apache-semantics §4.6): up to 16 KiB of the body are read from the client
 *   before a member is chosen and connected to, so a client that is still sending a small body
 *   holds no member connection (httpd's MAX_MEM_SPOOL). A body that arrives whole in the prefetch
 *   goes to the member with a Content-Length, also when the client sent it chunked, as httpd
 *   does. A larger body is streamed on after the prefetched part, as it arrives.
 * - **RequestReadTimeout body=** (mod_reqtimeout, default `20,MinRate=500`): the body must arrive
 *   within the initial time, each MinRate bytes buying a second more (up to the maximum, if one is
 *   given). A client slower than that gets 408 and its connection closed: during the prefetch
 *   before anything reached a member, later with the member request aborted (the member has seen
 *   a part of the body, as behind httpd). The clock stops while the member is not taking the body.
 */
import type { ClientRequest } from './client-messages.js';
import type { ReadTimeoutStage } from '../config/request-read-timeout.js';
import { BodyReplay, REPLAY_LIMIT } from './body-replay.js';
import { ReadDeadline } from './request-read-timeout.js';

/** How much of the body httpd reads before it connects to a member (mod_proxy_http MAX_MEM_SPOOL). */
export const PREFETCH_BYTES = 16 * 1024;

export class RequestBodyTimeoutError extends Error {
  override name = 'RequestBodyTimeoutError';
}

export class RequestBody {
  /** The body for the attempts (replayable across failovers). */
  readonly replay: BodyReplay;
  /** RequestReadTimeout's body stage ran out. */
  timedOut = false;
  private readonly deadline: ReadDeadline;

  constructor(
    req: ClientRequest,
    stage: ReadTimeoutStage,
    /** Told when the body stage runs out (the request's response may be under way, or done). */
    private readonly onTimeout: () => void,
  ) {
    this.deadline = new ReadDeadline(stage, () => this.expire());
    this.replay = new BodyReplay(req, REPLAY_LIMIT, this.deadline);
  }

  /**
   * Read the start of the body (the whole body when it is small). Resolves true when the request
   * can go on to a member, false when the body stage ran out or the client went away meanwhile.
   */
  async prefetch(): Promise<boolean> {
    this.deadline.start();
    await this.replay.prefetch(PREFETCH_BYTES);
    return !this.replay.failed;
  }

  /** The length to announce to the member when the whole body was prefetched, else null. */
  get prefetchedLength(): number | null {
    return this.replay.complete ? this.replay.keptLength : null;
  }

  private expire(): void {
    this.timedOut = true;
    this.replay.fail(new RequestBodyTimeoutError('the request body did not arrive in time (RequestReadTimeout body=)'));
    this.onTimeout();
  }
}

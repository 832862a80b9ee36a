/**
 * One AJP request/response cycle on one connection (what mod_proxy_ajp's ap_proxy_ajp_request
 * does):
 *
 *   → Forward Request; → the first body packet unasked when Content-Length > 0 (Tomcat waits for
 *     it); then, in any order until END_RESPONSE:
 *   ← GET_BODY_CHUNK n   → up to n bytes of the client's body, or the empty packet at its end
 *   ← SEND_HEADERS       → the send() promise resolves with status, headers and the body (this
 *                          exchange: a DeliveredBody, like the HTTP transport's)
 *   ← SEND_BODY_CHUNK    → written into the consumer's sink (a full sink pauses the socket)
 *   ← END_RESPONSE reuse → the body ends; the connection goes back to the pool only when the
 *                          container allows it AND the cycle is cleanly over (no body packet of
 *                          ours still due, nothing unread) — otherwise it is closed.
 *
 * Failures, in the BackendError kinds of members/connector.ts:
 * - no packet from the member for `timeout` ms while we wait for it → 'timeout' (apache-semantics §4.2);
 *   the clock stops while the member is waiting for us (client body data, or a slow client
 *   reading the response);
 * - a write to the member not drained within `timeout` ms → 'send-timeout';
 * - malformed or unexpected packets, or a connection cut inside a packet → 'protocol';
 * - the connection closed between packets → 'closed' (reusedConnection tells a keep-alive race);
 * - the client went away (signal) → 'aborted'.
 * Before SEND_HEADERS the promise rejects; afterwards the consumer's sink is told the body failed.
 * Either way the connection is destroyed, never reused.
 *
 * bytraffic (apache-semantics §3.4): mod_proxy_ajp counts the body bytes only, both ways; the
 * request body bytes this exchange sends in data packets are added to the member's transferred
 * here, the response body's read by whoever relays it.
 */
import type { Readable } from 'node:stream';
import { DeliveredBody } from '../body.js';
import { BackendError, type MemberResponse, type TrafficCounter } from '../connector.js';
import { BodySource } from './body-source.js';
import type { AjpConnection, ConnectionListener } from './connection.js';
import { MAX_BODY_CHUNK } from './constants.js';
import { AjpProtocolError } from './packet.js';
import { encodeBodyChunk, encodeEmptyBodyChunk } from './request.js';
import { decodeContainerPacket, reasonPhrase } from './response.js';

export interface ExchangeOptions {
  /** The encoded Forward Request packet. */
  forwardRequest: Buffer;
  /** The request body, or null. */
  body: Readable | null;
  /** The Content-Length the container was told (null: none, it asks until the empty packet). */
  bodyLength: number | null;
  /** Member I/O timeout in ms. */
  timeout: number;
  signal: AbortSignal;
  /** Where the request body bytes sent are counted (the member); null: not counted. */
  traffic: TrafficCounter | null;
  /** "ajp://host:port", for messages. */
  member: string;
  /** Called exactly once when the cycle is over; `reusable` says the connection may serve another. */
  done(reusable: boolean): void;
}

type Phase = 'head' | 'body' | 'over';

/** Runs the cycle; resolves at SEND_HEADERS. */
export function runExchange(conn: AjpConnection, opts: ExchangeOptions): Promise<MemberResponse> {
  return new Promise((resolve, reject) => {
    new Exchange(conn, opts, resolve, reject).start();
  });
}

class Exchange extends DeliveredBody implements ConnectionListener {
  private phase: Phase = 'head';
  private readonly source: BodySource | null;
  /** The client's body has ended: every further GET_BODY_CHUNK gets the empty packet. */
  private bodyExhausted: boolean;
  /** Body packets owed to the container (asked for, or the unasked first one) not yet written. */
  private bodyDue = 0;
  private bodyQueue: Promise<void> = Promise.resolve();
  /** We are reading the client's body for the container: the member is waiting on us. */
  private fetchingBody = false;
  /** The response consumer is slow: socket paused, the member is waiting on us. */
  private backpressure = false;
  private ioTimer: NodeJS.Timeout | null = null;
  private sendTimer: NodeJS.Timeout | null = null;
  private readonly onAbort = () => this.fail(new BackendError('aborted', 'the client went away'));

  constructor(
    private readonly conn: AjpConnection,
    private readonly opts: ExchangeOptions,
    private readonly resolve: (r: MemberResponse) => void,
    private readonly reject: (e: BackendError) => void,
  ) {
    super();
    this.source = opts.body ? new BodySource(opts.body) : null;
    this.bodyExhausted = this.source === null;
  }

  start(): void {
    if (this.opts.signal.aborted) {
      this.fail(new BackendError('aborted', 'the client went away'));
      return;
    }
    this.opts.signal.addEventListener('abort', this.onAbort, { once: true });
    this.conn.attach(this);
    this.write(this.opts.forwardRequest);
    // Tomcat reads the first body packet without asking when Content-Length > 0 (AjpProcessor
    // refillReadBuffer), so it goes out right behind the Forward Request.
    if (this.opts.bodyLength !== null && this.opts.bodyLength > 0) {
      this.queueBodyPacket(Math.min(MAX_BODY_CHUNK, this.opts.bodyLength));
    }
    this.armIo();
  }

  // ---- ConnectionListener ----

  packet(payload: Buffer): void {
    if (this.phase === 'over') return;
    // A malformed packet throws AjpProtocolError; AjpConnection turns that into closed(error).
    const msg = decodeContainerPacket(payload);
    this.armIo();
    switch (msg.type) {
      case 'headers': {
        if (this.phase !== 'head') throw new AjpProtocolError('a second SEND_HEADERS in one response');
        this.phase = 'body';
        this.resolve({
          status: msg.status,
          statusText: reasonPhrase(msg.status, msg.message),
          headers: msg.headers.flat(),
          body: this,
          // A successful AJP attempt counts as on a new connection, so it always resets the
          // member's error time (apache-semantics §4.3), as stickyd has done since AJP came.
          reusedConnection: false,
        });
        return;
      }
      case 'body': {
        if (this.phase !== 'body') throw new AjpProtocolError('SEND_BODY_CHUNK before SEND_HEADERS');
        // A zero-length chunk is Tomcat's flush marker (ajpFlush): nothing to pass on.
        if (msg.data.length > 0 && !this.deliver(msg.data)) {
          this.backpressure = true;
          this.conn.socket.pause();
          this.armIo();
        }
        return;
      }
      case 'end': {
        if (this.phase !== 'body') throw new AjpProtocolError('END_RESPONSE before SEND_HEADERS');
        const reusable = msg.reuse && this.bodyDue === 0 && !this.conn.partialPacket;
        this.finish();
        if (reusable) this.conn.cycles++;
        this.opts.done(reusable);
        this.complete();
        return;
      }
      case 'get-body':
        // Tomcat asks for packetSize - 6 = 8186 bytes; a request for 0 is read as "as much as fits".
        this.queueBodyPacket(Math.min(msg.size === 0 ? MAX_BODY_CHUNK : msg.size, MAX_BODY_CHUNK));
        return;
      case 'cpong':
        throw new AjpProtocolError('unexpected CPONG during a request');
    }
  }

  closed(error: Error | null): void {
    if (this.phase === 'over') return;
    if (error instanceof AjpProtocolError) {
      this.fail(new BackendError('protocol', `${this.opts.member}: ${error.message}`, { cause: error }));
    } else if (this.conn.partialPacket) {
      this.fail(new BackendError('protocol', `${this.opts.member}: connection closed in the middle of an AJP packet (truncated packet)`));
    } else {
      const when = this.phase === 'head' ? 'before sending a response' : 'before the end of the response';
      this.fail(
        new BackendError('closed', `${this.opts.member} closed the connection ${when}${error ? `: ${error.message}` : ''}`, {
          cause: error ?? undefined,
          reusedConnection: this.conn.cycles > 0,
        }),
      );
    }
  }

  // ---- request body ----

  private queueBodyPacket(max: number): void {
    this.bodyDue++;
    this.bodyQueue = this.bodyQueue
      .then(() => this.sendBodyPacket(max))
      .catch((err: unknown) => this.fail(new BackendError('protocol', `${this.opts.member}: ${String(err)}`, { cause: err })));
  }

  private async sendBodyPacket(max: number): Promise<void> {
    if (this.phase === 'over') return;
    let data: Buffer | null = null;
    if (!this.bodyExhausted) {
      this.fetchingBody = true;
      this.armIo();
      try {
        data = await this.source!.take(max);
      } catch (err) {
        this.fail(new BackendError('aborted', `the request body could not be read: ${(err as Error).message}`, { cause: err }));
        return;
      } finally {
        this.fetchingBody = false;
      }
      // The cycle may have ended while we waited for the client (the phase changes under await).
      if ((this.phase as Phase) === 'over') return;
      if (data === null) this.bodyExhausted = true;
    }
    this.bodyDue--;
    if (data !== null) this.opts.traffic?.addTransferred(data.length);
    this.write(data === null ? encodeEmptyBodyChunk() : encodeBodyChunk(data));
    this.armIo();
  }

  // ---- response body (DeliveredBody) ----

  /** The consumer has room again: read from the member again. */
  resume(): void {
    if (this.backpressure && this.phase === 'body') {
      this.backpressure = false;
      this.conn.socket.resume();
      this.armIo();
    }
  }

  /** The consumer gave up before END_RESPONSE: the rest of the response is still on the wire, so the connection cannot serve another request. */
  destroy(): void {
    this.dropped = true;
    if (this.phase !== 'over') {
      this.finish();
      this.opts.done(false);
    }
  }

  // ---- plumbing ----

  private write(bytes: Buffer): void {
    if (this.conn.write(bytes)) return;
    if (!this.conn.alive || this.sendTimer) return;
    this.sendTimer = setTimeout(() => {
      this.fail(new BackendError('send-timeout', `${this.opts.member}: sending the request timed out after ${this.opts.timeout} ms`));
    }, this.opts.timeout);
    this.conn.socket.once('drain', () => {
      if (this.sendTimer) clearTimeout(this.sendTimer);
      this.sendTimer = null;
    });
  }

  /** (Re)starts the member inactivity clock, or stops it while the member waits on us. */
  private armIo(): void {
    if (this.ioTimer) clearTimeout(this.ioTimer);
    this.ioTimer = null;
    if (this.phase === 'over' || this.fetchingBody || this.backpressure) return;
    this.ioTimer = setTimeout(() => {
      const what = this.phase === 'head' ? 'no response' : 'the response stalled';
      this.fail(new BackendError('timeout', `${this.opts.member}: ${what} within timeout=${this.opts.timeout} ms`));
    }, this.opts.timeout);
  }

  /** Ends the cycle's bookkeeping (timers, listeners); the caller reports the outcome. */
  private finish(): void {
    this.phase = 'over';
    if (this.ioTimer) clearTimeout(this.ioTimer);
    if (this.sendTimer) clearTimeout(this.sendTimer);
    this.ioTimer = this.sendTimer = null;
    this.opts.signal.removeEventListener('abort', this.onAbort);
    this.source?.detach();
    this.conn.detach();
  }

  private fail(err: BackendError): void {
    if (this.phase === 'over') return;
    const hadHead = this.phase === 'body';
    this.finish();
    this.conn.destroy(err);
    this.opts.done(false);
    if (hadHead) this.bodyFailed(err);
    else this.reject(err);
  }
}

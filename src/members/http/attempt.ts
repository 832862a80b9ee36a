/**
 * One attempt on an HTTP member, from the connection slot it holds to the end of the response
 * body: the member connection (connection.ts) tells it the response head, which settles the
 * attempt, then the body, which goes straight into the consumer's sink (DeliveredBody) with the
 * connection's pause/resume for back-pressure.
 *
 * Failures arrive as BackendError kinds the attempt loop understands (members/connector.ts):
 * the connector's for what happened before a connection carried the request (connect, dns, tls,
 * acquire), the connection's after.
 */
import type { Socket } from 'node:net';
import { DeliveredBody } from '../body.js';
import { BackendError, type Attempt, type ClientGoneListener, type MemberResponse, type UpgradeOutcome } from '../connector.js';
import type { ConnectionUser, MemberConnection, OutgoingRequest } from './connection.js';

/** Length of a status line as received, without its CRLF: "HTTP/1.1 200 OK" (httpd adds `len` of that line). */
export function statusLineLength(statusText: string): number {
  return 'HTTP/1.1 200 '.length + statusText.length;
}

/** What the attempt resolves with: a response (send), or an upgrade's outcome. */
export type Settle = ((r: MemberResponse) => void) | ((r: UpgradeOutcome) => void);

export class HttpAttempt extends DeliveredBody implements ClientGoneListener, ConnectionUser {
  /** The connection carrying the request, once it has one. */
  private connection: MemberConnection | null = null;
  /** The connection had served earlier requests (the keep-alive race, §4.1). */
  private reused = false;
  private settled = false;
  private finished = false;
  /** Told when the attempt gives up before it has a connection (the connector stops connecting or waiting). */
  onAbandon: (() => void) | null = null;

  constructor(
    private readonly attempt: Attempt,
    private readonly resolve: Settle,
    private readonly reject: (e: BackendError) => void,
    /** An Upgrade request: resolves with an UpgradeOutcome. */
    private readonly upgrading: boolean,
    /** Told once when the attempt is over (its connection slot is free again). */
    private readonly done: () => void,
  ) {
    super();
  }

  /** Whether the attempt is over (failed, aborted, or its response complete). */
  get over(): boolean {
    return this.finished;
  }

  /** The connector gave the attempt a connection: send the request on it. */
  start(connection: MemberConnection, request: OutgoingRequest): void {
    this.connection = connection;
    this.reused = connection.served > 0;
    connection.send(request, this);
  }

  /** Abort from outside (client gone, no slot, connect failed). */
  abort(reason: BackendError): void {
    if (this.finished) return;
    const connection = this.connection;
    if (connection !== null) connection.abort();
    else this.onAbandon?.();
    this.fail(reason);
  }

  clientGone(): void {
    this.abort(new BackendError('aborted', 'the client went away'));
  }

  // ConnectionUser: what the member connection reports.

  onHead(status: number, statusText: string, headers: string[]): void {
    // bytraffic (§3.4): mod_proxy_http adds each status line it reads, interim 1xx ones too.
    this.attempt.traffic?.addRead(statusLineLength(statusText));
    // 1xx interim responses (103 Early Hints) are not relayed; wait for the final one.
    if (status < 200 || this.settled) return;
    this.settled = true;
    const response: MemberResponse = { status, statusText, headers, body: this, reusedConnection: this.reused };
    if (this.upgrading) (this.resolve as (r: UpgradeOutcome) => void)({ kind: 'response', response });
    else (this.resolve as (r: MemberResponse) => void)(response);
  }

  onData(chunk: Buffer): boolean {
    return this.deliver(chunk);
  }

  onComplete(): void {
    this.finish();
    this.complete();
  }

  onUpgrade(status: number, headers: string[], socket: Socket): void {
    this.finish();
    this.settled = true;
    (this.resolve as (r: UpgradeOutcome) => void)({ kind: 'upgraded', status, headers, socket, reusedConnection: this.reused });
  }

  onFailed(err: BackendError): void {
    this.fail(err);
  }

  onSent(bytes: number): void {
    this.attempt.traffic?.addTransferred(bytes);
  }

  // ResponseBody: what the consumer asks.

  resume(): void {
    this.connection?.resume();
  }

  destroy(err?: Error): void {
    // The consumer dropped the body before it ended: abort the member request.
    this.dropped = true;
    if (this.finished) return;
    this.connection?.abort();
    this.fail(err instanceof BackendError ? err : new BackendError('aborted', 'the client went away'));
  }

  private fail(err: BackendError): void {
    const wasFinished = this.finished;
    this.finish();
    // A failure of a request whose client is gone is the client's going (nothing is answered).
    const reason = this.attempt.client.aborted && err.kind !== 'aborted' ? new BackendError('aborted', 'the client went away', { cause: err }) : err;
    if (!this.settled) {
      this.settled = true;
      this.reject(reason);
    } else if (!wasFinished) {
      this.bodyFailed(reason);
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.attempt.client.unwatch(this);
    this.done();
  }
}

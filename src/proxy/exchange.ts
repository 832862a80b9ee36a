/**
 * The state of one client request across its attempts (httpd's request_rec and the notes the
 * balancer hangs on it): what the access log reports, the members it was given (each releases its
 * busy count at the end), and the client's side of the request (ClientAbort).
 */
import { balancerUrl, type Balancer } from '../balancer/balancer.js';
import type { Member } from '../balancer/member.js';
import { releaseMember, type Chosen } from '../balancer/select.js';
import type { AccessRecord, AttemptFailure } from '../log.js';
import type { BackendErrorKind, ClientAbort, ClientGoneListener, ClientInfo } from '../members/connector.js';
import type { ClientRequest, ClientResponse } from './client-messages.js';
import type { ProxyContext } from './context.js';

/**
 * `new Date(ms).toISOString()` for the access log, made once per millisecond (under load many
 * requests start within the same one) from the text of its second, made once per second: Date's
 * formatting costs more than the rest of the record.
 */
let isoMs = -1;
let isoText = '';
let isoSecond = Number.NaN;
/** "2026-12-07T06:26:26." of isoSecond: toISOString without its "mmmZ". */
let isoPrefix = '';
export function isoTime(ms: number): string {
  if (ms !== isoMs) {
    const second = Math.floor(ms / 1000);
    if (second !== isoSecond) {
      const text = new Date(second * 1000).toISOString();
      isoPrefix = text.slice(0, -4);
      isoSecond = second;
    }
    const milli = ms - second * 1000;
    isoText = `${isoPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
    isoMs = ms;
  }
  return isoText;
}

/** BALANCER_NAME of the last balancer logged, so that a request does not build the same string again. */
let namedBalancer: Balancer | null = null;
let balancerName = '';
function balancerUrlOf(b: Balancer): string {
  if (b !== namedBalancer) {
    balancerName = balancerUrl(b);
    namedBalancer = b;
  }
  return balancerName;
}

/**
 * The state of one client request across its attempts: the BALANCER_* facts (§2.7), the members
 * it was given (each releases its busy count at the end), and what the access log reports.
 *
 * It is also the request's ClientAbort: the member request in flight (or the response relay)
 * watches it and is told when the client goes away. An AbortSignal is made only for code that
 * asks for one (AJP members, the balancer `timeout` wait); most requests never need it.
 */
export class Exchange implements ClientAbort {
  readonly started = performance.now();
  readonly startTime = Date.now();
  balancer: Balancer | null = null;
  /** The member of the last attempt (BALANCER_WORKER_NAME). */
  member: Member | null = null;
  /** Every attempt's member, in order (a member chosen twice is here twice). */
  readonly used: Member[] = [];
  stickyName: string | null = null;
  sessionRoute: string | null = null;
  routeChanged = false;
  /** Status sent to the client; null until one is sent. */
  status: number | null = null;
  /** Response body bytes sent to the client. */
  bytes = 0;
  /** The client went away before its response was complete. */
  aborted = false;
  /** Failed attempts (per-member error metrics); null while none failed. */
  private failures: AttemptFailure[] | null = null;
  private finished = false;
  private controller: AbortController | null = null;
  private listener: ClientGoneListener | null = null;

  constructor(
    readonly ctx: ProxyContext,
    readonly method: string,
    readonly url: string,
    readonly client: ClientInfo,
    /** Requests this client connection served before this one (httpd's c->keepalives). */
    readonly keepalives: number,
  ) {}

  /** The client went away: tell whoever watches, and fire the signal if one was made. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.listener;
    this.listener = null;
    this.controller?.abort();
    listener?.clientGone();
  }

  /** An AbortSignal that fires with `abort()`, made on first use. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  watch(listener: ClientGoneListener): void {
    this.listener = listener;
  }

  unwatch(listener: ClientGoneListener): void {
    if (this.listener === listener) this.listener = null;
  }

  /**
   * The request is over (response finished or connection gone): release members, log. `req` and
   * `res` are what LogFormat directives read (headers, protocol, the connection); `res` is null
   * for an Upgrade request.
   */
  finish(req: ClientRequest, res: ClientResponse | null): void {
    if (this.finished) return;
    this.finished = true;
    for (const m of this.used) releaseMember(m);
    const { access } = this.ctx;
    if (!access.wanted) return;
    const record: AccessRecord = {
      time: isoTime(this.startTime),
      client: this.client.remoteAddress,
      method: this.method,
      url: this.url,
      status: this.status,
      bytes: this.bytes,
      duration: Math.round((performance.now() - this.started) * 1000) / 1000,
      balancer: this.balancer === null ? null : balancerUrlOf(this.balancer),
      member: this.member === null ? null : this.member.name,
      memberRoute: this.member === null ? null : this.member.route,
      sessionRoute: this.sessionRoute,
      stickyName: this.stickyName,
      routeChanged: this.routeChanged,
      attempts: this.used.length,
      context: { req, res, startMs: this.startTime, keepalives: this.keepalives, client: this.client, implicit: this.balancer !== null && this.balancer.config.implicit },
    };
    if (this.failures !== null) record.failures = this.failures;
    access.emit(record);
  }

  /** An attempt on `member` failed with `kind`. */
  failed(member: Member, kind: BackendErrorKind): void {
    (this.failures ??= []).push({ member: member.name, kind });
  }

  /** Record a choice: the env variables are overwritten by each attempt, ROUTE_CHANGED stays set (§2.7). */
  chose(c: Chosen): void {
    this.member = c.member;
    this.used.push(c.member);
    if (c.stickyName !== null && c.sessionRoute !== null) {
      this.stickyName = c.stickyName;
      this.sessionRoute = c.sessionRoute;
    }
    if (c.routeChanged) this.routeChanged = true;
  }
}

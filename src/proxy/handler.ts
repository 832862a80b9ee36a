/**
 * One client request through the balancer: httpd's proxy_handler (apache-semantics §1, P:1213-1550).
 *
 *   do {
 *     choose a member (preRequest: force_recovery, sticky route, lbmethod; §2, §3)
 *     one attempt on that member's connector
 *     nothing reached the member (connect, acquire, ping)  → member in error, maybe try again
 *     anything else                                        → answer (the member's response, 502, 504, 500)
 *   } while (!usable(member) && maxattempts > attempts++)
 *   postRequest (failonstatus, failontimeout), release every attempt's member
 *
 * The request body is handed to each attempt through BodyReplay, so a failover sends it whole
 * (§4.6). Bytes to and from the member are added to member.transferred / member.read (bytraffic)
 * as httpd counts them: by the HTTP connector and the response relay, or for AJP the bodies only.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Balancer } from '../balancer/balancer.js';
import type { Member } from '../balancer/member.js';
import { connectSucceeded, markInError, postRequest, preRequest, releaseMember, retryWait, type Chosen, type PendingWait, type StickyRequest } from '../balancer/select.js';
import type { AccessRecord, AttemptFailure } from '../log.js';
import { RequestBody } from './body-prefetch.js';
import { AttemptBody, BodyReplay, BodyReplayError } from './body-replay.js';
import type { CompressionConfig } from '../config/types.js';
import { planCompression } from './compression/index.js';
import { BackendError, type BackendErrorKind, type BackendRequest, type BackendResponse, type ClientAbort, type ClientGoneListener, type ClientInfo, type MemberConnector } from './connector.js';
import { balancerNow, type ProxyContext } from './context.js';
import { dropsConnection, errorPage } from './error-page.js';
import { forwardRequestHeaders, forwardResponseHeaders, hostHeader, type ResponseHeaderRewriter } from './headers.js';
import { HttpConnector, type ForwardedBody, type ForwardedResponse, type HttpAttempt } from './http-connector.js';
import { memberPath, type MountTarget } from './mounts.js';
import { PathError, parseRequestPath } from './request-path.js';
import { ResponseRelay } from './response-relay.js';
import type { PublicOrigin } from './reverse.js';
import { routeCookie } from './route-cookie.js';
import { StreamBody } from './stream-body.js';

/** The reason httpd gives for a failed read of the member's response (apache-semantics §4.2, §10.7). */
export const READ_ERROR = 'Error reading from remote server';

/** httpd's reason when the TLS handshake with an https:// member fails (mod_proxy's AH00898). */
export const TLS_HANDSHAKE_ERROR = 'Error during SSL Handshake with remote server';

/** What the attempt loop ended with. */
export type AttemptOutcome<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'error'; status: number; reason: string; timedOut: boolean }
  /** Close the client connection without any response, so the client may retry (see 'closed' below). */
  | { kind: 'drop' }
  | { kind: 'aborted' };

/** Facts about the client request that the request headers give, read in one pass. */
interface RequestFacts {
  host: string | null;
  /** Cookie headers joined with ", " as httpd joins repeated headers (§2.2). */
  cookie: string | undefined;
  /** The request has a body (Content-Length > 0 or Transfer-Encoding). */
  body: boolean;
  contentLength: number | null;
  /** Transfer-Encoding is present (node's parser has checked it ends in chunked). */
  chunked: boolean;
}

function requestFacts(raw: readonly string[]): RequestFacts {
  let host: string | null = null;
  let cookie: string | undefined;
  let contentLength: number | null = null;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (host === null && name.toLowerCase() === 'host') host = raw[i + 1]!;
        break;
      case 6:
        if (name.toLowerCase() === 'cookie') cookie = cookie === undefined ? raw[i + 1]! : `${cookie}, ${raw[i + 1]!}`;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') contentLength = Number(raw[i + 1]);
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') chunked = true;
        break;
    }
  }
  return { host, cookie, body: chunked || (contentLength !== null && contentLength > 0), contentLength: chunked ? null : contentLength, chunked };
}

/**
 * `new Date(ms).toISOString()` for the access log, computed once per millisecond: under load many
 * requests start within the same millisecond.
 */
let isoMs = -1;
let isoText = '';
function isoTime(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
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
  /** Request bodies given to attempts; null while the request has none. */
  private bodies: Array<[Member, AttemptBody]> | null = null;
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

  /** Remember the request body an AJP attempt got, to count it into member.transferred at the end. */
  trackBody(member: Member, body: AttemptBody): void {
    (this.bodies ??= []).push([member, body]);
  }

  /**
   * The request is over (response finished or connection gone): release members, log. `req` and
   * `res` are what LogFormat directives read (headers, protocol, the connection); `res` is null
   * for an Upgrade request.
   */
  finish(req: IncomingMessage, res: ServerResponse | null): void {
    if (this.finished) return;
    this.finished = true;
    // Bytes first: once released, a member removed by a reload may give its slot to another.
    if (this.bodies !== null) for (const [m, body] of this.bodies) m.addTransferred(body.bytes);
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
      balancer: this.balancer === null ? null : `balancer://${this.balancer.name}`,
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

/** Sleep `ms`, or less when the signal fires. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The balancer `timeout` (§3.1): poll for a usable member every `step` until the deadline. */
async function waitForMember(b: Balancer, wait: PendingWait, ex: Exchange): Promise<Chosen | null> {
  for (;;) {
    await sleep(Math.max(1, wait.step), ex.signal);
    if (ex.aborted) return null;
    const now = balancerNow();
    const chosen = retryWait(b, wait, now);
    if (chosen !== null) return chosen;
    if (now >= wait.deadline) return null;
  }
}

/** Inputs of one attempt that do not depend on the member. */
export interface AttemptRequest {
  target: MountTarget;
  sticky: StickyRequest;
  /** Forwarded request headers without Host (the member decides it), from forwardRequestHeaders. */
  headers: Array<[string, string]>;
  /**
   * The client's headers exactly as received (node's rawHeaders), for AJP members: mod_proxy_ajp
   * sends r->headers_in unchanged (the client's Host, no X-Forwarded-*; the client's address
   * travels as an attribute).
   */
  clientHeaders: readonly string[];
  /** The client's Host header (ProxyPreserveHost). */
  host: string | null;
  httpVersion: string;
  replay: BodyReplay | null;
  contentLength: number | null;
}

/**
 * How one attempt is sent, by transport: HTTP members (mod_proxy_http's role) take an HttpAttempt
 * in undici's own shapes; other connectors (AJP) the generic BackendRequest. Each resolves with
 * the attempt's value or rejects with a BackendError.
 */
export interface AttemptSenders<T> {
  http(connector: HttpConnector, attempt: HttpAttempt, member: Member): Promise<T>;
  other(connector: MemberConnector, req: BackendRequest, member: Member): Promise<T>;
}

/** rawHeaders ([name, value, name, value, ...]) as pairs. */
function headerPairs(raw: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}

/** The header list for an HTTP member: Host first (ProxyPreserveHost, §8), then the forwarded ones, flat. */
function memberHeaders(host: string, forwarded: ReadonlyArray<readonly [string, string]>): string[] {
  const out = ['Host', host];
  for (const [name, value] of forwarded) out.push(name, value);
  return out;
}

/**
 * The attempt loop (apache-semantics §1). `send` makes one attempt on a connector and resolves with its value
 * or rejects with a BackendError. Returns what the client should get.
 */
export async function runAttempts<T>(
  ex: Exchange,
  b: Balancer,
  r: AttemptRequest,
  send: AttemptSenders<T>,
  /** Whether the attempt that produced this value went out on a reused connection. */
  reused: (value: T) => boolean,
): Promise<AttemptOutcome<T>> {
  const { ctx } = ex;
  ex.balancer = b;
  let attempts = 0;
  let maxAttempts = 0;
  let failure: AttemptOutcome<T> | null = null;
  for (;;) {
    if (ex.aborted) return { kind: 'aborted' };
    let selection = preRequest(b, r.sticky, balancerNow());
    if (selection.kind === 'unavailable' && selection.wait !== null) {
      const found = await waitForMember(b, selection.wait, ex);
      if (ex.aborted) {
        if (found !== null) releaseMember(found.member);
        return { kind: 'aborted' };
      }
      if (found !== null) selection = found;
    }
    if (selection.kind !== 'member') {
      // nofailover refusal, or no usable member: 503 (§2.5, §4.7).
      failure = { kind: 'error', status: 503, reason: selection.kind === 'refused' ? 'the session\'s member is unavailable and nofailover is on' : 'no usable member', timedOut: false };
      break;
    }
    ex.chose(selection);
    const member = selection.member;
    // P:1391: maxattempts is taken once, from the balancer of the first successful pre_request.
    if (b.maxAttemptsSet && maxAttempts === 0) maxAttempts = b.maxAttempts;

    let body: AttemptBody | null = null;
    if (r.replay !== null) {
      try {
        body = r.replay.attempt();
      } catch (err) {
        if (!(err instanceof BodyReplayError)) throw err;
        break; // The body cannot be sent again: keep the previous failure (503).
      }
    }
    const cfg = member.config;
    const path = memberPath(cfg.basepath, r.target.forwardPath);
    try {
      const connector = ctx.connectorFor(b, member);
      let sending: Promise<T>;
      if (connector instanceof HttpConnector) {
        const headers = memberHeaders(hostHeader(ctx.config.proxy.preservehost, r.host, cfg.host, cfg.port, cfg.scheme === 'https' ? 443 : 80), r.headers);
        // The connector counts for bytraffic (§3.4) what mod_proxy_http counts: every byte it
        // writes to the member, and the status lines it reads; the relay counts the body.
        sending = send.http(connector, { method: ex.method, path, headers, body, client: ex, traffic: member }, member);
      } else {
        // mod_proxy_ajp counts the body bytes only, both ways (not its header packets).
        if (body !== null) ex.trackBody(member, body);
        const headers = headerPairs(r.clientHeaders);
        sending = send.other(connector, {
          method: ex.method,
          httpVersion: r.httpVersion,
          path,
          headers,
          body,
          bodyLength: r.contentLength,
          client: ex.client,
          // httpd's "session-route" note: the route the request asked for (mod_proxy_ajp's jvm_route).
          route: selection.sessionRoute ?? '',
          signal: ex.signal,
        }, member);
      }
      const value = await sending;
      // §4.3: only opening a connection resets error_time and retries (U:4021-4031).
      if (!reused(value)) connectSucceeded(member);
      r.replay?.release();
      return { kind: 'ok', value };
    } catch (err) {
      // The client's body failed (gone, or too slow for RequestReadTimeout): not the member's fault.
      if (r.replay?.failed === true) return { kind: 'aborted' };
      const be = err instanceof BackendError ? err : new BackendError('protocol', `member request failed: ${(err as Error).message}`, { cause: err });
      ctx.counters.backendErrors[be.kind]++;
      if (be.kind === 'aborted' || ex.aborted) return { kind: 'aborted' };
      ex.failed(member, be.kind);
      if (be.nothingSent) {
        // P:1486-1496: the scheme handler's 503 puts the member in error (unless I) and is the only failover case.
        markInError(member, balancerNow());
        failure = { kind: 'error', status: 503, reason: be.message, timedOut: false };
        if (!member.usable && maxAttempts > attempts++) continue;
        break;
      }
      r.replay?.release();
      if (be.kind === 'dns' || be.kind === 'tls') {
        // P:1474-1485: a 500 from the handler puts the member in error, no failover. A failed TLS
        // handshake comes after a successful TCP connect (which resets error_time, §4.3).
        if (be.kind === 'tls') connectSucceeded(member);
        markInError(member, balancerNow());
        return { kind: 'error', status: 500, reason: be.kind === 'dns' ? `DNS lookup failure for: ${cfg.host}` : TLS_HANDSHAKE_ERROR, timedOut: false };
      }
      if (!be.reusedConnection) connectSucceeded(member);
      switch (be.kind) {
        case 'timeout':
          return { kind: 'error', status: 502, reason: READ_ERROR, timedOut: true };
        case 'send-timeout':
          return { kind: 'error', status: 504, reason: 'Timeout sending the request body to the remote server', timedOut: false };
        case 'closed':
          // H:1133-1184: on a client connection that served requests before, httpd closes it
          // WITHOUT ANY response (AH01104), so that the client may retry as after a keep-alive race
          // (RFC 9112 §9.3.1); observed on httpd 2.4.71 (test/conformance/backend-errors.test.ts),
          // where the spec's "502 and close" is wrong. It blames the member only when the backend
          // connection was new (a reused one may just have hit the backend's keep-alive close).
          if (ex.keepalives > 0) {
            if (!be.reusedConnection) markInError(member, balancerNow());
            return { kind: 'drop' };
          }
          return { kind: 'error', status: 502, reason: READ_ERROR, timedOut: false };
        default:
          return { kind: 'error', status: 502, reason: READ_ERROR, timedOut: false };
      }
    }
  }
  r.replay?.release();
  return failure ?? { kind: 'error', status: 503, reason: 'no usable member', timedOut: false };
}

/** Answer with one of stickyd's own pages. */
export function sendErrorPage(res: ServerResponse, status: number, reason: string | undefined, closeClient: boolean, head: boolean): number {
  const body = errorPage(status, reason);
  const headers = ['Content-Type', 'text/html; charset=iso-8859-1', 'Content-Length', String(Buffer.byteLength(body))];
  if (closeClient || dropsConnection(status)) headers.push('Connection', 'close');
  // The reason phrase is given, not left to node: after a member's status line that node refused,
  // res.statusMessage still holds the refused text and writeHead would throw on it again.
  res.writeHead(status, STATUS_CODES[status] ?? 'unknown', headers);
  res.end(head ? undefined : body);
  return head ? 0 : Buffer.byteLength(body);
}

/** The client-side facts of a request. */
export function clientInfo(req: IncomingMessage, serverName: string): ClientInfo {
  const s = req.socket;
  return {
    remoteAddress: s.remoteAddress ?? '',
    remotePort: s.remotePort ?? 0,
    localAddress: s.localAddress ?? '',
    localPort: s.localPort ?? 0,
    // A TLS listener's connection (over HTTP/2 too: the stream's socket is the session's).
    secure: (s as { encrypted?: boolean }).encrypted === true,
    serverName,
  };
}

/** Response headers for the client: hop-by-hop removed, ProxyPassReverse and cookie rules applied. */
export function clientResponseHeaders(ex: Exchange, headers: ReadonlyArray<readonly [string, string]>, host: string | null): string[] {
  const { reverse, config } = ex.ctx;
  let rewriter: ResponseHeaderRewriter | null = null;
  if (reverse.hasLocationRules || reverse.hasCookieRules) {
    const origin: PublicOrigin = { host, localPort: ex.client.localPort, serverName: config.server.servername };
    rewriter = {
      location: (v) => (reverse.hasLocationRules ? reverse.location(v, origin) : v),
      cookie: (v) => (reverse.hasCookieRules ? reverse.cookie(v) : v),
    };
  }
  const out = forwardResponseHeaders(headers, rewriter);
  // The built-in ROUTEID recipe: only with BALANCER_ROUTE_CHANGED, with the last member's route.
  const b = ex.balancer;
  if (b !== null && b.config.routecookie !== null && ex.routeChanged && ex.member !== null) {
    out.push('Set-Cookie', routeCookie(b.config.routecookie, b.config.stickysessionsep, ex.member.route));
  }
  return out;
}

/** The common front part of a request: path rules and mount table. Answers and returns null when it is not proxied. */
export function resolveTarget(ctx: ProxyContext, url: string, onError: (status: number, reason: string) => void): MountTarget | null {
  let target;
  try {
    target = ctx.mounts.resolve(parseRequestPath(url));
  } catch (err) {
    if (!(err instanceof PathError)) throw err;
    ctx.counters.clientErrors['bad-path']++;
    onError(err.status, err.message);
    return null;
  }
  if (target === null || 'excluded' in target) {
    onError(404, 'not proxied');
    return null;
  }
  return target;
}

/** Handle one request (node's 'request' event). Never throws; never leaves the client without an answer. */
export function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, keepalives: number): void {
  ctx.counters.requests++;
  const ex = new Exchange(ctx, req.method ?? 'GET', req.url ?? '/', clientInfo(req, ctx.config.server.servername), keepalives);
  // 'close' comes once per response ('on' spares the wrapper 'once' would make per request).
  res.on('close', () => {
    // The client went away before the response was complete: abort the member request.
    if (!res.writableFinished) ex.abort();
    ex.finish(req, res);
  });
  void proxy(ex, req, res);
}

/**
 * What node's parser lets through but a proxy must not forward: an HTTP/1.1 request without Host
 * (RFC 9112 §3.2), and Transfer-Encoding in an HTTP/1.0 request (faulty framing, RFC 9112 §6.1).
 */
function validFraming(ctx: ProxyContext, req: IncomingMessage, facts: RequestFacts): boolean {
  const ok = !(facts.chunked && req.httpVersion === '1.0') && !(facts.host === null && req.httpVersion !== '1.0');
  if (!ok) ctx.counters.clientErrors['bad-request']++;
  return ok;
}

/** Answer with one of stickyd's own pages and note it for the access log. */
function answer(ex: Exchange, res: ServerResponse, status: number, reason: string | undefined, closeClient = false): void {
  ex.status = status;
  ex.bytes = sendErrorPage(res, status, reason, closeClient || ex.ctx.draining, ex.method === 'HEAD');
}

/** The request, from its headers to the member's response head; never rejects. */
async function proxy(ex: Exchange, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    await forward(ex, req, res);
  } catch (err) {
    ex.ctx.logger.error({ err, url: ex.url }, 'request failed unexpectedly');
    if (!res.headersSent) {
      ex.status = 500;
      ex.bytes = sendErrorPage(res, 500, undefined, true, ex.method === 'HEAD');
    } else {
      res.destroy();
    }
  }
}

/** How the request path sends an attempt: HTTP members forward (direct body), AJP ones the generic way. */
const SEND: AttemptSenders<ForwardedResponse | BackendResponse> = {
  http: (connector, attempt) => connector.forward(attempt),
  other: (connector, req) => connector.request(req),
};

const reusedConnection = (response: ForwardedResponse | BackendResponse): boolean => response.reusedConnection === true;

async function forward(ex: Exchange, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { ctx } = ex;
  // node emits 'request' as soon as the header block is parsed, and only then reports an error it
  // finds further on in the same packet (an invalid Transfer-Encoding, a bad first chunk): let that
  // happen first, so such a request is never forwarded at all.
  await Promise.resolve();
  if (!req.socket.writable) return;
  const raw = req.rawHeaders;
  const facts = requestFacts(raw);
  if (!validFraming(ctx, req, facts)) return answer(ex, res, 400, undefined, true);
  const target = resolveTarget(ctx, ex.url, (status) => answer(ex, res, status, undefined));
  if (target === null) return;
  const b = ctx.balancers.get(target.rule.balancer);
  if (b === undefined) return answer(ex, res, 404, undefined);
  const headers = forwardRequestHeaders(raw, {
    addHeaders: ctx.config.proxy.addheaders,
    clientAddress: ex.client.remoteAddress,
    serverName: ctx.config.server.servername,
    tunnel: false,
  });
  // The start of the body is read before a member is chosen, at RequestReadTimeout's rate
  // (body-prefetch.ts): a client still sending holds no member connection.
  const body = facts.body ? new RequestBody(req, ctx.config.server.requestreadtimeout.body, () => {
    // Too slow after its response was sent (node reads and drops the rest): just close.
    if (res.writableFinished) req.socket.destroy();
  }) : null;
  if (body !== null) {
    if (!(await body.prefetch())) {
      if (body.timedOut) answer(ex, res, 408, undefined, true);
      else if (!res.headersSent) res.destroy();
      return;
    }
    // A chunked body that arrived whole goes to an HTTP member with a Content-Length, as httpd
    // sends it (AJP members get the client's headers as they came).
    if (facts.chunked && body.prefetchedLength !== null) headers.push(['Content-Length', String(body.prefetchedLength)]);
  }

  const outcome = await runAttempts(ex, b, {
    target,
    sticky: { url: target.stickyUrl, cookie: facts.cookie },
    headers,
    clientHeaders: raw,
    host: facts.host,
    httpVersion: req.httpVersion,
    replay: body?.replay ?? null,
    contentLength: facts.contentLength,
  }, SEND, reusedConnection);

  if (outcome.kind === 'aborted') {
    if (body?.timedOut === true && !res.headersSent) return answer(ex, res, 408, undefined, true);
    if (!res.headersSent) res.destroy();
    return;
  }
  if (outcome.kind === 'drop') {
    // End the connection with nothing written (a FIN, not a reset): the client sees it closed.
    req.socket.end();
    return;
  }
  const member = ex.member;
  if (outcome.kind === 'error') {
    if (member !== null) postRequest(b, member, { status: outcome.status, timedOut: outcome.timedOut }, balancerNow());
    answer(ex, res, outcome.status, outcome.status === 503 ? undefined : outcome.reason);
    return;
  }
  relayResponse(ex, b, member!, outcome.value, res, facts.host, target.rule.compression);
}

/** Send the member's response to the client; its body goes through a ResponseRelay. */
function relayResponse(ex: Exchange, b: Balancer, member: Member, response: ForwardedResponse | BackendResponse, res: ServerResponse, host: string | null, compression?: CompressionConfig): void {
  const { ctx } = ex;
  const { status } = response;
  // AJP members hand over a Readable; HTTP ones a body that writes straight into the relay.
  const body: ForwardedBody = response.body instanceof Readable ? new StreamBody(response.body) : response.body;
  // post_request runs once the final status is known; httpd runs it after the body, which only
  // matters for requests running at the same time.
  postRequest(b, member, { status, timedOut: false }, balancerNow());
  // Response compression (compression/): may edit the head (Vary, Content-Encoding, ETag ...).
  const plan = planCompression(compression, ex.method, res.req.rawHeaders, response);
  const headers = clientResponseHeaders(ex, response.headers, host);
  if (dropsConnection(status) || ctx.draining) headers.push('Connection', 'close');
  try {
    res.writeHead(status, response.statusText, headers);
  } catch (err) {
    // A status line or header node will not send (invalid characters): the member's fault.
    body.destroy();
    ctx.counters.backendErrors.protocol++;
    ex.status = 502;
    ex.bytes = sendErrorPage(res, 502, `invalid response header from the member: ${(err as Error).message}`, false, ex.method === 'HEAD');
    return;
  }
  ex.status = status;
  new ResponseRelay(ex, member, res, body, plan).start();
}

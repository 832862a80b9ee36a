/**
 * The attempt loop: httpd's proxy_handler (apache-semantics §1, P:1213-1550).
 *
 *   do {
 *     choose a member (preRequest: force_recovery, sticky route, lbmethod; §2, §3)
 *     one attempt on that member's connector
 *     nothing reached the member (connect, acquire, ping)  → member in error, maybe try again
 *     anything else                                        → answer (the member's response, 502, 504, 500)
 *   } while (!usable(member) && maxattempts > attempts++)
 *
 * The request body is handed to each attempt through BodyReplay, so a failover sends it whole
 * (§4.6). Each attempt goes to the member's connector through one contract (members/connector.ts),
 * whatever protocol the member speaks; bytes to and from the member are added to
 * member.transferred / member.read (bytraffic) by the connector and the response relay.
 */
import type { Balancer } from '../balancer/balancer.js';
import { connectSucceeded, markInError, preRequest, releaseMember, retryWait, type Chosen, type PendingWait, type StickyRequest } from '../balancer/select.js';
import { BodyReplayError, type AttemptBody, type BodyReplay } from './body-replay.js';
import { BackendError, type Attempt, type MemberConnector } from '../members/connector.js';
import { balancerNow } from './context.js';
import type { Exchange } from './exchange.js';
import { memberPath, type MountTarget } from './mounts.js';

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
  /** Forwarded request headers, flat, without Host (the connector decides it), from forwardRequestHeaders. */
  headers: string[];
  /** The client's headers exactly as received (node's rawHeaders): what AJP members get. */
  clientHeaders: readonly string[];
  /** The client's Host header (ProxyPreserveHost). */
  host: string | null;
  httpVersion: string;
  replay: BodyReplay | null;
  contentLength: number | null;
}

/**
 * How one attempt goes out on a member's connector: `send` for a request, `upgrade` (a
 * capability only some transports have) for a tunnel. Resolves with the attempt's value or
 * rejects with a BackendError.
 */
export type Send<T> = (connector: MemberConnector, attempt: Attempt) => Promise<T>;

/**
 * The attempt loop (apache-semantics §1). `send` makes one attempt on a connector and resolves with its value
 * or rejects with a BackendError. Returns what the client should get.
 */
export async function runAttempts<T>(
  ex: Exchange,
  b: Balancer,
  r: AttemptRequest,
  send: Send<T>,
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
    try {
      const connector = ctx.connectorFor(b, member);
      const value = await send(connector, {
        method: ex.method,
        httpVersion: r.httpVersion,
        path: memberPath(cfg.basepath, r.target.forwardPath),
        headers: r.headers,
        clientHost: r.host,
        preserveHost: ctx.config.proxy.preservehost,
        clientHeaders: r.clientHeaders,
        body,
        bodyLength: r.contentLength,
        client: ex,
        info: ex.client,
        // httpd's "session-route" note: the route the request asked for (mod_proxy_ajp's jvm_route).
        route: selection.sessionRoute ?? '',
        // bytraffic (§3.4): each connector counts what its httpd module counts.
        traffic: member,
      });
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

/**
 * One client request through the balancer, top to bottom (httpd's proxy_handler,
 * apache-semantics §1, P:1213-1550):
 *
 *   handleRequest   node's 'request' event: the request's state is an Exchange (exchange.ts),
 *                   released and logged when the response closes
 *   forward         the checks node's parser leaves to us, the mount table (ProxyPass), the
 *                   forwarded headers, the start of the body (body-prefetch.ts), then the
 *                   attempt loop (attempts.ts: choose a member, send the attempt on its
 *                   connector, fail over while nothing was sent), then the answer: the member's
 *                   response relayed to the client, or one of stickyd's own pages (responses.ts)
 *
 * The request body is handed to each attempt through BodyReplay, so a failover sends it whole
 * (§4.6). Bytes to and from the member are added to member.transferred / member.read (bytraffic)
 * by the member's connector and the response relay, each as its httpd module counts them.
 */
import { postRequest } from '../balancer/select.js';
import { RequestBody } from './body-prefetch.js';
import type { ClientRequest, ClientResponse } from './client-messages.js';
import type { Attempt, ClientInfo, MemberConnector, MemberResponse } from '../members/connector.js';
import { balancerNow, type ProxyContext } from './context.js';
import { Exchange } from './exchange.js';
import { runAttempts } from './attempts.js';
import { forwardRequestHeaders } from './headers.js';
import type { MountTarget } from './mounts.js';
import { PathError, parseRequestPath } from './request-path.js';
import { answer, relayResponse, sendErrorPage } from './responses.js';

/** Handle one request (node's 'request' event). Never throws; never leaves the client without an answer. */
export function handleRequest(ctx: ProxyContext, req: ClientRequest, res: ClientResponse, keepalives: number): void {
  ctx.counters.requests++;
  const ex = new Exchange(ctx, req.method ?? 'GET', req.url ?? '/', clientInfo(req, ctx.config.server.servername), keepalives);
  // 'close' comes once per response ('on' spares the wrapper 'once' would make per request).
  res.on('close', () => {
    // The client went away before the response was complete: abort the member request.
    if (!res.writableFinished) ex.abort();
    ex.finish(req, res);
  });
  // One promise per request, not a wrapper around it: a failure forward() did not answer itself
  // is answered here.
  forward(ex, req, res).catch((err: unknown) => unexpected(ex, req, res, err));
}

/** The last resort: forward() threw. 500 if nothing was sent yet, else the response is cut. */
function unexpected(ex: Exchange, req: ClientRequest, res: ClientResponse, err: unknown): void {
  try {
    ex.ctx.logger.error({ err, url: ex.url }, 'request failed unexpectedly');
    if (!res.headersSent) {
      ex.status = 500;
      ex.bytes = sendErrorPage(res, 500, undefined, true, ex.method === 'HEAD');
    } else {
      res.destroy();
    }
  } catch (again) {
    // Even that threw: close the connection.
    req.socket.destroy(again instanceof Error ? again : undefined);
  }
}

/** An attempt of a request, on any member: the connector's `send`. */
const send = (connector: MemberConnector, attempt: Attempt): Promise<MemberResponse> => connector.send(attempt);

const reusedConnection = (response: MemberResponse): boolean => response.reusedConnection;

async function forward(ex: Exchange, req: ClientRequest, res: ClientResponse): Promise<void> {
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
    if (facts.chunked && body.prefetchedLength !== null) headers.push('Content-Length', String(body.prefetchedLength));
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
  }, send, reusedConnection);

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

// ---- the request's facts and the checks before any member is chosen ----

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
 * What node's parser lets through but a proxy must not forward: an HTTP/1.1 request without Host
 * (RFC 9112 §3.2), and Transfer-Encoding in an HTTP/1.0 request (faulty framing, RFC 9112 §6.1).
 */
function validFraming(ctx: ProxyContext, req: ClientRequest, facts: RequestFacts): boolean {
  const ok = !(facts.chunked && req.httpVersion === '1.0') && !(facts.host === null && req.httpVersion !== '1.0');
  if (!ok) ctx.counters.clientErrors['bad-request']++;
  return ok;
}

/** The client-side facts of a request. */
export function clientInfo(req: ClientRequest, serverName: string): ClientInfo {
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

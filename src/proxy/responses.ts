/**
 * What the client gets: the member's response (head rewritten, body through a ResponseRelay), or
 * one of stickyd's own error pages.
 */
import { STATUS_CODES } from 'node:http';
import type { Balancer } from '../balancer/balancer.js';
import type { Member } from '../balancer/member.js';
import { postRequest } from '../balancer/select.js';
import type { CompressionConfig } from '../config/types.js';
import type { ClientResponse } from './client-messages.js';
import { planCompression } from './compression/index.js';
import type { MemberResponse } from '../members/connector.js';
import { balancerNow } from './context.js';
import { dropsConnection, errorPage } from './error-page.js';
import type { Exchange } from './exchange.js';
import { forwardResponseHeaders, type ResponseHeaderRewriter } from './headers.js';
import { ResponseRelay } from './response-relay.js';
import type { PublicOrigin } from './reverse.js';
import { routeCookie } from './route-cookie.js';

/** Answer with one of stickyd's own pages. */
export function sendErrorPage(res: ClientResponse, status: number, reason: string | undefined, closeClient: boolean, head: boolean): number {
  const body = errorPage(status, reason);
  const headers = ['Content-Type', 'text/html; charset=iso-8859-1', 'Content-Length', String(Buffer.byteLength(body))];
  if (closeClient || dropsConnection(status)) headers.push('Connection', 'close');
  // The reason phrase is given, not left to node: after a member's status line that node refused,
  // res.statusMessage still holds the refused text and writeHead would throw on it again.
  res.writeHead(status, STATUS_CODES[status] ?? 'unknown', headers);
  res.end(head ? undefined : body);
  return head ? 0 : Buffer.byteLength(body);
}

/** Response headers for the client: hop-by-hop removed, ProxyPassReverse and cookie rules applied. */
export function clientResponseHeaders(ex: Exchange, headers: readonly string[], host: string | null): string[] {
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

/** Answer with one of stickyd's own pages and note it for the access log. */
export function answer(ex: Exchange, res: ClientResponse, status: number, reason: string | undefined, closeClient = false): void {
  ex.status = status;
  ex.bytes = sendErrorPage(res, status, reason, closeClient || ex.ctx.draining, ex.method === 'HEAD');
}

/** Send the member's response to the client; its body goes through a ResponseRelay. */
export function relayResponse(ex: Exchange, b: Balancer, member: Member, response: MemberResponse, res: ClientResponse, host: string | null, compression?: CompressionConfig): void {
  const { ctx } = ex;
  const { status } = response;
  const body = response.body;
  // post_request runs once the final status is known; httpd runs it after the body, which only
  // matters for requests running at the same time.
  postRequest(b, member, { status, timedOut: false }, balancerNow);
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

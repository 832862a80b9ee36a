/**
 * Upgrade requests (WebSocket and any other `Upgrade:` protocol), tunnelled like mod_proxy_http's
 * `upgrade=` / mod_proxy_wstunnel: the request goes through the same mount table and the same
 * attempt loop (sticky route, lbmethod, failover while nothing was sent) to an HTTP member. A `101`
 * answer turns both connections into one raw TCP tunnel until either side closes; any other
 * answer is relayed as a normal response and the client connection is closed after it.
 *
 * A tunnel with no bytes in either direction for the larger of `server.timeout` (httpd's Timeout)
 * and the member's `timeout` is closed on both sides, as httpd 2.4.71 does (checked against the
 * real server: Timeout 3 with timeout=2 closes an idle tunnel after 3 s, with timeout=5 after 5 s).
 *
 * AJP has no upgrade mechanism: an Upgrade request whose chosen member is `ajp://` gets 502.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Member } from '../balancer/member.js';
import { postRequest } from '../balancer/select.js';
import { BackendError, type MemberResponse, type UpgradeOutcome } from '../members/connector.js';
import { socketHsts } from '../edge/messages.js';
import type { ClientRequest } from './client-messages.js';
import { balancerNow, type ProxyContext } from './context.js';
import { errorPage } from './error-page.js';
import { runAttempts, type Send } from './attempts.js';
import { Exchange } from './exchange.js';
import { clientInfo, resolveTarget } from './handler.js';
import { clientResponseHeaders } from './responses.js';
import { forwardRequestHeaders } from './headers.js';

function statusLine(status: number, text?: string): string {
  return `HTTP/1.1 ${status} ${text || STATUS_CODES[status] || 'Unknown'}\r\n`;
}

/** The HSTS field of a TLS listener that sets it (Header always set: error answers too), or ''. */
function hstsField(socket: Duplex): string {
  const hsts = socketHsts(socket);
  return hsts === null ? '' : `Strict-Transport-Security: ${hsts}\r\n`;
}

/** One of stickyd's error pages, written on the raw socket, then close. */
function rawError(socket: Duplex, status: number, reason?: string): number {
  const body = errorPage(status, reason);
  const len = Buffer.byteLength(body);
  socket.end(`${statusLine(status)}Content-Type: text/html; charset=iso-8859-1\r\nContent-Length: ${len}\r\n${hstsField(socket)}Connection: close\r\n\r\n${body}`);
  return len;
}

function headerFacts(raw: readonly string[]): { host: string | null; cookie: string | undefined } {
  let host: string | null = null;
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'host' && host === null) host = raw[i + 1]!;
    else if (name === 'cookie') cookie = cookie === undefined ? raw[i + 1]! : `${cookie}, ${raw[i + 1]!}`;
  }
  return { host, cookie };
}

/** An Upgrade goes to members whose transport can switch protocols (HTTP; AJP cannot). */
const upgradeSend: Send<UpgradeOutcome> = (connector, attempt) =>
  connector.upgrade !== undefined
    ? connector.upgrade(attempt)
    : Promise.reject(new BackendError('protocol', 'the member cannot take an Upgrade request (AJP has no protocol switch)'));

/** Handle node's 'upgrade' event. Never throws. */
export function handleUpgrade(ctx: ProxyContext, req: ClientRequest, socket: Duplex, head: Buffer): void {
  ctx.counters.requests++;
  socket.on('error', () => {});
  const ex = new Exchange(ctx, req.method ?? 'GET', req.url ?? '/', clientInfo(req, ctx.config.server.servername), 0);
  let tunnelled = false;
  socket.once('close', () => {
    ex.abort();
    if (!tunnelled) ex.finish(req, null);
  });
  upgrade(ex, req, socket, head, () => { tunnelled = true; }).catch((err: unknown) => {
    ctx.logger.error({ err, url: ex.url }, 'upgrade failed unexpectedly');
    socket.destroy();
  });
}

async function upgrade(ex: Exchange, req: ClientRequest, socket: Duplex, head: Buffer, onTunnel: () => void): Promise<void> {
  const { ctx } = ex;
  const answer = (status: number, reason?: string): void => {
    ex.status = status;
    ex.bytes = rawError(socket, status, reason);
  };
  const raw = req.rawHeaders;
  const facts = headerFacts(raw);
  if (facts.host === null && req.httpVersion !== '1.0') {
    ctx.counters.clientErrors['bad-request']++;
    return answer(400);
  }
  const target = resolveTarget(ctx, ex.url, (status) => answer(status));
  if (target === null) return;
  const b = ctx.balancers.get(target.rule.balancer);
  if (b === undefined) return answer(404);
  const headers = forwardRequestHeaders(raw, {
    addHeaders: ctx.config.proxy.addheaders,
    clientAddress: ex.client.remoteAddress,
    serverName: ctx.config.server.servername,
    tunnel: true,
  });
  const outcome = await runAttempts<UpgradeOutcome>(ex, b, {
    target,
    sticky: { url: target.stickyUrl, cookie: facts.cookie },
    headers,
    clientHeaders: raw,
    host: facts.host,
    httpVersion: req.httpVersion,
    replay: null,
    contentLength: null,
  }, upgradeSend, (value) => (value.kind === 'upgraded' ? value.reusedConnection : value.response.reusedConnection));

  if (outcome.kind === 'aborted' || outcome.kind === 'drop') {
    socket.destroy();
    return;
  }
  const member = ex.member;
  if (outcome.kind === 'error') {
    if (member !== null) postRequest(b, member, { status: outcome.status, timedOut: outcome.timedOut }, balancerNow());
    answer(outcome.status, outcome.status === 503 ? undefined : outcome.reason);
    return;
  }
  const result = outcome.value;
  if (result.kind === 'response') {
    postRequest(b, member!, { status: result.response.status, timedOut: false }, balancerNow());
    relayRefusal(ex, member!, result.response, socket, facts.host);
    return;
  }
  postRequest(b, member!, { status: result.status, timedOut: false }, balancerNow());
  onTunnel();
  tunnel(ex, req, member!, result, socket, head);
}

/** The member did not switch protocols: relay its answer as a plain response, then close. */
function relayRefusal(ex: Exchange, member: Member, response: MemberResponse, socket: Duplex, host: string | null): void {
  const headers = clientResponseHeaders(ex, response.headers, host);
  const hsts = hstsField(socket);
  let text = statusLine(response.status, response.statusText);
  for (let i = 0; i < headers.length; i += 2) {
    // On a TLS listener with HSTS, ours replaces the member's (as on every other response).
    if (hsts !== '' && headers[i]!.toLowerCase() === 'strict-transport-security') continue;
    text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  }
  text += hsts;
  // Without Content-Length the body is delimited by the close (the member's chunking is undone).
  text += 'Connection: close\r\n\r\n';
  ex.status = response.status;
  socket.write(text, 'latin1');
  const body = response.body;
  body.attach({
    write(chunk) {
      member.addRead(chunk.length);
      ex.bytes += chunk.length;
      return socket.write(chunk);
    },
    end: () => socket.end(),
    fail: () => socket.destroy(),
  });
  socket.on('drain', () => body.resume());
  socket.once('close', () => body.destroy());
}

/** 101: forward the member's answer, then bytes both ways until either side closes. */
function tunnel(ex: Exchange, req: ClientRequest, member: Member, result: Extract<UpgradeOutcome, { kind: 'upgraded' }>, client: Duplex, head: Buffer): void {
  const { ctx } = ex;
  const backend = result.socket;
  backend.on('error', () => {});
  let text = statusLine(result.status, 'Switching Protocols');
  for (let i = 0; i + 1 < result.headers.length; i += 2) text += `${result.headers[i]!}: ${result.headers[i + 1]!}\r\n`;
  text += '\r\n';
  client.write(text, 'latin1');
  ex.status = result.status;
  if (head.length > 0) {
    member.addTransferred(head.length);
    backend.write(head);
  }
  const entry = {
    destroy: () => {
      client.destroy();
      backend.destroy();
    },
  };
  ctx.tunnels.add(entry);
  ctx.counters.tunnels++;
  let over = false;
  // One timer for the whole tunnel, pushed back by every chunk: cheaper than a timer per socket.
  const idleMs = tunnelIdleTimeout(ctx.config.server.timeout, member);
  const idle = setTimeout(() => {
    ctx.logger.debug({ url: ex.url, member: member.name, idleMs }, 'closing an idle tunnel');
    entry.destroy();
  }, idleMs);
  const onClose = (other: Duplex) => (): void => {
    // One side is gone: end the other (what was written still goes out), and cut it if it lingers.
    if (over) return;
    over = true;
    clearTimeout(idle);
    ctx.tunnels.delete(entry);
    other.end();
    setTimeout(() => other.destroy(), 2000).unref();
    ex.finish(req, null);
  };
  client.on('data', (chunk: Buffer) => {
    member.addTransferred(chunk.length);
    idle.refresh();
  });
  backend.on('data', (chunk: Buffer) => {
    member.addRead(chunk.length);
    ex.bytes += chunk.length;
    idle.refresh();
  });
  client.pipe(backend);
  backend.pipe(client);
  client.once('close', onClose(backend));
  backend.once('close', onClose(client));
}

/** httpd's tunnel timeout: the larger of the client side's Timeout and the member's I/O timeout. */
export function tunnelIdleTimeout(serverTimeout: number, member: Member): number {
  return Math.max(serverTimeout, member.config.timeout);
}

/**
 * One active health check of one member (mod_proxy_hcheck's hc_check_tcp / hc_check_cping /
 * hc_check_http), bounded by the member's timeouts:
 *
 * - `TCP`: a connection can be opened within `connectiontimeout`.
 * - `TCP` on an ajp:// member with `ping` set: a fresh AJP connection answers CPING with CPONG
 *   within `ping` (mod_proxy_hcheck's CPING method, which the balancer file has no hcmethod for).
 * - `OPTIONS`, `HEAD`, `GET`: a request for member URL + `hcuri` on a fresh connection, through the
 *   member's own protocol (HTTP, HTTP over TLS for https:// members with the same certificate
 *   checks as traffic, or an AJP Forward Request for ajp:// members), answered within
 *   `timeout`; it passes when `hcexpr` holds, or without hcexpr when the status is 200..399
 *   (hc_check_http). Only GET reads a body, and only the first 64 KiB.
 *
 * Checks never use the pooled connections of live traffic: a check must notice that the member
 * stopped accepting connections, which a kept-alive socket would hide.
 */
import net from 'node:net';
import { connect as ajpConnect } from '../members/ajp/connection.js';
import { encodeCPing } from '../members/ajp/request.js';
import { decodeContainerPacket } from '../members/ajp/response.js';
import type { MemberConfig } from '../config/types.js';
import { collectBody } from '../members/body.js';
import { SignalClient, type Attempt, type MemberConnector } from '../members/connector.js';
import { connectionSettings, createConnector } from '../members/connectors.js';
import { HcExpr } from './expr.js';

/** The outcome of one check, as the manager page shows it. */
export interface ProbeResult {
  ok: boolean;
  /** What happened, e.g. "200 OK", "connection refused (ECONNREFUSED)", "hcexpr is false (status 503)". */
  detail: string;
}

/** hc('body') sees at most this much of a GET response. */
export const MAX_BODY = 64 * 1024;

/** Errors as a short phrase for the manager page. */
function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED)';
  return code !== undefined && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
}

/** TCP: connect within `connectiontimeout`, then close. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (r: ProbeResult): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `no connection within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => done({ ok: true, detail: 'connected' }));
    socket.once('error', (err) => done({ ok: false, detail: describe(err) }));
  });
}

/** CPING on a fresh AJP connection; CPONG must come within `timeoutMs` (ajp_handle_cping_cpong). */
export async function probeCping(config: MemberConfig, timeoutMs: number): Promise<ProbeResult> {
  let conn;
  try {
    conn = await ajpConnect({ host: config.host, port: config.port, connectTimeout: config.connectiontimeout, keepAlive: false });
  } catch (err) {
    return { ok: false, detail: describe(err) };
  }
  const c = conn;
  return new Promise((resolve) => {
    const done = (r: ProbeResult): void => {
      clearTimeout(timer);
      c.detach();
      c.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, detail: `no CPONG within ${timeoutMs} ms` }), timeoutMs);
    c.attach({
      packet(payload) {
        try {
          const type = decodeContainerPacket(payload).type;
          done(type === 'cpong' ? { ok: true, detail: 'CPONG' } : { ok: false, detail: `answered CPING with a ${type} packet` });
        } catch (err) {
          done({ ok: false, detail: `bad answer to CPING: ${(err as Error).message}` });
        }
      },
      closed(error) {
        done({ ok: false, detail: `connection closed during CPING${error ? `: ${error.message}` : ''}` });
      },
    });
    c.write(encodeCPing());
  });
}

/** The request path of a check: the member's path, then hcuri (a "/" between them when hcuri has none). */
export function checkPath(basepath: string, hcuri: string): string {
  const uri = hcuri === '' || hcuri.startsWith('/') ? hcuri : `/${hcuri}`;
  const path = basepath + uri;
  return path === '' ? '/' : path;
}

/** The Host of a check: the member's host, with its port unless it is the scheme's default. */
function hostHeader(config: MemberConfig): string {
  const h = config.host.includes(':') ? `[${config.host}]` : config.host;
  return config.port === (config.scheme === 'https' ? 443 : 80) ? h : `${h}:${config.port}`;
}

/**
 * OPTIONS / HEAD / GET through a connector of the member's scheme that does not reuse connections.
 * Bounded by the connector's connect and response timeouts, and by `deadlineMs` as a whole.
 */
export async function probeHttp(connector: MemberConnector, config: MemberConfig, method: string, expr: HcExpr | null, deadlineMs: number): Promise<ProbeResult> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), deadlineMs);
  const attempt: Attempt = {
    method,
    httpVersion: '1.1',
    path: checkPath(config.basepath, config.hcuri),
    // An HTTP member gets its own Host first (the connector's), an AJP one these headers as they are.
    headers: ['User-Agent', 'stickyd-hcheck'],
    clientHost: null,
    preserveHost: false,
    clientHeaders: ['Host', hostHeader(config), 'User-Agent', 'stickyd-hcheck'],
    body: null,
    bodyLength: null,
    client: new SignalClient(abort.signal),
    info: { remoteAddress: '127.0.0.1', remotePort: 0, localAddress: '127.0.0.1', localPort: 0, secure: false, serverName: 'stickyd-hcheck' },
    route: config.route,
    traffic: null,
  };
  try {
    const res = await connector.send(attempt);
    const wantBody = method === 'GET' && expr !== null && expr.needsBody;
    const body = wantBody ? (await collectBody(res.body, MAX_BODY)).data.toString('utf8') : '';
    if (!wantBody) res.body.destroy();
    const status = `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
    if (expr === null) {
      // hc_check_http without a condition: 2xx and 3xx pass.
      const ok = res.status >= 200 && res.status <= 399;
      return { ok, detail: ok ? status : `status ${status} is not 2xx/3xx` };
    }
    const headers = new Map<string, string>();
    for (let i = 0; i + 1 < res.headers.length; i += 2) {
      const key = res.headers[i]!.toLowerCase();
      const value = res.headers[i + 1]!;
      headers.set(key, headers.has(key) ? `${headers.get(key)!}, ${value}` : value);
    }
    const ok = expr.test({ status: res.status, body, header: (name) => headers.get(name) });
    return { ok, detail: ok ? `${status}, hcexpr holds` : `hcexpr is false (status ${status})` };
  } catch (err) {
    if (abort.signal.aborted) return { ok: false, detail: `no answer within ${deadlineMs} ms` };
    return { ok: false, detail: describe(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The checks of one member: keeps the connector of its HTTP-method checks (recreated when the
 * member's connection settings change on a reload) and the parsed hcexpr.
 */
export class MemberProbe {
  private connector: MemberConnector | null = null;
  private settings = '';
  private exprText: string | null = null;
  private expr: HcExpr | null = null;

  /** One check with the member's current settings. Never rejects. */
  async run(config: MemberConfig): Promise<ProbeResult> {
    try {
      switch (config.hcmethod) {
        case 'None':
          return { ok: true, detail: 'not checked' };
        case 'TCP':
          // An ajp:// member with `ping` set is expected to answer CPING: check that rather than
          // a bare connect (mod_proxy_hcheck's CPING method; the config has no such hcmethod).
          if (config.scheme === 'ajp' && config.ping > 0) return await probeCping(config, config.ping);
          return await probeTcp(config.host, config.port, config.connectiontimeout);
        default:
          return await probeHttp(this.connectorFor(config), config, config.hcmethod, this.exprFor(config), config.connectiontimeout + config.timeout);
      }
    } catch (err) {
      return { ok: false, detail: `check failed: ${(err as Error).message}` };
    }
  }

  private exprFor(config: MemberConfig): HcExpr | null {
    if (config.hcexpr !== this.exprText) {
      this.exprText = config.hcexpr;
      // The config loader already refused an expression that does not parse.
      this.expr = config.hcexpr === null ? null : HcExpr.parse(config.hcexpr);
    }
    return this.expr;
  }

  private connectorFor(config: MemberConfig): MemberConnector {
    // A connection per check: checks must see a member that stopped accepting connections.
    const checkConfig: MemberConfig = { ...config, disablereuse: true, max: 1, acquire: null, ping: 0 };
    const settings = connectionSettings(checkConfig);
    if (this.connector === null || settings !== this.settings) {
      void this.connector?.close().catch(() => {});
      this.connector = createConnector(checkConfig);
      this.settings = settings;
    }
    return this.connector;
  }

  async close(): Promise<void> {
    const c = this.connector;
    this.connector = null;
    await c?.destroy().catch(() => {});
  }
}

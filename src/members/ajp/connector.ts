/**
 * The transport to one `ajp://host:port` member (mod_proxy_ajp's role): a pool of AJP/1.3
 * connections, an optional CPing/CPong check before each request, and one request/response cycle
 * per attempt. Failures are BackendErrors whose kinds drive the attempt loop as apache-semantics §4.1 says.
 *
 * Member settings used (MemberConfig, apache-semantics §7.2): host, port, max, ttl, acquire, disablereuse,
 * connectiontimeout (connect), timeout (I/O), keepalive, ping (CPing timeout), secret.
 * The route travels per request (Attempt.route → jvm_route). AJP has no protocol switch: this
 * connector has no `upgrade` capability.
 */
import type { LookupFunction } from 'node:net';
import type { MemberConfig } from '../../config/types.js';
import { DeliveredBody } from '../body.js';
import { BackendError, type Attempt, type MemberConnector, type MemberResponse } from '../connector.js';
import type { AjpConnection, ConnectionListener } from './connection.js';
import { runExchange } from './exchange.js';
import { AjpOverflowError } from './packet.js';
import { ConnectionPool, type PoolStats } from './pool.js';
import { encodeCPing, encodeForwardRequest, forwardRequestFor, framedBodyLength } from './request.js';
import { decodeContainerPacket } from './response.js';

/** The member settings the AJP connector reads. */
export type AjpMemberConfig = Pick<
  MemberConfig,
  'host' | 'port' | 'timeout' | 'connectiontimeout' | 'max' | 'ttl' | 'disablereuse' | 'acquire' | 'keepalive' | 'ping' | 'secret'
>;

export class AjpConnector implements MemberConnector {
  private readonly pool: ConnectionPool;
  private readonly name: string;

  /** @param options.lookup name resolution override (tests); node's dns.lookup by default. */
  constructor(
    private readonly member: AjpMemberConfig,
    options: { lookup?: LookupFunction } = {},
  ) {
    this.name = `ajp://${member.host.includes(':') ? `[${member.host}]` : member.host}:${member.port}`;
    this.pool = new ConnectionPool({
      host: member.host,
      port: member.port,
      connectTimeout: member.connectiontimeout,
      keepAlive: member.keepalive,
      max: member.max,
      acquire: member.acquire,
      ttl: member.ttl,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
  }

  /** Pool counters (open/idle connections, connections opened so far, waiting requests). */
  stats(): PoolStats {
    return this.pool.stats();
  }

  async send(req: Attempt): Promise<MemberResponse> {
    // Encode before taking a connection: a request that cannot be expressed in one AJP packet is
    // answered 400 without touching the member (mod_proxy_ajp: AJP_EOVERFLOW → HTTP_BAD_REQUEST).
    let forwardRequest: Buffer;
    try {
      forwardRequest = encodeForwardRequest(forwardRequestFor(req, this.member.secret));
    } catch (err) {
      if (err instanceof AjpOverflowError) return badRequest(err.message);
      throw err;
    }

    const signal = req.client.signal;
    let conn = await this.pool.acquire(req.client);
    if (this.member.ping > 0) conn = await this.checkAlive(conn, signal);

    return runExchange(conn, {
      forwardRequest,
      body: req.body,
      bodyLength: framedBodyLength(req),
      timeout: this.member.timeout,
      signal,
      traffic: req.traffic,
      member: this.name,
      done: (reusable) => this.pool.release(conn, reusable && !this.member.disablereuse),
    });
  }

  /**
   * CPing before the request, CPong required within `ping` ms. Like mod_proxy_ajp, a failed check
   * gets one more chance on a brand-new connection (the first may just have been a stale pooled
   * one); if that fails too the member is unresponsive: kind 'ping' (apache-semantics §4.1: error state and
   * failover, nothing was sent).
   */
  private async checkAlive(first: AjpConnection, signal: AbortSignal): Promise<AjpConnection> {
    let conn = first;
    for (let attempt = 1; ; attempt++) {
      try {
        await cping(conn, this.member.ping, signal, this.name);
        return conn;
      } catch (err) {
        const aborted = err instanceof BackendError && err.kind === 'aborted';
        if (aborted || attempt === 2) {
          this.pool.release(conn, false);
          throw err;
        }
      }
      conn = await this.pool.reopen(conn);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  async destroy(): Promise<void> {
    this.pool.destroy();
  }
}

/** Sends CPING and waits for CPONG; rejects with kind 'ping' (or 'aborted'). */
function cping(conn: AjpConnection, ms: number, signal: AbortSignal, member: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err: BackendError | null) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      conn.detach();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => settle(new BackendError('aborted', 'the client went away'));
    const timer = setTimeout(() => settle(new BackendError('ping', `${member}: no CPONG within ping=${ms} ms`)), ms);
    const listener: ConnectionListener = {
      packet(payload) {
        let type: string;
        try {
          type = decodeContainerPacket(payload).type;
        } catch (err) {
          settle(new BackendError('ping', `${member}: bad answer to CPING: ${(err as Error).message}`, { cause: err }));
          return;
        }
        settle(type === 'cpong' ? null : new BackendError('ping', `${member}: answered CPING with a ${type} packet`));
      },
      closed(error) {
        settle(new BackendError('ping', `${member}: connection closed during CPING${error ? `: ${error.message}` : ''}`, { cause: error ?? undefined }));
      },
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    conn.attach(listener);
    conn.write(encodeCPing());
  });
}

/** A body that is there whole from the start (stickyd's own answer, not a member's). */
class LocalBody extends DeliveredBody {
  constructor(data: Buffer) {
    super();
    this.deliver(data);
    this.complete();
  }

  resume(): void {}

  destroy(): void {}
}

/** The local 400 answer for a request too large for one AJP packet. */
function badRequest(reason: string): MemberResponse {
  const text = Buffer.from(`Bad Request: ${reason}\n`);
  return {
    status: 400,
    statusText: 'Bad Request',
    headers: ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(text.length)],
    body: new LocalBody(text),
    reusedConnection: false,
  };
}

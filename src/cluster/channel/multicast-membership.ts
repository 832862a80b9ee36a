/**
 * Multicast heartbeats (Tomcat's McastService, cluster-semantics §1.1): one datagram to address:port every
 * `frequency` ms; every datagram received from the group goes through decode → authentication →
 * replay check (time window + sequence number, heartbeat.ts) → the membership table. Multicast
 * reaches other hosts, so it always runs with a secret (options.ts refuses it without one). Our
 * own heartbeats come back (multicast loopback is on, so nodes on one host see each other) and the
 * table ignores them by id.
 *
 * Socket trouble never crashes the node: a socket 'error', or `RECOVERY_COUNTER` consecutive send
 * failures, closes the socket and reopens it after `RECOVERY_SLEEP_MS` until that works (Tomcat's
 * recoveryEnabled / recoveryCounter=10 / recoverySleepTime=5000).
 */
import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { Counters } from './counters.js';
import { HeartbeatReplayGuard, decodeHeartbeat, encodeHeartbeat } from './heartbeat.js';
import { SHUTDOWN_COMMAND } from './member.js';
import type { ClusterMember } from './types.js';

export const RECOVERY_COUNTER = 10;
export const RECOVERY_SLEEP_MS = 5000;
/** Graceful leave: the shutdown datagram is sent this many times, this far apart (UDP may lose one). */
const LEAVE_REPEATS = 3;
const LEAVE_SPACING_MS = 10;

export interface MulticastContext {
  address: string;
  port: number;
  ttl: number | undefined;
  bind: string | undefined;
  /** How far a heartbeat's timestamp may be from our clock (HeartbeatReplayGuard). */
  replayWindow: number;
  secret: Buffer | null;
  local(): ClusterMember;
  /** The library's clock (ms since the epoch). */
  now(): number;
  logger: Logger;
  counters: Counters;
  onHeartbeat(member: ClusterMember, command: string): void;
  /** A bug surfaced in a socket callback: logged and counted. */
  internalError(err: unknown, where: string): void;
}

export class MulticastMembership {
  private socket: dgram.Socket | undefined;
  private seq = 0;
  private sendFailures = 0;
  private reopenTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly guard: HeartbeatReplayGuard;

  constructor(private readonly ctx: MulticastContext) {
    this.guard = new HeartbeatReplayGuard(ctx.replayWindow);
  }

  /** Binds and joins the group; rejects with a clear error when that is impossible at start. */
  async start(): Promise<void> {
    this.socket = await this.open();
  }

  /** One heartbeat (the periodic one, or a shutdown). */
  send(command = ''): void {
    const socket = this.socket;
    if (!socket) return;
    const datagram = encodeHeartbeat({ member: this.ctx.local(), command, seq: ++this.seq, at: this.ctx.now() }, this.ctx.secret);
    this.ctx.counters.stats.framesSent++;
    this.ctx.counters.stats.bytesSent += datagram.length;
    socket.send(datagram, this.ctx.port, this.ctx.address, (err) => {
      if (!err) {
        this.sendFailures = 0;
        return;
      }
      this.sendFailures++;
      this.ctx.logger.warn({ err: err.message, failures: this.sendFailures }, 'multicast heartbeat send failed');
      if (this.sendFailures >= RECOVERY_COUNTER) this.recover(socket);
    });
  }

  /** Graceful leave: the shutdown heartbeat, several times quickly. */
  async leave(): Promise<void> {
    for (let i = 0; i < LEAVE_REPEATS; i++) {
      this.send(SHUTDOWN_COMMAND);
      if (i < LEAVE_REPEATS - 1) await new Promise((r) => setTimeout(r, LEAVE_SPACING_MS));
    }
  }

  /** Periodic housekeeping of the replay guard. */
  prune(now: number): void {
    this.guard.prune(now);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reopenTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      try {
        socket.close();
      } catch {
        /* already closed */
      }
    }
  }

  private open(): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      const onStartError = (err: Error) => {
        socket.close();
        reject(new Error(`cannot join multicast group ${this.ctx.address}:${this.ctx.port}: ${err.message}`));
      };
      socket.once('error', onStartError);
      socket.on('message', (msg) => {
        try {
          this.onDatagram(msg);
        } catch (err) {
          this.ctx.internalError(err, 'multicast receiver');
        }
      });
      socket.bind(this.ctx.port, () => {
        try {
          socket.addMembership(this.ctx.address, this.ctx.bind);
          if (this.ctx.bind) socket.setMulticastInterface(this.ctx.bind);
          if (this.ctx.ttl !== undefined) socket.setMulticastTTL(this.ctx.ttl);
          socket.setMulticastLoopback(true);
        } catch (err) {
          onStartError(err as Error);
          return;
        }
        socket.off('error', onStartError);
        socket.on('error', (err) => {
          this.ctx.logger.warn({ err: err.message }, 'multicast socket error; reopening');
          this.recover(socket);
        });
        resolve(socket);
      });
    });
  }

  private recover(broken: dgram.Socket): void {
    if (this.closed || broken !== this.socket) return;
    this.socket = undefined;
    try {
      broken.close();
    } catch {
      /* already closed */
    }
    const retry = () => {
      this.reopenTimer = undefined;
      if (this.closed) return;
      this.open()
        .then(
          (socket) => {
            if (this.closed) {
              socket.close();
              return;
            }
            this.socket = socket;
            this.sendFailures = 0;
            this.ctx.logger.info('multicast socket reopened');
          },
          (err: Error) => {
            this.ctx.logger.warn({ err: err.message }, 'multicast socket still failing');
            this.reopenTimer = setTimeout(retry, RECOVERY_SLEEP_MS);
          },
        )
        .catch((err: unknown) => this.ctx.internalError(err, 'multicast recovery'));
    };
    this.reopenTimer = setTimeout(retry, RECOVERY_SLEEP_MS);
  }

  private onDatagram(datagram: Buffer): void {
    const hb = decodeHeartbeat(datagram, this.ctx.secret);
    // Our own heartbeats loop back; they are not traffic from the cluster.
    if (!('error' in hb) && hb.member.id === this.ctx.local().id) return;
    this.ctx.counters.stats.framesReceived++;
    this.ctx.counters.stats.bytesReceived += datagram.length;
    if ('error' in hb) {
      this.ctx.counters.drop(hb.error, 'multicast heartbeat');
      return;
    }
    const now = this.ctx.now();
    if (!this.guard.accept(hb.member.id, hb.seq, hb.at, now)) {
      this.ctx.counters.drop(
        'replayed',
        `multicast heartbeat of ${hb.member.route}#${hb.member.id.slice(0, 8)} (seq ${hb.seq}, sent ${now - hb.at} ms ago)`,
      );
      return;
    }
    this.ctx.onHeartbeat(hb.member, hb.command);
  }
}

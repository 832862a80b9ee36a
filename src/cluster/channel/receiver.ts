/**
 * The incoming half of the transport (Tribes' Receiver): a TCP server; each connection is either a
 * failure-detector probe (one PROBE frame, answered with our id, then closed) or a peer's sending
 * connection (HELLO → HELLO_ACK → AUTH handshake, then authenticated frames; acks and replies go
 * back on it).
 *
 * Hostile input never reaches the application: a frame whose length header exceeds the limit
 * (checked before buffering), that is truncated, malformed, out of protocol order or fails its MAC
 * is dropped, counted, and the connection is closed — other connections are unaffected.
 *
 * Frame size limits (docs/cluster.md, "Wire protocol"):
 * - Until AUTH verified, every frame is limited to MAX_HANDSHAKE_FRAME (16 KiB), and a client that
 *   does not complete the handshake within the handshake timeout is disconnected. A replayed HELLO
 *   therefore buys nothing: the replayer cannot answer the challenge.
 * - With a secret, an authenticated connection may send frames up to `maxFrameSize`.
 * - Without a secret nobody is authenticated, so the large limit is a grant: only for a connection
 *   whose sender is a verified member (its receiver answered our TCP probe with its id), and only for
 *   that member's oldest open connection — a real peer sends over one, so a replayed or forged HELLO
 *   in its name arrives later and gets nothing. A larger frame on any other connection is held: the
 *   socket is not read (TCP back-pressure, nothing buffered) until the grant comes (the sender gets
 *   verified, or the older connection closes), or, after the handshake timeout, the frame is refused
 *   ('unauthenticated'), counted and the connection closed.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameMac, connectionKeys, helloAckMac, helloMac, newNonce, probeAckMac, splitMac, verifyMac } from './auth.js';
import type { Counters, DropReason } from './counters.js';
import { FrameDecoder, FrameError, FrameType, encodeFrame, type Frame } from './frame.js';
import { PROBE_PAYLOAD_BYTES } from './failure-detector.js';
import { MAX_HANDSHAKE_FRAME, decodeHello, encodeHello } from './handshake.js';
import type { ClusterMember } from './types.js';

export interface ReceiverContext {
  /** This node (its port is final once listening). */
  local(): ClusterMember;
  secret: Buffer | null;
  maxFrameSize: number;
  handshakeTimeout: number;
  logger: Logger;
  counters: Counters;
  /**
   * Without a secret (see the module comment): is `id` a verified member (alive or suspect), still
   * being verified ('pending'), or one that failed verification or left ('refused')?
   */
  trust(id: string): 'verified' | 'pending' | 'refused';
  /** A peer completed the handshake; `conn.remote` says who it claims to be. */
  onHello(conn: InboundConnection): void;
  /** An authenticated HEARTBEAT, LEAVE, MESSAGE or REQUEST frame. */
  onFrame(conn: InboundConnection, type: number, payload: Buffer): void;
  /** The connection is gone (after a handshake only). */
  onClosed(conn: InboundConnection): void;
  /** A bug surfaced in a socket callback: logged and counted, the connection is closed. */
  internalError(err: unknown, where: string): void;
}

/** Frames in flight from one connection before we stop reading from it (TCP back-pressure to the sender). */
const PAUSE_AT = 1024;
const RESUME_AT = 256;

/** Who may send large frames without a secret (see the module comment). */
interface LargeFrameGrants {
  /** true: go ahead; false: wait; 'refused': the sender failed verification, refuse the frame. */
  grant(conn: InboundConnection): boolean | 'refused';
}

let connectionCounter = 0;

type Phase = 'hello' | 'auth' | 'open';

export class InboundConnection {
  /** The peer, once the handshake completed (undefined before). */
  remote: ClusterMember | undefined;
  /** The peer announced a graceful leave on this connection: its closing is expected. */
  left = false;
  /** Accept order: among a member's connections, the oldest one may carry large frames (no secret). */
  readonly order = ++connectionCounter;
  private phase: Phase = 'hello';
  /** Who the HELLO claims to be, until AUTH proves it. */
  private claimed: ClusterMember | undefined;
  private outMac: FrameMac | undefined;
  private inMac: FrameMac | undefined;
  private readonly decoder = new FrameDecoder(MAX_HANDSHAKE_FRAME);
  private inFlight = 0;
  private replyBlocked = false;
  private corked = false;
  private paused = false;
  private closed = false;
  /** A frame above the handshake limit waits for a large-frame grant (no secret only). */
  private holding = false;
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly peer: string;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: ReceiverContext,
    private readonly grants: LargeFrameGrants,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => {
      ctx.logger.debug({ peer: this.peer, phase: this.phase }, 'no handshake in time; closing');
      this.close();
    }, ctx.handshakeTimeout);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.onData(chunk);
      } catch (err) {
        ctx.internalError(err, 'cluster receiver');
        this.close(true);
      }
    });
    socket.on('drain', () => {
      this.replyBlocked = false;
      this.updatePause();
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** Writes an ack/reply frame; a peer that does not read its replies stops being read itself. */
  reply(type: number, payload: Buffer): void {
    if (this.closed || this.phase !== 'open') return;
    const frame = encodeFrame(type, payload, this.outMac!.sign(type, payload));
    this.ctx.counters.stats.framesSent++;
    this.ctx.counters.stats.bytesSent += frame.length;
    // Acks of one burst of handled frames leave in one write (uncorked a microtask later).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      queueMicrotask(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (!this.socket.write(frame)) {
      this.replyBlocked = true;
      this.updatePause();
    }
  }

  /** An application frame from this connection was queued for its handler. */
  queued(): void {
    this.inFlight++;
    this.updatePause();
  }

  /** …and has been handled. */
  handled(): void {
    this.inFlight--;
    this.updatePause();
  }

  isOpen(): boolean {
    return !this.closed;
  }

  /** Whether a large frame is waiting for a grant. */
  isHolding(): boolean {
    return this.holding;
  }

  /** @param afterDrop closing because of a frame already counted as dropped (or our own shutdown). */
  close(afterDrop = false): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.holdTimer);
    if (!afterDrop && this.remote && this.decoder.pendingBytes() > 0) {
      this.ctx.counters.drop('truncated', `from ${this.peer}: connection closed inside a frame`);
    }
    this.socket.destroy();
    if (this.remote) this.ctx.onClosed(this);
  }

  /** The grants changed (member verified, or another connection of it closed): try the held frame again. */
  retryGrant(): void {
    if (!this.holding || this.closed) return;
    const g = this.grants.grant(this);
    if (g === 'refused') return this.refuseHeld('sender could not be verified');
    if (!g) return;
    this.holding = false;
    clearTimeout(this.holdTimer);
    this.decoder.holdAbove = Infinity;
    this.updatePause();
    this.decodeFrames();
  }

  /** Verification of the sender failed: a held frame will never be granted. */
  refuseHeld(detail: string): void {
    if (this.holding) this.drop('unverified', `${this.decoder.heldLength()}-byte frame: ${detail}`);
  }

  private updatePause(): void {
    const shouldPause =
      this.holding || this.replyBlocked || this.inFlight >= PAUSE_AT || (this.paused && this.inFlight > RESUME_AT);
    if (shouldPause !== this.paused && !this.closed) {
      this.paused = shouldPause;
      if (shouldPause) this.socket.pause();
      else this.socket.resume();
    }
  }

  private drop(reason: DropReason, detail: string): void {
    const who = this.remote ?? this.claimed;
    this.ctx.counters.drop(reason, `from ${who ? who.route : '?'}@${this.peer}: ${detail}`);
    this.close(true);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.ctx.counters.stats.bytesReceived += chunk.length;
    this.decoder.append(chunk);
    this.decodeFrames();
  }

  /** Frames one at a time: the limits change with the handshake phase, between two frames of one chunk. */
  private decodeFrames(): void {
    for (;;) {
      if (this.closed || this.holding) return;
      let f: Frame | undefined;
      try {
        f = this.decoder.next();
      } catch (err) {
        this.drop(err instanceof FrameError ? err.kind : 'malformed', (err as Error).message);
        return;
      }
      if (!f) break;
      this.ctx.counters.stats.framesReceived++;
      if (this.phase === 'hello') this.onFirstFrame(f.type, f.body);
      else if (this.phase === 'auth') this.onAuth(f.type, f.body);
      else this.onFrame(f.type, f.body);
    }
    if (!this.closed && this.decoder.heldLength() > 0) this.hold();
  }

  /** No secret: a frame above the handshake limit needs a grant; wait for it, but not forever. */
  private hold(): void {
    const g = this.grants.grant(this);
    if (g === true) {
      this.decoder.holdAbove = Infinity;
      this.decodeFrames();
      return;
    }
    this.holding = true;
    if (g === 'refused') return this.refuseHeld('sender could not be verified');
    this.updatePause();
    const length = this.decoder.heldLength();
    this.holdTimer = setTimeout(
      () => this.drop('unauthenticated', `${length}-byte frame from a sender that is not its member's verified connection`),
      this.ctx.handshakeTimeout,
    );
  }

  private onFirstFrame(type: number, body: Buffer): void {
    if (type === FrameType.PROBE) {
      // TcpFailureDetector's probe: answer with our id (bound to the prober's nonce) and hang up.
      if (body.length !== PROBE_PAYLOAD_BYTES) return this.drop('malformed', 'probe frame of the wrong size');
      clearTimeout(this.handshakeTimer);
      const payload = Buffer.from(JSON.stringify({ id: this.ctx.local().id }));
      const frame = encodeFrame(FrameType.PROBE_ACK, payload, probeAckMac(this.ctx.secret, body, payload));
      this.ctx.counters.stats.framesSent++;
      this.ctx.counters.stats.bytesSent += frame.length;
      this.socket.end(frame);
      this.closed = true;
      return;
    }
    if (type !== FrameType.HELLO) return this.drop('malformed', `expected HELLO or PROBE, got frame type ${type}`);
    const parts = splitMac(body, this.ctx.secret);
    if (!parts || !verifyMac(helloMac(this.ctx.secret, parts.payload), parts.mac)) {
      return this.drop('forged', 'HELLO failed authentication (wrong or missing secret?)');
    }
    const hello = decodeHello(parts.payload);
    if (!hello) return this.drop('malformed', 'unreadable HELLO (not a stickyd cluster peer, or another protocol version)');
    // The challenge: our fresh nonce inside HELLO_ACK. Until the client's AUTH answers it, the
    // connection stays at the handshake limit and nothing from it reaches the channel.
    const payload = encodeHello(this.ctx.local(), newNonce());
    const frame = encodeFrame(FrameType.HELLO_ACK, payload, helloAckMac(this.ctx.secret, parts.payload, payload));
    this.ctx.counters.stats.framesSent++;
    this.ctx.counters.stats.bytesSent += frame.length;
    this.socket.write(frame);
    const keys = connectionKeys(this.ctx.secret, parts.payload, payload);
    this.inMac = new FrameMac(keys.clientToServer);
    this.outMac = new FrameMac(keys.serverToClient);
    this.claimed = hello.member;
    this.phase = 'auth';
  }

  private onAuth(type: number, body: Buffer): void {
    if (type !== FrameType.AUTH) return this.drop('malformed', `expected AUTH after HELLO_ACK, got frame type ${type}`);
    const parts = splitMac(body, this.ctx.secret);
    if (!parts || parts.payload.length !== 0 || !this.inMac!.verify(type, parts.payload, parts.mac)) {
      return this.drop('forged', 'AUTH failed: the client did not answer the challenge (replayed HELLO or wrong secret)');
    }
    clearTimeout(this.handshakeTimer);
    this.phase = 'open';
    this.remote = this.claimed;
    this.decoder.maxFrameSize = this.ctx.maxFrameSize;
    // With a secret the client just proved it holds it; without one, large frames need a grant.
    this.decoder.holdAbove = this.ctx.secret ? Infinity : MAX_HANDSHAKE_FRAME;
    this.ctx.onHello(this);
  }

  private onFrame(type: number, body: Buffer): void {
    const parts = splitMac(body, this.ctx.secret);
    if (!parts || !this.inMac!.verify(type, parts.payload, parts.mac)) {
      return this.drop('forged', `frame type ${type} failed authentication (forged, replayed or reordered)`);
    }
    switch (type) {
      case FrameType.HEARTBEAT:
      case FrameType.LEAVE:
      case FrameType.MESSAGE:
      case FrameType.REQUEST:
        this.ctx.onFrame(this, type, parts.payload);
        return;
      default:
        this.drop('malformed', `unexpected frame type ${type} on a sending connection`);
    }
  }
}

export class Receiver implements LargeFrameGrants {
  private server: net.Server | undefined;
  private readonly connections = new Set<InboundConnection>();

  constructor(private readonly ctx: ReceiverContext) {}

  /** Listens; resolves with the bound port (useful with port 0). */
  listen(address: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        const conn = new InboundConnection(socket, this.ctx, this);
        this.connections.add(conn);
        socket.once('close', () => {
          this.connections.delete(conn);
          // A member's oldest connection is gone: a younger one may now carry large frames.
          if (conn.remote) this.memberVerified(conn.remote.id);
        });
      });
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`cluster receiver ${address}:${port} is already in use: pick another receiver.port`)
            : err,
        );
      });
      server.listen({ host: address, port, backlog: 511 }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.ctx.logger.warn({ err }, 'cluster receiver error'));
        this.server = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  /** May `conn` carry frames above the handshake limit? (See the module comment.) */
  grant(conn: InboundConnection): boolean | 'refused' {
    if (this.ctx.secret) return true;
    const id = conn.remote?.id;
    if (id === undefined) return false;
    const trust = this.ctx.trust(id);
    if (trust !== 'verified') return trust === 'refused' ? 'refused' : false;
    for (const c of this.connections) {
      if (c !== conn && c.remote?.id === id && c.isOpen() && c.order < conn.order) return false;
    }
    return true;
  }

  /** The member was verified (added, or its suspicion cleared): its held frames may go on. */
  memberVerified(id: string): void {
    for (const c of [...this.connections]) if (c.remote?.id === id && c.isHolding()) c.retryGrant();
  }

  /** The member could not be verified or was removed: its held frames are refused. */
  memberRefused(id: string, why: string): void {
    for (const c of [...this.connections]) if (c.remote?.id === id) c.refuseHeld(why);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // Our own shutdown: a half-received frame is not the peer's fault, so it is not counted.
    for (const c of [...this.connections]) c.close(true);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

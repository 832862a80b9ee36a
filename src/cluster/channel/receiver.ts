/**
 * The incoming half of the transport (Tribes' Receiver): a TCP server; each connection is either a
 * failure-detector probe (one PROBE frame, answered with our id, then closed) or a peer's sending
 * connection (HELLO handshake, then authenticated frames; acks and replies go back on it).
 *
 * Hostile input never reaches the application: a frame whose length header exceeds the limit
 * (checked before buffering), that is truncated, malformed, out of protocol order or fails its MAC
 * is dropped, counted, and the connection is closed — other connections are unaffected.
 * Before the handshake the size limit is tiny, so an unauthenticated client cannot make us buffer
 * a 16 MiB frame, and a client that does not complete the handshake in time is disconnected.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameMac, connectionKeys, helloAckMac, helloMac, newNonce, probeAckMac, splitMac, verifyMac } from './auth.js';
import type { Counters, DropReason } from './counters.js';
import { FrameDecoder, FrameError, FrameType, encodeFrame } from './frame.js';
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
  /** A peer completed the handshake; `conn.remote` says who it claims to be. */
  onHello(conn: InboundConnection): void;
  /** An authenticated HEARTBEAT, LEAVE, MESSAGE or REQUEST frame. */
  onFrame(conn: InboundConnection, type: number, payload: Buffer): void;
  /** The connection is gone (after a handshake only). */
  onClosed(conn: InboundConnection): void;
}

/** Frames in flight from one connection before we stop reading from it (TCP back-pressure to the sender). */
const PAUSE_AT = 1024;
const RESUME_AT = 256;

export class InboundConnection {
  remote: ClusterMember | undefined;
  /** The peer announced a graceful leave on this connection: its closing is expected. */
  left = false;
  private outMac: FrameMac | undefined;
  private inMac: FrameMac | undefined;
  private readonly decoder = new FrameDecoder(MAX_HANDSHAKE_FRAME);
  private inFlight = 0;
  private replyBlocked = false;
  private corked = false;
  private paused = false;
  private closed = false;
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly peer: string;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: ReceiverContext,
  ) {
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => {
      ctx.logger.debug({ peer: this.peer }, 'no handshake in time; closing');
      this.close();
    }, ctx.handshakeTimeout);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.replyBlocked = false;
      this.updatePause();
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** Writes an ack/reply frame; a peer that does not read its replies stops being read itself. */
  reply(type: number, payload: Buffer): void {
    if (this.closed || !this.outMac) return;
    const frame = encodeFrame(type, payload, this.outMac.sign(type, payload));
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

  /** @param afterDrop closing because of a frame already counted as dropped (or our own shutdown). */
  close(afterDrop = false): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    if (!afterDrop && this.remote && this.decoder.pendingBytes() > 0) {
      this.ctx.counters.drop('truncated', `from ${this.peer}: connection closed inside a frame`);
    }
    this.socket.destroy();
    if (this.remote) this.ctx.onClosed(this);
  }

  private updatePause(): void {
    const shouldPause = this.replyBlocked || this.inFlight >= PAUSE_AT || (this.paused && this.inFlight > RESUME_AT);
    if (shouldPause !== this.paused) {
      this.paused = shouldPause;
      if (shouldPause) this.socket.pause();
      else this.socket.resume();
    }
  }

  private drop(reason: DropReason, detail: string): void {
    this.ctx.counters.drop(reason, `from ${this.remote ? this.remote.route : '?'}@${this.peer}: ${detail}`);
    this.close(true);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.ctx.counters.stats.bytesReceived += chunk.length;
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.drop(err instanceof FrameError ? err.kind : 'malformed', (err as Error).message);
      return;
    }
    for (const f of frames) {
      if (this.closed) return;
      this.ctx.counters.stats.framesReceived++;
      if (!this.outMac) this.onFirstFrame(f.type, f.body);
      else this.onFrame(f.type, f.body);
    }
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
    clearTimeout(this.handshakeTimer);
    const serverNonce = newNonce();
    const payload = encodeHello(this.ctx.local(), serverNonce);
    const frame = encodeFrame(FrameType.HELLO_ACK, payload, helloAckMac(this.ctx.secret, hello.nonce, payload));
    this.ctx.counters.stats.framesSent++;
    this.ctx.counters.stats.bytesSent += frame.length;
    this.socket.write(frame);
    const keys = connectionKeys(this.ctx.secret, hello.nonce, serverNonce);
    this.inMac = new FrameMac(keys.clientToServer);
    this.outMac = new FrameMac(keys.serverToClient);
    this.decoder.maxFrameSize = this.ctx.maxFrameSize;
    this.remote = hello.member;
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

export class Receiver {
  private server: net.Server | undefined;
  private readonly connections = new Set<InboundConnection>();

  constructor(private readonly ctx: ReceiverContext) {}

  /** Listens; resolves with the bound port (useful with port 0). */
  listen(address: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((socket) => {
        const conn = new InboundConnection(socket, this.ctx);
        this.connections.add(conn);
        socket.once('close', () => this.connections.delete(conn));
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

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    // Our own shutdown: a half-received frame is not the peer's fault, so it is not counted.
    for (const c of [...this.connections]) c.close(true);
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

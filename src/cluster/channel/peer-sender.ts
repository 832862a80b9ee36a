/**
 * The outgoing half of the transport to one receiver address (Tribes' per-member NIO sender): one TCP
 * connection, a bounded FIFO of frames, acks and request replies that come back on the same
 * connection, and reconnects with backoff.
 *
 * - FIFO: frames are written in enqueue order on a single connection, which is what makes the
 *   channel's per-peer ordering hold end to end.
 * - Back-pressure: when `socket.write()` returns false nothing more is written until 'drain'; the
 *   frames wait in the queue, and once queue + socket buffer would exceed `maxQueueBytes` further
 *   sends fail with ERR_QUEUE_FULL instead of growing memory.
 * - Delivery: a frame that was never written is kept across a reconnect (it cannot have been
 *   delivered). A frame written on a connection that broke is not resent (it may have been
 *   delivered), so an ack/request waiting for it fails with ERR_CONNECTION_LOST.
 * - Identity: the receiver proves its member id in the handshake; frames addressed to another id
 *   (the process at that port was restarted) fail with ERR_MEMBER_RESTARTED instead of reaching a
 *   stranger.
 * - An ack or request that timed out before its frame was written is not written at all: the caller
 *   was told it failed, so it must not take effect later.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { FrameMac, connectionKeys, helloAckMac, helloMac, macBytes, newNonce, splitMac, verifyMac } from './auth.js';
import type { Counters } from './counters.js';
import { ChannelError, RemoteHandlerError } from './errors.js';
import { Fifo } from './fifo.js';
import { FrameDecoder, FrameError, FrameType, encodeFrame, idAndText, readId } from './frame.js';
import { MAX_HANDSHAKE_FRAME, decodeHello, encodeHello } from './handshake.js';
import { setLagSafeTimeout } from './lag-safe-timer.js';
import { addressOf } from './member.js';
import { parseClusterJson } from './safe-json.js';
import type { ClusterMember } from './types.js';

export interface PeerSenderContext {
  local: ClusterMember;
  /** The library's clock (ms); only differences are used here. */
  now(): number;
  secret: Buffer | null;
  connectTimeout: number;
  /** How long the receiver may take to answer our HELLO (the sender timeout). */
  handshakeTimeout: number;
  maxQueueBytes: number;
  maxFrameSize: number;
  logger: Logger;
  counters: Counters;
  /** The receiver at this address proved who it is; fresh evidence it is alive (bound to our nonce). */
  onHandshake(sender: PeerSender, remote: ClusterMember): void;
  /** Connecting failed or the connection broke; `targets` are the member ids whose traffic was affected. */
  onTrouble(sender: PeerSender, targets: Set<string>): void;
  /** A bug surfaced in a socket callback: logged and counted, the connection is dropped. */
  internalError(err: unknown, where: string): void;
}

interface Waiter {
  id: number;
  kind: 'ack' | 'request';
  targetId: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  written: boolean;
  settled: boolean;
}

interface QueuedFrame {
  type: number;
  payload: Buffer;
  /** The member this frame is for; undefined for membership frames meant for whoever listens. */
  targetId: string | undefined;
  waiter: Waiter | undefined;
  bytes: number;
}

type State = 'idle' | 'connecting' | 'handshaking' | 'open' | 'self' | 'closed';

const EMPTY = Buffer.alloc(0);
const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 1000;
/**
 * Socket buffer before write() reports back-pressure. Larger than Node's 16 KiB default so a burst of
 * small frames goes out in few syscalls; the queue limit (maxQueueBytes) still bounds the total.
 */
const SOCKET_HIGH_WATER_MARK = 256 * 1024;

export class PeerSender {
  readonly address: string;
  /** The member that answered at this address most recently. */
  remote: ClusterMember | undefined;
  private state: State = 'idle';
  private socket: net.Socket | undefined;
  private decoder: FrameDecoder | undefined;
  private outMac: FrameMac | undefined;
  private inMac: FrameMac | undefined;
  private readonly queue = new Fifo<QueuedFrame>();
  private queuedBytes = 0;
  private heartbeatWanted = false;
  private blocked = false;
  private flushScheduled = false;
  private attempts = 0;
  private failures = 0;
  private nextAttemptAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private stepTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  private readonly log: Logger;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly ctx: PeerSenderContext,
  ) {
    this.address = addressOf({ host, port });
    this.log = ctx.logger.child({ peer: this.address });
  }

  /**
   * Queues an application message for member `targetId`. Without ack it resolves once queued; with
   * ack once the peer's handler settled (rejects with its failure, a timeout or a lost connection).
   */
  message(targetId: string, json: string, ack: boolean, timeoutMs: number): Promise<void> {
    if (!ack) {
      const failure = this.admit(FrameType.MESSAGE, idAndText(0, json), targetId, undefined);
      return failure ? Promise.reject(failure) : Promise.resolve();
    }
    return this.await(FrameType.MESSAGE, 'ack', targetId, json, timeoutMs) as Promise<void>;
  }

  /** Request/response: resolves with the peer's reply. */
  request(targetId: string, json: string, timeoutMs: number): Promise<unknown> {
    return this.await(FrameType.REQUEST, 'request', targetId, json, timeoutMs);
  }

  /** Static membership: send a heartbeat ahead of queued traffic (connecting first if needed). */
  heartbeat(): void {
    if (this.state === 'self' || this.state === 'closed') return;
    this.heartbeatWanted = true;
    this.kick();
  }

  /** Graceful leave, after everything already queued (peers apply our last messages first). */
  leave(): void {
    if (this.state !== 'open') return;
    this.admit(FrameType.LEAVE, EMPTY, undefined, undefined);
  }

  /** Fails every queued and waiting frame for `targetId` (the member is gone). */
  failFor(targetId: string, err: Error): void {
    for (const item of this.queue.extract((f) => f.targetId === targetId)) {
      this.queuedBytes -= item.bytes;
      if (item.waiter) this.settle(item.waiter, err);
    }
    for (const w of [...this.waiters.values()]) if (w.targetId === targetId) this.settle(w, err);
  }

  /** Member ids that frames in the queue are addressed to. */
  queuedTargets(): Set<string> {
    const ids = new Set<string>();
    for (const f of this.queue) if (f.targetId) ids.add(f.targetId);
    return ids;
  }

  /** Settled for start-up purposes: tried at least once and now connected, refused, or found to be us. */
  settled(): boolean {
    return this.state === 'open' || this.state === 'self' || (this.attempts > 0 && this.state === 'idle');
  }

  /** Connected and past the handshake. */
  isConnected(): boolean {
    return this.state === 'open';
  }

  /** True when this address turned out to be our own receiver. */
  isSelf(): boolean {
    return this.state === 'self';
  }

  /** Resolves once everything queued was handed to the kernel, the peer is unreachable, or after timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = this.ctx.now() + timeoutMs;
    while (this.ctx.now() < deadline) {
      const idle = this.queue.length === 0 && !this.heartbeatWanted && (this.socket?.writableLength ?? 0) === 0;
      if (idle || this.state === 'idle' || this.state === 'self' || this.state === 'closed') return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Closes for good: flushes what the socket holds, fails everything still queued or waiting. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.retryTimer);
    clearTimeout(this.stepTimer);
    const stopped = new ChannelError('ERR_CHANNEL_STOPPED', 'the channel was stopped');
    for (let f = this.queue.shift(); f; f = this.queue.shift()) if (f.waiter) this.settle(f.waiter, stopped);
    this.queuedBytes = 0;
    for (const w of [...this.waiters.values()]) this.settle(w, stopped);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    }
  }

  private await(type: number, kind: 'ack' | 'request', targetId: string, json: string, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const id = this.nextId;
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
      const waiter: Waiter = {
        id,
        kind,
        targetId,
        resolve,
        reject,
        written: false,
        settled: false,
        timer: setTimeout(() => {
          this.settle(waiter, new ChannelError('ERR_TIMEOUT', `no ${kind === 'ack' ? 'ack' : 'reply'} from ${this.address} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.set(id, waiter);
      const failure = this.admit(type, idAndText(id, json), targetId, waiter);
      if (failure) this.settle(waiter, failure);
    });
  }

  /** Queues a frame, or returns why it cannot be queued. */
  private admit(type: number, payload: Buffer, targetId: string | undefined, waiter: Waiter | undefined): Error | undefined {
    if (this.state === 'closed') return new ChannelError('ERR_CHANNEL_STOPPED', 'the channel was stopped');
    if (this.state === 'self') return new ChannelError('ERR_NOT_A_MEMBER', `${this.address} is this node's own receiver`);
    const bytes = 5 + payload.length + macBytes(this.ctx.secret);
    if (bytes - 4 > this.ctx.maxFrameSize) {
      return new ChannelError('ERR_FRAME_TOO_LARGE', `message of ${bytes} bytes exceeds maxFrameSize ${this.ctx.maxFrameSize}`);
    }
    const inFlight = this.queuedBytes + (this.socket?.writableLength ?? 0);
    if (inFlight + bytes > this.ctx.maxQueueBytes) {
      return new ChannelError(
        'ERR_QUEUE_FULL',
        `send queue to ${this.address} is full (${inFlight} bytes waiting, maxQueueBytes ${this.ctx.maxQueueBytes}): the peer is not reading`,
      );
    }
    this.queue.push({ type, payload, targetId, waiter, bytes });
    this.queuedBytes += bytes;
    this.kick();
    return undefined;
  }

  private settle(w: Waiter, err: Error | undefined, value?: unknown): void {
    if (w.settled) return;
    w.settled = true;
    clearTimeout(w.timer);
    this.waiters.delete(w.id);
    if (err) w.reject(err);
    else w.resolve(value);
  }

  private hasWork(): boolean {
    return this.queue.length > 0 || this.heartbeatWanted;
  }

  private kick(): void {
    if (this.state === 'open') this.scheduleFlush();
    else if (this.state === 'idle') this.ensureConnecting();
  }

  /**
   * Writes once the current synchronous burst of sends is queued (a microtask later): a loop of
   * sends becomes a few large writes instead of one syscall per frame, at no latency cost.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private ensureConnecting(): void {
    if (this.state !== 'idle' || this.retryTimer) return;
    const delay = this.nextAttemptAt - this.ctx.now();
    if (delay <= 0) {
      this.connect();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'idle' && this.hasWork()) this.connect();
    }, delay);
  }

  private connect(): void {
    this.state = 'connecting';
    this.attempts++;
    const hello = encodeHello(this.ctx.local, newNonce());
    // Node hands stream options through to the socket; @types/node 20 just does not declare this one.
    const connectOptions = { host: this.host, port: this.port, writableHighWaterMark: SOCKET_HIGH_WATER_MARK };
    const socket = net.connect(connectOptions);
    this.socket = socket;
    this.decoder = new FrameDecoder(MAX_HANDSHAKE_FRAME);
    socket.setNoDelay(true);
    this.stepTimer = setLagSafeTimeout(() => {
      if (this.state === 'connecting') this.broken(socket, 'connect timeout');
    }, this.ctx.connectTimeout);
    socket.once('connect', () => {
      if (socket !== this.socket) return;
      clearTimeout(this.stepTimer);
      this.state = 'handshaking';
      this.stepTimer = setLagSafeTimeout(() => {
        if (this.state === 'handshaking') this.broken(socket, 'no handshake answer');
      }, this.ctx.handshakeTimeout);
      this.writeRaw(socket, encodeFrame(FrameType.HELLO, hello, helloMac(this.ctx.secret, hello)));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.onData(socket, chunk, hello);
      } catch (err) {
        this.ctx.internalError(err, 'cluster sender');
        this.broken(socket, 'internal error', true);
      }
    });
    socket.on('drain', () => {
      if (socket !== this.socket) return;
      this.blocked = false;
      this.flush();
    });
    socket.on('error', (err) => this.broken(socket, err.message));
    socket.on('close', () => this.broken(socket, 'connection closed'));
  }

  private writeRaw(socket: net.Socket, frame: Buffer): boolean {
    this.ctx.counters.stats.framesSent++;
    this.ctx.counters.stats.bytesSent += frame.length;
    return socket.write(frame);
  }

  private onData(socket: net.Socket, chunk: Buffer, hello: Buffer): void {
    if (socket !== this.socket || !this.decoder) return;
    this.ctx.counters.stats.bytesReceived += chunk.length;
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.ctx.counters.drop((err as FrameError).kind ?? 'malformed', `reply from ${this.address}: ${(err as Error).message}`);
      this.broken(socket, (err as Error).message, true);
      return;
    }
    for (const f of frames) {
      if (socket !== this.socket) return;
      this.ctx.counters.stats.framesReceived++;
      const parts = splitMac(f.body, this.ctx.secret);
      if (!parts) {
        this.reject(socket, 'forged', 'frame too short for its MAC');
        return;
      }
      if (this.state === 'handshaking') {
        if (f.type !== FrameType.HELLO_ACK) {
          this.reject(socket, 'malformed', `expected HELLO_ACK, got frame type ${f.type}`);
          return;
        }
        if (!verifyMac(helloAckMac(this.ctx.secret, hello, parts.payload), parts.mac)) {
          this.reject(socket, 'forged', 'HELLO_ACK failed authentication (wrong secret?)');
          return;
        }
        const ack = decodeHello(parts.payload);
        if (!ack) {
          this.reject(socket, 'malformed', 'unreadable HELLO_ACK');
          return;
        }
        this.opened(socket, hello, parts.payload, ack.member);
        continue;
      }
      if (!this.inMac!.verify(f.type, parts.payload, parts.mac)) {
        this.reject(socket, 'forged', `frame type ${f.type} failed authentication`);
        return;
      }
      this.onReply(socket, f.type, parts.payload);
    }
  }

  private opened(socket: net.Socket, hello: Buffer, helloAck: Buffer, remote: ClusterMember): void {
    clearTimeout(this.stepTimer);
    if (remote.id === this.ctx.local.id) {
      // Our own receiver (a shared member list, or "localhost" vs "127.0.0.1"): never talk to ourselves.
      this.log.debug('address is this node itself; not using it');
      this.state = 'self';
      this.socket = undefined;
      socket.destroy();
      const err = new ChannelError('ERR_NOT_A_MEMBER', `${this.address} is this node's own receiver`);
      for (let f = this.queue.shift(); f; f = this.queue.shift()) if (f.waiter) this.settle(f.waiter, err);
      this.queuedBytes = 0;
      this.heartbeatWanted = false;
      return;
    }
    const keys = connectionKeys(this.ctx.secret, hello, helloAck);
    this.outMac = new FrameMac(keys.clientToServer);
    this.inMac = new FrameMac(keys.serverToClient);
    // AUTH answers the receiver's challenge (its nonce is in the transcript the key is derived from);
    // our frames follow at once, in the same write, without waiting for a reply.
    this.writeRaw(socket, encodeFrame(FrameType.AUTH, EMPTY, this.outMac.sign(FrameType.AUTH, EMPTY)));
    this.decoder!.maxFrameSize = this.ctx.maxFrameSize;
    this.remote = remote;
    this.state = 'open';
    this.failures = 0;
    this.blocked = false;
    this.log.debug({ remote: remote.id }, 'connected');
    this.ctx.onHandshake(this, remote);
    this.flush();
  }

  private onReply(socket: net.Socket, type: number, payload: Buffer): void {
    let id: number;
    try {
      id = readId(payload);
    } catch {
      this.reject(socket, 'malformed', `reply frame type ${type} without id`);
      return;
    }
    const w = this.waiters.get(id);
    const text = () => payload.toString('utf8', 4);
    switch (type) {
      case FrameType.ACK:
        if (w?.kind === 'ack') this.settle(w, undefined);
        return;
      case FrameType.FAIL_ACK:
        if (w?.kind === 'ack') this.settle(w, new RemoteHandlerError(`${this.address} failed to process the message: ${text()}`));
        return;
      case FrameType.RESPONSE: {
        if (w?.kind !== 'request') return;
        const parsed = parseClusterJson(text());
        if (parsed.ok) this.settle(w, undefined, parsed.value);
        else {
          this.ctx.counters.drop(parsed.reason, `reply from ${this.address}`);
          this.settle(w, new ChannelError('ERR_BAD_REPLY', `${this.address} sent an unusable reply (${parsed.reason})`));
        }
        return;
      }
      case FrameType.RESPONSE_ERROR:
        if (w?.kind === 'request') this.settle(w, new RemoteHandlerError(`${this.address} failed to answer: ${text()}`));
        return;
      default:
        this.reject(socket, 'malformed', `unexpected frame type ${type} from a receiver`);
    }
  }

  private reject(socket: net.Socket, reason: 'forged' | 'malformed', detail: string): void {
    this.ctx.counters.drop(reason, `from ${this.address}: ${detail}`);
    this.broken(socket, detail, true);
  }

  private flush(): void {
    const socket = this.socket;
    if (this.state !== 'open' || this.blocked || !socket) return;
    const remoteId = this.remote!.id;
    socket.cork();
    try {
      while (!this.blocked) {
        let type: number;
        let payload: Buffer;
        if (this.heartbeatWanted) {
          this.heartbeatWanted = false;
          type = FrameType.HEARTBEAT;
          payload = EMPTY;
        } else {
          const item = this.queue.shift();
          if (!item) break;
          this.queuedBytes -= item.bytes;
          if (item.waiter?.settled) continue;
          if (item.targetId !== undefined && item.targetId !== remoteId) {
            if (item.waiter) {
              this.settle(item.waiter, new ChannelError('ERR_MEMBER_RESTARTED', `${this.address} now runs a different member (restarted)`));
            }
            continue;
          }
          if (item.waiter) item.waiter.written = true;
          type = item.type;
          payload = item.payload;
        }
        if (!this.writeRaw(socket, encodeFrame(type, payload, this.outMac!.sign(type, payload)))) this.blocked = true;
      }
    } finally {
      socket.uncork();
    }
  }

  /** @param afterDrop closing because of a frame already counted as dropped (not also "truncated"). */
  private broken(socket: net.Socket, why: string, afterDrop = false): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    socket.destroy();
    clearTimeout(this.stepTimer);
    if (this.state === 'closed' || this.state === 'self') return;
    const wasOpen = this.state === 'open';
    if (wasOpen && !afterDrop && (this.decoder?.pendingBytes() ?? 0) > 0) {
      this.ctx.counters.drop('truncated', `reply from ${this.address} cut off by the connection closing`);
    }
    this.state = 'idle';
    this.blocked = false;
    this.failures = wasOpen ? 0 : this.failures + 1;
    this.nextAttemptAt = this.ctx.now() + (this.failures ? Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (this.failures - 1)) : 0);
    const affected = this.queuedTargets();
    if (this.remote && wasOpen) affected.add(this.remote.id);
    const lost = new ChannelError('ERR_CONNECTION_LOST', `connection to ${this.address} lost: ${why}`);
    for (const w of [...this.waiters.values()]) {
      if (w.written) {
        affected.add(w.targetId);
        this.settle(w, lost);
      }
    }
    this.log.debug({ why, wasOpen, failures: this.failures }, 'connection down');
    this.ctx.onTrouble(this, affected);
    if (this.hasWork()) this.ensureConnecting();
  }
}

/**
 * An in-memory Channel for unit tests of manager logic (no sockets): same contract as
 * src/cluster/channel/types.ts — per-peer FIFO, handlers awaited in order, `ack: true` resolves
 * after the peer's handler settled, messages are JSON round-tripped like on the wire. End-to-end
 * tests use the real channel over 127.0.0.1 instead.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { RemoteHandlerError } from '../../../src/cluster/channel/errors.js';
import type { Channel, ChannelStats, ClusterMember, SendOptions, SendResult } from '../../../src/cluster/channel/types.js';

export class MemoryNetwork {
  readonly channels = new Map<string, MemoryChannel>();
  private startCounter = 0;

  channel(route: string): MemoryChannel {
    return new MemoryChannel(this, route, Date.now() * 1000 + this.startCounter++);
  }

  live(): MemoryChannel[] {
    return [...this.channels.values()];
  }
}

type Handler = (from: ClusterMember, msg: unknown) => void | Promise<void>;
type RequestHandler = (from: ClusterMember, msg: unknown) => unknown;

export class MemoryChannel extends EventEmitter implements Channel {
  readonly local: ClusterMember;
  private handler: Handler = () => {};
  private requestHandler: RequestHandler = () => null;
  /** Delivery chain per sender id → this channel (FIFO per peer). */
  private readonly inbound = new Map<string, Promise<void>>();
  private readonly known = new Set<string>();
  /** While paused, deliveries to this channel wait (a frozen process). */
  private paused: Promise<void> | null = null;
  private resume: (() => void) | null = null;
  /** Every message this channel sent, for assertions: [to route, message]. */
  readonly sentLog: Array<[string, unknown]> = [];
  private readonly counters: ChannelStats = {
    membersAdded: 0, membersRemoved: 0, framesSent: 0, framesReceived: 0,
    bytesSent: 0, bytesReceived: 0, framesDropped: 0, suspectsKept: 0, internalErrors: 0, dnsRefreshes: 0, dnsFailures: 0,
  };

  constructor(private readonly net: MemoryNetwork, route: string, startedAt: number) {
    super();
    this.local = { id: randomBytes(16).toString('hex'), route, host: '127.0.0.1', port: 0, startedAt, domain: '' };
  }

  async start(): Promise<void> {
    const others = this.net.live();
    // Registered first, so that a peer's memberAdded handler already sees us in members().
    this.net.channels.set(this.local.id, this);
    for (const other of others) {
      this.addMember(other.local);
      other.addMember(this.local);
    }
  }

  async stop(): Promise<void> {
    this.leave('shutdown');
  }

  /** kill -9: peers notice (as after the failure detector's verification). */
  crash(): void {
    this.leave('timeout');
  }

  /** Several processes die at the same instant: nobody reacts to one loss before the next happened. */
  static crashTogether(...channels: MemoryChannel[]): void {
    for (const c of channels) c.net.channels.delete(c.local.id);
    for (const c of channels) for (const other of c.net.live()) other.removeMember(c.local, 'timeout');
  }

  private leave(reason: 'shutdown' | 'timeout'): void {
    if (!this.net.channels.delete(this.local.id)) return;
    for (const other of this.net.live()) other.removeMember(this.local, reason);
  }

  pause(): void {
    if (this.paused) return;
    this.paused = new Promise((r) => (this.resume = r));
  }

  unpause(): void {
    this.resume?.();
    this.paused = null;
    this.resume = null;
  }

  addMember(m: ClusterMember): void {
    if (this.known.has(m.id)) return;
    this.known.add(m.id);
    this.counters.membersAdded++;
    this.emit('memberAdded', m);
  }

  removeMember(m: ClusterMember, reason: string): void {
    if (!this.known.delete(m.id)) return;
    this.counters.membersRemoved++;
    this.emit('memberRemoved', m, reason);
  }

  members(): ClusterMember[] {
    return this.net
      .live()
      .filter((c) => c !== this && this.known.has(c.local.id))
      .map((c) => c.local)
      .sort((a, b) => a.startedAt - b.startedAt);
  }

  onMessage(handler: Handler): void {
    this.handler = handler;
  }

  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  /** Delivers one message from `from`, after everything `from` sent before; resolves when handled. */
  deliver(from: ClusterMember, msg: unknown): Promise<void> {
    const prev = this.inbound.get(from.id) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (this.paused) await this.paused;
      this.counters.framesReceived++;
      await this.handler(from, msg);
    });
    const settled = next.catch(() => {});
    this.inbound.set(from.id, settled);
    return next;
  }

  async send(msg: unknown, options: SendOptions, to?: ClusterMember[]): Promise<SendResult> {
    const targets = to ?? this.members();
    const text = JSON.stringify(msg);
    const result: SendResult = { ok: [], failed: [] };
    await Promise.all(
      targets.map(async (m) => {
        const peer = this.net.channels.get(m.id);
        this.sentLog.push([m.route, JSON.parse(text)]);
        this.counters.framesSent++;
        if (!peer) {
          result.failed.push({ member: m, error: new Error(`${m.route} is not reachable`) });
          return;
        }
        const done = peer.deliver(this.local, JSON.parse(text));
        if (!options.ack) {
          done.catch(() => {});
          result.ok.push(m);
          return;
        }
        const timeout = options.timeoutMs ?? 3000;
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            // The peer's handler failed: a FAIL-ACK, like the real channel's RemoteHandlerError.
            done.catch((err: unknown) => { throw new RemoteHandlerError(`${m.route} failed to process the message: ${(err as Error)?.message}`); }),
            new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('ack timeout')), timeout); }),
          ]);
          result.ok.push(m);
        } catch (err) {
          result.failed.push({ member: m, error: err as Error });
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return result;
  }

  async request(to: ClusterMember, msg: unknown, timeoutMs: number): Promise<unknown> {
    const peer = this.net.channels.get(to.id);
    if (!peer) throw new Error(`${to.route} is not reachable`);
    if (peer.paused) await Promise.race([peer.paused, new Promise((r) => setTimeout(r, timeoutMs))]);
    if (peer.paused) throw new Error('request timeout');
    const reply = await peer.requestHandler(this.local, JSON.parse(JSON.stringify(msg)));
    return JSON.parse(JSON.stringify(reply ?? null));
  }

  stats(): ChannelStats {
    return { ...this.counters };
  }
}

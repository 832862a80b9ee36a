/**
 * The channel of a node whose sessions live in Redis: no membership, no receiver, no peers. Redis
 * is the shared state, so there is nobody to replicate to; ClusterNode still gets the Channel it
 * is built around (members() is empty, stats() all zero).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Channel, ChannelStats, ClusterMember, SendResult } from '../channel/types.js';

export class NoChannel extends EventEmitter implements Channel {
  readonly local: ClusterMember;

  constructor(route: string) {
    super();
    this.local = { id: randomBytes(16).toString('hex'), route, host: '', port: 0, startedAt: Date.now(), domain: '' };
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  members(): ClusterMember[] {
    return [];
  }

  onMessage(): void {}
  onRequest(): void {}

  async send(): Promise<SendResult> {
    return { ok: [], failed: [] };
  }

  async request(): Promise<unknown> {
    throw new Error('a node with store: redis has no peers to ask');
  }

  stats(): ChannelStats {
    return { membersAdded: 0, membersRemoved: 0, framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, framesDropped: 0, suspectsKept: 0, internalErrors: 0, dnsRefreshes: 0, dnsFailures: 0 };
  }
}

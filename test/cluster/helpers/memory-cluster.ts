/**
 * Session managers (and whole nodes) over the in-memory channel, for unit tests of manager and
 * middleware logic without cluster sockets. Silent loggers; an optional shared fake clock.
 */
import pino from 'pino';
import type { Logger } from 'pino';
import { createClock } from '../../../src/cluster/clock.js';
import { BackupManager } from '../../../src/cluster/managers/backup-manager.js';
import { DeltaManager } from '../../../src/cluster/managers/delta-manager.js';
import type { ClusterManagerBase } from '../../../src/cluster/managers/manager-base.js';
import type { ReplicationOutcome } from '../../../src/cluster/managers/manager.js';
import { ClusterNode } from '../../../src/cluster/node.js';
import { resolveNodeOptions, type ClusterNodeOptions } from '../../../src/cluster/options.js';
import type { ClusterSession } from '../../../src/cluster/session/session.js';
import { MemoryNetwork, type MemoryChannel } from './memory-channel.js';

export const silent: Logger = pino({ level: 'silent' });

export class FakeClock {
  constructor(public t = 1_700_000_000_000) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

const BASE: ClusterNodeOptions = {
  jvmRoute: 'x',
  receiver: { address: '127.0.0.1', port: 0 },
  membership: { type: 'static', members: [] },
  logger: silent,
  memberWait: 0,
};

export interface TestManager {
  route: string;
  manager: ClusterManagerBase;
  channel: MemoryChannel;
}

export class MemoryCluster {
  readonly net = new MemoryNetwork();
  readonly managers: TestManager[] = [];
  readonly nodes: ClusterNode[] = [];

  constructor(private readonly defaults: Partial<ClusterNodeOptions> = {}) {}

  /** A started manager, wired to its channel the way ClusterNode wires it. */
  async manager(route: string, options: Partial<ClusterNodeOptions> = {}): Promise<TestManager> {
    const channel = this.net.channel(route);
    const all = { ...BASE, ...this.defaults, ...options, jvmRoute: route };
    const resolved = resolveNodeOptions(all);
    const ctx = { channel, options: resolved, clock: createClock(all.clock), logger: silent, ...(all.random ? { random: all.random } : {}) };
    const manager = resolved.manager === 'backup' ? new BackupManager(ctx) : new DeltaManager(ctx);
    channel.on('memberAdded', (m) => manager.memberAdded(m));
    channel.on('memberRemoved', (m) => manager.memberRemoved(m));
    channel.onMessage((from, msg) => manager.receive(from, msg));
    channel.onRequest((from, msg) => manager.answer(from, msg));
    await channel.start();
    await manager.start();
    const t = { route, manager, channel };
    this.managers.push(t);
    return t;
  }

  /** A started ClusterNode over the memory channel. */
  async node(route: string, options: Partial<ClusterNodeOptions> = {}): Promise<ClusterNode> {
    const node = new ClusterNode({ ...BASE, ...this.defaults, ...options, jvmRoute: route }, this.net.channel(route));
    await node.ready;
    this.nodes.push(node);
    return node;
  }

  async stopAll(): Promise<void> {
    await Promise.all([
      ...this.managers.map((m) => m.manager.stop().then(() => m.channel.stop())),
      ...this.nodes.map((n) => n.stop()),
    ]);
  }
}

/** Lets queued deliveries and their handlers run. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Creates a session on `m` with attributes and completes the request that set them. */
export async function createWith(
  m: ClusterManagerBase,
  attrs: Record<string, unknown>,
): Promise<{ session: ClusterSession; outcome: ReplicationOutcome }> {
  const { session, replication } = m.createSession();
  m.beginRequest(session);
  const set = Object.entries(attrs).map(([k, v]) => [k, JSON.stringify(v)] as [string, string]);
  m.endRequest(session);
  const outcome = await m.commit(session, { attributes: { set, remove: [] } }, true);
  await replication;
  return { session, outcome };
}

/** One request that sets/removes attributes on an existing session. */
export function request(
  m: ClusterManagerBase,
  s: ClusterSession,
  set: Record<string, unknown> = {},
  remove: string[] = [],
  replicate = true,
): Promise<ReplicationOutcome> {
  m.beginRequest(s);
  m.endRequest(s);
  const pairs = Object.entries(set).map(([k, v]) => [k, JSON.stringify(v)] as [string, string]);
  return m.commit(s, { attributes: { set: pairs, remove } }, replicate);
}

// Issue 8 item 4: nothing in the library may take the host process down.
// - The BackupManager race, reproduced deterministically: a surviving node promotes a session and
//   publishes it to a new backup (awaiting its acknowledgement); meanwhile the session is invalidated
//   or taken over. The publish must read its state again after the await and stop — not crash with
//   "Cannot read properties of undefined (reading 'backup')" from a fire-and-forget promise.
// - An application's event listener that throws, in every kind of place (a request, a replicated
//   message, the expiry timer, an async replication failure), is logged and counted.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterManagerBase } from '../../../src/cluster/managers/manager-base.js';
import type { ClusterNode } from '../../../src/cluster/node.js';
import type { ClusterSession } from '../../../src/cluster/session/session.js';
import type { MemoryChannel } from '../helpers/memory-channel.js';
import { FakeClock, MemoryCluster, createWith, request, settle } from '../helpers/memory-cluster.js';

let cluster: MemoryCluster;
const fatal: unknown[] = [];
const onFatal = (err: unknown) => void fatal.push(err);

beforeEach(() => {
  fatal.length = 0;
  process.on('unhandledRejection', onFatal);
  process.on('uncaughtException', onFatal);
});
afterEach(async () => {
  process.off('unhandledRejection', onFatal);
  process.off('uncaughtException', onFatal);
  await cluster?.stopAll();
});

const sessionsOf = (m: unknown) => (m as { sessions: Map<string, ClusterSession> }).sessions;

describe('BackupManager: a publish that awaited re-reads its state (the kill -9 race)', () => {
  async function promotingOnB() {
    cluster = new MemoryCluster({ manager: 'backup', sendOptions: 'sync' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const c = await cluster.manager('C');
    const { session } = await createWith(a.manager, { k: 1 });
    expect(a.manager.inspect(session.id)).toMatchObject({ backupRoute: 'B' });
    // C stops processing for a while: B's full copy to its new backup C waits for the ack.
    c.channel.pause();
    a.channel.crash(); // kill -9 A: B promotes the session and publishes it to C
    await settle();
    expect(b.manager.inspect(session.id)).toMatchObject({ role: 'primary' });
    expect(b.manager.stats().counters.sessionsPromoted).toBe(1);
    return { b, c, id: session.id };
  }

  it('invalidated while the new backup had not answered: the publish stops, nothing crashes, nothing comes back', async () => {
    const { b, c, id } = await promotingOnB();
    const remove = b.manager.invalidate(sessionsOf(b.manager).get(id)!);
    c.channel.unpause();
    await remove;
    await settle(20);
    expect(fatal).toEqual([]);
    expect(b.manager.inspect(id)).toBeUndefined(); // no ghost location left by the resumed publish
    expect(c.manager.inspect(id)).toBeUndefined(); // the copy C got was removed after it, in order
    expect(b.manager.stats().counters.internalErrors).toBe(0);
  });

  it('expired while waiting: same', async () => {
    const { b, c, id } = await promotingOnB();
    const s = sessionsOf(b.manager).get(id)!;
    s.lastAccessedTime = 0; // long idle: the next sweep expires it
    b.manager.processExpires();
    c.channel.unpause();
    await settle(20);
    expect(fatal).toEqual([]);
    expect(b.manager.inspect(id)).toBeUndefined();
    expect(c.manager.inspect(id)).toBeUndefined();
  });

  it('renamed while waiting (the route binder): the old publish stops; the new id is published once, consistently', async () => {
    const { b, c, id } = await promotingOnB();
    const newId = `${id.split('.')[0]}.B`;
    const renamed = b.manager.changeSessionId(sessionsOf(b.manager).get(id)!, newId);
    c.channel.unpause();
    expect((await renamed).ok).toBe(true);
    await settle(20);
    expect(fatal).toEqual([]);
    expect(b.manager.inspect(id)).toBeUndefined();
    expect(b.manager.inspect(newId)).toMatchObject({ role: 'primary', backupRoute: 'C', attributes: { k: 1 } });
    expect(c.manager.inspect(newId)).toMatchObject({ role: 'backup', attributes: { k: 1 } });
    expect(c.manager.inspect(id)).toBeUndefined();
  });
});

describe('listeners that throw are logged and counted, never fatal', () => {
  it('in a request, for a replicated message, in the expiry timer and on an async replication failure', async () => {
    const clock = new FakeClock();
    cluster = new MemoryCluster({ sendOptions: 'async', clock: clock.now, processExpiresFrequency: 10, maxInactiveInterval: 60 });
    const a = await cluster.node('A');
    const b = await cluster.node('B');
    for (const n of [a, b]) {
      for (const e of ['sessionCreated', 'sessionExpired', 'replicationFailed', 'sessionChangedId', 'memberRemoved']) {
        n.on(e, () => {
          throw new Error(`application bug in a '${e}' listener`);
        });
      }
    }
    const manager = (n: ClusterNode) => (n as unknown as { manager: ClusterManagerBase }).manager;
    const channel = (n: ClusterNode) => (n as unknown as { channel: MemoryChannel }).channel;
    // A request creates a session (listener throws on A), it replicates (listener throws on B).
    const { session } = await createWith(manager(a), { k: 1 });
    await settle();
    expect(b.inspect(session.id)?.attributes).toEqual({ k: 1 });
    // An async send that fails — B is gone but still listed, the moment between a kill -9 and its
    // detection: replicationFailed's listener throws inside the send's promise chain.
    const bMember = b.local;
    channel(b).crash();
    channel(a).members = () => [bMember];
    await request(manager(a), session, { k: 3 });
    await settle(20);
    // The expiry timer: sessionExpired's listener throws inside setInterval.
    clock.advance(61_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(a.sessionIds()).toEqual([]);
    expect(fatal).toEqual([]);
    expect(a.stats().counters.internalErrors).toBeGreaterThanOrEqual(3);
    expect(a.stats().counters.replicationFailures).toBeGreaterThanOrEqual(1);
  });
});

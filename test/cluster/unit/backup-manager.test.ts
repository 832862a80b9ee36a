/**
 * BackupManager semantics over the in-memory channel (cluster-semantics §2.8, §4.2): round-robin backups,
 * proxies without values, promotion on primary loss, fetch on a proxy node, loss of both copies,
 * keys-only state transfer. Over real sockets: test/cluster/e2e/backup.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChannel } from '../helpers/memory-channel.js';
import { MemoryCluster, createWith, request, settle, type TestManager } from '../helpers/memory-cluster.js';

let cluster: MemoryCluster;
afterEach(async () => {
  await cluster?.stopAll();
});

async function three(): Promise<[TestManager, TestManager, TestManager]> {
  cluster = new MemoryCluster({ manager: 'backup', sendOptions: 'sync' });
  const a = await cluster.manager('A');
  const b = await cluster.manager('B');
  const c = await cluster.manager('C');
  return [a, b, c];
}

const roles = (ms: TestManager[], id: string) => ms.map((m) => m.manager.inspect(id)?.role ?? 'none');

describe('BackupManager', () => {
  it('chooses backups round robin (B, C, B, C) and gives the others proxies without values', async () => {
    const [a, b, c] = await three();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createWith(a.manager, { i })).session.id);
    await settle();
    expect(ids.map((id) => a.manager.inspect(id)!.backupRoute)).toEqual(['B', 'C', 'B', 'C']);
    expect(roles([a, b, c], ids[0]!)).toEqual(['primary', 'backup', 'proxy']);
    expect(roles([a, b, c], ids[1]!)).toEqual(['primary', 'proxy', 'backup']);
    expect(b.manager.inspect(ids[0]!)!.attributes).toEqual({ i: 0 });
    expect(c.manager.inspect(ids[0]!)!.attributes).toEqual({});
    expect(b.manager.stats().sessions).toMatchObject({ active: 2, primary: 0, replica: 2, proxy: 2 });
  });

  it('replicates request deltas to the backup only', async () => {
    const [a, b, c] = await three();
    const { session } = await createWith(a.manager, { k: 1 });
    await settle();
    a.channel.sentLog.length = 0;
    await request(a.manager, session, { k: 2 });
    expect(a.channel.sentLog).toMatchObject([['B', { t: 'backup', set: [['k', '2']] }]]);
    expect(b.manager.inspect(session.id)!.attributes).toEqual({ k: 2 });
    expect(c.manager.inspect(session.id)!.role).toBe('proxy');
  });

  it('when the primary dies the backup promotes itself before any request and picks a new backup', async () => {
    const [a, b, c] = await three();
    const { session } = await createWith(a.manager, { k: 'v' });
    await settle();
    a.channel.crash();
    await settle();
    expect(b.manager.inspect(session.id)).toMatchObject({ role: 'primary', attributes: { k: 'v' }, backupRoute: 'C' });
    expect(c.manager.inspect(session.id)).toMatchObject({ role: 'backup', attributes: { k: 'v' }, primaryRoute: 'B' });
    expect(b.manager.stats().counters.sessionsPromoted).toBe(1);
  });

  it('a request on a proxy node fetches the value: it becomes primary, the backup stays, the old primary becomes a proxy', async () => {
    const [a, b, c] = await three();
    const { session } = await createWith(a.manager, { k: 'v' }); // backup B, proxy C
    await settle();
    const s = await c.manager.findSession(session.id);
    expect(s && Object.fromEntries(s.attributes)).toEqual({ k: '"v"' });
    await settle();
    expect(roles([a, b, c], session.id)).toEqual(['proxy', 'backup', 'primary']);
    expect(a.manager.inspect(session.id)!.attributes).toEqual({});
    await request(c.manager, s!, { k: 'w' });
    expect(b.manager.inspect(session.id)!.attributes).toEqual({ k: 'w' });
    expect(c.manager.stats().counters.sessionsFetched).toBe(1);
  });

  it('a request on the backup node makes it primary with a new backup', async () => {
    const [a, b, c] = await three();
    const { session } = await createWith(a.manager, { k: 1 });
    await settle();
    await b.manager.findSession(session.id);
    await settle();
    expect(b.manager.inspect(session.id)!.role).toBe('primary');
    expect(roles([a, c], session.id).filter((r) => r === 'backup')).toHaveLength(1);
  });

  it('when its backup dies the primary sends a full copy to a new backup', async () => {
    const [a, b, c] = await three();
    const { session } = await createWith(a.manager, { k: 1 }); // backup B
    await settle();
    b.channel.crash();
    await settle();
    expect(a.manager.inspect(session.id)!.backupRoute).toBe('C');
    expect(c.manager.inspect(session.id)).toMatchObject({ role: 'backup', attributes: { k: 1 } });
  });

  it('primary and backup both gone: the session is lost everywhere', async () => {
    const [a, b, c] = await three();
    const { session } = await createWith(a.manager, { k: 1 }); // backup B, proxy C
    await settle();
    MemoryChannel.crashTogether(a.channel, b.channel);
    await settle();
    expect(c.manager.inspect(session.id)).toBeUndefined();
    expect(await c.manager.findSession(session.id)).toBeUndefined();
    expect(c.manager.stats().counters.sessionsLost).toBe(1);
  });

  it('a joiner gets keys and locations only', async () => {
    cluster = new MemoryCluster({ manager: 'backup' });
    const a = await cluster.manager('A');
    await cluster.manager('B');
    const { session } = await createWith(a.manager, { k: 1 });
    await settle();
    const c = await cluster.manager('C');
    expect(c.manager.inspect(session.id)).toMatchObject({ role: 'proxy', attributes: {}, primaryRoute: 'A', backupRoute: 'B' });
    expect(c.manager.stats().stateTransfer).toMatchObject({ state: 'done', sessions: 1 });
    expect((await c.manager.findSession(session.id))?.attributes.get('k')).toBe('1');
  });

  it('a session created while alone gets a backup as soon as a member joins', async () => {
    cluster = new MemoryCluster({ manager: 'backup' });
    const a = await cluster.manager('A');
    const { session } = await createWith(a.manager, { k: 1 });
    expect(a.manager.inspect(session.id)!.backupRoute).toBeNull();
    const b = await cluster.manager('B');
    await settle();
    expect(a.manager.inspect(session.id)!.backupRoute).toBe('B');
    expect(b.manager.inspect(session.id)).toMatchObject({ role: 'backup', attributes: { k: 1 } });
  });

  it('invalidation removes the session from primary, backup and proxies; an id change is remove + put', async () => {
    const [a, b, c] = await three();
    const s1 = (await createWith(a.manager, { k: 1 })).session;
    const s2 = (await createWith(a.manager, { k: 2 })).session;
    await settle();
    await a.manager.invalidate(s1);
    await settle();
    expect(roles([a, b, c], s1.id)).toEqual(['none', 'none', 'none']);
    const old = s2.id;
    await a.manager.changeSessionId(s2, `${old.split('.')[0]}.Z`);
    await settle();
    expect(roles([a, b, c], old)).toEqual(['none', 'none', 'none']);
    expect(roles([a, b, c], s2.id).sort()).toEqual(['backup', 'primary', 'proxy']);
  });
});

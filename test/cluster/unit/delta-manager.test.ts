/**
 * DeltaManager semantics over the in-memory channel (no sockets): the message catalogue of spec
 * §2.2, replication at the end of a request (§2.4), state transfer (§2.5), expiry (§2.6), options
 * (§2.7). The same behaviour over real sockets is covered by test/cluster/e2e.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TooManyActiveSessionsError } from '../../../src/cluster/errors.js';
import { FakeClock, MemoryCluster, createWith, request, settle } from '../helpers/memory-cluster.js';

let cluster: MemoryCluster;
afterEach(async () => {
  await cluster?.stopAll();
});

describe('DeltaManager replication', () => {
  it('replicates a new session and its first attributes to every member, primary only where it was created', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const c = await cluster.manager('C');
    const { session } = await createWith(a.manager, { k: 'v' });
    await settle();
    expect(session.id).toMatch(/^[0-9A-F]{32}\.A$/);
    for (const peer of [b, c]) {
      expect(peer.manager.inspect(session.id)).toMatchObject({ primary: false, role: 'replica', attributes: { k: 'v' } });
    }
    expect(a.manager.inspect(session.id)).toMatchObject({ primary: true, role: 'primary' });
    expect(a.manager.stats().sent).toMatchObject({ create: 1, delta: 1 });
    expect(b.manager.stats().received).toMatchObject({ create: 1, delta: 1 });
  });

  it('sends only the changed attributes, removals included; an unchanged request sends an access', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { keep: 1, change: 1, drop: 1 });
    await settle();
    a.channel.sentLog.length = 0;
    await request(a.manager, session, { change: 2 }, ['drop']);
    await request(a.manager, session);
    await settle();
    expect(a.channel.sentLog.map(([, m]) => m)).toMatchObject([
      { t: 'delta', set: [['change', '2']], remove: ['drop'] },
      { t: 'access', id: session.id },
    ]);
    expect(b.manager.inspect(session.id)?.attributes).toEqual({ keep: 1, change: 2 });
  });

  it('an access advances the replica\'s last-access time; a filtered request sends nothing and keeps its delta pending', async () => {
    const clock = new FakeClock();
    cluster = new MemoryCluster({ clock: clock.now });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { n: 1 });
    await settle();
    const before = b.manager.inspect(session.id)!.lastAccessedTime;
    clock.advance(5000);
    await request(a.manager, session);
    await settle();
    expect(b.manager.inspect(session.id)!.lastAccessedTime).toBe(before + 5000);

    a.channel.sentLog.length = 0;
    await request(a.manager, session, { n: 2 }, [], false); // e.g. /style.css under filter=".*\.css"
    await settle();
    expect(a.channel.sentLog).toEqual([]);
    expect(b.manager.inspect(session.id)!.attributes).toEqual({ n: 1 });
    await request(a.manager, session); // the next unfiltered request carries the pending change
    await settle();
    expect(b.manager.inspect(session.id)!.attributes).toEqual({ n: 2 });
  });

  it('keeps per-session order in async mode: 500 new sessions in a burst, none missing attributes on the peer', async () => {
    cluster = new MemoryCluster({ sendOptions: 'async' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const ids = await Promise.all(Array.from({ length: 500 }, (_, i) => createWith(a.manager, { i, user: `u${i}` }).then((r) => r.session.id)));
    await settle(50);
    const missing = ids.filter((id, i) => JSON.stringify(b.manager.inspect(id)?.attributes) !== JSON.stringify({ i, user: `u${i}` }));
    expect(missing).toEqual([]);
  });

  it('sync mode resolves only after every peer applied the change', async () => {
    cluster = new MemoryCluster({ sendOptions: 'sync' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = a.manager.createSession();
    const outcome = await request(a.manager, session, { k: 'v' });
    expect(outcome.ok).toBe(true);
    // No settle(): the value must already be there.
    expect(b.manager.inspect(session.id)?.attributes).toEqual({ k: 'v' });
  });

  it('sync mode: a frozen peer makes the request wait syncTimeout, then the failure is logged, counted and reported', async () => {
    cluster = new MemoryCluster({ sendOptions: 'sync', syncTimeout: 100 });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { k: 1 });
    const failures: unknown[] = [];
    a.manager.on('replicationFailed', (e) => failures.push(e));
    b.channel.pause();
    const t0 = Date.now();
    const outcome = await request(a.manager, session, { k: 2 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    expect(outcome.ok).toBe(false);
    expect(a.manager.stats().counters.replicationFailures).toBe(1);
    expect(failures).toMatchObject([{ type: 'delta', sessionId: session.id, routes: ['B'] }]);
    b.channel.unpause();
    await settle();
    expect(b.manager.inspect(session.id)?.attributes).toEqual({ k: 2 }); // delivered late, in order
  });

  it('invalidation is sent at once and removes every replica', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { k: 1 });
    await settle();
    const events: unknown[] = [];
    b.manager.on('sessionExpired', (e) => events.push(e));
    await a.manager.invalidate(session);
    await settle();
    expect(b.manager.inspect(session.id)).toBeUndefined();
    expect(await a.manager.findSession(session.id)).toBeUndefined();
    expect(events).toEqual([{ id: session.id, reason: 'invalidated', local: false }]);
  });

  it('renames everywhere with CHANGE_SESSION_ID; the renaming node is primary after its request', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { k: 1 });
    await settle();
    const oldId = session.id;
    const onB = (await b.manager.findSession(oldId))!;
    const newId = `${oldId.split('.')[0]}.B`;
    await b.manager.changeSessionId(onB, newId);
    await request(b.manager, onB);
    await settle();
    expect(a.manager.inspect(oldId)).toBeUndefined();
    expect(a.manager.inspect(newId)).toMatchObject({ primary: false, attributes: { k: 1 } });
    expect(b.manager.inspect(newId)).toMatchObject({ primary: true });
    expect(a.manager.stats().received['change-id']).toBe(1);
  });

  it('same attribute from two concurrent requests: every copy ends with the request that completed last', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { k: 0, x: 0, y: 0 });
    // Both requests start before either ends; r1 sets k=1 and x, r2 sets k=2 and y; r2 completes first.
    a.manager.beginRequest(session);
    a.manager.beginRequest(session);
    a.manager.endRequest(session);
    await a.manager.commit(session, { attributes: { set: [['k', '2'], ['y', '2']], remove: [] } }, true);
    a.manager.endRequest(session);
    await a.manager.commit(session, { attributes: { set: [['k', '1'], ['x', '1']], remove: [] } }, true);
    await settle();
    const expected = { k: 1, x: 1, y: 2 };
    expect(a.manager.inspect(session.id)!.attributes).toEqual(expected);
    expect(b.manager.inspect(session.id)!.attributes).toEqual(expected);
  });

  it('fetches a session it never saw instead of dropping its delta (joined after the create)', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { k: 1 });
    await settle();
    // Simulate B having missed the create: forget the session.
    (b.manager as unknown as { sessions: Map<string, unknown> }).sessions.delete(session.id);
    await request(a.manager, session, { k: 2 });
    await settle();
    expect(b.manager.inspect(session.id)?.attributes).toEqual({ k: 2 });
    expect(b.manager.stats().counters).toMatchObject({ unknownSession: 1, sessionsRepaired: 1 });
  });

  it('refuses malformed messages, counts them and tells the sender (FAIL-ACK); a value with __proto__ keys is data', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const junk = [null, 5, 'x', { t: 'delta' }, { t: 'delta', id: 'A', set: 'x', remove: [], stamp: 1 }, { t: 'nope' }, { t: 'create', id: 'a b', creationTime: 1, maxInactiveInterval: 1, stamp: 1 }];
    for (const j of junk) {
      const r = await a.channel.send(j, { ack: true }, [b.channel.local]);
      expect(r.failed.map((f) => f.error.message)).toEqual([expect.stringMatching(/refused: /)]);
    }
    const create = { t: 'create', id: 'X.A', creationTime: 1, maxInactiveInterval: 1, stamp: 1 };
    expect((await a.channel.send(create, { ack: true }, [b.channel.local])).failed).toEqual([]);
    const value = '{"__proto__":{"admin":true}}';
    expect((await a.channel.send({ t: 'delta', id: 'X.A', set: [['k', value]], remove: [], stamp: 2 }, { ack: true }, [b.channel.local])).failed).toEqual([]);
    const k = b.manager.inspect('X.A')!.attributes.k as object;
    expect(JSON.stringify(k)).toBe(value);
    expect(Object.keys(k)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(b.manager.stats().counters.messagesDropped).toBe(junk.length);
    expect(b.manager.sessionIds()).toEqual(['X.A']); // only the well-formed create
  });
});

describe('DeltaManager state transfer (cluster-semantics §2.5)', () => {
  it('a joiner gets every session, non-primary, from the oldest member before it is ready', async () => {
    cluster = new MemoryCluster({ stateTransferPageSize: 1024 });
    const a = await cluster.manager('A');
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await createWith(a.manager, { i, pad: 'x'.repeat(100) })).session.id);
    const b = await cluster.manager('B');
    expect(b.manager.sessionIds().sort()).toEqual(ids.slice().sort());
    expect(b.manager.inspect(ids[7]!)).toMatchObject({ primary: false, attributes: { i: 7 } });
    expect(b.manager.stats().stateTransfer).toMatchObject({ state: 'done', from: 'A', sessions: 50 });
    expect(a.manager.stats().sent['all-data']).toBeGreaterThan(5); // paged
  });

  it('the oldest member starts without a transfer; nobody asks a younger node', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    expect(a.manager.stats().stateTransfer.state).toBe('none');
    expect(b.manager.stats().sent['get-all']).toBe(1);
    expect(a.manager.stats().sent['get-all']).toBeUndefined();
  });

  it('writes during the transfer are not lost: queued, then replayed through the filter', async () => {
    cluster = new MemoryCluster({ stateTransferPageSize: 1024 });
    const a = await cluster.manager('A');
    const { session } = await createWith(a.manager, { k: 0 });
    for (let i = 0; i < 30; i++) await createWith(a.manager, { i, pad: 'y'.repeat(200) });
    // Write to the session on A while B's transfer is in flight.
    const joining = cluster.manager('B');
    let writes = 0;
    const writer = (async () => {
      while (!cluster.managers.some((m) => m.route === 'B')) {
        await request(a.manager, session, { k: ++writes });
        await new Promise((r) => setImmediate(r));
      }
    })();
    const b = await joining;
    await writer;
    await request(a.manager, session, { last: true });
    await settle();
    expect(writes).toBeGreaterThan(0);
    expect(b.manager.inspect(session.id)?.attributes).toEqual({ k: writes, last: true });
  });

  it('times out after stateTransferTimeout and starts empty when the oldest member never answers', async () => {
    cluster = new MemoryCluster({ stateTransferTimeout: 150 });
    const a = await cluster.manager('A');
    await createWith(a.manager, { k: 1 });
    a.channel.pause();
    const t0 = Date.now();
    const b = await cluster.manager('B');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(b.manager.stats().stateTransfer.state).toBe('timeout');
    expect(b.manager.sessionIds()).toEqual([]);
    a.channel.unpause();
  });

  it('a BackupManager member answers GET_ALL with no-context: the joiner is ready at once', async () => {
    // A transfer timeout far beyond the test's: a joiner that waited for it would never get here,
    // and one that gave up waiting would say 'timeout'.
    cluster = new MemoryCluster({ stateTransferTimeout: 600_000 });
    await cluster.manager('A', { manager: 'backup' });
    const b = await cluster.manager('B', { manager: 'delta' });
    expect(b.manager.stats().stateTransfer.state).toBe('no-context');
  });
});

describe('DeltaManager expiry and limits', () => {
  it('the primary expires at maxInactiveInterval and tells everyone; an orphaned replica waits 2×', async () => {
    const clock = new FakeClock();
    cluster = new MemoryCluster({ clock: clock.now, maxInactiveInterval: 60 });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const c = await cluster.manager('C');
    const s1 = (await createWith(a.manager, { k: 1 })).session;
    const s2 = (await createWith(c.manager, { k: 2 })).session;
    await settle();
    c.channel.crash(); // s2's primary is gone
    clock.advance(59_999);
    for (const m of [a, b]) m.manager.processExpires();
    expect(b.manager.inspect(s1.id)).toBeDefined();
    clock.advance(1);
    a.manager.processExpires();
    await settle();
    expect(a.manager.inspect(s1.id)).toBeUndefined();
    expect(b.manager.inspect(s1.id)).toBeUndefined(); // told by A, not by its own clock
    b.manager.processExpires();
    expect(b.manager.inspect(s2.id)).toBeDefined(); // replica of a dead primary: 2× rule
    clock.advance(60_000);
    b.manager.processExpires();
    expect(b.manager.inspect(s2.id)).toBeUndefined();
  });

  it('maxActiveSessions refuses local creation with a defined error but still accepts replicas', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A', { maxActiveSessions: 1 });
    const b = await cluster.manager('B');
    await createWith(a.manager, { k: 1 });
    expect(() => a.manager.createSession()).toThrow(TooManyActiveSessionsError);
    await createWith(b.manager, { k: 2 });
    await settle();
    expect(a.manager.sessionIds()).toHaveLength(2);
    expect(a.manager.stats().counters.sessionsRejected).toBe(1);
  });

  it('sessionAttributeNameFilter keeps other attributes on the primary only (also out of state transfer)', async () => {
    cluster = new MemoryCluster({ sessionAttributeNameFilter: '(user|cart)' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { user: 'u', cart: [1], secretToken: 't' });
    await settle();
    expect(a.manager.inspect(session.id)!.attributes).toEqual({ user: 'u', cart: [1], secretToken: 't' });
    expect(b.manager.inspect(session.id)!.attributes).toEqual({ user: 'u', cart: [1] });
    const c = await cluster.manager('C');
    expect(c.manager.inspect(session.id)!.attributes).toEqual({ user: 'u', cart: [1] });
  });

  it('graceful stop keeps sessions cluster-wide by default, expires them with expireSessionsOnShutdown', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.manager('A');
    const b = await cluster.manager('B', { expireSessionsOnShutdown: true });
    const c = await cluster.manager('C');
    const s = (await createWith(a.manager, { k: 1 })).session;
    await settle();
    await a.manager.stop();
    await a.channel.stop();
    await settle();
    expect(c.manager.inspect(s.id)).toBeDefined();
    await b.manager.stop();
    await b.channel.stop();
    await settle();
    expect(c.manager.inspect(s.id)).toBeUndefined();
  });
});

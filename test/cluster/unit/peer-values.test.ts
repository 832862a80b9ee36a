// What a node accepts from its peers (issue 8 items 3 and 7), over the in-memory channel:
// - values replicate byte-faithfully whatever keys they contain (__proto__ is data);
// - names, types and ranges are validated: attribute names __proto__/constructor/prototype and
//   timeouts that never expire (or exceed 366 days) are refused, counted, logged, and the sender is
//   told — a FAIL-ACK for acknowledged sends (the sync request reports it), a 'refused' notice for
//   async ones;
// - state transfer refuses per session, never per page, and a transfer with refusals is 'partial';
// - replicas never count towards maxActiveSessions.
import { afterEach, describe, expect, it } from 'vitest';
import { TooManyActiveSessionsError } from '../../../src/cluster/errors.js';
import type { ClusterSession } from '../../../src/cluster/session/session.js';
import { MemoryCluster, createWith, request, settle } from '../helpers/memory-cluster.js';

let cluster: MemoryCluster;
afterEach(() => cluster?.stopAll());

const PROTO_VALUE = '{"__proto__":{"isAdmin":true},"name":"alice","deep":[{"constructor":{"prototype":{"x":1}}}]}';

/** Writes straight into a session, bypassing the request-side checks (what a faulty or hostile peer could send). */
function forceAttribute(s: ClusterSession, name: string, text: string): void {
  s.attributes.set(name, text);
}

describe.each(['delta', 'backup'] as const)('%s manager', (manager) => {
  it('a value with __proto__/constructor keys replicates byte-faithfully as own properties, in sync and async mode', async () => {
    for (const sendOptions of ['sync', 'async'] as const) {
      cluster = new MemoryCluster({ manager, sendOptions });
      const a = await cluster.manager('A');
      const b = await cluster.manager('B');
      const { session, outcome } = await createWith(a.manager, { form: JSON.parse(PROTO_VALUE) });
      expect(outcome.ok).toBe(true);
      await settle();
      const form = b.manager.inspect(session.id)!.attributes.form as Record<string, unknown>;
      expect(JSON.stringify(form)).toBe(PROTO_VALUE);
      expect(Object.keys(form)).toEqual(['__proto__', 'name', 'deep']);
      expect(Object.getPrototypeOf(form)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      expect(b.manager.stats().counters.messagesDropped).toBe(0);
      await cluster.stopAll();
    }
  });

  it('an attribute named __proto__ or constructor from a peer is refused and counted; the sync request reports it', async () => {
    cluster = new MemoryCluster({ manager, sendOptions: 'sync' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { ok: 1 });
    const failed: Array<{ type: string; error: Error }> = [];
    a.manager.on('replicationFailed', (e) => failed.push(e));
    for (const name of ['__proto__', 'constructor']) {
      forceAttribute(session, name, '{"polluted":true}');
      const outcome = await request(a.manager, session, { n: name });
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error.refused).toBe(true);
      expect(!outcome.ok && outcome.error.message).toContain(`attribute name "${name}" is not allowed`);
      session.attributes.delete(name);
      session.replicated?.delete(name);
    }
    const rep = b.manager.inspect(session.id)!;
    expect(Object.prototype.hasOwnProperty.call(rep.attributes, '__proto__')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(rep.attributes, 'constructor')).toBe(false);
    expect(rep.attributes).toEqual({ ok: 1 }); // the refused deltas changed nothing (n included)
    expect(b.manager.stats().counters.messagesDropped).toBe(2);
    expect(a.manager.stats().counters).toMatchObject({ refusedByPeers: 2, replicationFailures: 2 });
    expect(failed).toHaveLength(2);
  });

  it('async mode: the sender is told by a refused notice (counted, replicationFailed), not silence', async () => {
    cluster = new MemoryCluster({ manager, sendOptions: 'async' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { ok: 1 });
    await settle();
    const failed: Array<{ type: string; sessionId: string | null; error: Error }> = [];
    a.manager.on('replicationFailed', (e) => failed.push(e));
    forceAttribute(session, 'prototype', '1');
    const outcome = await request(a.manager, session, { n: 1 });
    expect(outcome.ok).toBe(true); // async: the request did not wait
    await settle(20);
    expect(b.manager.stats().counters.messagesDropped).toBe(1);
    expect(a.manager.stats().counters).toMatchObject({ refusedByPeers: 1, replicationFailures: 1 });
    expect(failed).toEqual([
      expect.objectContaining({ sessionId: session.id, error: expect.objectContaining({ refused: true, message: expect.stringContaining('"prototype" is not allowed') }) }),
    ]);
  });

  it('maxInactiveInterval -1 (never expires) or beyond 366 days from a peer is refused; accepted where the node is configured for it', async () => {
    cluster = new MemoryCluster({ manager, sendOptions: 'sync' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B');
    const { session } = await createWith(a.manager, { k: 1 });
    for (const bad of [-1, 0, 400 * 24 * 3600]) {
      const outcome = await a.manager.commit(session, { attributes: { set: [], remove: [] }, maxInactiveInterval: bad }, true);
      expect(outcome.ok).toBe(false);
      expect(!outcome.ok && outcome.error.message).toMatch(/maxInactiveInterval/);
      session.replicatedMaxInactiveInterval = 1800; // pretend it went out, so the next one is a fresh change
    }
    expect(b.manager.inspect(session.id)!.maxInactiveInterval).toBe(1800);
    expect(b.manager.stats().counters.messagesDropped).toBe(3);
    await cluster.stopAll();

    // Every node configured for sessions that never expire (maxInactiveInterval ≤ 0): accepted.
    cluster = new MemoryCluster({ manager, sendOptions: 'sync', maxInactiveInterval: -1 });
    const c = await cluster.manager('C');
    const d = await cluster.manager('D');
    const created = await createWith(c.manager, { k: 1 });
    expect(created.outcome.ok).toBe(true);
    expect(d.manager.inspect(created.session.id)!.maxInactiveInterval).toBe(-1);
  });

  it('replicas do not count towards maxActiveSessions: a flood of replicas leaves room for local sessions', async () => {
    cluster = new MemoryCluster({ manager, sendOptions: 'sync' });
    const a = await cluster.manager('A');
    const b = await cluster.manager('B', { maxActiveSessions: 2 });
    for (let i = 0; i < 10; i++) await createWith(a.manager, { i });
    expect(b.manager.stats().sessions.active).toBe(10); // replicas (delta) / backup copies (backup)
    await createWith(b.manager, { mine: 1 });
    await createWith(b.manager, { mine: 2 });
    expect(() => b.manager.createSession()).toThrow(TooManyActiveSessionsError);
    expect(b.manager.stats().sessions).toMatchObject({ primary: 2, maxActive: 2 });
    expect(b.manager.stats().counters.sessionsRejected).toBe(1);
  });
});

describe('state transfer refuses per session (delta)', () => {
  it('one bad session in a page costs only itself; the transfer is partial, not done; both sides say so', async () => {
    cluster = new MemoryCluster({ stateTransferPageSize: 64 * 1024 });
    const a = await cluster.manager('A');
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push((await createWith(a.manager, { i, form: JSON.parse(PROTO_VALUE) })).session.id);
    const bad = (a.manager as unknown as { sessions: Map<string, ClusterSession> }).sessions.get(ids[17]!)!;
    forceAttribute(bad, '__proto__', '{"polluted":true}');
    const b = await cluster.manager('B');
    const st = b.manager.stats();
    expect(st.stateTransfer).toMatchObject({ state: 'partial', from: 'A', sessions: 50, refused: 1 });
    expect(st.counters.sessionsRefused).toBe(1);
    expect(b.manager.sessionIds().sort()).toEqual(ids.filter((id) => id !== ids[17]).sort());
    expect(JSON.stringify(b.manager.inspect(ids[3]!)!.attributes.form)).toBe(PROTO_VALUE);
    expect(a.manager.stats().counters.refusedByPeers).toBe(1); // told through the page's FAIL-ACK
  });

  it('51 sessions, one holding __proto__ in its value: all 51 arrive, done', async () => {
    cluster = new MemoryCluster({ stateTransferPageSize: 64 * 1024 });
    const a = await cluster.manager('A');
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push((await createWith(a.manager, i === 17 ? { form: JSON.parse(PROTO_VALUE) } : { i })).session.id);
    const b = await cluster.manager('B');
    expect(b.manager.stats().stateTransfer).toMatchObject({ state: 'done', sessions: 51, refused: 0 });
    expect(JSON.stringify(b.manager.inspect(ids[17]!)!.attributes.form)).toBe(PROTO_VALUE);
  });
});

/**
 * The express-session Store API (callbacks and promises, all/length/ids/clear, errors) and the
 * node:http wrapper, on nodes over the in-memory channel with real HTTP on 127.0.0.1.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import session from 'express-session';
import { afterEach, describe, expect, it } from 'vitest';
import { TooManyActiveSessionsError } from '../../../src/cluster/errors.js';
import { get } from '../helpers/http.js';
import { MemoryCluster, settle } from '../helpers/memory-cluster.js';

let cluster: MemoryCluster;
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  await cluster?.stopAll();
});

const cookie = { originalMaxAge: null, path: '/', httpOnly: true };

describe('express-session store API', () => {
  it('get/set/touch/destroy with promises and callbacks; local reads on the peer', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.node('A');
    const b = await cluster.node('B');
    const sa = a.store(session);
    const sb = b.store(session);
    expect(sa).toBeInstanceOf(session.Store);
    const id = a.genid();
    expect(id).toMatch(/^[0-9A-F]{32}\.A$/);
    await sa.set(id, { cookie, user: 'u', cart: [1] });
    await settle();
    expect(await sb.get(id)).toEqual({ cookie, user: 'u', cart: [1] });
    const viaCb = await new Promise((resolve, reject) => {
      sb.get(id, (err, v) => (err ? reject(err) : resolve(v))).catch(reject);
    });
    expect(viaCb).toEqual({ cookie, user: 'u', cart: [1] });
    expect(await sa.get('nope.A')).toBeNull();
    await new Promise<void>((resolve, reject) => {
      sa.touch(id, { cookie }, (err) => (err ? reject(err) : resolve())).catch(reject);
    });
    expect(a.stats().sent.access).toBe(1);
    await sa.destroy(id);
    await settle();
    expect(await sb.get(id)).toBeNull();
  });

  it('set compares with the copy the request loaded: concurrent requests changing different keys both survive', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.node('A');
    const b = await cluster.node('B');
    const store = a.store(session);
    const id = a.genid();
    await store.set(id, { cookie, x: 0, y: 0 });
    const req1 = { sessionID: id, sessionStore: store };
    const req2 = { sessionID: id, sessionStore: store };
    const s1 = store.createSession(req1, (await store.get(id))!);
    const s2 = store.createSession(req2, (await store.get(id))!);
    s1.x = 1;
    s2.y = 2;
    await store.set(id, s2);
    await store.set(id, s1); // s1 still holds y=0, which it never changed
    await settle();
    expect(a.inspect(id)!.attributes).toMatchObject({ x: 1, y: 2 });
    expect(b.inspect(id)!.attributes).toMatchObject({ x: 1, y: 2 });
  });

  it('a cookie maxAge becomes the session timeout', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.node('A');
    const store = a.store(session);
    const id = a.genid();
    await store.set(id, { cookie: { ...cookie, originalMaxAge: 60_000 } });
    expect(a.inspect(id)!.maxInactiveInterval).toBe(60);
  });

  it('all() is an object keyed by id; length, ids and clear (cluster-wide)', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.node('A');
    const b = await cluster.node('B');
    const store = a.store(session);
    const ids = [a.genid(), a.genid()];
    for (const id of ids) await store.set(id, { cookie, id });
    const all = await store.all();
    expect(Object.keys(all).sort()).toEqual(ids.slice().sort());
    expect(all[ids[0]!]).toEqual({ cookie, id: ids[0] });
    expect(await store.length()).toBe(2);
    expect((await store.ids()).sort()).toEqual(ids.slice().sort());
    await store.clear();
    await settle();
    expect(await store.length()).toBe(0);
    expect(b.sessionIds()).toEqual([]);
  });

  it('passes real local failures to the callback: maxActiveSessions, non-JSON values', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.node('A', { maxActiveSessions: 1 });
    const store = a.store(session);
    await store.set(a.genid(), { cookie });
    // With a callback the error goes to the callback; the returned promise then resolves.
    const err = await new Promise((resolve, reject) => {
      store.set(a.genid(), { cookie }, resolve).catch(reject);
    });
    expect(err).toBeInstanceOf(TooManyActiveSessionsError);
    await expect(store.set((await store.ids())[0]!, { cookie, bad: 10n })).rejects.toThrow(/cannot be replicated/);
  });

  it('with onReplicationFailure: "error", a timed-out sync set fails its callback', async () => {
    cluster = new MemoryCluster({ sendOptions: 'sync', syncTimeout: 50, onReplicationFailure: 'error' });
    const a = await cluster.node('A');
    await cluster.node('B');
    const store = a.store(session);
    cluster.net.live().find((c) => c.local.route === 'B')!.pause();
    await expect(store.set(a.genid(), { cookie, k: 1 })).rejects.toMatchObject({ name: 'ReplicationError', status: 503 });
    cluster.net.live().find((c) => c.local.route === 'B')!.unpause();
  });
});

describe('node.wrap (plain node:http)', () => {
  it('gives a listener req.session and the JSESSIONID cookie; listener errors become 500', async () => {
    cluster = new MemoryCluster();
    const a = await cluster.node('A');
    const b = await cluster.node('B');
    const server = http.createServer(
      a.wrap(async (req, res) => {
        if (req.url === '/boom') throw new Error('boom');
        req.session.hits = Number(req.session.hits ?? 0) + 1;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ id: req.session.id, hits: req.session.hits }));
      }),
    );
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const r1 = await get(port, '/');
    expect(r1.setCookies).toEqual([`JSESSIONID=${r1.json.id}; Path=/; HttpOnly`]);
    const r2 = await get(port, '/', r1.sessionCookie);
    expect(r2.json).toEqual({ id: r1.json.id, hits: 2 });
    expect(r2.setCookies).toEqual([]);
    await settle();
    expect(b.inspect(r1.json.id)!.attributes).toEqual({ hits: 2 });
    expect((await get(port, '/boom')).status).toBe(500);
  });
});

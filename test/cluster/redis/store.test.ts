/**
 * store: redis against one real Redis (Debian's redis-server on a free loopback port): the layout
 * in Redis (a hash per session, attributes as fields, TTL = maxInactiveInterval), per-attribute
 * writes, the local cache and its coherence through client-side caching, the route binder's
 * atomic rename, invalidation, changeSessionId, options that make no sense with Redis.
 */
import session from 'express-session';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterOptionsError, createClusterNode } from '../../../src/cluster/index.js';
import { get, waitUntil } from '../helpers/http.js';
import { stopInproc, type InprocNode } from '../helpers/inproc.js';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { redisInstalled, startRedis, stopAllRedis, type RedisServer } from '../../helpers/redis.js';
import { inspector, keyOf, startRedisNodes, type Inspector } from './helpers.js';

const hex = (id: string) => id.split('.')[0]!;
let redis: RedisServer;
let look: Inspector;
let nodes: InprocNode[] = [];

describe.skipIf(!redisInstalled())('store: redis (one server)', () => {
  beforeAll(async () => {
    redis = await startRedis();
    look = await inspector(redis.url);
  });
  afterEach(async () => {
    await stopInproc(nodes);
    nodes = [];
    await look.client.sendCommand(['FLUSHALL']);
  });
  afterAll(async () => {
    await look?.close();
    await stopAllRedis();
  });

  const store = () => ({ type: 'redis' as const, url: redis.url });

  it('a session is a hash in Redis: attributes as fields, metadata, TTL = maxInactiveInterval; ids keep .jvmRoute', async () => {
    nodes = await startRedisNodes(['A'], store(), { maxInactiveInterval: 60 });
    const [a] = nodes as [InprocNode];
    const r = await get(a.port, '/set?name=cart&value=[1,2]');
    const id = r.sessionCookie!;
    expect(id).toMatch(/^[0-9A-F]{32}\.A$/);
    expect(r.setCookies).toEqual([`JSESSIONID=${id}; Path=/; HttpOnly`]);
    const h = await look.hash(id);
    expect(h['a:cart']).toBe('[1,2]');
    expect(Number(h['m:ctime'])).toBeGreaterThan(0);
    expect(h['m:mii']).toBe('60');
    const ttl = await look.pttl(id);
    expect(ttl).toBeGreaterThan(58_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await look.client.sendCommand(['TYPE', keyOf(id)])).toBe('hash');
  });

  it('only changed attributes are written; in-place mutations count; a removal deletes the field', async () => {
    nodes = await startRedisNodes(['A'], store());
    const [a] = nodes as [InprocNode];
    const id = (await get(a.port, '/set?name=list&value=["x"]')).sessionCookie!;
    await get(a.port, '/set?name=other&value=1', id);
    // Another writer changes `other` behind the node's back: a request that does not touch it must not overwrite it.
    await look.client.sendCommand(['HSET', keyOf(id), 'a:other', '99']);
    await get(a.port, '/push?name=list&value="y"', id);
    expect(await look.attributes(id)).toEqual({ list: ['x', 'y'], other: 99 });
    await get(a.port, '/set?name=list', id); // value undefined: removed
    expect(await look.attributes(id)).toEqual({ other: 99 });
  });

  it('a second node reads what the first wrote; the local cache answers sticky requests and another node\'s write invalidates it', async () => {
    nodes = await startRedisNodes(['A', 'B'], store(), { jvmRouteBinder: false });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
    for (let i = 0; i < 10; i++) expect((await get(a.port, '/get', id)).json.attributes).toEqual({ k: 1 });
    const cache = a.node.stats().store!.cache;
    expect(cache.hits).toBe(10); // every sticky read after the create came from the cache
    expect(cache.misses).toBe(0);
    // B writes k=2 (non-sticky): Redis tells A, whose next read goes to Redis and sees 2.
    expect((await get(b.port, '/set?name=k&value=2', id)).json.attributes).toEqual({ k: 2 });
    await waitUntil(() => a.node.stats().store!.cache.invalidations === 1, 2000, 'the invalidation to reach A');
    expect((await get(a.port, '/get', id)).json.attributes).toEqual({ k: 2 });
    expect(a.node.stats().store!.cache.misses).toBe(1);
    // And A's own writes keep A's copy (NOLOOP): B's later write still reaches A.
    await get(a.port, '/set?name=k&value=3', id);
    await get(b.port, '/set?name=k&value=4', id);
    await waitUntil(() => a.node.stats().store!.cache.invalidations === 2, 2000, 'the second invalidation');
    expect((await get(a.port, '/get', id)).json.attributes).toEqual({ k: 4 });
  });

  it('the same attribute from concurrent requests ends with the request that completed last; different attributes both survive', async () => {
    nodes = await startRedisNodes(['A'], store());
    const [a] = nodes as [InprocNode];
    const id = (await get(a.port, '/set?name=k&value=0')).sessionCookie!;
    const done: string[] = [];
    await Promise.all([
      get(a.port, '/slow?name=k&value=1&ms=150', id).then(() => done.push('k=1')),
      get(a.port, '/slow?name=k&value=2&ms=10', id).then(() => done.push('k=2')),
    ]);
    expect(done).toEqual(['k=2', 'k=1']);
    expect((await look.attributes(id))!.k).toBe(1);
    await Promise.all([get(a.port, '/slow?name=x&value=1&ms=80', id), get(a.port, '/slow?name=y&value=2&ms=10', id)]);
    expect(await look.attributes(id)).toMatchObject({ k: 1, x: 1, y: 2 });
  });

  it('route binder: a foreign route is renamed to <same hex>.<own route> atomically in Redis, cookie reissued', async () => {
    nodes = await startRedisNodes(['A', 'B'], store());
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=k&value="v"')).sessionCookie!;
    const ttlBefore = await look.pttl(id);
    const r = await get(b.port, '/get', id);
    const renamed = `${hex(id)}.B`;
    expect(r.json).toMatchObject({ node: 'B', sessionId: renamed, originalSessionId: id, attributes: { k: 'v' } });
    expect(r.setCookies).toEqual([`JSESSIONID=${renamed}; Path=/; HttpOnly`]);
    expect(await look.attributes(id)).toBeNull();
    expect(await look.attributes(renamed)).toEqual({ k: 'v' });
    expect(await look.pttl(renamed)).toBeGreaterThan(ttlBefore - 5000);
    expect(b.node.stats().sent['change-id']).toBe(1);
    // A request still carrying .A on B: rewritten to .B, no second rename.
    const again = await get(b.port, '/get', id);
    expect(again.json).toMatchObject({ sessionId: renamed, originalSessionId: id });
    expect(again.sessionCookie).toBe(renamed);
    expect(b.node.stats().sent['change-id']).toBe(1);
    // A's cached copy of the old id was invalidated by the rename.
    await waitUntil(() => a.node.inspect(id) === undefined, 2000, 'A to drop its copy');
    // An unknown session with a foreign route: untouched, a new session with our route.
    const stranger = await get(b.port, '/set?name=k&value=1', `${'AB'.repeat(16)}.A`);
    expect(stranger.json.originalSessionId).toBeNull();
    expect(stranger.sessionCookie).toMatch(/^[0-9A-F]{32}\.B$/);
  });

  it('invalidate deletes the session in Redis at once; the old cookie then gets a new session', async () => {
    nodes = await startRedisNodes(['A', 'B'], store());
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
    await get(b.port, '/get', `${hex(id)}.B`); // B caches nothing under that id; just warm B
    expect((await get(a.port, '/invalidate', id)).json).toEqual({ ok: true });
    expect(await look.attributes(id)).toBeNull();
    const r = await get(a.port, '/set?name=k&value=2', id);
    expect(r.sessionCookie).not.toBe(id);
    expect(hex(r.sessionCookie!)).not.toBe(hex(id));
  });

  it('changeSessionId: a new id, attributes kept, the old key gone', async () => {
    nodes = await startRedisNodes(['A'], store(), {}, (node) => {
      const app = (req: import('node:http').IncomingMessage & { session?: any }, res: import('node:http').ServerResponse) => {
        node.middleware()(req, res, () => {
          if (req.url === '/rotate') {
            const newId = req.session.changeSessionId();
            res.end(JSON.stringify({ newId, id: req.session.id }));
          } else {
            req.session.user = 'alice';
            res.end(JSON.stringify({ id: req.session.id }));
          }
        });
      };
      return app;
    });
    const [a] = nodes as [InprocNode];
    const first = await get(a.port, '/login');
    const id = first.json.id as string;
    const rotated = await get(a.port, '/rotate', id);
    expect(rotated.json.newId).toBe(rotated.json.id);
    expect(rotated.sessionCookie).toBe(rotated.json.id);
    expect(hex(rotated.json.id)).not.toBe(hex(id));
    expect(await look.attributes(id)).toBeNull();
    expect(await look.attributes(rotated.json.id)).toEqual({ user: 'alice' });
  });

  it('maxInactiveInterval set by the app becomes the key\'s TTL; Redis expires the session and the node forgets it', async () => {
    nodes = await startRedisNodes(['A'], store());
    const [a] = nodes as [InprocNode];
    const id = (await get(a.port, '/set?name=maxInactiveInterval&value=1')).sessionCookie!;
    expect((await look.hash(id))['m:mii']).toBe('1');
    expect(await look.pttl(id)).toBeLessThanOrEqual(1000);
    const expired = new Promise((r) => a.node.once('sessionExpired', r));
    await waitUntil(async () => (await look.attributes(id)) === null, 3000, 'Redis to expire the key');
    expect(await expired).toMatchObject({ id, reason: 'timeout' });
    const r = await get(a.port, '/get', id);
    expect(r.json.sessionId).toBeNull();
  });

  it('a session with 1,000 attributes and one with a 1 MB value: stored, read by another node, and a change writes one field', async () => {
    nodes = await startRedisNodes(['A', 'B'], store(), { jvmRouteBinder: false });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const many = (await get(a.port, '/bulk?n=1000&prefix=attr')).sessionCookie!;
    expect(Object.keys(await look.hash(many)).filter((f) => f.startsWith('a:'))).toHaveLength(1000);
    expect((await get(b.port, '/summary', many)).json).toMatchObject({ sessionId: many, count: 1000 });
    // One attribute changed on A: only its field is written (a field changed behind A's back survives).
    await look.client.sendCommand(['HSET', keyOf(many), 'a:attr999', '"outside"']);
    await get(a.port, '/set?name=attr0&value="changed"', many);
    const h = await look.hash(many);
    expect(h['a:attr0']).toBe('"changed"');
    expect(h['a:attr999']).toBe('"outside"');
    // 4,100 more in one request: 8,200 names and values, past what one Lua unpack() can pass to HSET.
    expect((await get(a.port, '/bulk?n=4100&prefix=more', many)).json.count).toBe(5100);
    expect(Object.keys(await look.hash(many)).filter((f) => f.startsWith('a:'))).toHaveLength(5100);

    const big = (await get(a.port, '/big?kb=1024')).sessionCookie!;
    expect((await look.hash(big))['a:big']).toHaveLength(1024 * 1024 + 2); // the JSON text: quotes included
    expect((await get(b.port, '/summary', big)).json).toMatchObject({ sessionId: big, bigLength: 1024 * 1024 });
    await get(b.port, '/set?name=small&value=1', big);
    expect((await get(a.port, '/summary', big)).json).toMatchObject({ count: 2, bigLength: 1024 * 1024 });
  });

  it('cache hit rate under sticky traffic: every read after the first is a hit', async () => {
    nodes = await startRedisNodes(['A'], store());
    const [a] = nodes as [InprocNode];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await get(a.port, `/set?name=i&value=${i}`)).sessionCookie!);
    for (let round = 0; round < 10; round++) {
      for (const id of ids) await get(a.port, round % 2 ? '/get' : `/set?name=r&value=${round}`, id);
    }
    const { cache, ops } = a.node.stats().store!;
    console.log(`sticky traffic, 200 requests on 20 sessions: cache hits ${cache.hits}, misses ${cache.misses}, hit rate ${cache.hitRate}; Redis commands ${ops}`);
    expect(cache).toMatchObject({ hits: 200, misses: 0, hitRate: 1 });
  });

  it('express-session Store API on Redis: get/set/touch/destroy, and all/length/ids/clear over every session in Redis (like connect-redis)', async () => {
    nodes = await startRedisNodes(['A', 'B'], store());
    const [a, b] = nodes as [InprocNode, InprocNode];
    const sa = a.node.store(session);
    const sb = b.node.store(session);
    const cookie = { originalMaxAge: 120_000, path: '/', httpOnly: true };
    const ids = [a.node.genid(), a.node.genid(), b.node.genid()];
    await sa.set(ids[0]!, { cookie, user: 'u0' });
    await sa.set(ids[1]!, { cookie, user: 'u1' });
    await sb.set(ids[2]!, { cookie, user: 'u2' });
    expect(await sb.get(ids[0]!)).toEqual({ cookie, user: 'u0' });
    expect((await look.hash(ids[0]!))['m:mii']).toBe('120'); // cookie.maxAge → the session's timeout (TTL)
    await new Promise<void>((resolve, reject) => {
      sa.touch(ids[0]!, { cookie }, (err) => (err ? reject(err) : resolve())).catch(reject);
    });
    expect((await sb.ids()).sort()).toEqual(ids.slice().sort()); // every session in Redis, not just B's
    expect(await sb.length()).toBe(3);
    expect(Object.keys(await sb.all()).sort()).toEqual(ids.slice().sort());
    expect((await sb.all())[ids[1]!]).toEqual({ cookie, user: 'u1' });
    await sa.destroy(ids[0]!);
    // B read it above and has a copy until Redis's invalidation for A's delete reaches it.
    await waitUntil(() => b.node.inspect(ids[0]!) === undefined, 2000, 'the invalidation to reach B');
    expect(await sb.get(ids[0]!)).toBeNull();
    await sb.clear();
    expect(await sa.length()).toBe(0);
    expect(await look.client.sendCommand(['DBSIZE'])).toBe(0);
  });

  it('sessionAttributeNameFilter: other attributes stay on the node that set them; expireSessionsOnShutdown deletes this node\'s sessions', async () => {
    nodes = await startRedisNodes(['A', 'B'], store(), { sessionAttributeNameFilter: 'user|cart', expireSessionsOnShutdown: true });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=user&value="u"')).sessionCookie!;
    await get(a.port, '/set?name=token&value="secret"', id);
    expect(await look.attributes(id)).toEqual({ user: 'u' });
    expect((await get(a.port, '/get', id)).json.attributes).toEqual({ user: 'u', token: 'secret' });
    const mine = [id, (await get(a.port, '/set?name=user&value=1')).sessionCookie!];
    const theirs = (await get(b.port, '/set?name=user&value=2')).sessionCookie!;
    const expired: string[] = [];
    a.node.on('sessionExpired', (e: { id: string; reason: string }) => expired.push(`${e.id} ${e.reason}`));
    await a.stop();
    for (const m of mine) expect(await look.attributes(m)).toBeNull();
    expect(await look.attributes(theirs)).toEqual({ user: 2 });
    expect(expired.sort()).toEqual(mine.map((m) => `${m} shutdown`).sort());
  });

  it('store.wait with a master that keeps no AOF: a warning at start names the risk; with an AOF, none', async () => {
    const warning = /store\.wait is set but a Redis master runs without an AOF/;
    const withoutAof = memoryLogger();
    nodes = await startRedisNodes(['A'], { ...store(), wait: { replicas: 1, timeout: 50 } }, { logger: withoutAof.logger });
    await waitUntil(() => withoutAof.lines.some((l) => warning.test(l)), 5000, 'the AOF warning');
    const line = JSON.parse(withoutAof.lines.find((l) => warning.test(l))!) as { level: number };
    expect(line.level).toBe(40); // warn
    await stopInproc(nodes);
    nodes = [];

    const persistent = await startRedis({ persistent: true });
    const withAof = memoryLogger();
    nodes = await startRedisNodes(['A'], { type: 'redis', url: persistent.url, wait: { replicas: 1, timeout: 50 } }, { logger: withAof.logger });
    // The check runs right after 'session store connected'; a command through the node after it
    // (a session created and written) shows it had its turn.
    expect((await get(nodes[0]!.port, '/set?name=k&value=1')).status).toBe(503); // no replica: WAIT 1 falls short
    await waitUntil(() => withAof.lines.some((l) => l.includes('session store connected')), 5000, 'the connected line');
    expect(withAof.lines.filter((l) => warning.test(l))).toEqual([]);
    // Without store.wait nothing is said about the AOF.
    await stopInproc(nodes);
    const noWait = memoryLogger();
    nodes = await startRedisNodes(['A'], store(), { logger: noWait.logger });
    expect((await get(nodes[0]!.port, '/set?name=k&value=1')).status).toBe(200);
    expect(noWait.lines.filter((l) => warning.test(l))).toEqual([]);
  });

  it('options of peer replication are refused with store: redis; a bad store option names the key', () => {
    expect(() => createClusterNode({ jvmRoute: 'A', store: { type: 'redis', url: 'redis://127.0.0.1:1' }, membership: { type: 'static', members: [] } }))
      .toThrow(ClusterOptionsError);
    expect(() => createClusterNode({ jvmRoute: 'A', store: { type: 'redis', url: 'redis://127.0.0.1:1' }, manager: 'backup' })).toThrow(/manager has no meaning with store: redis/);
    expect(() => createClusterNode({ jvmRoute: 'A', store: { type: 'redis' } })).toThrow(/exactly one of url, cluster, sentinel/);
    expect(() => createClusterNode({ jvmRoute: 'A', store: { type: 'redis', cluster: ['nohost'] } })).toThrow(/store\.cluster\[0\] must be "host:port"/);
    expect(() => createClusterNode({ jvmRoute: 'A', store: { type: 'redis', url: 'redis://x', keyPrefix: 'a{b}' } })).toThrow(/store\.keyPrefix/);
    expect(() => createClusterNode({ jvmRoute: 'A', store: { type: 'redis', url: 'redis://x' }, maxActiveSessions: 5 })).toThrow(/maxActiveSessions has no meaning/);
    expect(() => createClusterNode({ jvmRoute: 'A', store: { type: 'redis', url: 'redis://x', wait: { replicas: 0, timeout: 10 } } })).toThrow(/store\.wait\.replicas/);
    expect(() => createClusterNode({ jvmRoute: 'A' })).toThrow(/receiver is required/);
  });
});

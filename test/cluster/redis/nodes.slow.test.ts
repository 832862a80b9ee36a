/**
 * Application nodes as real processes (examples/express-backend.ts with REDIS_URL: the same app as
 * the peer-replication narrative, switched to store: redis by configuration only) behind stickyd:
 * - every node killed (-9) and restarted: not one session lost (peer replication loses them all);
 * - one node killed under load (sync): the proxy fails over, the route binder renames, and every
 *   session keeps every write its client saw acknowledged.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redisInstalled, startRedis, stopAllRedis } from '../../helpers/redis.js';
import { stopAll } from '../../helpers/spawn.js';
import { plan, start, startProxy, type Backend, type Proxy } from '../helpers/backends.js';
import { get, routeCookie } from '../helpers/http.js';
import { inspector } from './helpers.js';
import { lostWrites, WriteLoad } from './load.js';

let proxy: Proxy | undefined;
afterEach(async () => {
  try {
    await proxy?.close();
    await stopAll();
  } finally {
    proxy = undefined;
    await stopAllRedis();
  }
});

describe.skipIf(!redisInstalled())('store: redis, application nodes as processes behind stickyd', () => {
  it('all application nodes killed (-9) and restarted: 0 sessions lost', async () => {
    const redis = await startRedis();
    const specs = await plan(['A', 'B', 'C'].map((route) => ({ route, env: { REDIS_URL: redis.url } })));
    let backends: Backend[] = await Promise.all(specs.map((s) => start(s, 60_000)));
    proxy = await startProxy(backends);
    const sessions: Array<{ id: string; route: string }> = [];
    for (let i = 0; i < 60; i++) {
      const route = ['A', 'B', 'C'][i % 3]!;
      const r = await get(proxy.port, `/set?name=cart&value=["item${i}"]`, routeCookie(route));
      expect(r.json.node).toBe(route);
      await get(proxy.port, `/set?name=user&value="u${i}"`, r.sessionCookie);
      sessions.push({ id: r.sessionCookie!, route });
    }
    for (const b of backends) b.proc.signal('SIGKILL');
    await Promise.all(backends.map((b) => b.proc.exited));
    backends = await Promise.all(specs.map((s) => start(s, 60_000)));
    let kept = 0;
    for (const [i, s] of sessions.entries()) {
      const r = await get(proxy.port, '/get', s.id);
      if (r.status === 200 && r.json.sessionId === s.id && r.json.attributes.user === `u${i}` && r.json.attributes.cart[0] === `item${i}`) kept++;
      expect(r.json.node).toBe(s.route);
    }
    expect(kept).toBe(sessions.length);
  }, 240_000);

  it('one node killed (-9) under load (sync): fail-over keeps every session and every acknowledged write', async () => {
    const redis = await startRedis();
    const specs = await plan(['A', 'B', 'C'].map((route) => ({ route, env: { REDIS_URL: redis.url, SEND_OPTIONS: 'sync' } })));
    const backends = await Promise.all(specs.map((s) => start(s, 60_000)));
    proxy = await startProxy(backends);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await get(proxy.port, '/set?name=w0&value=0', routeCookie(['A', 'B', 'C'][i % 3]!))).sessionCookie!);
    const load = new WriteLoad(ids, () => proxy!.port, 10, 150_000);
    await new Promise((r) => setTimeout(r, 1500));
    backends[0]!.proc.signal('SIGKILL');
    load.mark();
    // Sessions of A move to B or C (renamed by the binder) and keep being written.
    const onA = new Set(ids.filter((id) => id.endsWith('.A')).map((id) => id.split('.')[0]));
    const deadline = Date.now() + 60_000; // not a speed: the load runs until every session was written again
    while (!load.result.sessions.every((s) => s.ackedAfterMark >= 5) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const result = await load.stop();
    const moved = result.sessions.filter((s) => onA.has(s.id.split('.')[0]));
    expect(moved.length).toBe(10);
    expect(moved.every((s) => !s.id.endsWith('.A'))).toBe(true);
    expect(result.sessions.every((s) => s.ackedAfterMark >= 5)).toBe(true);
    const look = await inspector(redis.url);
    const lost = await lostWrites(result.sessions, (id) => look.hash(id));
    await look.close();
    console.log(`node kill -9 under load: ${result.ok} writes acknowledged, ${lost.writes} lost; refused: ${JSON.stringify([...result.failed])}`);
    expect(lost).toEqual({ writes: 0, sessions: 0 });
  }, 240_000);
});

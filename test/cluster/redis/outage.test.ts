/**
 * Redis down (issue 12 §4): a request that needs a session gets a 503 with one clear log line —
 * never an empty session, never a new session in place of the one it presented — and everything
 * works again, with the data intact, once Redis is back. Killed (-9, restarted from its AOF) and
 * frozen (SIGSTOP: commands time out) variants; Redis already down when the node starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../helpers/memory-logger.js';
import { redisInstalled, startRedis, type RedisServer } from '../../helpers/redis.js';
import { get, waitUntil } from '../helpers/http.js';
import type { InprocNode } from '../helpers/inproc.js';
import { inspector, startRedisNode, stopNodesThenRedis } from './helpers.js';

let nodes: InprocNode[] = [];
afterEach(() => stopNodesThenRedis(nodes.splice(0)));

const logged = (lines: string[], msg: RegExp) => lines.filter((l) => msg.test(JSON.parse(l).msg ?? '')).length;

describe.skipIf(!redisInstalled())('Redis down', () => {
  it('kill -9: 503 with a log line, no new session over the old id; after the restart the same session, intact', async () => {
    const redis: RedisServer = await startRedis({ persistent: true });
    const { logger, lines } = memoryLogger();
    const a = await startRedisNode('A', { type: 'redis', url: redis.url, commandTimeout: 500 }, { logger });
    nodes.push(a);
    const id = (await get(a.port, '/set?name=cart&value=["book"]')).sessionCookie!;
    await get(a.port, '/set?name=n&value=1', id);

    await redis.kill('SIGKILL');
    const during = await get(a.port, '/get', id);
    expect(during.status).toBe(503);
    expect(during.setCookies).toEqual([]);
    const write = await get(a.port, '/set?name=n&value=2', id);
    expect(write.status).toBe(503);
    // A request without a session that tries to start one: refused as well, no cookie handed out.
    const fresh = await get(a.port, '/set?name=n&value=1');
    expect(fresh.status).toBe(503);
    expect(fresh.json).toEqual({ error: 'SessionStoreUnavailableError' });
    expect(fresh.setCookies).toEqual([]);
    expect(logged(lines, /^session store unavailable/)).toBe(1); // one line per outage, not per request
    expect(a.node.stats().store).toMatchObject({ available: false, outages: 1 });

    await redis.restart();
    await waitUntil(() => a.node.stats().store!.available, 5000, 'the store to be seen again');
    expect(logged(lines, /^session store available again/)).toBe(1);
    const after = await get(a.port, '/get', id);
    expect(after.status).toBe(200);
    expect(after.json).toMatchObject({ sessionId: id, attributes: { cart: ['book'], n: 1 } });
    expect(after.setCookies).toEqual([]);
    expect((await get(a.port, '/set?name=n&value=3', id)).json.attributes).toEqual({ cart: ['book'], n: 3 });
    const look = await inspector(redis.url);
    expect(await look.attributes(id)).toEqual({ cart: ['book'], n: 3 });
    await look.close();
  });

  it('a frozen Redis (SIGSTOP): requests fail with 503 after store.commandTimeout; after SIGCONT they succeed again', async () => {
    const redis = await startRedis();
    const { logger, lines } = memoryLogger();
    const a = await startRedisNode('A', { type: 'redis', url: redis.url, commandTimeout: 300 }, { logger });
    nodes.push(a);
    const id = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
    redis.signal('SIGSTOP');
    try {
      const t0 = Date.now();
      const r = await get(a.port, '/set?name=k&value=2', id);
      expect(r.status).toBe(503);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(logged(lines, /^session store unavailable/)).toBe(1);
      // Once known down, requests fail at once instead of each waiting for the timeout.
      expect((await get(a.port, '/get', id)).status).toBe(503);
    } finally {
      redis.signal('SIGCONT');
    }
    await waitUntil(() => a.node.stats().store!.available, 5000, 'recovery');
    const r = await get(a.port, '/set?name=k&value=3', id);
    expect(r.status).toBe(200);
    expect(r.json.attributes).toEqual({ k: 3 });
  });

  it('Redis down when the node starts: it becomes ready, answers 503, and serves once Redis is up', async () => {
    const redis = await startRedis();
    await redis.kill();
    const { logger, lines } = memoryLogger();
    const a = await startRedisNode('A', { type: 'redis', url: redis.url, connectTimeout: 300 }, { logger });
    nodes.push(a);
    expect((await get(a.port, '/set?name=k&value=1')).status).toBe(503);
    expect(logged(lines, /^session store unavailable/)).toBe(1);
    await redis.restart();
    await waitUntil(() => a.node.stats().store!.available, 5000, 'recovery');
    const r = await get(a.port, '/set?name=k&value=1');
    expect(r.status).toBe(200);
    expect(r.sessionCookie).toMatch(/\.A$/);
  });
});

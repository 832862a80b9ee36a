/**
 * store: redis on a real Redis Cluster of 3 masters and 3 replicas (redis-cli --cluster create …
 * --cluster-replicas 1, on free loopback ports): sessions spread over the shards, the route
 * binder's rename and changeSessionId stay atomic because a session's keys share a hash slot, the
 * local cache stays coherent per shard, and a master killed with -9 under load is replaced by its
 * replica while requests resume — with `store.wait` not one acknowledged write is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redisInstalled, startRedisCluster } from '../../helpers/redis.js';
import { get, waitUntil } from '../helpers/http.js';
import type { InprocNode } from '../helpers/inproc.js';
import { sessionSlot } from '../../../src/cluster/store/keys.js';
import { clusterReader, startRedisNodes, stopNodesThenRedis, storedN } from './helpers.js';
import { lostWrites, WriteLoad } from './load.js';

const hex = (id: string) => id.split('.')[0]!;
// Generous fail-over deadlines (cluster nodes agree over rounds, slower on a loaded machine); the
// load runs (bounded by LOAD_MAX_MS) until the test stops it.
const LOAD_MAX_MS = 150_000;
let nodes: InprocNode[] = [];
afterEach(() => stopNodesThenRedis(nodes.splice(0)));

describe.skipIf(!redisInstalled())('store: redis on a Redis Cluster', () => {
  it('sessions spread over the 3 shards; rename and changeSessionId atomic in one slot; the cache stays coherent', async () => {
    const cluster = await startRedisCluster();
    nodes = await startRedisNodes(['A', 'B'], { type: 'redis', cluster: cluster.seeds });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await get(a.port, `/set?name=i&value=${i}`)).sessionCookie!);
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    const sizes = await Promise.all(masters.map(async (m) => Number(await m.cli(['DBSIZE']))));
    expect(sizes.every((n) => n > 0)).toBe(true);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(30);

    // The binder's rename on B: same slot, one RENAME.
    const id = ids[7]!;
    const r = await get(b.port, '/get', id);
    expect(r.json).toMatchObject({ sessionId: `${hex(id)}.B`, attributes: { i: 7 } });
    const reader = await clusterReader(cluster.seeds);
    expect(storedN(await reader.hash(id))).toBeNull();
    expect((await reader.hash(`${hex(id)}.B`))['a:i']).toBe('7');
    // A's copy of the old id is invalidated by that shard.
    await waitUntil(() => a.node.inspect(id) === undefined, 2000, 'A to drop its copy');

    // changeSessionId: the new id is drawn within the old id's slot, so the rename is one script.
    const rotated = await changeId(a, ids[3]!);
    expect(hex(rotated)).not.toBe(hex(ids[3]!));
    expect(sessionSlot(rotated)).toBe(sessionSlot(ids[3]!));
    expect((await reader.hash(rotated))['a:i']).toBe('3');
    expect(storedN(await reader.hash(ids[3]!))).toBeNull();
    await reader.close();
  });

  for (const withWait of [true, false]) {
    it(`a master killed (-9) under load: the replica is promoted, requests resume${withWait ? ', 0 acknowledged writes lost (store.wait)' : '; without store.wait the loss is counted'}`, async () => {
      const cluster = await startRedisCluster();
      const store = { type: 'redis' as const, cluster: cluster.seeds, commandTimeout: 1000, ...(withWait ? { wait: { replicas: 1, timeout: 200 } } : {}) };
      nodes = await startRedisNodes(['A', 'B'], store);
      const byRoute = new Map(nodes.map((n) => [n.route, n.port]));
      const ids: string[] = [];
      for (let i = 0; i < 48; i++) ids.push((await get(nodes[i % 2]!.port, '/set?name=w0&value=0')).sessionCookie!);
      const victim = await cluster.masterOf(sessionSlot(ids[0]!));
      const victimSessions = new Set<string>();
      for (const id of ids) if ((await cluster.masterOf(sessionSlot(id))) === victim) victimSessions.add(hex(id));
      const load = new WriteLoad(ids, (id) => byRoute.get(id.split('.')[1]!)!, 12, LOAD_MAX_MS);
      await new Promise((r) => setTimeout(r, 1000));
      const killedAt = Date.now();
      await victim.kill('SIGKILL');
      load.mark();
      // The replica takes over (cluster-node-timeout 1000 ms); with WAIT the new master needs a
      // replica of its own before it can acknowledge again: the old master comes back as one.
      await cluster.waitPromoted(sessionSlot(ids[0]!), victim);
      const promotedMs = Date.now() - killedAt;
      if (withWait) await victim.restart();
      // Requests resume: every session of the failed shard is written again.
      const resumed = () => load.result.sessions.filter((s) => victimSessions.has(hex(s.id))).every((s) => s.ackedAfterMark >= 3);
      await waitUntil(resumed, 60_000, 'requests to resume for every session of the failed shard');
      const result = await load.stop();
      const reader = await clusterReader(cluster.seeds);
      const lost = await lostWrites(result.sessions, (id) => reader.hash(id));
      await reader.close();
      console.log(`cluster master kill -9 (${withWait ? 'with' : 'without'} WAIT): promoted after ${promotedMs} ms; ${result.ok} writes acknowledged, ${lost.writes} of them lost (in ${lost.sessions} of ${victimSessions.size} sessions on that shard); refused: ${JSON.stringify([...result.failed])}`);
      if (withWait) expect(lost).toEqual({ writes: 0, sessions: 0 });
      expect(result.sessions.every((s) => s.acked > 0)).toBe(true);
    }, 240_000);
  }
});

/** Rotates a session's id through a request on node `n` (the app calls changeSessionId). */
async function changeId(n: InprocNode, id: string): Promise<string> {
  const r = await get(n.port, '/rotate', id);
  return r.sessionCookie!;
}

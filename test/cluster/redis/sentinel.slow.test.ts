/**
 * store: redis behind Sentinel (1 master, 1 replica, 3 sentinels on free loopback ports): the
 * node finds the master through the sentinels; when the master is killed (-9) under load the
 * sentinels promote the replica and the node follows it, requests resume, and with `store.wait`
 * no acknowledged write is lost.
 *
 * With `store.wait` the data nodes keep an AOF. Without one, a master restarted after the kill
 * comes back empty, and the sentinels may promote it again before it has copied the new master
 * (they do not check that a replica has synced): the new master then becomes its replica and
 * empties itself. The second case makes that happen on purpose (the promoted replica stalls right
 * after the restart); without the AOF it loses every write acknowledged before the kill.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redisInstalled, startSentinelSetup } from '../../helpers/redis.js';
import { get, waitUntil } from '../helpers/http.js';
import type { InprocNode } from '../helpers/inproc.js';
import { sentinelReader, startRedisNodes, stopNodesThenRedis } from './helpers.js';
import { lostWrites, WriteLoad } from './load.js';

// The deadlines of the fail-over waits are generous: the sentinels agree over several rounds, each
// slower on a loaded machine; the load keeps running (bounded by LOAD_MAX_MS) until the test stops it.
const LOAD_MAX_MS = 150_000;

let nodes: InprocNode[] = [];
afterEach(() => stopNodesThenRedis(nodes.splice(0)));

describe.skipIf(!redisInstalled())('store: redis with Sentinel', () => {
  const cases = [
    { wait: true, failBack: false, title: 'master killed (-9) under load: the replica is promoted, requests resume, 0 acknowledged writes lost (store.wait)' },
    { wait: true, failBack: true, title: 'then the promoted replica stalls and the sentinels promote the restarted master before it has synced: still 0 acknowledged writes lost (store.wait, AOF)' },
    { wait: false, failBack: false, title: 'master killed (-9) under load: the replica is promoted, requests resume; without store.wait the loss is counted' },
  ];
  for (const { wait: withWait, failBack, title } of cases) {
    it(title, async () => {
      const setup = await startSentinelSetup({ persistent: withWait });
      const store = {
        type: 'redis' as const,
        sentinel: { name: setup.name, sentinels: setup.seeds },
        commandTimeout: 1000,
        ...(withWait ? { wait: { replicas: 1, timeout: 200 } } : {}),
      };
      nodes = await startRedisNodes(['A', 'B'], store);
      const byRoute = new Map(nodes.map((n) => [n.route, n.port]));
      const ids: string[] = [];
      for (let i = 0; i < 32; i++) ids.push((await get(nodes[i % 2]!.port, '/set?name=w0&value=0')).sessionCookie!);
      // Cache coherence through the master: B's write reaches A's cached copy.
      await get(nodes[0]!.port, '/get', ids[0]);
      expect((await get(nodes[1]!.port, '/set?name=x&value=1', ids[0])).status).toBe(200);

      const load = new WriteLoad(ids, (id) => byRoute.get(id.split('.')[1]!)!, 8, LOAD_MAX_MS);
      await new Promise((r) => setTimeout(r, 1000));
      const killedAt = Date.now();
      await setup.master.kill('SIGKILL');
      load.mark();
      await waitUntil(async () => (await setup.currentMasterPort()) === setup.replica.port, 60_000, 'the sentinels to promote the replica');
      const promotedMs = Date.now() - killedAt;
      // With WAIT the new master needs a replica before it can acknowledge: the old master comes
      // back (a supervisor restarting it) and the sentinels make it a replica of the new one. It
      // comes back once the fail-over is over (docs/cluster.md: a sentinel still holding the old
      // configuration could take it for the master).
      if (withWait) {
        await setup.failoverSettled(setup.replica.port, 60_000);
        await setup.master.restart();
      }
      if (failBack) {
        // The promoted replica stops answering before the sentinels have made the old master its
        // replica (they wait some seconds before reconfiguring it, and never while the master they
        // would point it to is down). They refuse a second fail-over of the same master for twice
        // failover-timeout (20 s here), then promote the only candidate: the restarted master.
        setup.replica.signal('SIGSTOP');
        try {
          await waitUntil(async () => (await setup.currentMasterPort()) === setup.master.port, 90_000, 'the sentinels to promote the restarted master');
          await setup.failoverSettled(setup.master.port, 60_000);
        } finally {
          setup.replica.signal('SIGCONT');
        }
      }
      await waitUntil(() => load.result.sessions.every((s) => s.ackedAfterMark >= 3), 60_000, 'requests to resume for every session');
      const result = await load.stop();
      const reader = await sentinelReader(() => setup.currentMasterPort());
      const lost = await lostWrites(result.sessions, (id) => reader.hash(id));
      console.log(`sentinel master kill -9 (${withWait ? 'with' : 'without'} WAIT${failBack ? ', then fail-back to the restarted master' : ''}): promoted after ${promotedMs} ms; ${result.ok} writes acknowledged, ${lost.writes} of them lost (in ${lost.sessions} of ${ids.length} sessions); refused: ${JSON.stringify([...result.failed])}`);
      if (lost.writes > 0) {
        // What the sentinels did, for whoever reads a failure.
        for (const s of setup.sentinels) console.log(`sentinel ${s.port}:\n${s.output().split('\n').filter((l) => / [+-][a-z]/.test(l)).join('\n')}`);
      }
      if (withWait) expect(lost).toEqual({ writes: 0, sessions: 0 });
      if (failBack) expect(await setup.currentMasterPort()).toBe(setup.master.port);
      const stats = nodes[0]!.node.stats().store!;
      expect(stats.topology).toBe('sentinel');
      expect(stats.available).toBe(true);
    }, 240_000);
  }
});

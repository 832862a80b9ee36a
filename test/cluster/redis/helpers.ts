/**
 * Nodes with `store: redis` inside the test process, each with the same Express test app as the
 * peer-replication tests (test/cluster/helpers/inproc.ts), and a plain Redis client for looking
 * at what is stored — never through a request, which would change it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '@redis/client';
import { createClusterNode, type ClusterNodeOptions, type RedisStoreOptions } from '../../../src/cluster/index.js';
import type { Express } from 'express';
import { stopAllRedis } from '../../helpers/redis.js';
import { silentLogger, stopInproc, testApp, type AppFactory, type InprocNode } from '../helpers/inproc.js';

/**
 * The peer tests' app (test/cluster/helpers/inproc.ts) plus /rotate (req.session.changeSessionId()),
 * /bulk?n=&prefix= (n attributes `<prefix><i>` = i in one request) and /big?kb= (one value of kb KiB).
 */
export const redisTestApp: AppFactory = (node) => {
  const app = testApp(node) as Express;
  const sess = (req: unknown) => (req as { session: Record<string, unknown> }).session;
  app.get('/bulk', (req, res) => {
    const s = sess(req);
    for (let i = 0; i < Number(req.query.n); i++) s[`${String(req.query.prefix ?? 'a')}${i}`] = i;
    res.json({ sessionId: s.id, count: Object.keys(s).length });
  });
  app.get('/big', (req, res) => {
    const s = sess(req);
    s.big = 'x'.repeat(Number(req.query.kb) * 1024);
    res.json({ sessionId: s.id });
  });
  app.get('/summary', (req, res) => {
    const s = sess(req);
    res.json({ sessionId: s.id || null, count: Object.keys(s).length, bigLength: typeof s.big === 'string' ? s.big.length : null });
  });
  app.get('/rotate', (req, res) => {
    const session = (req as unknown as { session: { changeSessionId(): string; id: string } }).session;
    const returned = session.changeSessionId();
    res.json({ returned, sessionId: session.id });
  });
  return app;
};

export async function startRedisNode(
  route: string,
  store: RedisStoreOptions,
  options: Partial<ClusterNodeOptions> = {},
  app: AppFactory = redisTestApp,
): Promise<InprocNode> {
  const node = createClusterNode({ jvmRoute: route, store, logger: silentLogger, processExpiresFrequency: 200, ...options });
  await node.ready;
  const server = http.createServer(app(node));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let stopped: Promise<void> | null = null;
  return {
    route,
    node,
    clusterPort: 0,
    port: (server.address() as AddressInfo).port,
    server,
    stop() {
      stopped ??= (async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
        await node.stop();
      })();
      return stopped;
    },
  };
}

export async function startRedisNodes(routes: string[], store: RedisStoreOptions, options: Partial<ClusterNodeOptions> = {}, app?: AppFactory): Promise<InprocNode[]> {
  const out: InprocNode[] = [];
  for (const r of routes) out.push(await startRedisNode(r, store, options, app));
  return out;
}

export const KEY_PREFIX = 'stickyd:session:';

/** The Redis key of a session id (the layout of src/cluster/store/keys.ts, restated). */
export function keyOf(id: string): string {
  const dot = id.indexOf('.');
  return dot < 0 ? `${KEY_PREFIX}{${id}}` : `${KEY_PREFIX}{${id.slice(0, dot)}}${id.slice(dot)}`;
}

export type Inspector = Awaited<ReturnType<typeof inspector>>;

/** A plain client of one server (no tracking) to read sessions as stored. */
export async function inspector(url: string) {
  const client = createClient({ url, RESP: 3 });
  client.on('error', () => undefined);
  await client.connect();
  return {
    client,
    /** The session's attributes as stored (parsed JSON), or null when the key does not exist. */
    async attributes(id: string): Promise<Record<string, unknown> | null> {
      const h = (await client.sendCommand(['HGETALL', keyOf(id)])) as Record<string, string>;
      if (Object.keys(h).length === 0) return null;
      const out: Record<string, unknown> = {};
      for (const [f, v] of Object.entries(h)) if (f.startsWith('a:')) out[f.slice(2)] = JSON.parse(v);
      return out;
    },
    async hash(id: string): Promise<Record<string, string>> {
      return (await client.sendCommand(['HGETALL', keyOf(id)])) as Record<string, string>;
    },
    async pttl(id: string): Promise<number> {
      return Number(await client.sendCommand(['PTTL', keyOf(id)]));
    },
    async close() {
      await client.close().catch(() => undefined);
    },
  };
}

/** Reads `n` (the WriteLoad counter) of sessions from a Redis Cluster, by the cluster's own routing. */
export async function clusterReader(seeds: string[]) {
  const { createCluster } = await import('@redis/client');
  const cluster = createCluster({ rootNodes: seeds.map((s) => ({ url: `redis://${s}` })), RESP: 3 });
  cluster.on('error', () => undefined);
  await cluster.connect();
  return {
    async hash(id: string): Promise<Record<string, string>> {
      return (await cluster.sendCommand(keyOf(id), true, ['HGETALL', keyOf(id)])) as Record<string, string>;
    },
    async close() {
      await cluster.close().catch(() => undefined);
    },
  };
}

/** `n` as stored in a hash read by HGETALL, or null when the session does not exist. */
export function storedN(h: Record<string, string>): number | null {
  return Object.keys(h).length === 0 ? null : h['a:n'] === undefined ? 0 : Number(h['a:n']);
}

/** Reads session hashes from whichever server the sentinels name as master now. */
export async function sentinelReader(currentMasterPort: () => Promise<number>) {
  return {
    async hash(id: string): Promise<Record<string, string>> {
      const look = await inspector(`redis://127.0.0.1:${await currentMasterPort()}`);
      try {
        return await look.hash(id);
      } finally {
        await look.close();
      }
    },
  };
}

/** After a test: its nodes stopped, then every Redis server started here (also when stopping a node failed). */
export async function stopNodesThenRedis(nodes: InprocNode[]): Promise<void> {
  try {
    await stopInproc(nodes);
  } finally {
    await stopAllRedis();
  }
}

/**
 * The Redis session store beside the in-memory peer managers (stickyd/cluster); prints figures,
 * asserts nothing. One real redis-server (Debian's) on a free loopback port; nodes in this process.
 *
 *   node --conditions=stickyd-source --import tsx bench/redis.ts [--quick]
 *
 * - latency of one request that reads its session (no change) and of one that writes an attribute,
 *   p50/p99, one request at a time over a keep-alive connection: node alone (no replication), delta
 *   (2 peers, async and sync), backup (sync), redis (async and sync; sync + WAIT needs a replica and
 *   is left to the fail-over tests)
 * - requests per second of one node: 32 concurrent keep-alive clients for a fixed time, reads and
 *   writes, delta (sync, 2 peers) vs redis (sync)
 * - local cache under sticky traffic: hit rate and Redis commands per request
 * - memory in Redis per session of 1 KB: INFO used_memory before and after N sessions
 *
 * Bounded: fixed counts and durations, the whole run is stopped after 180 s; Redis is killed by PID
 * on every exit path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import express from 'express';
import session from 'express-session';
import pino from 'pino';
import { createClusterNode, type ClusterNode, type ClusterNodeOptions, type ClusterRequest } from '../src/cluster/index.js';
import { freePorts } from '../test/helpers/ports.js';
import { redisInstalled, startRedis, stopAllRedis, type RedisServer } from '../test/helpers/redis.js';

const quick = process.argv.includes('--quick');
const logger = pino({ level: 'silent' });

function pct(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const ms = (n: number) => `${n.toFixed(3)} ms`;

interface Running {
  node: ClusterNode;
  port: number;
  server: http.Server;
}

async function startNode(options: ClusterNodeOptions): Promise<Running> {
  const node = createClusterNode({ logger, ...options });
  await node.ready;
  const app = express();
  app.use(node.middleware());
  app.get('/set', (req, res) => {
    (req as unknown as ClusterRequest).session.n = Number(req.query.n);
    res.end('ok');
  });
  app.get('/get', (req, res) => {
    res.end(String((req as unknown as ClusterRequest).session.n));
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { node, server, port: (server.address() as AddressInfo).port };
}

async function stopNodes(ns: Running[]): Promise<void> {
  for (const n of ns) {
    n.server.closeAllConnections();
    n.server.close();
  }
  await Promise.all(ns.map((n) => n.node.stop()));
}

/** Peer nodes (static membership on 127.0.0.1): the first one is measured. */
async function peers(n: number, options: Partial<ClusterNodeOptions>): Promise<Running[]> {
  const ports = await freePorts(n);
  const out: Running[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await startNode({
      jvmRoute: String.fromCharCode(65 + i),
      receiver: { address: '127.0.0.1', port: ports[i]! },
      membership: { type: 'static', members: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`) },
      ...options,
    }));
  }
  return out;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(port: number, path: string, cookie: string | null): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent, headers: cookie ? { cookie: `JSESSIONID=${cookie}` } : {} }, (res) => {
      const set = res.headers['set-cookie']?.[0];
      res.resume();
      res.on('end', () => resolve(set ? set.split(';')[0]!.slice('JSESSIONID='.length) : null));
    });
    req.on('error', reject);
    req.end();
  });
}

/** p50/p99 of reads and writes, one request at a time (after a 10 % warm-up). */
async function latency(port: number, count: number): Promise<{ read: number[]; write: number[] }> {
  const cookie = (await request(port, '/set?n=0', null))!;
  const read: number[] = [];
  const write: number[] = [];
  for (let i = 0; i < count; i++) {
    let t0 = performance.now();
    await request(port, '/get', cookie);
    read.push(performance.now() - t0);
    t0 = performance.now();
    await request(port, `/set?n=${i}`, cookie);
    write.push(performance.now() - t0);
  }
  const warm = Math.floor(count / 10);
  return { read: read.slice(warm), write: write.slice(warm) };
}

/** Requests per second of one node: `clients` concurrent keep-alive loops for `seconds`, each on its own session. */
async function throughput(port: number, kind: 'read' | 'write', clients: number, seconds: number): Promise<number> {
  const cookies = await Promise.all(Array.from({ length: clients }, () => request(port, '/set?n=0', null)));
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(cookies.map(async (c, i) => {
    let n = 0;
    while (performance.now() < until) {
      await request(port, kind === 'read' ? '/get' : `/set?n=${i * 1_000_000 + n++}`, c);
      done++;
    }
  }));
  return done / seconds;
}

function row(cells: string[], widths: number[]): string {
  return '  ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log(row(header, widths));
  for (const r of rows) console.log(row(r, widths));
}

async function latencies(redis: RedisServer): Promise<void> {
  const count = quick ? 300 : 2000;
  const rows: string[][] = [];
  const measure = async (label: string, nodes: Running[]) => {
    const r = await latency(nodes[0]!.port, count);
    rows.push([label, ms(pct(r.read, 50)), ms(pct(r.read, 99)), ms(pct(r.write, 50)), ms(pct(r.write, 99))]);
    await stopNodes(nodes);
  };
  await measure('node alone (no replication)', await peers(1, { sendOptions: 'async' }));
  await measure('delta, 2 peers, async', await peers(3, { sendOptions: 'async' }));
  await measure('delta, 2 peers, sync', await peers(3, { sendOptions: 'sync' }));
  await measure('backup, 2 peers, sync', await peers(3, { manager: 'backup' }));
  const store = { type: 'redis' as const, url: redis.url };
  await measure('redis, async', [await startNode({ jvmRoute: 'A', store, sendOptions: 'async' })]);
  await measure('redis, sync', [await startNode({ jvmRoute: 'A', store })]);
  await measure('redis, sync, no local cache', [await startNode({ jvmRoute: 'A', store: { ...store, cache: false } })]);
  console.log(`per request latency, one request at a time over keep-alive, ${count} reads and ${count} writes (127.0.0.1)`);
  table(['configuration', 'read p50', 'read p99', 'write p50', 'write p99'], rows);
  console.log('  read = a request that only reads its session (peer managers still replicate an access; redis renews the TTL)');
  console.log('');
}

async function requestsPerSecond(redis: RedisServer): Promise<void> {
  const seconds = quick ? 2 : 5;
  const rows: string[][] = [];
  for (const [label, start] of [
    ['delta, 2 peers, sync', () => peers(3, { sendOptions: 'sync' })],
    ['redis, sync', async () => [await startNode({ jvmRoute: 'A', store: { type: 'redis', url: redis.url } })]],
  ] as const) {
    const nodes = await start();
    const read = await throughput(nodes[0]!.port, 'read', 32, seconds);
    const write = await throughput(nodes[0]!.port, 'write', 32, seconds);
    rows.push([label, read.toFixed(0), write.toFixed(0)]);
    await stopNodes(nodes);
  }
  console.log(`requests per second of one node: 32 concurrent keep-alive clients, ${seconds} s each (this process drives the load too)`);
  table(['configuration', 'reads/s', 'writes/s'], rows);
  console.log('');
}

async function cacheAndMemory(redis: RedisServer): Promise<void> {
  const a = await startNode({ jvmRoute: 'A', store: { type: 'redis', url: redis.url } });
  const cookies = await Promise.all(Array.from({ length: 50 }, () => request(a.port, '/set?n=0', null)));
  const before = a.node.stats().store!;
  const requests = quick ? 1000 : 5000;
  for (let i = 0; i < requests; i++) await request(a.port, i % 2 ? '/get' : `/set?n=${i}`, cookies[i % cookies.length]!);
  const after = a.node.stats().store!;
  const hits = after.cache.hits - before.cache.hits;
  const misses = after.cache.misses - before.cache.misses;
  console.log(`local cache, sticky traffic: ${requests} requests over 50 sessions, half reads, half writes`);
  console.log(`  hit rate ${((100 * hits) / (hits + misses)).toFixed(2)} % (${hits} hits, ${misses} misses); ${((after.ops - before.ops) / requests).toFixed(2)} Redis commands per request; command latency p50 ${after.latency.p50} ms, p99 ${after.latency.p99} ms`);
  console.log('');

  // Memory: N sessions of 1 KB (one attribute of ~1000 bytes) written through the express-session store.
  const n = quick ? 5_000 : 20_000;
  await redis.cli(['FLUSHALL']);
  const used = async () => Number(await redis.info('used_memory', 'memory'));
  const base = await used();
  const store = a.node.store(session);
  const pad = 'x'.repeat(1000);
  const batch: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    batch.push(store.set(a.node.genid(), { cookie: { originalMaxAge: null }, pad }));
    if (batch.length >= 500) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  const per = ((await used()) - base) / n;
  const encoding = await redis.cli(['OBJECT', 'ENCODING', (await redis.cli(['RANDOMKEY']))]);
  console.log(`memory in Redis: ${n} sessions of 1 KB (one ~1000-byte attribute, express-session's cookie, metadata)`);
  console.log(`  ${per.toFixed(0)} bytes per session (INFO used_memory before/after; hash encoding ${encoding}) → ${((per * 10_000_000) / 2 ** 30).toFixed(1)} GiB for 10 M sessions, before replicas`);
  console.log('');
  await stopNodes([a]);
}

const giveUp = (why: string, code: number) => {
  console.error(`bench/redis.ts: ${why}; stopping redis-server`);
  stopAllRedis().then(() => process.exit(code), () => process.exit(code));
};
setTimeout(() => giveUp('still running after 180 s', 1), 180_000).unref();
process.once('SIGINT', () => giveUp('interrupted', 130));
process.once('SIGTERM', () => giveUp('terminated', 143));

if (!redisInstalled()) {
  console.log('bench/redis.ts: redis-server is not installed (apt-get install redis-server); skipped');
  process.exit(0);
}
try {
  const redis = await startRedis();
  console.log(`stickyd/cluster with store: redis${quick ? ' (quick)' : ''} — node ${process.version}, ${await redis.cli(['INFO', 'server']).then((t) => /redis_version:(\S+)/.exec(t)?.[1] ?? '?')} redis, ${os.cpus().length} cores, ${new Date().toISOString()}`);
  console.log('');
  await latencies(redis);
  await requestsPerSecond(redis);
  await cacheAndMemory(redis);
  console.log(`machine: load average ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')} (1/5/15 min) at the end`);
} finally {
  agent.destroy();
  await stopAllRedis();
}
process.exit(0);

/**
 * Benchmarks of stickyd/cluster (sessions over the real channel on 127.0.0.1); prints figures,
 * asserts nothing. Loopback figures are a floor, not a production estimate.
 *
 *   node --conditions=stickyd-source --import tsx --expose-gc bench/cluster.ts [--quick]
 *
 * - replication latency, async, 3 nodes: response to the client complete → value readable on both
 *   peers (polled every event-loop turn; all nodes in this process) — p50/p99 (target p99 ≤ 5 ms)
 * - sync visibility: is the value on every peer when the response arrived?
 * - request overhead: a session-writing request, node alone vs async vs sync with 2 peers (p50/p99)
 * - state transfer: joiner start → ready, 10k and 100k sessions of 1 KB (target 100k ≤ 5 s)
 * - memory per 100k sessions of 1 KB (heap of the joiner after the transfer)
 * - kill -9 detection: a peer process killed → memberRemoved here (default timings 500/3000/1000)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import pino from 'pino';
import { createClusterNode, type ClusterNode, type ClusterNodeOptions, type ClusterRequest } from '../src/cluster/index.js';
import { freePorts } from '../test/helpers/ports.js';
import { spawnTs, stopAll } from '../test/helpers/spawn.js';

const quick = process.argv.includes('--quick');
const logger = pino({ level: 'silent' });
const gc = (globalThis as { gc?: () => void }).gc;

function report(what: string, value: string, note = ''): void {
  console.log(`${what.padEnd(58)} ${value.padStart(14)}  ${note}`);
}

function pct(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const ms = (n: number) => `${n.toFixed(2)} ms`;

interface Running {
  node: ClusterNode;
  port: number;
  server: http.Server;
}

async function startNode(route: string, port: number, peers: number[], options: Partial<ClusterNodeOptions> = {}): Promise<Running> {
  const node = createClusterNode({
    jvmRoute: route,
    receiver: { address: '127.0.0.1', port },
    membership: { type: 'static', members: peers.map((p) => `127.0.0.1:${p}`) },
    logger,
    ...options,
  });
  await node.ready;
  const app = express();
  app.use(node.middleware());
  app.get('/set', (req, res) => {
    (req as unknown as ClusterRequest).session.n = Number(req.query.n);
    res.end('ok');
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

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(port: number, path: string, cookie: string | null): Promise<{ cookie: string | null }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, agent, headers: cookie ? { cookie: `JSESSIONID=${cookie}` } : {} }, (res) => {
      const set = res.headers['set-cookie']?.[0];
      res.resume();
      res.on('end', () => resolve({ cookie: set ? set.split(';')[0]!.slice('JSESSIONID='.length) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function cluster(n: number, options: Partial<ClusterNodeOptions>): Promise<Running[]> {
  const ports = await freePorts(n);
  const out: Running[] = [];
  for (let i = 0; i < n; i++) out.push(await startNode(String.fromCharCode(65 + i), ports[i]!, ports.filter((_, j) => j !== i), options));
  return out;
}

/** Replication latency: response complete → readable on every peer. */
async function latency(): Promise<void> {
  const nodes = await cluster(3, { sendOptions: 'async' });
  const [a, ...peers] = nodes as [Running, Running, Running];
  const samples: number[] = [];
  let cookie = (await request(a.port, '/set?n=0', null)).cookie!;
  const count = quick ? 300 : 2000;
  for (let i = 1; i <= count; i++) {
    await request(a.port, `/set?n=${i}`, cookie);
    const t0 = performance.now();
    while (!peers.every((p) => p.node.inspect(cookie)?.attributes.n === i)) await new Promise((r) => setImmediate(r));
    samples.push(performance.now() - t0);
  }
  const warm = samples.slice(Math.floor(count / 10));
  report('replication latency async, 3 nodes: p50', ms(pct(warm, 50)), 'target p50 ≤ 2 ms [Tomcat 1.4 ms]');
  report('replication latency async, 3 nodes: p99', ms(pct(warm, 99)), 'target p99 ≤ 5 ms [Tomcat 18.7 ms]');
  await stopNodes(nodes);

  const sync = await cluster(3, { sendOptions: 'sync' });
  const [sa, ...speers] = sync as [Running, Running, Running];
  cookie = (await request(sa.port, '/set?n=0', null)).cookie!;
  let visible = 0;
  for (let i = 1; i <= 200; i++) {
    await request(sa.port, `/set?n=${i}`, cookie);
    if (speers.every((p) => p.node.inspect(cookie)?.attributes.n === i)) visible++;
  }
  report('sync: value on both peers when the response arrived', `${visible}/200`, 'target 200/200 (0 ms lag)');
  await stopNodes(sync);
}

/** Latency of a session-writing request: no cluster vs async vs sync. */
async function overhead(): Promise<void> {
  const count = quick ? 500 : 3000;
  const measure = async (port: number) => {
    const xs: number[] = [];
    const cookie = (await request(port, '/set?n=0', null)).cookie!;
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await request(port, `/set?n=${i}`, cookie);
      xs.push(performance.now() - t0);
    }
    return xs.slice(Math.floor(count / 10));
  };
  const [p0] = await freePorts(1);
  const alone = await startNode('A', p0!, [], {});
  const base = await measure(alone.port);
  await stopNodes([alone]);
  report('write request, no cluster (node alone): p50 / p99', `${ms(pct(base, 50))} / ${ms(pct(base, 99))}`);
  for (const mode of ['async', 'sync'] as const) {
    const nodes = await cluster(3, { sendOptions: mode });
    const xs = await measure(nodes[0]!.port);
    report(`write request, ${mode}, 2 peers: p50 / p99`, `${ms(pct(xs, 50))} / ${ms(pct(xs, 99))}`, mode === 'sync' ? `overhead p50 ${ms(pct(xs, 50) - pct(base, 50))} [Tomcat 2.95 vs 1.57 ms]` : '');
    await stopNodes(nodes);
  }
}

/** State transfer of N sessions × 1 KB, and the joiner's memory for them. */
async function transfer(n: number, measureMemory: boolean): Promise<void> {
  const [pa, pb] = await freePorts(2);
  const a = await startNode('A', pa!, [pb!]);
  const store = a.node.store(session);
  const pad = 'x'.repeat(1000);
  const batch: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    batch.push(store.set(a.node.genid(), { cookie: { originalMaxAge: null }, pad }));
    if (batch.length >= 1000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const b = await startNode('B', pb!, [pa!]);
  const took = performance.now() - t0;
  const st = b.node.stats().stateTransfer;
  report(`state transfer, ${n} sessions × 1 KB: joiner start → ready`, ms(took), `(transfer ${st.ms} ms, ${st.sessions} sessions; targets 10k ≤ 2 s, 100k ≤ 5 s)`);
  if (measureMemory) {
    gc?.();
    const perSession = (process.memoryUsage().heapUsed - heapBefore) / n;
    report(`memory of ${n} replicated sessions × 1 KB (heap)`, `${((perSession * 100_000) / 1024 / 1024).toFixed(1)} MiB/100k`, `${Math.round(perSession)} B/session${gc ? '' : ' (run with --expose-gc for a stable figure)'}`);
  }
  await stopNodes([a, b]);
}

/** kill -9 of a peer process → memberRemoved here, default membership timings. */
async function killDetection(): Promise<void> {
  const [pa, pb, httpB] = await freePorts(3);
  const a = createClusterNode({ jvmRoute: 'A', receiver: { address: '127.0.0.1', port: pa! }, membership: { type: 'static', members: [`127.0.0.1:${pb}`] }, logger });
  await a.ready;
  const results: string[] = [];
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    const b = spawnTs('examples/express-backend.ts', [], {
      env: { JVM_ROUTE: 'B', PORT: String(httpB), CLUSTER_PORT: String(pb), CLUSTER_MEMBERS: `127.0.0.1:${pa}`, LOG_LEVEL: 'info' },
    });
    await b.waitFor(/"msg":"ready B /, 20_000);
    while (a.members().length === 0) await new Promise((r) => setTimeout(r, 10));
    const removed = new Promise<string>((r) => a.once('memberRemoved', (_m, reason: string) => r(reason)));
    const t0 = performance.now();
    b.signal('SIGKILL');
    const reason = await removed;
    results.push(`${ms(performance.now() - t0)} (${reason})`);
    await b.exited;
  }
  report('kill -9 → memberRemoved (500/3000/1000)', results[0]!, results.slice(1).join(', ') + ' [Tomcat 2.95-3.29 s; connection loss triggers the probe at once]');
  await a.stop();
}

try {
  console.log(`stickyd/cluster benchmarks${quick ? ' (quick)' : ''} — node ${process.version}, ${new Date().toISOString()}`);
  await latency();
  await overhead();
  await transfer(10_000, false);
  await transfer(quick ? 20_000 : 100_000, true);
  await killDetection();
} finally {
  await stopAll();
  agent.destroy();
}
process.exit(0);

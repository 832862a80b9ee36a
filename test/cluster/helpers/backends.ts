/**
 * Cluster backends as real processes: examples/express-backend.ts (and the express-session
 * example) with static membership on 127.0.0.1, a loopback debug port for rep(X), and stickyd in
 * front. Everything is stopped by PID through test/helpers/spawn.ts (stopAll in afterEach/afterAll).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts, waitForPort } from '../../helpers/ports.js';
import { spawnStickyd, spawnTs, type Proc } from '../../helpers/spawn.js';
import { get } from './http.js';

export interface Backend {
  route: string;
  port: number;
  clusterPort: number;
  debugPort: number;
  env: Record<string, string>;
  proc: Proc;
  script: string;
}

export interface BackendSpec {
  route: string;
  env?: Record<string, string>;
}

/** Fast membership for tests: heartbeat 250 ms, dropTime 1000 ms. */
export const FAST = { HEARTBEAT_FREQUENCY: '250', DROP_TIME: '1000', PROCESS_EXPIRES_FREQUENCY: '200', LOG_LEVEL: 'warn' };

/** Ports for a set of nodes; every node lists every other node's receiver. */
export async function plan(specs: BackendSpec[], script = 'examples/express-backend.ts'): Promise<Omit<Backend, 'proc'>[]> {
  const ports = await freePorts(specs.length * 3);
  const nodes = specs.map((s, i) => ({
    route: s.route,
    port: ports[3 * i]!,
    clusterPort: ports[3 * i + 1]!,
    debugPort: ports[3 * i + 2]!,
    env: s.env ?? {},
    script,
  }));
  return nodes.map((n) => ({
    ...n,
    env: {
      ...FAST,
      JVM_ROUTE: n.route,
      PORT: String(n.port),
      CLUSTER_PORT: String(n.clusterPort),
      DEBUG_PORT: String(n.debugPort),
      CLUSTER_MEMBERS: nodes.filter((o) => o !== n).map((o) => `127.0.0.1:${o.clusterPort}`).join(','),
      ...n.env,
    },
  }));
}

/**
 * Starts (or restarts) a planned node and waits for its "ready" log line (after state transfer).
 * A cold start (node + tsx + express) takes seconds on a loaded machine: the deadline is generous.
 */
export async function start(n: Omit<Backend, 'proc'>, timeoutMs = 60_000): Promise<Backend> {
  const proc = spawnTs(n.script, [], { env: { ...n.env, LOG_LEVEL: 'info' } });
  await proc.waitFor(new RegExp(`"msg":"ready ${n.route} `), timeoutMs);
  return { ...n, proc };
}

export async function inspect(b: { debugPort: number }, id: string): Promise<any> {
  return (await get(b.debugPort, `/inspect?id=${encodeURIComponent(id)}`)).json;
}

export async function stats(b: { debugPort: number }): Promise<any> {
  return (await get(b.debugPort, '/stats')).json;
}

export interface Proxy {
  port: number;
  proc: Proc;
  dir: string;
  close(): Promise<void>;
}

/** stickyd in front of the backends: one balancer routing on JSESSIONID|jsessionid. */
export async function startProxy(members: Array<{ route: string; port: number }>): Promise<Proxy> {
  const [port] = await freePorts(1);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-cluster-'));
  const file = path.join(dir, 'stickyd.yaml');
  const yaml = [
    'listen:',
    `  - address: 127.0.0.1`,
    `    port: ${port}`,
    'server:',
    '  workers: 1',
    'balancers:',
    '  cluster:',
    '    stickysession: JSESSIONID|jsessionid',
    '    maxattempts: 3',
    '    members:',
    ...members.flatMap((m) => [`      - url: http://127.0.0.1:${m.port}`, `        route: ${m.route}`, '        retry: 1s']),
    'proxypass:',
    '  - path: /',
    '    url: balancer://cluster/',
    'log:',
    '  level: warn',
    '  access: false',
    '',
  ].join('\n');
  await writeFile(file, yaml);
  const proc = spawnStickyd(['-c', file]);
  try {
    await waitForPort(port!, 60_000);
  } catch (e) {
    throw new Error(`stickyd did not listen on ${port}: ${(e as Error).message}\n${proc.output().slice(-2000)}`);
  }
  return {
    port: port!,
    proc,
    dir,
    async close() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

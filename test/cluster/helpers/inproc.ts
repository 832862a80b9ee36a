/**
 * Cluster nodes inside the test process: the real channel over 127.0.0.1 (real sockets, real
 * membership), each with an Express app on its own port. Cheaper than processes for scenarios that
 * need no kill -9 or SIGSTOP.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { createClusterNode, type ClusterNode, type ClusterNodeOptions, type ClusterRequest } from '../../../src/cluster/index.js';
import { freePorts } from '../../helpers/ports.js';

export interface InprocNode {
  route: string;
  node: ClusterNode;
  port: number;
  clusterPort: number;
  server: http.Server;
  stop(): Promise<void>;
}

export type AppFactory = (node: ClusterNode) => http.RequestListener;

/** Routes like examples/express-backend.ts, plus /slow for concurrency (sets name=value after `ms`). */
export const testApp: AppFactory = (node) => {
  const app = express();
  app.use(node.middleware());
  const s = (req: express.Request) => (req as unknown as ClusterRequest).session;
  const val = (v: unknown) => {
    try {
      return JSON.parse(String(v));
    } catch {
      return v;
    }
  };
  const info = (req: express.Request) => ({
    node: node.jvmRoute,
    sessionId: s(req).id || null,
    originalSessionId: (req as unknown as ClusterRequest).originalSessionId ?? null,
    attributes: { ...s(req) },
  });
  app.get('/set', (req, res) => {
    try {
      s(req)[String(req.query.name)] = val(req.query.value);
    } catch (err) {
      return res.status(503).json({ error: (err as Error).name });
    }
    res.json(info(req));
  });
  app.get('/get', (req, res) => res.json(info(req)));
  app.get('/push', (req, res) => {
    (s(req)[String(req.query.name)] as unknown[]).push(val(req.query.value));
    res.json(info(req));
  });
  app.get('/slow', (req, res) => {
    setTimeout(() => {
      s(req)[String(req.query.name)] = val(req.query.value);
      res.json(info(req));
    }, Number(req.query.ms ?? 0));
  });
  app.get('/invalidate', (req, res) => {
    s(req).invalidate();
    res.json({ ok: true });
  });
  app.get('/style.css', (req, res) => {
    if (req.query.name) s(req)[String(req.query.name)] = val(req.query.value);
    res.type('css').send('body{}');
  });
  return app;
};

export const silentLogger = pino({ level: 'silent' });

/** Starts nodes one after the other (each ready before the next), all listing each other. */
export async function startInproc(
  specs: Array<{ route: string; options?: Partial<ClusterNodeOptions> }>,
  common: Partial<ClusterNodeOptions> = {},
  app: AppFactory = testApp,
): Promise<InprocNode[]> {
  const ports = await freePorts(specs.length);
  const out: InprocNode[] = [];
  for (const [i, spec] of specs.entries()) out.push(await startOne(spec.route, ports[i]!, ports.filter((_, j) => j !== i), { ...common, ...spec.options }, app));
  return out;
}

export async function startOne(
  route: string,
  clusterPort: number,
  peers: number[],
  options: Partial<ClusterNodeOptions>,
  app: AppFactory = testApp,
): Promise<InprocNode> {
  const node = createClusterNode({
    jvmRoute: route,
    receiver: { address: '127.0.0.1', port: clusterPort },
    membership: { type: 'static', members: peers.map((p) => `127.0.0.1:${p}`), frequency: 250, dropTime: 1000 },
    logger: silentLogger,
    processExpiresFrequency: 200,
    ...options,
  });
  await node.ready;
  const server = http.createServer(app(node));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let stopped: Promise<void> | null = null;
  return {
    route,
    node,
    clusterPort,
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

export async function stopInproc(nodes: InprocNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
}

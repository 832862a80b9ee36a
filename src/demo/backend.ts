/**
 * The demo's application node: the classic cluster test page (session id, node, creation time and a
 * hit counter) on plain node:http, embedding stickyd/cluster so sessions replicate to the other
 * demo node (DeltaManager, static membership on 127.0.0.1: the demo never needs multicast).
 * `stickyd demo` starts two of these; `stickyd demo-backend` runs one (docker-compose.yml does).
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { createClusterNode, type ClusterRequest } from '../cluster/index.js';

export interface DemoBackendOptions {
  route: string;
  /** HTTP listener. */
  address: string;
  port: number;
  /** Replication receiver (same address) and the other nodes' receivers, "host:port". */
  clusterPort: number;
  members: string[];
  /** Replication receiver address; defaults to `address` (docker-compose passes the container's name). */
  clusterAddress?: string;
  /** DNS membership instead of `members`: the nodes are `dns`'s A/AAAA records, receivers on `clusterPort`. */
  dns?: string;
  /** DNS servers for `dns` ("ip[:port]"), instead of the system's. */
  dnsServers?: string[];
  secret?: string;
  logger: Logger;
  /** Human-readable lines about the cluster (members joining and leaving). */
  announce?: (line: string) => void;
}

export interface DemoBackend {
  url: string;
  stop(): Promise<void>;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startDemoBackend(o: DemoBackendOptions): Promise<DemoBackend> {
  const node = createClusterNode({
    jvmRoute: o.route,
    receiver: { address: o.clusterAddress ?? o.address, port: o.clusterPort },
    membership: o.dns
      ? { type: 'dns', name: o.dns, port: o.clusterPort, ...(o.dnsServers ? { servers: o.dnsServers } : {}) }
      : { type: 'static', members: o.members },
    manager: 'delta',
    sendOptions: 'sync', // the page you see after a failover always has the last hit
    ...(o.secret ? { secret: o.secret } : {}),
    filter: '.*\\.(css|ico)',
    logger: o.logger,
  });
  node.on('memberAdded', (m: { route: string }) => o.announce?.(`cluster member ${m.route} joined`));
  node.on('memberRemoved', (m: { route: string }) => o.announce?.(`cluster member ${m.route} left`));

  const server = http.createServer(
    node.wrap((req: ClusterRequest, res) => {
      const url = new URL(req.url ?? '/', 'http://demo');
      if (url.pathname === '/favicon.ico') {
        res.writeHead(404).end();
        return;
      }
      if (url.pathname === '/logout') {
        req.session.invalidate();
        res.writeHead(303, { Location: './' }).end();
        return;
      }
      req.session.hits = Number(req.session.hits ?? 0) + 1;
      const page = {
        node: o.route,
        sessionId: req.session.id,
        originalSessionId: req.originalSessionId ?? null,
        creationTime: new Date(req.session.creationTime).toISOString(),
        hits: req.session.hits,
      };
      if (url.searchParams.get('format') === 'json' || /json/.test(req.headers.accept ?? '')) {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(page) + '\n');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><meta charset="utf-8"><title>stickyd demo: ${escape(o.route)}</title>` +
          `<h1>Served by node ${escape(o.route)}</h1>` +
          `<p>Session id: <code>${escape(page.sessionId)}</code>` +
          (page.originalSessionId ? ` (renamed from <code>${escape(page.originalSessionId)}</code>)` : '') +
          `</p><p>Created: ${page.creationTime}</p><p>Hits: ${page.hits}</p>` +
          `<p><a href="./">reload</a> · <a href="logout">invalidate the session</a></p>`,
      );
    }),
  );
  try {
    await node.ready; // state transfer first, then accept requests (Tomcat starts its connector last)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.address, () => resolve());
    });
  } catch (err) {
    // The replication receiver (or the HTTP port) could not be had: leave nothing running, so
    // that the process can exit.
    await node.stop().catch(() => {});
    throw err;
  }
  return {
    url: `http://${o.address}:${o.port}/`,
    async stop() {
      server.close();
      server.closeAllConnections();
      await node.stop();
    },
  };
}

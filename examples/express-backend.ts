/**
 * The classic cluster test page, as a Node backend that embeds stickyd/cluster: every request counts
 * a hit in the session and prints the session id, the node that answered and the session's creation
 * time. Run two or three of these behind stickyd (config/ has a matching balancer file) and watch
 * the id keep its hits across nodes and change its `.route` suffix after a fail-over.
 *
 *   JVM_ROUTE=jvm_a PORT=8081 CLUSTER_PORT=4000 CLUSTER_MEMBERS=127.0.0.1:4001 \
 *     node --import tsx examples/express-backend.ts
 *
 * Environment (defaults in brackets):
 *   JVM_ROUTE [jvm_a]            this node's route (session id suffix; the proxy member's `route`)
 *   PORT [8081]                  HTTP port (127.0.0.1)
 *   CLUSTER_PORT [4000]          replication receiver port
 *   CLUSTER_ADDRESS [127.0.0.1]  replication receiver address (0.0.0.0 in a container: needs CLUSTER_SECRET)
 *   CLUSTER_MEMBERS []           other receivers, "host:port,host:port" (static membership)
 *   MULTICAST []                 "228.0.0.4:45564" = multicast membership instead (private networks only)
 *   CLUSTER_DNS []               DNS membership instead: a name whose A/AAAA records are the nodes (receivers on
 *                                CLUSTER_PORT), or "srv:<name>" for an SRV record; needs CLUSTER_SECRET
 *   CLUSTER_DNS_SERVERS []       DNS servers for CLUSTER_DNS, "ip:port,ip:port" (default: the system's)
 *   CLUSTER_DNS_INTERVAL [5s]    how often CLUSTER_DNS is looked up again
 *   MANAGER [delta]              delta | backup
 *   SEND_OPTIONS [manager's]     async | ack | sync
 *   CLUSTER_SECRET []            shared secret for cluster frames
 *   MAX_INACTIVE_INTERVAL [1800] session timeout, seconds
 *   FILTER [.*\.(css|js|png|ico)] ReplicationValve filter (full match on the decoded path)
 *   ATTRIBUTE_FILTER []          sessionAttributeNameFilter
 *   MAX_ACTIVE_SESSIONS [-1], EXPIRE_SESSIONS_ON_SHUTDOWN [false], STATE_TRANSFER_TIMEOUT [60000],
 *   SYNC_TIMEOUT [3000], ON_REPLICATION_FAILURE [log], PROCESS_EXPIRES_FREQUENCY [1000],
 *   HEARTBEAT_FREQUENCY [500], DROP_TIME [3000]
 *   REDIS_URL []                 keep the sessions in Redis instead (store: redis; no CLUSTER_* needed),
 *   REDIS_CLUSTER []             or a Redis Cluster ("host:port,host:port"),
 *   REDIS_SENTINEL []            or Sentinel ("<master name>@host:port,host:port")
 *   DEBUG_PORT []                a loopback-only debug listener: /inspect?id=, /stats, /ids (never
 *                                through the session middleware, so looking does not migrate anything)
 *   LOG_LEVEL [info]
 */
import http from 'node:http';
import express from 'express';
import pino from 'pino';
import { createClusterNode, TooManyActiveSessionsError, type ClusterRequest, type RedisStoreOptions } from 'stickyd/cluster';

const env = process.env;
const route = env.JVM_ROUTE ?? 'jvm_a';
const port = Number(env.PORT ?? 8081);
const clusterPort = Number(env.CLUSTER_PORT ?? 4000);
const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
const logger = pino({ level: env.LOG_LEVEL ?? 'info', base: { node: route } });

const frequency = num(env.HEARTBEAT_FREQUENCY);
const dropTime = num(env.DROP_TIME);
const timing = { ...(frequency ? { frequency } : {}), ...(dropTime ? { dropTime } : {}) };
const [mcastAddress, mcastPort] = list(env.MULTICAST)[0]?.split(':') ?? [];
const dnsName = env.CLUSTER_DNS ?? '';
const dns = {
  ...(dnsName.startsWith('srv:') ? { name: dnsName.slice(4) } : { name: dnsName, port: clusterPort }),
  ...(env.CLUSTER_DNS_SERVERS ? { servers: list(env.CLUSTER_DNS_SERVERS) } : {}),
  ...(env.CLUSTER_DNS_INTERVAL ? { interval: env.CLUSTER_DNS_INTERVAL } : {}),
};

// Peer replication, or Redis: the application is the same, only this configuration differs.
const [sentinelName, sentinels] = (env.REDIS_SENTINEL ?? '').split('@');
const store: RedisStoreOptions | null = env.REDIS_URL ? { type: 'redis', url: env.REDIS_URL }
  : env.REDIS_CLUSTER ? { type: 'redis', cluster: list(env.REDIS_CLUSTER) }
  : sentinels ? { type: 'redis', sentinel: { name: sentinelName!, sentinels: list(sentinels) } }
  : null;

const node = createClusterNode({
  jvmRoute: route,
  ...(store ? { store } : {
    receiver: { address: env.CLUSTER_ADDRESS ?? '127.0.0.1', port: clusterPort },
    membership: mcastAddress
      ? { type: 'multicast', address: mcastAddress, port: Number(mcastPort), ...timing }
      : dnsName
        ? { type: 'dns', ...dns, ...timing }
        : { type: 'static', members: list(env.CLUSTER_MEMBERS), ...timing },
    manager: (env.MANAGER ?? 'delta') as 'delta' | 'backup',
  }),
  ...(env.SEND_OPTIONS ? { sendOptions: env.SEND_OPTIONS as 'async' | 'ack' | 'sync' } : {}),
  ...(env.CLUSTER_SECRET ? { secret: env.CLUSTER_SECRET } : {}),
  maxInactiveInterval: num(env.MAX_INACTIVE_INTERVAL) ?? 1800,
  filter: env.FILTER ?? '.*\\.(css|js|png|ico)',
  ...(env.ATTRIBUTE_FILTER ? { sessionAttributeNameFilter: env.ATTRIBUTE_FILTER } : {}),
  ...(env.MAX_ACTIVE_SESSIONS ? { maxActiveSessions: Number(env.MAX_ACTIVE_SESSIONS) } : {}),
  expireSessionsOnShutdown: env.EXPIRE_SESSIONS_ON_SHUTDOWN === 'true',
  stateTransferTimeout: num(env.STATE_TRANSFER_TIMEOUT) ?? 60_000,
  syncTimeout: num(env.SYNC_TIMEOUT) ?? 3000,
  onReplicationFailure: env.ON_REPLICATION_FAILURE === 'error' ? 'error' : 'log',
  processExpiresFrequency: num(env.PROCESS_EXPIRES_FREQUENCY) ?? 1000,
  logger,
});

const app = express();
app.use(node.middleware());

/** Reads a query value as JSON when it parses, else as the string itself. */
function value(text: unknown): unknown {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function info(req: ClusterRequest) {
  const s = req.session;
  return {
    node: route,
    sessionId: s.id || null,
    originalSessionId: req.originalSessionId ?? null,
    isNew: s.isNew,
    creationTime: s.creationTime ? new Date(s.creationTime).toISOString() : null,
    attributes: { ...s },
  };
}

// The hit counter page.
app.get('/', (request, res) => {
  const req = request as unknown as ClusterRequest;
  req.session.hits = Number(req.session.hits ?? 0) + 1;
  if (request.query.format === 'json') return res.json(info(req));
  res.type('html').send(
    `<!doctype html><title>stickyd cluster test</title>` +
      `<h1>Node ${route}</h1><p>Session id: <code>${req.session.id}</code>` +
      (req.originalSessionId ? ` (was <code>${req.originalSessionId}</code>)` : '') +
      `</p><p>Created: ${new Date(req.session.creationTime).toISOString()}</p><p>Hits: ${String(req.session.hits)}</p>`,
  );
});

// SessionExample-style attribute access: /set?name=k&value=v, /get, /remove?name=k, /push?name=list&value=x.
app.get('/set', (request, res) => {
  const req = request as unknown as ClusterRequest;
  try {
    req.session[String(request.query.name)] = value(request.query.value);
  } catch (err) {
    if (err instanceof TooManyActiveSessionsError) return res.status(503).json({ error: err.message, code: err.code });
    return res.status(400).json({ error: (err as Error).message });
  }
  res.json(info(req));
});
app.get('/get', (request, res) => res.json(info(request as unknown as ClusterRequest)));
app.get('/remove', (request, res) => {
  const req = request as unknown as ClusterRequest;
  delete req.session[String(request.query.name)];
  res.json(info(req));
});
app.get('/push', (request, res) => {
  const req = request as unknown as ClusterRequest;
  const list = req.session[String(request.query.name)];
  if (Array.isArray(list)) list.push(value(request.query.value)); // in place, no re-assignment
  else req.session[String(request.query.name)] = [value(request.query.value)];
  res.json(info(req));
});
app.get('/invalidate', (request, res) => {
  const req = request as unknown as ClusterRequest;
  const id = req.session.id;
  req.session.invalidate();
  res.json({ node: route, invalidated: id || null });
});
app.get('/none', (_req, res) => res.json({ node: route })); // ignores the session
app.get('/style.css', (_req, res) => res.type('css').send('body { font-family: sans-serif }\n'));

const server = http.createServer(app);

let debug: http.Server | undefined;
if (env.DEBUG_PORT) {
  debug = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body =
      url.pathname === '/inspect' ? node.inspect(url.searchParams.get('id') ?? '') ?? null
      : url.pathname === '/stats' ? node.stats()
      : url.pathname === '/ids' ? node.sessionIds()
      : undefined;
    res.statusCode = body === undefined ? 404 : 200;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body === undefined ? { error: 'not found' } : body));
  });
  debug.listen(Number(env.DEBUG_PORT), '127.0.0.1');
}

await node.ready; // state transfer done: now accept traffic (Tomcat starts its connector after the cluster)
server.listen(port, '127.0.0.1', () => {
  logger.info({ port, clusterPort, members: node.members().map((m) => m.route) }, `ready ${route} http://127.0.0.1:${port}/`);
});

async function shutdown(): Promise<void> {
  server.close();
  server.closeAllConnections();
  debug?.close();
  await node.stop();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());

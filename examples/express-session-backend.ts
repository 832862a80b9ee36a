/**
 * An express-session application made into a cluster node: the store replicates sessions to the
 * other nodes, `genid` stamps the node's route on every id, and the cookie adapter gives the proxy
 * an unsigned, routable `JSESSIONID=<32 HEX>.<route>` (express-session alone always signs its
 * cookie as `s:<id>.<signature>`, whose first dot a route-splitting proxy would cut at).
 *
 *   JVM_ROUTE=jvm_a PORT=8081 CLUSTER_PORT=4000 CLUSTER_MEMBERS=127.0.0.1:4001 \
 *     SESSION_SECRET=change-me node --import tsx examples/express-session-backend.ts
 *
 * Environment: JVM_ROUTE, PORT, CLUSTER_PORT, CLUSTER_MEMBERS, MANAGER, SEND_OPTIONS, CLUSTER_SECRET,
 * SESSION_SECRET, MAX_AGE (cookie maxAge in ms; unset = browser-session cookie and the cluster's
 * maxInactiveInterval), HEARTBEAT_FREQUENCY, DROP_TIME, DEBUG_PORT, LOG_LEVEL (as express-backend.ts).
 */
import http from 'node:http';
import express from 'express';
import session from 'express-session';
import pino from 'pino';
import { createClusterNode } from 'stickyd/cluster';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    views?: number;
  }
}

const env = process.env;
const route = env.JVM_ROUTE ?? 'jvm_a';
const port = Number(env.PORT ?? 8081);
const secret = env.SESSION_SECRET ?? 'change-me';
const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
const logger = pino({ level: env.LOG_LEVEL ?? 'info', base: { node: route } });
const frequency = num(env.HEARTBEAT_FREQUENCY);
const dropTime = num(env.DROP_TIME);

const node = createClusterNode({
  jvmRoute: route,
  receiver: { address: '127.0.0.1', port: Number(env.CLUSTER_PORT ?? 4000) },
  membership: {
    type: 'static',
    members: (env.CLUSTER_MEMBERS ?? '').split(',').filter(Boolean),
    ...(frequency ? { frequency } : {}),
    ...(dropTime ? { dropTime } : {}),
  },
  manager: (env.MANAGER ?? 'delta') as 'delta' | 'backup',
  ...(env.SEND_OPTIONS ? { sendOptions: env.SEND_OPTIONS as 'async' | 'ack' | 'sync' } : {}),
  ...(env.CLUSTER_SECRET ? { secret: env.CLUSTER_SECRET } : {}),
  logger,
});

const app = express();
// Order matters: the adapter translates the cookie before express-session reads it.
app.use(node.cookieAdapter({ secret }));
app.use(
  session({
    store: node.store(session),
    genid: node.genid,
    name: 'JSESSIONID',
    secret,
    resave: false,
    saveUninitialized: false,
    cookie: { path: '/', httpOnly: true, ...(num(env.MAX_AGE) ? { maxAge: num(env.MAX_AGE) } : {}) },
  }),
);

const info = (req: express.Request) => ({
  node: route,
  sessionId: req.session.user || req.session.views ? req.sessionID : null,
  originalSessionId: (req as unknown as { originalSessionId?: string }).originalSessionId ?? null,
  user: req.session.user ?? null,
  views: req.session.views ?? 0,
});

app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json(info(req));
});
// Session fixation protection: a new id on login; the old one is deleted cluster-wide.
app.get('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    // ?user=a&user=b gives an array: only a single plain value names the user.
    const user = req.query.user;
    req.session.user = typeof user === 'string' && user !== '' ? user : 'anonymous';
    res.json(info(req));
  });
});
app.get('/whoami', (req, res) => res.json(info(req))); // read-only: express-session calls store.touch
app.get('/logout', (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.json({ node: route, loggedOut: true })));
});

let debug: http.Server | undefined;
if (env.DEBUG_PORT) {
  debug = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const body = url.pathname === '/inspect' ? node.inspect(url.searchParams.get('id') ?? '') ?? null : url.pathname === '/stats' ? node.stats() : undefined;
    res.statusCode = body === undefined ? 404 : 200;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body === undefined ? { error: 'not found' } : body));
  });
  debug.listen(Number(env.DEBUG_PORT), '127.0.0.1');
}

const server = http.createServer(app);
await node.ready;
server.listen(port, '127.0.0.1', () => logger.info({ port }, `ready ${route} http://127.0.0.1:${port}/`));

async function shutdown(): Promise<void> {
  server.close();
  server.closeAllConnections();
  debug?.close();
  await node.stop();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());

/**
 * express-session integration (cluster-semantics §5.1–§5.3, §6.2): node.store() + node.genid + node.cookieAdapter()
 * on an in-process node A, and examples/express-session-backend.ts as process B. Checks the unsigned
 * routable cookie, set vs touch, regenerate deleting the old id cluster-wide, fail-over through the
 * binder, and that the store never emits 'disconnect' when a peer dies.
 */
import express from 'express';
import session from 'express-session';
import { afterEach, expect, it } from 'vitest';
import type { ClusterNode } from '../../../src/cluster/index.js';
import { freePorts } from '../../helpers/ports.js';
import { stopAll } from '../../helpers/spawn.js';
import { FAST, inspect, start } from '../helpers/backends.js';
import { get, waitUntil } from '../helpers/http.js';
import { startOne, stopInproc, type InprocNode } from '../helpers/inproc.js';

const SECRET = 'test-secret';
let nodes: InprocNode[] = [];
afterEach(async () => {
  await stopInproc(nodes);
  nodes = [];
  await stopAll();
});

function sessionApp(events: string[]) {
  return (node: ClusterNode) => {
    const store = node.store(session);
    for (const e of ['disconnect', 'connect']) store.on(e, () => events.push(e));
    for (const m of ['set', 'touch', 'destroy'] as const) {
      const orig = store[m].bind(store) as (...a: unknown[]) => unknown;
      (store as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
        events.push(m);
        return orig(...args);
      };
    }
    const app = express();
    app.use(node.cookieAdapter({ secret: SECRET }));
    app.use(session({ store, genid: node.genid, name: 'JSESSIONID', secret: SECRET, resave: false, saveUninitialized: false }));
    const info = (req: express.Request) => ({ node: node.jvmRoute, sessionId: req.sessionID, user: (req.session as any).user ?? null, sessionPresent: req.session !== undefined });
    app.get('/login', (req, res, next) =>
      req.session.regenerate((err) => {
        if (err) return next(err);
        (req.session as any).user = String(req.query.user);
        res.json(info(req));
      }),
    );
    app.get('/whoami', (req, res) => res.json(info(req)));
    app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
    return app;
  };
}

it('express-session: unsigned .route cookie, touch vs set, regenerate deletes cluster-wide, fail-over, no disconnect', async () => {
  const [ca, cb, httpB, debugB] = await freePorts(4);
  const events: string[] = [];
  const a = await startOne('A', ca!, [cb!], {}, sessionApp(events));
  nodes.push(a);
  const b = await start({
    route: 'B', port: httpB!, clusterPort: cb!, debugPort: debugB!, script: 'examples/express-session-backend.ts',
    env: { ...FAST, JVM_ROUTE: 'B', PORT: String(httpB), CLUSTER_PORT: String(cb), DEBUG_PORT: String(debugB), CLUSTER_MEMBERS: `127.0.0.1:${ca}`, SESSION_SECRET: SECRET },
  });
  await waitUntil(() => a.node.members().length === 1, 3000, 'A to see B');

  // Login: a new session; the cookie is the bare routable id, never s%3A<id>.<signature>.
  const login = await get(a.port, '/login?user=alice');
  const id = login.sessionCookie!;
  expect(id).toMatch(/^[0-9A-F]{32}\.A$/);
  expect(login.setCookies).toEqual([`JSESSIONID=${id}; Path=/; HttpOnly`]);
  await waitUntil(async () => (await inspect(b, id))?.attributes?.user === 'alice', 2000, 'rep(B)');
  expect((await inspect(b, id)).attributes.cookie).toMatchObject({ path: '/', httpOnly: true });

  // An unmodified request: express-session calls touch, replicated as an access (no delta).
  events.length = 0;
  const sent = { ...a.node.stats().sent };
  const who = await get(a.port, '/whoami', id);
  expect(who.json).toMatchObject({ user: 'alice', sessionId: id });
  expect(who.setCookies).toEqual([]);
  expect(events).toEqual(['touch']);
  expect(a.node.stats().sent.access).toBe((sent.access ?? 0) + 1);
  expect(a.node.stats().sent.delta).toBe(sent.delta);

  // regenerate (login again): the old id is deleted cluster-wide at once; the new id has our route.
  events.length = 0;
  const relogin = await get(a.port, '/login?user=bob', id);
  const id2 = relogin.sessionCookie!;
  expect(id2).toMatch(/\.A$/);
  expect(id2).not.toBe(id);
  expect(events).toEqual(['destroy', 'set']);
  await waitUntil(async () => (await inspect(b, id)) === null, 2000, 'old id gone on B');
  await waitUntil(async () => (await inspect(b, id2))?.attributes?.user === 'bob', 2000, 'new id on B');

  // Fail-over to B with A's cookie: the adapter's binder renames to .B; the data is there.
  const onB = await get(b.port, '/whoami', id2);
  expect(onB.json).toMatchObject({ node: 'B', user: 'bob', originalSessionId: id2 });
  expect(onB.sessionCookie).toBe(`${id2.split('.')[0]}.B`);
  expect(onB.setCookies).toEqual([`JSESSIONID=${onB.sessionCookie}; Path=/; HttpOnly`]);
  await waitUntil(() => a.node.inspect(onB.sessionCookie!), 2000, 'rename on A');
  // The example's login takes one plain ?user= only (two of them are an array in req.query).
  expect((await get(b.port, '/login?user=x&user=y')).json).toMatchObject({ node: 'B', user: 'anonymous' });
  expect((await get(b.port, '/login?user=carol')).json).toMatchObject({ node: 'B', user: 'carol' });

  // B dies: A's store does not emit 'disconnect' and sessions keep working.
  b.proc.signal('SIGKILL');
  await waitUntil(() => a.node.members().length === 0, 5000, 'A to drop B');
  const after = await get(a.port, '/whoami', onB.sessionCookie);
  expect(after.json).toMatchObject({ sessionPresent: true, user: 'bob', sessionId: `${id2.split('.')[0]}.A` });
  expect(events.filter((e) => e === 'disconnect' || e === 'connect')).toEqual([]);

  // Logout: destroy.
  const out = await get(a.port, '/logout', after.json.sessionId);
  expect(out.json).toEqual({ ok: true });
  expect(a.node.inspect(after.json.sessionId)).toBeUndefined();
}, 120_000);

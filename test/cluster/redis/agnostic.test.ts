/**
 * "An application switches by configuration only": the manager-agnostic behaviour of the e2e
 * suites (replication.test.ts, binder.test.ts, express-session.test.ts, store-and-wrap.test.ts),
 * asserted over HTTP only — what a client and the application see — and run unchanged against
 * DeltaManager, BackupManager and the Redis store. Only the node options differ per run.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../../src/cluster/index.js';
import { redisInstalled, startRedis, stopAllRedis, type RedisServer } from '../../helpers/redis.js';
import { get } from '../helpers/http.js';
import { startInproc, stopInproc, type AppFactory, type InprocNode } from '../helpers/inproc.js';
import { redisTestApp, startRedisNodes } from './helpers.js';

let redis: RedisServer | undefined;
let nodes: InprocNode[] = [];

const CONFIGS: Array<{ name: string; start: (app?: AppFactory) => Promise<InprocNode[]> }> = [
  { name: 'DeltaManager', start: (app) => startInproc([{ route: 'A' }, { route: 'B' }], { sendOptions: 'sync', filter: '.*\\.css' }, app ?? redisTestApp) },
  { name: 'BackupManager', start: (app) => startInproc([{ route: 'A' }, { route: 'B' }], { manager: 'backup', filter: '.*\\.css' }, app ?? redisTestApp) },
  { name: 'store: redis', start: (app) => startRedisNodes(['A', 'B'], { type: 'redis', url: redis!.url }, { filter: '.*\\.css' }, app) },
];

const hex = (id: string) => id.split('.')[0]!;

beforeAll(async () => {
  if (redisInstalled()) redis = await startRedis();
});
afterEach(async () => {
  await stopInproc(nodes);
  nodes = [];
});
afterAll(stopAllRedis);

for (const config of CONFIGS) {
  describe.skipIf(config.name === 'store: redis' && !redisInstalled())(`the same application on ${config.name}`, () => {
    async function two(app?: AppFactory): Promise<[InprocNode, InprocNode]> {
      nodes = await config.start(app);
      return nodes as [InprocNode, InprocNode];
    }

    it('a session: JSESSIONID=<32 HEX>.<route>, attributes, in-place mutation, removal', async () => {
      const [a] = await two();
      const r = await get(a.port, '/set?name=list&value=["x"]');
      expect(r.sessionCookie).toMatch(/^[0-9A-F]{32}\.A$/);
      expect(r.setCookies).toEqual([`JSESSIONID=${r.sessionCookie}; Path=/; HttpOnly`]);
      const id = r.sessionCookie!;
      await get(a.port, '/push?name=list&value="y"', id);
      await get(a.port, '/set?name=k&value=1', id);
      expect((await get(a.port, '/get', id)).json).toMatchObject({ sessionId: id, attributes: { list: ['x', 'y'], k: 1 } });
      await get(a.port, '/set?name=k', id);
      expect((await get(a.port, '/get', id)).json.attributes).toEqual({ list: ['x', 'y'] });
      expect((await get(a.port, '/get')).json.sessionId).toBeNull(); // reading never creates one
    });

    it('concurrency rule: the same attribute ends with the request that completed last; different attributes both survive', async () => {
      const [a] = await two();
      const id = (await get(a.port, '/set?name=k&value=0')).sessionCookie!;
      const done: string[] = [];
      await Promise.all([
        get(a.port, '/slow?name=k&value=1&ms=150', id).then(() => done.push('k=1')),
        get(a.port, '/slow?name=k&value=2&ms=10', id).then(() => done.push('k=2')),
      ]);
      expect(done).toEqual(['k=2', 'k=1']);
      await Promise.all([get(a.port, '/slow?name=x&value=1&ms=80', id), get(a.port, '/slow?name=y&value=2&ms=10', id)]);
      expect((await get(a.port, '/get', id)).json.attributes).toEqual({ k: 1, x: 1, y: 2 });
    });

    it('fail-over: the other node serves the session, renamed to its route, cookie reissued, original id exposed', async () => {
      const [a, b] = await two();
      const id = (await get(a.port, '/set?name=k&value="v"')).sessionCookie!;
      const r = await get(b.port, '/get', id);
      const renamed = `${hex(id)}.B`;
      expect(r.json).toMatchObject({ node: 'B', sessionId: renamed, originalSessionId: id, attributes: { k: 'v' } });
      expect(r.setCookies).toEqual([`JSESSIONID=${renamed}; Path=/; HttpOnly`]);
      // Still carrying the old id: rewritten, cookie set again, no second rename.
      const again = await get(b.port, '/get', id);
      expect(again.json).toMatchObject({ sessionId: renamed, originalSessionId: id });
      expect(again.sessionCookie).toBe(renamed);
      expect(b.node.stats().counters.sessionIdChanges).toBe(1);
      // The id in the URL works too, and gets the cookie.
      const url = await get(a.port, `/get;jsessionid=${renamed}`);
      expect(url.json).toMatchObject({ sessionId: `${hex(id)}.A`, attributes: { k: 'v' } });
      expect(url.sessionCookie).toBe(`${hex(id)}.A`);
      // An unknown id with a foreign route: a new session with our route.
      const stranger = await get(b.port, '/set?name=k&value=1', `${'AB'.repeat(16)}.A`);
      expect(stranger.sessionCookie).toMatch(/^[0-9A-F]{32}\.B$/);
      expect(hex(stranger.sessionCookie!)).not.toBe('AB'.repeat(16));
    });

    it('invalidate ends the session everywhere; changeSessionId keeps the attributes under a new id', async () => {
      const [a, b] = await two();
      const id = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
      const rotated = await get(a.port, '/rotate', id);
      const newId = rotated.json.sessionId as string;
      expect(rotated.json.returned).toBe(newId);
      expect(rotated.sessionCookie).toBe(newId);
      expect(hex(newId)).not.toBe(hex(id));
      expect((await get(a.port, '/get', newId)).json.attributes).toEqual({ k: 1 });
      expect((await get(a.port, '/get', id)).json.sessionId).toBeNull();
      await get(a.port, '/invalidate', newId);
      for (const n of [a, b]) expect((await get(n.port, '/get', newId)).json.sessionId).toBeNull();
    });

    it('a filtered request (ReplicationValve filter) writes nothing; its change goes out with the next request', async () => {
      const [a, b] = await two();
      const id = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
      await get(a.port, '/style.css?name=k&value=2', id);
      expect((await get(b.port, '/get', `${hex(id)}.A`)).json.attributes).toEqual({ k: 1 });
      // B took the session over; back on A (the binder renames it to .A again) the pending change went nowhere
      // else: what counts is that the next unfiltered request on the node holding it writes it.
      const onA = `${hex(id)}.A`;
      await get(a.port, '/style.css?name=k&value=3', `${hex(id)}.B`);
      await get(a.port, '/get', onA);
      expect((await get(b.port, '/get', onA)).json.attributes).toEqual({ k: 3 });
    });

    it('node.wrap on plain node:http: req.session and the cookie', async () => {
      nodes = await config.start();
      const a = nodes[0]!;
      const server = http.createServer(a.node.wrap(async (req, res) => {
        req.session.hits = Number(req.session.hits ?? 0) + 1;
        res.end(JSON.stringify({ id: req.session.id, hits: req.session.hits }));
      }));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const port = (server.address() as AddressInfo).port;
        const r1 = await get(port, '/');
        expect(r1.setCookies).toEqual([`JSESSIONID=${r1.json.id}; Path=/; HttpOnly`]);
        expect((await get(port, '/', r1.sessionCookie)).json).toEqual({ id: r1.json.id, hits: 2 });
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });

    it('express-session with node.store(), node.genid and node.cookieAdapter(): login, fail-over, regenerate, logout', async () => {
      const SECRET = 'agnostic-secret';
      const app: AppFactory = (node: ClusterNode) => {
        const e = express();
        e.use(node.cookieAdapter({ secret: SECRET }));
        e.use(session({ store: node.store(session), genid: node.genid, name: 'JSESSIONID', secret: SECRET, resave: false, saveUninitialized: false }));
        e.get('/login', (req, res, next) => req.session.regenerate((err) => {
          if (err) return next(err);
          (req.session as any).user = String(req.query.user);
          res.json({ sessionId: req.sessionID });
        }));
        e.get('/whoami', (req, res) => res.json({ node: node.jvmRoute, sessionId: req.sessionID, user: (req.session as any).user ?? null }));
        e.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.json({ ok: true }))));
        return e;
      };
      const [a, b] = await two(app);
      const login = await get(a.port, '/login?user=alice');
      const id = login.sessionCookie!;
      expect(id).toMatch(/^[0-9A-F]{32}\.A$/);
      expect(login.setCookies).toEqual([`JSESSIONID=${id}; Path=/; HttpOnly`]);
      expect((await get(a.port, '/whoami', id)).json).toMatchObject({ user: 'alice', sessionId: id });
      const onB = await get(b.port, '/whoami', id);
      expect(onB.json).toMatchObject({ node: 'B', user: 'alice', sessionId: `${hex(id)}.B` });
      expect(onB.sessionCookie).toBe(`${hex(id)}.B`);
      const relogin = await get(b.port, '/login?user=bob', onB.sessionCookie);
      expect(relogin.sessionCookie).toMatch(/\.B$/);
      expect(hex(relogin.sessionCookie!)).not.toBe(hex(id));
      expect((await get(b.port, '/whoami', onB.sessionCookie)).json.user).toBeNull();
      expect((await get(b.port, '/logout', relogin.sessionCookie)).json).toEqual({ ok: true });
      expect((await get(b.port, '/whoami', relogin.sessionCookie)).json.user).toBeNull();
    });
  });
}

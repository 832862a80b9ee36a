/**
 * req.session semantics (middleware/http-session.ts) through node.wrap on 127.0.0.1, nodes over
 * the in-memory channel: lazy creation, validation at assignment, reserved names, invalidate and
 * changeSessionId within a request, the ;jsessionid= URL form.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { ClusterNode, ClusterRequest } from '../../../src/cluster/index.js';
import { get } from '../helpers/http.js';
import { MemoryCluster, settle } from '../helpers/memory-cluster.js';

let cluster: MemoryCluster;
let server: http.Server | undefined;
afterEach(async () => {
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  await cluster?.stopAll();
});

async function serve(node: ClusterNode, handler: (req: ClusterRequest, res: http.ServerResponse) => unknown): Promise<number> {
  server = http.createServer(
    node.wrap((req, res) => {
      let body: unknown;
      try {
        body = handler(req, res);
      } catch (err) {
        body = { error: (err as Error).name, message: (err as Error).message };
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(body ?? null));
    }),
  );
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

it('no session until the first attribute is stored; reading does not create one', async () => {
  cluster = new MemoryCluster();
  const a = await cluster.node('A');
  const port = await serve(a, (req) => (req.url === '/read' ? { id: req.session.id, isNew: req.session.isNew, v: req.session.v ?? null } : ((req.session.v = 1), { id: req.session.id })));
  const r = await get(port, '/read');
  expect(r.json).toEqual({ id: '', isNew: true, v: null });
  expect(r.setCookies).toEqual([]);
  expect(a.sessionIds()).toEqual([]);
  const w = await get(port, '/write');
  expect(w.json.id).toMatch(/\.A$/);
  expect(w.sessionCookie).toBe(w.json.id);
});

it('values are checked at assignment: non-JSON throws AttributeNotSerializableError; reserved names are read-only', async () => {
  cluster = new MemoryCluster();
  const a = await cluster.node('A');
  const port = await serve(a, (req) => {
    if (req.url === '/fn') req.session.f = () => 1;
    if (req.url === '/id') (req.session as Record<string, unknown>).id = 'x';
    return { ok: true };
  });
  expect((await get(port, '/fn')).json).toMatchObject({ error: 'AttributeNotSerializableError', message: expect.stringContaining('"f"') });
  expect((await get(port, '/id')).json).toMatchObject({ error: 'TypeError', message: expect.stringContaining('read-only') });
  expect(a.sessionIds()).toEqual([]);
});

it('maxActiveSessions: the assignment that would create a session throws TooManyActiveSessionsError', async () => {
  cluster = new MemoryCluster();
  const a = await cluster.node('A', { maxActiveSessions: 0 });
  const port = await serve(a, (req) => {
    req.session.k = 1;
    return { ok: true };
  });
  const r = await get(port, '/');
  expect(r.json.error).toBe('TooManyActiveSessionsError');
  expect(r.setCookies).toEqual([]);
});

it('maxInactiveInterval is per session and replicates; invalidate then store starts a new session in the same request', async () => {
  cluster = new MemoryCluster();
  const a = await cluster.node('A');
  const b = await cluster.node('B');
  const port = await serve(a, (req) => {
    if (req.url === '/short') {
      req.session.k = 1;
      req.session.maxInactiveInterval = 5;
    }
    if (req.url === '/relogin') {
      const old = req.session.id;
      req.session.invalidate();
      req.session.user = 'new';
      return { old, id: req.session.id };
    }
    return { id: req.session.id };
  });
  const id = (await get(port, '/short')).sessionCookie!;
  await settle();
  expect(b.inspect(id)!.maxInactiveInterval).toBe(5);
  const r = await get(port, '/relogin', id);
  expect(r.json.old).toBe(id);
  expect(r.json.id).not.toBe(id);
  expect(r.sessionCookie).toBe(r.json.id);
  await settle();
  expect(b.inspect(id)).toBeUndefined();
  expect(b.inspect(r.json.id)!.attributes).toEqual({ user: 'new' });
});

it('changeSessionId keeps the attributes under a new id, everywhere, and sets the cookie', async () => {
  cluster = new MemoryCluster();
  const a = await cluster.node('A');
  const b = await cluster.node('B');
  const port = await serve(a, (req) => {
    if (req.url === '/rotate') return { id: req.session.changeSessionId() };
    req.session.k = 'v';
    return { id: req.session.id };
  });
  const id = (await get(port, '/')).sessionCookie!;
  const r = await get(port, '/rotate', id);
  expect(r.json.id).toMatch(/^[0-9A-F]{32}\.A$/);
  expect(r.sessionCookie).toBe(r.json.id);
  await settle();
  expect(b.inspect(id)).toBeUndefined();
  expect(b.inspect(r.json.id)!.attributes).toEqual({ k: 'v' });
});

it(';jsessionid= in the path finds the session and is stripped before the application sees the URL', async () => {
  cluster = new MemoryCluster();
  const a = await cluster.node('A');
  const port = await serve(a, (req) => {
    if (req.url === '/new') req.session.k = 1;
    return { url: req.url, id: req.session.id };
  });
  const id = (await get(port, '/new')).sessionCookie!;
  const r = await get(port, `/page;jsessionid=${id}?q=1`);
  expect(r.json).toEqual({ url: '/page?q=1', id });
  expect(r.setCookies).toEqual([]); // same route: no rename, no cookie (Tomcat)
});

it('prototype names and never-expiring timeouts are refused at the assignment (what peers would refuse), nothing is created', async () => {
  cluster = new MemoryCluster();
  const a = await cluster.node('A');
  const b = await cluster.node('B');
  const port = await serve(a, (req) => {
    const s = req.session as unknown as Record<string, unknown>;
    const errors: string[] = [];
    const attempt = (f: () => void) => {
      try {
        f();
        errors.push('accepted');
      } catch (err) {
        errors.push(`${(err as Error).name}: ${(err as Error).message}`);
      }
    };
    attempt(() => (s['__proto__'] = { admin: true }));
    attempt(() => (s['constructor'] = 1));
    attempt(() => Object.defineProperty(s, 'prototype', { value: 1 }));
    attempt(() => (req.session.maxInactiveInterval = -1));
    attempt(() => (req.session.maxInactiveInterval = 400 * 24 * 3600));
    return { errors, id: req.session.id, admin: ({} as Record<string, unknown>).admin ?? null };
  });
  const r = await get(port, '/');
  expect(r.json.errors).toEqual([
    'TypeError: attribute name "__proto__" is not allowed: it cannot be a session attribute',
    'TypeError: attribute name "constructor" is not allowed: it cannot be a session attribute',
    expect.stringMatching(/^TypeError: /),
    expect.stringMatching(/^RangeError: maxInactiveInterval -1 \(never expires\) is only allowed where/),
    expect.stringMatching(/^RangeError: maxInactiveInterval 34560000 exceeds/),
  ]);
  expect(r.json).toMatchObject({ id: '', admin: null });
  expect(a.sessionIds()).toEqual([]);
  expect(b.sessionIds()).toEqual([]);
});

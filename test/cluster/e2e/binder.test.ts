/**
 * JvmRouteBinderValve edge cases (cluster-semantics §3.2, §6.2 "Binder edge cases") over the real channel on
 * 127.0.0.1: the cookie a client gets, the id the app sees, and what the other nodes end up with.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { get, waitUntil } from '../helpers/http.js';
import { startInproc, stopInproc, type InprocNode } from '../helpers/inproc.js';

let nodes: InprocNode[] = [];
afterEach(async () => {
  await stopInproc(nodes);
  nodes = [];
});

const hex = (id: string) => id.split('.')[0]!;

async function cluster(): Promise<[InprocNode, InprocNode, InprocNode]> {
  nodes = await startInproc([{ route: 'A' }, { route: 'B' }, { route: 'C' }]);
  return nodes as [InprocNode, InprocNode, InprocNode];
}

async function sessionOn(n: InprocNode, peers: InprocNode[]): Promise<string> {
  const id = (await get(n.port, '/set?name=k&value="v"')).sessionCookie!;
  for (const p of peers) await waitUntil(() => p.node.inspect(id), 2000, `replica on ${p.route}`);
  return id;
}

describe('route binder', () => {
  it('foreign route, session held here: renamed to <same hex>.<own route>, replicated, cookie replaced, original id exposed', async () => {
    const [a, b, c] = await cluster();
    const id = await sessionOn(a, [b, c]);
    const r = await get(b.port, '/get', id);
    const renamed = `${hex(id)}.B`;
    expect(r.json).toMatchObject({ node: 'B', sessionId: renamed, originalSessionId: id, attributes: { k: 'v' } });
    expect(r.setCookies).toEqual([`JSESSIONID=${renamed}; Path=/; HttpOnly`]);
    for (const n of [a, c]) await waitUntil(() => n.node.inspect(renamed), 2000, `rename on ${n.route}`);
    expect(a.node.inspect(id)).toBeUndefined();
    expect(b.node.inspect(renamed)!.primary).toBe(true);
    expect(b.node.stats().sent['change-id']).toBe(1);
  });

  it('a route no member has (its node left) with the session present: renamed to the local route', async () => {
    const [a, b, c] = await cluster();
    const id = await sessionOn(c, [a, b]);
    await c.stop(); // graceful: its sessions live on
    const r = await get(a.port, '/get', id);
    expect(r.json.sessionId).toBe(`${hex(id)}.A`);
    expect(r.json.attributes).toEqual({ k: 'v' });
  });

  it('foreign route, session absent: untouched, the app gets a new session with the local route', async () => {
    const [, b] = await cluster();
    const stranger = `${'AB'.repeat(16)}.A`;
    const r = await get(b.port, '/set?name=k&value=1', stranger);
    expect(r.json.originalSessionId).toBeNull();
    expect(r.sessionCookie).toMatch(/^[0-9A-F]{32}\.B$/);
    expect(hex(r.sessionCookie!)).not.toBe('AB'.repeat(16));
    expect(b.node.stats().sent['change-id']).toBeUndefined();
  });

  it('already migrated by a concurrent request: the request id is rewritten and the cookie set, no second rename', async () => {
    const [a, b, c] = await cluster();
    const id = await sessionOn(a, [b, c]);
    await get(b.port, '/get', id); // first request migrates to .B
    const r = await get(b.port, '/get', id); // a request that still carries .A
    expect(r.json).toMatchObject({ sessionId: `${hex(id)}.B`, originalSessionId: id, attributes: { k: 'v' } });
    expect(r.sessionCookie).toBe(`${hex(id)}.B`);
    expect(b.node.stats().sent['change-id']).toBe(1);
  });

  it('id in the URL (;jsessionid=): renamed, and the cookie is set as well; the route sees the plain path', async () => {
    const [a, b, c] = await cluster();
    const id = await sessionOn(a, [b, c]);
    const r = await get(b.port, `/get;jsessionid=${id}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ sessionId: `${hex(id)}.B`, originalSessionId: id });
    expect(r.sessionCookie).toBe(`${hex(id)}.B`);
  });

  it('the cookie wins over the URL id (Tomcat order)', async () => {
    const [a, b] = await cluster();
    const fromCookie = await sessionOn(a, [b]);
    const fromUrl = (await get(a.port, '/set?name=k&value="url"')).sessionCookie!;
    const r = await get(a.port, `/get;jsessionid=${fromUrl}`, fromCookie);
    expect(r.json.sessionId).toBe(fromCookie);
  });

  it('an id without a route is left alone', async () => {
    const [a] = await cluster();
    const r = await get(a.port, '/get', 'ABCDEF0123456789ABCDEF0123456789');
    expect(r.json).toMatchObject({ sessionId: null, originalSessionId: null });
    expect(r.setCookies).toEqual([]);
  });

  it('jvmRouteBinder: false serves the replica under its old id', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B', options: { jvmRouteBinder: false } }]);
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = await sessionOn(a, [b]);
    const r = await get(b.port, '/get', id);
    expect(r.json).toMatchObject({ sessionId: id, originalSessionId: null, attributes: { k: 'v' } });
    expect(r.setCookies).toEqual([]);
  });

  it('non-sticky balancing renames on every hop (the churn the docs warn about)', async () => {
    const [a, b, c] = await cluster();
    let id = await sessionOn(a, [b, c]);
    const hops = 20;
    const routes: string[] = [];
    for (let i = 0; i < hops; i++) {
      const n = nodes[(i + 1) % 3]!; // round robin, ignoring the route
      const r = await get(n.port, '/get', id);
      id = r.sessionCookie ?? id;
      routes.push(id.split('.')[1]!);
    }
    const renames = nodes.reduce((sum, n) => sum + (n.node.stats().sent['change-id'] ?? 0), 0);
    console.log(`non-sticky: ${renames} renames (CHANGE_SESSION_ID) in ${hops} requests`);
    expect(renames).toBe(hops);
    expect(routes.slice(0, 3)).toEqual(['B', 'C', 'A']);
    expect(a.node.inspect(id)?.attributes).toEqual({ k: 'v' });
  });

  it.each(['delta', 'backup'] as const)(
    '%s: a stale request with the old id reaching a third node after another renamed the session takes it over, not a new session',
    async (manager) => {
      nodes = await startInproc([{ route: 'A' }, { route: 'B' }, { route: 'C' }], { manager, sendOptions: 'sync' });
      const [a, b, c] = nodes as [InprocNode, InprocNode, InprocNode];
      const id = (await get(a.port, '/set?name=k&value="v"')).sessionCookie!;
      // A fail-over sends one request of the client to B (renamed to .B) …
      const onB = await get(b.port, '/get', id);
      expect(onB.sessionCookie).toBe(`${hex(id)}.B`);
      await waitUntil(() => c.node.inspect(`${hex(id)}.B`) || c.node.inspect(id) === undefined, 2000, 'the rename to reach C');
      // … and a concurrent one, still carrying the old id, to C: C finds the session under .B.
      const onC = await get(c.port, '/get', id);
      expect(onC.json).toMatchObject({ node: 'C', sessionId: `${hex(id)}.C`, originalSessionId: id, attributes: { k: 'v' } });
      expect(onC.sessionCookie).toBe(`${hex(id)}.C`);
      await waitUntil(() => b.node.inspect(`${hex(id)}.B`) === undefined, 2000, 'the .B id to be gone on B');
      expect(c.node.sessionIds().filter((x) => x.startsWith(hex(id)))).toEqual([`${hex(id)}.C`]);
    },
  );

  it.each(['delta', 'backup'] as const)(
    '%s: a stale request carrying this node\'s own route, after another node took the session over, takes it back',
    async (manager) => {
      nodes = await startInproc([{ route: 'A' }, { route: 'B' }], { manager, sendOptions: 'sync' });
      const [a, b] = nodes as [InprocNode, InprocNode];
      const id = (await get(a.port, '/set?name=k&value="v"')).sessionCookie!;
      // One request of the client fails over to B, which takes the session over as .B …
      expect((await get(b.port, '/get', id)).sessionCookie).toBe(`${hex(id)}.B`);
      await waitUntil(() => a.node.inspect(id) === undefined, 2000, 'the .A id to be gone on A');
      // … and a concurrent one still carries .A to A, which no longer holds .A: it takes it back.
      const back = await get(a.port, '/get', id);
      expect(back.json).toMatchObject({ node: 'A', sessionId: id, originalSessionId: id, attributes: { k: 'v' } });
      expect(back.sessionCookie).toBe(id);
    },
  );
});

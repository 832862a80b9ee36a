/**
 * Replication scenarios of cluster-semantics §6.2 over the real channel on 127.0.0.1 (nodes in this process,
 * each with an Express app): create/delta ordering in a burst, access propagation and the URL
 * filter, in-place mutation, concurrent writes, sync visibility, graceful stop, limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { get, routeCookie, waitUntil } from '../helpers/http.js';
import { startInproc, stopInproc, type InprocNode } from '../helpers/inproc.js';

let nodes: InprocNode[] = [];
afterEach(async () => {
  await stopInproc(nodes);
  nodes = [];
});

async function pool<T>(n: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      const i = next++;
      out[i] = await job(i);
    }
  }));
  return out;
}

describe('replication over 127.0.0.1', () => {
  it('async burst: 500 new sessions, every replica has its first-request attributes (cluster-semantics §4.3: Tomcat lost up to 47 %)', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }], { sendOptions: 'async' });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const ids = await pool(500, 50, async (i) => (await get(a.port, `/set?name=user&value=u${i}`)).sessionCookie!);
    await waitUntil(() => b.node.sessionIds().length === 500, 10_000, '500 replicas on B');
    const missing = ids.filter((id, i) => b.node.inspect(id)?.attributes.user !== `u${i}`);
    expect(missing).toEqual([]);
    expect(b.node.stats().counters.unknownSession).toBe(0);
  });

  it('every session request replicates at least an access; a filtered static path sends nothing', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }], { filter: '.*\\.css' });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
    await waitUntil(() => b.node.inspect(id), 2000, 'replica');
    const before = b.node.inspect(id)!.lastAccessedTime;
    await new Promise((r) => setTimeout(r, 20));
    await get(a.port, '/get', id); // read-only
    await waitUntil(() => b.node.inspect(id)!.lastAccessedTime > before, 2000, 'access to reach B');
    expect(a.node.stats().sent.access).toBe(1);

    const sent = JSON.stringify(a.node.stats().sent);
    await get(a.port, '/style.css?name=k&value=2', id); // filtered, even though it changed k
    await new Promise((r) => setTimeout(r, 100));
    expect(JSON.stringify(a.node.stats().sent)).toBe(sent);
    expect(b.node.inspect(id)!.attributes.k).toBe(1);
    await get(a.port, '/get', id); // the next unfiltered request carries the pending change
    await waitUntil(() => b.node.inspect(id)!.attributes.k === 2, 2000, 'pending delta');
  });

  it('an in-place mutation (push without re-assigning) replicates', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }]);
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=list&value=["first"]')).sessionCookie!;
    await get(a.port, '/push?name=list&value="second"', id);
    await waitUntil(() => (b.node.inspect(id)?.attributes.list as string[] | undefined)?.length === 2, 2000, 'mutation on B');
    expect(b.node.inspect(id)!.attributes.list).toEqual(['first', 'second']);
  });

  it('same attribute from concurrent requests: all copies get the value of the request that completed last', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }, { route: 'C' }]);
    const [a, b, c] = nodes as [InprocNode, InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=k&value=0')).sessionCookie!;
    const done: string[] = [];
    await Promise.all([
      get(a.port, '/slow?name=k&value=1&ms=150', id).then(() => done.push('k=1')),
      get(a.port, '/slow?name=k&value=2&ms=10', id).then(() => done.push('k=2')),
    ]);
    expect(done).toEqual(['k=2', 'k=1']);
    for (const n of [a, b, c]) await waitUntil(() => n.node.inspect(id)?.attributes.k === 1, 2000, `k=1 on ${n.route}`);
  });

  it('different attributes from concurrent requests: every copy has both', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }]);
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=x&value=0')).sessionCookie!;
    await Promise.all([get(a.port, '/slow?name=a&value=1&ms=80', id), get(a.port, '/slow?name=b&value=2&ms=10', id)]);
    for (const n of [a, b]) await waitUntil(() => n.node.inspect(id)?.attributes.a === 1 && n.node.inspect(id)?.attributes.b === 2, 2000, `a and b on ${n.route}`);
  });

  it('sync: the value is on every peer when the response has arrived (0 ms lag)', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }, { route: 'C' }], { sendOptions: 'sync' });
    const [a, b, c] = nodes as [InprocNode, InprocNode, InprocNode];
    let id: string | null = null;
    for (let i = 0; i < 30; i++) {
      const r = await get(a.port, `/set?name=n&value=${i}`, id);
      id ??= r.sessionCookie;
      expect(b.node.inspect(id!)?.attributes.n).toBe(i);
      expect(c.node.inspect(id!)?.attributes.n).toBe(i);
    }
  });

  it('ack: the response also waits for the peers\' acknowledgement', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }], { sendOptions: 'ack' });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=n&value=1')).sessionCookie!;
    // B acknowledged the create before A answered: it has the value already, no waiting.
    expect(b.node.inspect(id)?.attributes.n).toBe(1);
    expect(a.node.stats().counters.replicationFailures).toBe(0);
  });

  it('graceful stop: peers drop the member at once and keep its sessions; expireSessionsOnShutdown deletes them', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }, { route: 'C', options: { expireSessionsOnShutdown: true } }]);
    const [a, b, c] = nodes as [InprocNode, InprocNode, InprocNode];
    const s1 = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
    await waitUntil(() => b.node.inspect(s1) && c.node.inspect(s1), 2000, 'replicas');
    const t0 = Date.now();
    const removed = new Promise((r) => b.node.once('memberRemoved', (_m, reason) => r(reason)));
    await a.stop();
    // 'shutdown': the leave message removed A, not the silence (that would be 'timeout').
    expect(await removed).toBe('shutdown');
    const leaveMs = Date.now() - t0;
    expect(b.node.inspect(s1)).toMatchObject({ attributes: { k: 1 } });
    await c.stop(); // expireSessionsOnShutdown
    await waitUntil(() => b.node.inspect(s1) === undefined, 2000, 'cluster-wide expiry on C\'s shutdown');
    console.log(`graceful leave detected in ${leaveMs} ms`);
  });
});

describe('limits', () => {
  it('maxActiveSessions: creation fails with TooManyActiveSessionsError while replicated sessions still arrive', async () => {
    nodes = await startInproc([{ route: 'A', options: { maxActiveSessions: 2 } }, { route: 'B' }]);
    const [a, b] = nodes as [InprocNode, InprocNode];
    expect((await get(a.port, '/set?name=k&value=1')).status).toBe(200);
    expect((await get(a.port, '/set?name=k&value=2')).status).toBe(200);
    const refused = await get(a.port, '/set?name=k&value=3');
    expect(refused.status).toBe(503);
    expect(refused.json.error).toBe('TooManyActiveSessionsError');
    expect(refused.sessionCookie).toBeNull();
    const fromB = (await get(b.port, '/set?name=k&value=4')).sessionCookie!;
    await waitUntil(() => a.node.inspect(fromB), 2000, 'replica beyond the limit');
    expect(a.node.stats().sessions.active).toBe(3);
    expect(a.node.stats().counters.sessionsRejected).toBe(1);
  });

  it('sessionAttributeNameFilter: other attributes exist only on the primary', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }], { sessionAttributeNameFilter: 'user|cart' });
    const [a, b] = nodes as [InprocNode, InprocNode];
    const id = (await get(a.port, '/set?name=user&value="u"')).sessionCookie!;
    await get(a.port, '/set?name=token&value="secret"', id);
    await get(a.port, '/set?name=cart&value=[1]', id);
    await waitUntil(() => b.node.inspect(id)?.attributes.cart, 2000, 'cart on B');
    expect(b.node.inspect(id)!.attributes).toEqual({ user: 'u', cart: [1] });
    expect(a.node.inspect(id)!.attributes).toEqual({ user: 'u', token: 'secret', cart: [1] });
  });

  it('a request routed here for a session created elsewhere, with a cookie this node never issued, is served locally', async () => {
    nodes = await startInproc([{ route: 'A' }, { route: 'B' }]);
    const [a, b] = nodes as [InprocNode, InprocNode];
    // Unknown id with our own route: no session, a new one is created (the stale id is not reused).
    const r = await get(b.port, '/set?name=k&value=1', routeCookie('B'));
    expect(r.sessionCookie).not.toBe(routeCookie('B'));
    expect(r.sessionCookie).toMatch(/\.B$/);
    await waitUntil(() => a.node.inspect(r.sessionCookie!), 2000, 'replica');
  });
});

/**
 * The Tomcat cluster how-to's 9-step narrative (cluster-semantics §6.1) as one test: three backend processes
 * (examples/express-backend.ts embedding stickyd/cluster, DeltaManager, async, static membership on
 * 127.0.0.1) and stickyd in front routing on the JSESSIONID route suffix. rep(X) is read through each
 * backend's loopback debug port (node.inspect), never through a request that would migrate it.
 */
import { afterAll, expect, it } from 'vitest';
import { stopAll } from '../../helpers/spawn.js';
import { inspect, plan, start, startProxy, stats, type Backend, type Proxy } from '../helpers/backends.js';
import { get, routeCookie, waitUntil } from '../helpers/http.js';

let proxy: Proxy | undefined;
afterAll(async () => {
  await proxy?.close();
  await stopAll();
});

const ID = /^[0-9A-F]{32}\.[A-C]$/;
const hex = (id: string) => id.split('.')[0]!;

it('the 9-step narrative: create, crash, fail-over with rename, restart with state transfer, invalidate, expire', async () => {
  const [pa, pb, pc] = await plan([{ route: 'A' }, { route: 'B' }, { route: 'C' }]);
  const figures: Record<string, number> = {};

  // 1. A starts alone: ready with 0 members, no state requested.
  let a: Backend = await start(pa!);
  let sa = await stats(a);
  expect(sa.members).toEqual([]);
  expect(sa.sent['get-all']).toBeUndefined();
  expect(sa.stateTransfer.state).toBe('none');

  // 2. B starts: A and B see each other; B asked the oldest member (A) for state before serving.
  const b = await start(pb!);
  const sb = await stats(b);
  expect(sb.members.map((m: { route: string }) => m.route)).toEqual(['A']);
  expect(sb.sent['get-all']).toBe(1);
  expect(sb.stateTransfer).toMatchObject({ state: 'done', from: 'A' });
  await waitUntil(async () => (await stats(a)).members.length === 1, 3000, 'A to see B');
  const c = await start(pc!);
  proxy = await startProxy([a, b, c]);

  // 3. A request routed to A creates S1 and sets k=v: cookie <32HEX>.A; Path=/; HttpOnly.
  const r3 = await get(proxy.port, '/set?name=k&value=v', routeCookie('A'));
  expect(r3.status).toBe(200);
  expect(r3.json.node).toBe('A');
  const s1 = r3.sessionCookie!;
  expect(s1).toMatch(ID);
  expect(s1.endsWith('.A')).toBe(true);
  expect(r3.setCookies).toContain(`JSESSIONID=${s1}; Path=/; HttpOnly`);
  for (const peer of [b, c]) {
    await waitUntil(async () => (await inspect(peer, s1))?.attributes?.k === 'v', 2000, `rep(${peer.route}) of S1`);
    expect(await inspect(peer, s1)).toMatchObject({ primary: false, attributes: { k: 'v' } });
  }
  expect(await inspect(a, s1)).toMatchObject({ primary: true });

  // 4. A crashes (kill -9): B removes it once the failure detector's TCP probe fails (the channel
  //    probes at once when the replication connection drops, so this is faster than dropTime) and keeps S1.
  const killedAt = Date.now();
  a.proc.signal('SIGKILL');
  await a.proc.exited;
  await waitUntil(async () => (await stats(b)).members.every((m: { route: string }) => m.route !== 'A'), 6000, 'B to drop A');
  figures.crashDetectionMs = Date.now() - killedAt;
  expect(await inspect(b, s1)).toMatchObject({ attributes: { k: 'v' } });

  // 5. The next request for S1 (cookie …A) reaches a survivor: same data, renamed to <same hex>.<survivor>.
  const r5 = await get(proxy.port, '/get', s1);
  expect(r5.status).toBe(200);
  const taker = r5.json.node as 'B' | 'C';
  expect(['B', 'C']).toContain(taker);
  expect(r5.json.attributes).toEqual({ k: 'v' });
  expect(r5.json.originalSessionId).toBe(s1);
  const s1moved = `${hex(s1)}.${taker}`;
  expect(r5.sessionCookie).toBe(s1moved);
  expect(r5.setCookies.filter((l) => l.startsWith('JSESSIONID='))).toEqual([`JSESSIONID=${s1moved}; Path=/; HttpOnly`]);
  const takerNode = taker === 'B' ? b : c;
  const other = taker === 'B' ? c : b;
  expect(await inspect(takerNode, s1moved)).toMatchObject({ primary: true });
  await waitUntil(async () => (await inspect(other, s1moved)) !== null, 2000, 'the rename to reach the other survivor');
  expect(await inspect(other, s1)).toBeNull();
  // The proxy now routes S1 to the taker.
  for (let i = 0; i < 3; i++) expect((await get(proxy.port, '/get', s1moved)).json.node).toBe(taker);

  // 6. A restarts: a new member identity with the same route; it gets the state before serving.
  a = await start(pa!);
  sa = await stats(a);
  expect(sa.stateTransfer).toMatchObject({ state: 'done', from: 'B' }); // B is now the oldest member
  expect(await inspect(a, s1moved)).toMatchObject({ primary: false, attributes: { k: 'v' } });
  await waitUntil(async () => (await stats(b)).members.some((m: { route: string }) => m.route === 'A'), 3000, 'B to see the new A');
  expect((await stats(b)).channel.membersAdded).toBeGreaterThanOrEqual(3); // A, C, and A again

  // 7. A request on A invalidates S1 (reaching A directly): the delete goes out at once.
  const r7 = await get(a.port, '/invalidate', s1moved);
  expect(r7.json.invalidated).toBe(`${hex(s1)}.A`); // the binder on A took it over first
  for (const peer of [b, c]) await waitUntil(async () => (await stats(peer)).sessions.active === 0, 2000, `S1 gone on ${peer.route}`);
  const r7b = await get(proxy.port, '/?format=json', s1moved); // the old cookie now gets a new session
  expect(r7b.json.attributes).toEqual({ hits: 1 });
  expect(hex(r7b.sessionCookie!)).not.toBe(hex(s1));

  // 8. B creates S2 (same as step 3, roles swapped), with a 2 s timeout.
  const r8 = await get(proxy.port, '/set?name=maxInactiveInterval&value=2', routeCookie('B'));
  expect(r8.json.node).toBe('B');
  const s2 = r8.sessionCookie!;
  expect(s2).toMatch(/\.B$/);
  await waitUntil(async () => (await inspect(a, s2))?.maxInactiveInterval === 2, 2000, 'rep(A) of S2');

  // 9. S2 idles past its timeout: B expires it at 2 s (± the 200 ms sweep) and tells everyone.
  const createdAt = Date.now();
  const expiresHeard = async (peer: Backend): Promise<number> => (await stats(peer)).received.expire ?? 0;
  const heardBefore = [await expiresHeard(a), await expiresHeard(c)];
  await waitUntil(async () => (await inspect(b, s2)) === null, 5000, 'B to expire S2');
  figures.primaryExpiryMs = Date.now() - createdAt;
  expect(figures.primaryExpiryMs).toBeGreaterThan(1500);
  for (const peer of [a, c]) await waitUntil(async () => (await inspect(peer, s2)) === null, 1000, `S2 gone on ${peer.route}`);
  // Gone because B told them (one expire message each), not because their replicas expired by
  // themselves (orphans do, at 2 × the timeout: step 9').
  expect([await expiresHeard(a), await expiresHeard(c)]).toEqual(heardBefore.map((n) => n + 1));

  // 9'. Variant: kill B first — its orphaned S3 expires on A by itself at 2 × timeout, not sooner than 1×.
  const r9 = await get(proxy.port, '/set?name=maxInactiveInterval&value=2', routeCookie('B'));
  const s3 = r9.sessionCookie!;
  await waitUntil(async () => (await inspect(a, s3)) !== null, 2000, 'rep(A) of S3');
  const s3At = Date.now();
  b.proc.signal('SIGKILL');
  await new Promise((r) => setTimeout(r, 2600)); // past 1× timeout
  expect(await inspect(a, s3)).not.toBeNull();
  await waitUntil(async () => (await inspect(a, s3)) === null, 3000, 'the orphaned replica to expire');
  figures.orphanExpiryMs = Date.now() - s3At;
  expect(figures.orphanExpiryMs).toBeGreaterThan(3500);
  console.log(`narrative figures: ${JSON.stringify(figures)}`);
}, 180_000);

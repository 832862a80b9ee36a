/**
 * BackupManager with three backend processes (cluster-semantics §2.8, §4.2, §6.2 "Backup mode"): round-robin
 * backups, proxies without values, promotion on kill -9 before any request, fetch on a proxy node,
 * keys-only state transfer on restart, and loss when primary and backup die together.
 */
import { afterAll, expect, it } from 'vitest';
import { stopAll } from '../../helpers/spawn.js';
import { inspect, plan, start, stats, type Backend } from '../helpers/backends.js';
import { get, waitUntil } from '../helpers/http.js';

afterAll(stopAll);

it('backup mode, 3 nodes: B,C,B,C; promote on kill -9; fetch on a proxy; restart gets keys only; both copies lost → new session', async () => {
  const env = { MANAGER: 'backup' };
  const planned = await plan([{ route: 'A', env }, { route: 'B', env }, { route: 'C', env }]);
  const [pa] = planned;
  let a: Backend = await start(pa!);
  const b = await start(planned[1]!);
  const c = await start(planned[2]!);
  await waitUntil(async () => (await stats(a)).members.length === 2, 3000, 'A to see B and C');

  // Four sessions on A: backups round robin over A's members, oldest first.
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await get(a.port, `/set?name=i&value=${i}`)).sessionCookie!);
  const locs = await Promise.all(ids.map((id) => inspect(a, id)));
  expect(locs.map((l) => l.backupRoute)).toEqual(['B', 'C', 'B', 'C']);
  expect(await inspect(b, ids[0]!)).toMatchObject({ role: 'backup', attributes: { i: 0 } });
  expect(await inspect(c, ids[0]!)).toMatchObject({ role: 'proxy', attributes: {} }); // key and location only
  expect((await stats(b)).sessions).toMatchObject({ active: 2, proxy: 2 });

  // A request on a proxy node (C for ids[0]) fetches the value from the backup and takes over.
  const r = await get(c.port, '/get', ids[0]);
  expect(r.json).toMatchObject({ node: 'C', attributes: { i: 0 }, originalSessionId: ids[0] });
  const moved = r.sessionCookie!;
  expect(moved).toMatch(/\.C$/);
  expect(await inspect(c, moved)).toMatchObject({ role: 'primary', attributes: { i: 0 } });
  expect((await stats(c)).counters.sessionsFetched).toBe(1);
  await waitUntil(async () => (await inspect(a, ids[0]!)) === null, 2000, 'the old id to be removed on A');
  expect((await inspect(a, moved))?.role).not.toBe('primary');

  // kill -9 A: each backup promotes itself before any request, with a new backup.
  a.proc.signal('SIGKILL');
  await a.proc.exited;
  await waitUntil(async () => (await inspect(b, ids[2]!))?.role === 'primary', 5000, 'B to promote ids[2]');
  await waitUntil(async () => (await inspect(c, ids[3]!))?.role === 'primary', 5000, 'C to promote ids[3]');
  expect(await inspect(b, ids[2]!)).toMatchObject({ attributes: { i: 2 }, backupRoute: 'C' });
  await waitUntil(async () => (await inspect(c, ids[2]!))?.role === 'backup', 2000, 'C to be the new backup of ids[2]');
  expect((await stats(b)).counters.sessionsPromoted).toBeGreaterThanOrEqual(1);

  // A restarts: it gets keys and locations only.
  a = await start(pa!);
  const sa = await stats(a);
  expect(sa.stateTransfer.state).toBe('done');
  expect(sa.sessions.active).toBe(0);
  expect(await inspect(a, ids[2]!)).toMatchObject({ role: 'proxy', primaryRoute: 'B', backupRoute: 'C' });

  // Primary and backup of one session killed together: the session is lost; the client gets a new one.
  const s5 = (await get(b.port, '/set?name=k&value=5')).sessionCookie!;
  const backupRoute = (await inspect(b, s5)).backupRoute as string;
  const backupNode = backupRoute === 'C' ? c : a;
  const survivor = backupRoute === 'C' ? a : c;
  await waitUntil(async () => (await inspect(backupNode, s5))?.role === 'backup', 2000, 'the backup copy');
  b.proc.signal('SIGKILL');
  backupNode.proc.signal('SIGKILL');
  await Promise.all([b.proc.exited, backupNode.proc.exited]);
  const lost = await get(survivor.port, '/get', s5);
  expect(lost.status).toBe(200);
  expect(lost.json.attributes).toEqual({});
  expect(lost.json.sessionId).toBeNull();
  await waitUntil(async () => (await inspect(survivor, s5)) === null, 3000, 'the survivor to forget s5');
}, 180_000);

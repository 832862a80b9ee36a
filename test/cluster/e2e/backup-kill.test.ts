/**
 * Issue 8 item 4 as it was found: BackupManager, three backend processes under load, kill -9 of one.
 * No surviving node may exit, and no session may be lost: every one of the 60 sessions is still
 * there afterwards, on a survivor, with its data. Bounded: 60 sessions, ~2 s of load.
 *
 * Each session is one user: its requests go one at a time; many users at once. Right after the
 * kill, the dead node's sessions are requested on both survivors (as a balancer does when it fails
 * a route over by lbmethod, request by request), so promotions, fetches, renames and publishes of
 * the survivors interleave. The race that crashed a survivor is also reproduced
 * deterministically in unit/never-fatal.test.ts; this is the end-to-end check under real timing.
 */
import { afterAll, expect, it } from 'vitest';
import { stopAll } from '../../helpers/spawn.js';
import { inspect, plan, start, stats, type Backend } from '../helpers/backends.js';
import { get, waitUntil, type Reply } from '../helpers/http.js';

afterAll(stopAll);

const SESSIONS = 60;
const LOAD_MS = 2000;
const KILL_AT_MS = 500;
const WORKERS = 8;

it('backup mode, 3 nodes under load, kill -9 of one: no survivor exits, no session is lost', async () => {
  const env = { MANAGER: 'backup' };
  const planned = await plan([{ route: 'A', env }, { route: 'B', env }, { route: 'C', env }]);
  const nodes: Backend[] = [];
  for (const p of planned) nodes.push(await start(p));
  await waitUntil(async () => (await Promise.all(nodes.map(stats))).every((s) => s.members.length === 2), 5000, 'full membership');
  const [a, b, c] = nodes as [Backend, Backend, Backend];
  const dead = new Set<Backend>();
  const byRoute = new Map(nodes.map((n) => [n.route, n]));

  // 60 sessions, 20 created on each node; each remembers its current cookie and its write count.
  /** `history`: every request of the session (when, where, cookie sent and received), printed if it is lost. */
  type UserSession = { cookie: string; writes: number; acked: number; created: number; history: string[]; queue: Promise<unknown> };
  const sessions: UserSession[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const node = nodes[i % 3]!;
    const r = await get(node.port, `/set?name=created&value=${i}`);
    sessions.push({ cookie: r.sessionCookie!, writes: 0, acked: 0, created: i, history: [], queue: Promise.resolve() });
  }

  /** One user's next request, after its previous one (a user clicks, waits, clicks). */
  function send(s: UserSession, path: string, via?: Backend): Promise<Reply> {
    const run = s.queue.then(() => sendNow(s, path, via));
    s.queue = run.catch(() => undefined);
    return run;
  }

  /** Like a sticky proxy: the node the id's route names (or `via`), another live node once that one is dead. */
  async function sendNow(s: UserSession, path: string, via?: Backend): Promise<Reply> {
    const route = s.cookie.split('.')[1]!;
    const first = via ?? byRoute.get(route)!;
    const order = [first, ...nodes.filter((n) => n !== first)].filter((n) => !dead.has(n));
    let lastErr: unknown;
    for (const n of order) {
      try {
        const sent = s.cookie;
        const r = await get(n.port, path, s.cookie);
        if (r.sessionCookie) s.cookie = r.sessionCookie; // renamed by the route binder after a fail-over
        s.history.push(`${Date.now()} ${n.route} ${path} ${sent} -> ${r.sessionCookie} ${r.status} ${JSON.stringify(r.json?.attributes)}`);
        return r;
      } catch (err) {
        lastErr = err; // connection refused/reset: that node is gone, try the next
      }
    }
    throw lastErr;
  }

  // Load: WORKERS loops writing to random sessions; C is killed with -9 in the middle of it.
  const t0 = Date.now();
  let errors = 0;
  const load = Array.from({ length: WORKERS }, async (_, w) => {
    let n = w;
    while (Date.now() - t0 < LOAD_MS) {
      const s = sessions[(n = (n * 7 + 13) % SESSIONS)]!;
      try {
        const value = ++s.writes;
        const r = await send(s, `/set?name=w&value=${value}`);
        if (r.status !== 200) errors++;
        else if (r.json?.attributes?.w === value) s.acked = Math.max(s.acked, value);
      } catch {
        errors++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, KILL_AT_MS));
  c.proc.signal('SIGKILL');
  dead.add(c);
  // At once, the killed node's users arrive on both survivors, while these are still promoting and
  // re-publishing the sessions (renames, fetches and publishes interleave).
  const orphans = sessions.filter((s) => s.cookie.endsWith('.C'));
  const burst = orphans.map((s, i) => send(s, '/get', i % 2 ? a : b).catch(() => errors++));
  await Promise.all([...load, ...burst]);
  await c.proc.exited;

  // The survivors are alive and see each other only.
  await waitUntil(async () => (await Promise.all([a, b].map(stats))).every((s) => s.members.length === 1), 5000, 'C to be removed');
  expect(a.proc.child.exitCode).toBeNull();
  expect(b.proc.child.exitCode).toBeNull();

  // Every session is still there, with its data.
  const lost: number[] = [];
  const behind: string[] = [];
  for (const s of sessions) {
    const r = await send(s, '/get');
    if (r.json?.attributes?.created !== s.created) {
      lost.push(s.created);
      // What each survivor holds under this hex, to tell a lost session from a lost cookie.
      const hex = s.cookie.split('.')[0];
      const held: Record<string, unknown> = {};
      for (const n of [a, b]) for (const rt of ['A', 'B', 'C']) held[`${n.route}:${hex}.${rt}`] = await inspect(n, `${hex}.${rt}`);
      console.log(`session ${s.created} lost: ${JSON.stringify({ cookie: s.cookie, got: r.json, held })}`);
      console.log(`its requests:\n${s.history.join('\n')}`);
    }
    else if (s.acked > 0 && r.json.attributes.w !== s.acked) behind.push(`${s.created}: ${r.json.attributes.w} < ${s.acked}`);
  }
  expect(lost).toEqual([]);
  console.log(`acknowledged writes missing afterwards: ${behind.length ? behind.join(', ') : 'none'}`);
  for (const n of [a, b]) {
    expect(n.proc.output()).not.toMatch(/TypeError|unhandled|Unhandled/);
    expect((await stats(n)).counters.internalErrors).toBe(0);
  }
  expect(a.proc.child.exitCode).toBeNull();
  expect(b.proc.child.exitCode).toBeNull();
  console.log(`backup kill -9 under load: ${sessions.reduce((t, s) => t + s.writes, 0)} writes, ${errors} failed requests`);
}, 180_000);

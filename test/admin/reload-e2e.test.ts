// End to end, the daemon as a real process: runtime changes made through the admin API survive a
// SIGHUP reload for members that still exist, and the admin listener follows the file's settings.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/ports.js';
import { spawnStickyd, stopAll } from '../helpers/spawn.js';
import { cleanup, json, request, sessionHandler, startBackend } from './fixtures.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-admin-reload-'));
afterEach(async () => {
  await stopAll();
  await cleanup();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type MemberDoc = { url: string; route: string; status: string; loadfactor: number; lbset: number };

const FIRST = 'first-token-0123456789';
const SECOND = 'second-token-0123456789';

// With two worker threads: the admin listener and the reload run on the main thread, the requests
// on either worker, over one shared balancer state.
describe('SIGHUP reload with runtime changes', () => {
  it('keeps runtime changes of surviving members, takes the rest from the file, and applies the new admin token', { timeout: 90_000 }, async () => {
    const a = await startBackend('a', sessionHandler('a'));
    const b = await startBackend('b', sessionHandler('b'));
    const c = await startBackend('c', sessionHandler('c'));
    const [port, adminPort] = await freePorts(2);
    const file = path.join(dir, 'stickyd.yaml');
    const write = (token: string, members: string) =>
      writeFileSync(file, `listen: [{ address: 127.0.0.1, port: ${port} }]
server: { workers: 2 }
admin: { address: 127.0.0.1, port: ${adminPort}, token: ${token} }
balancers:
  c1:
    stickysession: JSESSIONID
    members:
${members}
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    write(FIRST, `      - { url: ${a.url}, route: a }\n      - { url: ${b.url}, route: b }`);
    const daemon = spawnStickyd(['-c', file]);
    // Worker threads load src/ through tsx: on a loaded machine that takes a while.
    await daemon.waitFor(/admin listener on http:\/\/127\.0\.0\.1:\d+/, 60_000);
    const api = `http://127.0.0.1:${adminPort}/api/balancers/c1`;

    // A session on a, then a is drained and b's loadfactor changed at runtime.
    const first = await request(`http://127.0.0.1:${port}/login`);
    expect(json(first)).toMatchObject({ backend: 'a' });
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect((await request(`${api}/members/a`, { method: 'PATCH', json: { status: '+N' }, token: FIRST })).status).toBe(200);
    expect((await request(`${api}/members/b`, { method: 'PATCH', json: { loadfactor: 3 }, token: FIRST })).status).toBe(200);

    // The file changes b's loadfactor (overridden at runtime, so it stays 3), adds a member c and
    // a new token.
    write(SECOND, `      - { url: ${a.url}, route: a }\n      - { url: ${b.url}, route: b, loadfactor: 2 }\n      - { url: ${c.url}, route: c }`);
    daemon.signal('SIGHUP');
    await daemon.waitFor(/"msg":"reloaded /);

    expect((await request(api, { token: FIRST })).status).toBe(401);
    const doc = json<{ members: MemberDoc[] }>(await request(api, { token: SECOND }));
    expect(doc.members.map((m) => [m.route, m.status, m.loadfactor])).toEqual([
      ['a', 'Init Drn Ok ', 1],
      ['b', 'Init Ok ', 3],
      ['c', 'Init Ok ', 1],
    ]);

    // Through the proxy: the drained member keeps its session, new sessions go elsewhere.
    expect(json(await request(`http://127.0.0.1:${port}/cart`, { headers: { Cookie: cookie } }))).toMatchObject({ backend: 'a' });
    const fresh = new Set<string>();
    for (let i = 0; i < 8; i++) fresh.add(json<{ backend: string }>(await request(`http://127.0.0.1:${port}/new`)).backend);
    expect([...fresh].sort()).toEqual(['b', 'c']);

    expect(await daemon.stop()).toBe(0);
  });
});

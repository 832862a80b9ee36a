/**
 * Issue 8 item 3, as a user meets it, over the real channel on 127.0.0.1: an express-session app
 * stores a parsed form (`req.session.form = JSON.parse(body)`) whose JSON has a `__proto__` key.
 * The value must replicate byte-faithfully (delta and backup managers), fail over with it, and a
 * joiner must receive all 51 sessions of a state transfer that includes it. One session a peer
 * really refuses (a forbidden attribute name) costs only itself, and the transfer says 'partial'.
 */
import http from 'node:http';
import express from 'express';
import session from 'express-session';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterNode } from '../../../src/cluster/index.js';
import type { ClusterSession } from '../../../src/cluster/session/session.js';
import { freePorts } from '../../helpers/ports.js';
import { get, waitUntil } from '../helpers/http.js';
import { startOne, stopInproc, type InprocNode } from '../helpers/inproc.js';

const SECRET = 'form-secret';
const FORM = '{"__proto__":{"isAdmin":true},"name":"alice","address":{"constructor":{"prototype":{"city":"x"}}}}';

let nodes: InprocNode[] = [];
afterEach(async () => {
  await stopInproc(nodes);
  nodes = [];
});

/** The app: express-session with the cluster store; POST /form stores the parsed body. */
function formApp(node: ClusterNode) {
  const app = express();
  app.use(node.cookieAdapter({ secret: SECRET }));
  app.use(session({ store: node.store(session), genid: node.genid, name: 'JSESSIONID', secret: SECRET, resave: false, saveUninitialized: false }));
  app.post('/form', express.text({ type: '*/*' }), (req, res) => {
    (req.session as unknown as Record<string, unknown>).form = JSON.parse(req.body as string);
    res.json({ node: node.jvmRoute, id: req.sessionID });
  });
  app.get('/form', (req, res) => {
    res.type('application/json').send(JSON.stringify((req.session as unknown as Record<string, unknown>).form ?? null));
  });
  return app;
}

function post(port: number, path: string, body: string): Promise<{ status: number; body: string; cookie: string | null }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        const line = (res.headers['set-cookie'] ?? []).find((l) => l.startsWith('JSESSIONID='));
        resolve({ status: res.statusCode ?? 0, body: text, cookie: line ? line.slice('JSESSIONID='.length).split(';')[0]! : null });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(['delta', 'backup'] as const)('express-session app, %s manager, sync', (manager) => {
  it('a form with __proto__ keys replicates byte-faithfully, as own properties, and fails over with it', async () => {
    const [pa, pb] = await freePorts(2);
    const options = { manager, sendOptions: 'sync' as const };
    const a = await startOne('A', pa!, [pb!], options, formApp);
    nodes.push(a);
    const b = await startOne('B', pb!, [pa!], options, formApp);
    nodes.push(b);
    await waitUntil(() => a.node.members().length === 1 && b.node.members().length === 1, 3000, 'A and B to see each other');

    const r = await post(a.port, '/form', FORM);
    expect(r.status).toBe(200);
    const id = r.cookie!;
    // sync: B has it when the response is complete.
    const form = b.node.inspect(id)?.attributes.form as Record<string, unknown> | undefined;
    expect(JSON.stringify(form)).toBe(FORM);
    expect(Object.keys(form!)).toEqual(['__proto__', 'name', 'address']);
    expect(Object.getPrototypeOf(form)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(a.node.stats().counters.replicationFailures).toBe(0);
    expect(b.node.stats().counters.messagesDropped).toBe(0);

    // Fail-over: B serves the session with the same bytes.
    const onB = await get(b.port, '/form', id);
    expect(onB.body).toBe(FORM);
  });
});

describe('state transfer over the real channel (delta)', () => {
  it('51 sessions, one with __proto__ in its value: the joiner gets 51 of 51 and reports done', async () => {
    const [pa, pb] = await freePorts(2);
    const a = await startOne('A', pa!, [pb!], {}, formApp);
    nodes.push(a);
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push((await post(a.port, '/form', JSON.stringify({ i }))).cookie!);
    const special = (await post(a.port, '/form', FORM)).cookie!;
    const b = await startOne('B', pb!, [pa!], {}, formApp);
    nodes.push(b);
    expect(b.node.stats().stateTransfer).toMatchObject({ state: 'done', from: 'A', sessions: 51, refused: 0 });
    expect(JSON.stringify(b.node.inspect(special)!.attributes.form)).toBe(FORM);
    expect(b.node.sessionIds().sort()).toEqual([...ids, special].sort());
  });

  it('a session the joiner must refuse costs only itself: 50 of 51, state partial, counted on both sides', async () => {
    const [pa, pb] = await freePorts(2);
    const a = await startOne('A', pa!, [pb!], {}, formApp);
    nodes.push(a);
    const ids: string[] = [];
    for (let i = 0; i < 51; i++) ids.push((await post(a.port, '/form', i === 25 ? FORM : JSON.stringify({ i }))).cookie!);
    // A forbidden attribute name can only come from a faulty or hostile node: write it in directly.
    const sessions = (a.node as unknown as { manager: { sessions: Map<string, ClusterSession> } }).manager.sessions;
    sessions.get(ids[10]!)!.attributes.set('constructor', '{"prototype":{"polluted":true}}');
    const b = await startOne('B', pb!, [pa!], {}, formApp);
    nodes.push(b);
    expect(b.node.stats().stateTransfer).toMatchObject({ state: 'partial', from: 'A', sessions: 50, refused: 1 });
    expect(b.node.stats().counters.sessionsRefused).toBe(1);
    expect(b.node.inspect(ids[10]!)).toBeUndefined();
    expect(JSON.stringify(b.node.inspect(ids[25]!)!.attributes.form)).toBe(FORM);
    expect(b.node.sessionIds()).toHaveLength(50);
    await waitUntil(() => a.node.stats().counters.refusedByPeers === 1, 2000, 'A to be told');
  });
});

describe('peer values over the real channel (item 7)', () => {
  it('replicas do not count towards maxActiveSessions; a never-expiring timeout from a peer is refused and the sync request told', async () => {
    const [pa, pb] = await freePorts(2);
    const a = await startOne('A', pa!, [pb!], { sendOptions: 'sync' });
    nodes.push(a);
    const b = await startOne('B', pb!, [pa!], { sendOptions: 'sync', maxActiveSessions: 2 });
    nodes.push(b);
    await waitUntil(() => a.node.members().length === 1, 3000, 'A to see B');
    for (let i = 0; i < 10; i++) expect((await get(a.port, `/set?name=i&value=${i}`)).status).toBe(200);
    expect(b.node.stats().sessions).toMatchObject({ active: 10, primary: 0 });
    // B's own users still get sessions, up to its limit.
    expect((await get(b.port, '/set?name=mine&value=1')).status).toBe(200);
    expect((await get(b.port, '/set?name=mine&value=2')).status).toBe(200);
    expect((await get(b.port, '/set?name=mine&value=3')).json).toEqual({ error: 'TooManyActiveSessionsError' });

    // A faulty node makes a session immortal (the request API refuses that): B refuses the change,
    // counts it, and A's sync request learns it was refused.
    const id = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
    const manager = (a.node as unknown as { manager: { commit: (...x: unknown[]) => Promise<{ ok: boolean; error?: { refused: boolean; message: string } }>; findSession(id: string): Promise<ClusterSession> } }).manager;
    const outcome = await manager.commit(await manager.findSession(id), { attributes: { set: [], remove: [] }, maxInactiveInterval: -1 }, true);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatchObject({ refused: true, message: expect.stringContaining('maxInactiveInterval -1') });
    expect(b.node.inspect(id)!.maxInactiveInterval).toBe(1800);
    expect(b.node.stats().counters.messagesDropped).toBe(1);
    expect(a.node.stats().counters.refusedByPeers).toBe(1);
  });
});

/**
 * A frozen member (SIGSTOP, a GC pause): its heartbeats stop, but its listening socket still
 * completes TCP handshakes, so the failure detector keeps it (cluster-semantics §1.2, §4.5). Documented
 * behaviour of the library: the member is NOT removed; 'sync' requests wait `syncTimeout`, then are
 * answered normally (default, Tomcat) or with 503 (`onReplicationFailure: 'error'`); after SIGCONT
 * the member catches up from its TCP buffers with no state transfer.
 */
import { afterEach, expect, it } from 'vitest';
import { freePorts } from '../../helpers/ports.js';
import { stopAll } from '../../helpers/spawn.js';
import { FAST, inspect, start, stats } from '../helpers/backends.js';
import { get, waitUntil } from '../helpers/http.js';
import { startOne, stopInproc, type InprocNode } from '../helpers/inproc.js';

let nodes: InprocNode[] = [];
afterEach(async () => {
  await stopInproc(nodes);
  nodes = [];
  await stopAll();
});

it('SIGSTOP for ~3 s: kept as a suspect, sync requests wait syncTimeout (log → 200, error → 503), caught up after SIGCONT', async () => {
  const [pa, pc, pb, httpB, debugB] = await freePorts(5);
  const common = { sendOptions: 'sync' as const, syncTimeout: 400 };
  const a = await startOne('A', pa!, [pb!, pc!], { ...common, onReplicationFailure: 'log' });
  const c = await startOne('C', pc!, [pa!, pb!], { ...common, onReplicationFailure: 'error' });
  nodes.push(a, c);
  const b = await start({
    route: 'B', port: httpB!, clusterPort: pb!, debugPort: debugB!, script: 'examples/express-backend.ts',
    env: { ...FAST, JVM_ROUTE: 'B', PORT: String(httpB), CLUSTER_PORT: String(pb), DEBUG_PORT: String(debugB), CLUSTER_MEMBERS: `127.0.0.1:${pa},127.0.0.1:${pc}`, SEND_OPTIONS: 'sync' },
  });
  await waitUntil(() => a.node.members().length === 2 && c.node.members().length === 2, 3000, 'everyone to see everyone');
  const sa = (await get(a.port, '/set?name=k&value=1')).sessionCookie!;
  const sc = (await get(c.port, '/set?name=k&value=1')).sessionCookie!;
  expect((await inspect(b, sa)).attributes).toEqual({ k: 1 });

  b.proc.signal('SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, 1500)); // past dropTime (1000): suspected, probed, kept
    const t0 = Date.now();
    const logged = await get(a.port, '/set?name=k&value=2', sa);
    const waited = Date.now() - t0;
    expect(logged.status).toBe(200);
    expect(waited).toBeGreaterThanOrEqual(350);
    const refused = await get(c.port, '/set?name=k&value=2', sc);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/session replication failed/);
    expect(a.node.stats().counters.replicationFailures).toBeGreaterThanOrEqual(1);
    // Suspected (no heartbeat for dropTime), probed, and kept: its port answers.
    await waitUntil(() => a.node.stats().channel.suspectsKept >= 1, 5000, 'A to suspect B and keep it');
    expect(a.node.members().map((m) => m.route)).toContain('B'); // never removed while its port answers
  } finally {
    b.proc.signal('SIGCONT');
  }
  await waitUntil(async () => (await inspect(b, sa))?.attributes?.k === 2, 3000, 'B to catch up');
  const sb = await stats(b);
  expect(sb.sent['get-all']).toBe(1); // only its own start-up transfer: no storm after SIGCONT
  expect(a.node.stats().channel.membersRemoved).toBe(0);
  // The 503 answered the client, but the change was still made on C and reaches B late (as in Tomcat).
  expect((await inspect(b, sc)).attributes).toEqual({ k: 2 });
}, 120_000);

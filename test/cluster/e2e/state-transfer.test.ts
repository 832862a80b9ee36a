/**
 * State transfer (cluster-semantics §2.5) over the real channel: a joiner receives every session before it is
 * ready, in pages, and nothing written during the transfer is lost (queue + per-session filter).
 */
import { afterEach, expect, it } from 'vitest';
import { freePorts } from '../../helpers/ports.js';
import { get, waitUntil } from '../helpers/http.js';
import { startOne, stopInproc, type InprocNode } from '../helpers/inproc.js';

let nodes: InprocNode[] = [];
afterEach(async () => {
  await stopInproc(nodes);
  nodes = [];
});

it('writes to a session during a joiner\'s state transfer are all present on the joiner afterwards', async () => {
  const [pa, pb] = await freePorts(2);
  const options = { stateTransferPageSize: 16 * 1024 };
  const a = await startOne('A', pa!, [pb!], options);
  nodes.push(a);
  // 3000 sessions of ~1 KB so that the transfer takes a while (≈ 190 pages of 16 KB).
  const manager = (a.node as unknown as { manager: { createSession(): { session: { attributes: Map<string, string> } } } }).manager;
  for (let i = 0; i < 3000; i++) manager.createSession().session.attributes.set('pad', JSON.stringify('x'.repeat(1000)));
  const s = (await get(a.port, '/set?name=n&value=0')).sessionCookie!;

  let writes = 0;
  let joined = false;
  let duringTransfer = 0;
  const writer = (async () => {
    while (!joined) {
      await get(a.port, `/set?name=n&value=${++writes}`, s);
      await get(a.port, `/set?name=w${writes % 5}&value=${writes}`, s);
      duringTransfer++;
    }
  })();
  await new Promise((r) => setTimeout(r, 20));
  const before = duringTransfer;
  const b = await startOne('B', pb!, [pa!], options);
  nodes.push(b);
  joined = true;
  await writer;
  expect(duringTransfer - before).toBeGreaterThan(0);
  expect(b.node.stats().stateTransfer).toMatchObject({ state: 'done', from: 'A' });
  expect(b.node.stats().stateTransfer.sessions).toBeGreaterThanOrEqual(3001);
  expect(a.node.stats().sent['all-data']).toBeGreaterThan(100);
  await waitUntil(() => JSON.stringify(b.node.inspect(s)?.attributes) === JSON.stringify(a.node.inspect(s)?.attributes), 3000, 'B to converge');
  expect(b.node.inspect(s)!.attributes.n).toBe(writes);
  console.log(`state transfer of 3001 sessions: ${b.node.stats().stateTransfer.ms} ms, ${duringTransfer - before} write pairs meanwhile`);
});

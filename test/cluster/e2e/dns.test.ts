/**
 * DNS membership end to end (createClusterNode, DeltaManager, Express apps): nodes on 127.0.0.2–.5
 * that share one receiver port find each other through an A record served by a real DNS server on
 * 127.0.0.1, replicate, and a node added to the record gets the state transfer; the example backend
 * as processes (CLUSTER_DNS), one killed with -9.
 */
import { afterEach, expect, it } from 'vitest';
import type { ClusterNodeOptions } from '../../../src/cluster/index.js';
import { startDnsServer, type DnsServer } from '../../helpers/dns-server.js';
import { stopAll } from '../../helpers/spawn.js';
import { plan, start, stats } from '../helpers/backends.js';
import { sharedPort } from '../helpers/dns.js';
import { get, waitUntil } from '../helpers/http.js';
import { startOne, stopInproc, type InprocNode } from '../helpers/inproc.js';

let nodes: InprocNode[] = [];
let dns: DnsServer | undefined;
afterEach(async () => {
  await stopAll();
  await stopInproc(nodes);
  nodes = [];
  await dns?.close();
  dns = undefined;
});

function dnsNode(route: string, host: string, port: number): Promise<InprocNode> {
  const options: Partial<ClusterNodeOptions> = {
    receiver: { address: host, port },
    membership: { type: 'dns', name: 'app-headless.default.svc.cluster.local', port, interval: '200ms', servers: [dns!.address], timeout: 1000, tries: 1, frequency: 250, dropTime: 1000 },
    secret: 'e2e dns secret',
    sendOptions: 'sync',
  };
  return startOne(route, port, [], options);
}

it('three nodes found through DNS replicate; a fourth added to the record joins with every session (state transfer)', async () => {
  dns = await startDnsServer();
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const port = await sharedPort(hosts);
  dns.set('app-headless.default.svc.cluster.local', { A: hosts.slice(0, 3) });
  for (const [i, route] of ['A', 'B', 'C'].entries()) nodes.push(await dnsNode(route, hosts[i]!, port));
  const [a, b, c] = nodes as [InprocNode, InprocNode, InprocNode];
  await waitUntil(() => nodes.every((n) => n.node.members().length === 2), 5000, 'full membership');

  // Replication: a session written on A is on B and C when the response arrives (sync).
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await get(a.port, `/set?name=user&value=u${i}`)).sessionCookie!);
  const id = ids[0]!;
  // A fail-over to B: the binder renames the session to B's route, and C has the rename and the change.
  const renamed = (await get(b.port, '/set?name=cart&value=3', id)).sessionCookie!;
  expect(renamed).toBe(id.replace(/\.A$/, '.B'));
  expect(c.node.inspect(renamed)?.attributes).toEqual({ user: 'u0', cart: 3 });

  // D appears in the record (a new pod became ready) and starts: it asks the oldest member for the
  // state before it is ready, and the others pick it up at their next lookup.
  dns.set('app-headless.default.svc.cluster.local', { A: hosts });
  const d = await dnsNode('D', hosts[3]!, port);
  nodes.push(d);
  expect(d.node.stats().stateTransfer.state).toBe('done');
  expect(d.node.sessionIds().length).toBe(20);
  expect(d.node.inspect(renamed)?.attributes).toEqual({ user: 'u0', cart: 3 });
  await waitUntil(() => [a, b, c].every((n) => n.node.members().some((m) => m.route === 'D')), 5000, 'D everywhere');
  // And D takes part from now on.
  const fresh = (await get(d.port, '/set?name=from&value="D"')).sessionCookie!;
  expect(a.node.inspect(fresh)?.attributes).toEqual({ from: 'D' });
});

it('examples/express-backend.ts with CLUSTER_DNS: processes find each other, replicate, and a killed one leaves', async () => {
  dns = await startDnsServer();
  const hosts = ['127.0.0.2', '127.0.0.3'];
  const port = await sharedPort(hosts);
  dns.set('nodes.test', { A: hosts });
  const planned = await plan(
    hosts.map((h, i) => ({
      route: `jvm_${'ab'[i]}`,
      env: {
        CLUSTER_ADDRESS: h,
        CLUSTER_PORT: String(port),
        CLUSTER_MEMBERS: '',
        CLUSTER_DNS: 'nodes.test',
        CLUSTER_DNS_SERVERS: dns!.address,
        CLUSTER_DNS_INTERVAL: '250ms',
        CLUSTER_SECRET: 'example secret',
      },
    })),
  );
  const a = await start(planned[0]!);
  const b = await start(planned[1]!);
  await waitUntil(async () => (await stats(a)).members.length === 1 && (await stats(b)).members.length === 1, 10_000, 'A and B to join');
  expect((await stats(b)).members).toEqual([{ route: 'jvm_a', host: '127.0.0.2', port }]);
  const id = (await get(a.port, '/set?name=user&value="alice"')).sessionCookie!;
  await waitUntil(async () => (await get(b.debugPort, `/inspect?id=${encodeURIComponent(id)}`)).json?.attributes?.user === 'alice', 5000, 'the replica on B');
  a.proc.signal('SIGKILL');
  await waitUntil(async () => (await stats(b)).members.length === 0, 10_000, 'A to leave B');
  expect((await stats(b)).channel.dnsFailures).toBe(0);
});

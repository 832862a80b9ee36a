// DNS membership (dns-membership.ts) against a real DNS server on 127.0.0.1 (test/helpers/dns-server.ts),
// channels on distinct loopback addresses (127.0.0.2, .3, …) sharing one receiver port, as pods behind
// a headless Service share theirs: A/AAAA/SRV answers, changes picked up on the next lookup, the node's
// own address skipped, addresses that are not members, a member leaving the answer (alive: kept;
// killed: removed) and DNS failures that keep the cluster.
import net from 'node:net';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Channel, ChannelOptions, ClusterMember } from '../../../src/cluster/channel/index.js';
import { startDnsServer, type DnsServer } from '../../helpers/dns-server.js';
import { freePort } from '../../helpers/ports.js';
import { sharedPort } from '../helpers/dns.js';
import { spawnTs, stopAll } from '../../helpers/spawn.js';
import { FakeClock } from '../helpers/memory-cluster.js';
import { FAST, channel, sleep, stopChannels, waitFor } from './helpers.js';

const SECRET = 'dns membership test secret';
const INTERVAL = 200;

let dns: DnsServer | undefined;
const listeners: net.Server[] = [];

afterEach(async () => {
  await stopAll();
  await stopChannels();
  await Promise.all(listeners.splice(0).map((s) => new Promise((r) => s.close(r))));
  await dns?.close();
  dns = undefined;
});

/** A debug-level logger whose lines are kept (parsed). */
function captured(): { logger: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

function dnsOptions(
  route: string,
  host: string,
  port: number,
  membership: Partial<Extract<ChannelOptions['membership'], { type: 'dns' }>>,
  o: { logger?: Logger; clock?: () => number; secret?: string } = {},
): ChannelOptions {
  return {
    jvmRoute: route,
    receiver: { address: host, port },
    membership: {
      type: 'dns',
      name: 'app.test',
      interval: INTERVAL,
      servers: [dns!.address],
      // A DNS server in this process answers at once; a lookup times out only when told to. (Short
      // enough to make the timeout scenario quick, long enough that a busy machine does not fake one.)
      timeout: 1000,
      tries: 1,
      frequency: FAST.frequency,
      dropTime: FAST.dropTime,
      ...membership,
    },
    secret: o.secret ?? SECRET,
    failureDetector: { connectTimeout: FAST.connectTimeout },
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
  };
}

const routes = (c: Channel) => c.members().map((m) => m.route).sort();
const selfConnects = (lines: Array<Record<string, any>>) => lines.filter((l) => l.msg === 'address is this node itself; not using it');

describe('DNS membership over a real DNS server on 127.0.0.1', () => {
  it('three nodes find each other through one A record; each skips its own address in the answer', async () => {
    dns = await startDnsServer();
    const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const port = await sharedPort(hosts);
    dns.set('app.test', { A: hosts });
    const logs = hosts.map(() => captured());
    const nodes = hosts.map((h, i) => channel(dnsOptions(`N${i + 1}`, h, port, { port }, { logger: logs[i]!.logger })));
    for (const n of nodes) await n.start();
    await waitFor(() => nodes.every((n) => n.members().length === 2), 5000, 'full membership');
    expect(nodes.map(routes)).toEqual([
      ['N2', 'N3'],
      ['N1', 'N3'],
      ['N1', 'N2'],
    ]);
    // The joiner knew everyone older when start() resolved (first answer before anyone is contacted).
    expect(nodes[0]!.members().map((m) => m.host).sort()).toEqual(['127.0.0.3', '127.0.0.4']);
    const r = await nodes[0]!.send({ hello: 1 }, { ack: true });
    expect(r.ok.map((m) => m.route).sort()).toEqual(['N2', 'N3']);
    for (const [i, log] of logs.entries()) {
      const changed = log.lines.find((l) => l.msg === 'DNS membership: addresses changed')!;
      expect(changed.self).toEqual([`${hosts[i]}:${port}`]);
      expect(changed.targets).toEqual(hosts.filter((h) => h !== hosts[i]).map((h) => `${h}:${port}`));
      expect(selfConnects(log.lines)).toEqual([]);
    }
    expect(nodes.every((n) => n.stats().dnsRefreshes >= 1 && n.stats().dnsFailures === 0)).toBe(true);
  });

  it("the node's own address in the answer is skipped: a node alone never connects to itself", async () => {
    dns = await startDnsServer();
    const port = await sharedPort(['127.0.0.2']);
    dns.set('app.test', { A: ['127.0.0.2'] });
    const log = captured();
    const a = channel(dnsOptions('A', '127.0.0.2', port, { port }, { logger: log.logger }));
    await a.start();
    await waitFor(() => a.stats().dnsRefreshes >= 4, 5000, 'several lookups');
    await sleep(3 * FAST.frequency);
    expect(a.members()).toEqual([]);
    // Not one frame out or in: no connection to its own receiver, not even a handshake.
    expect(a.stats()).toMatchObject({ framesSent: 0, framesReceived: 0, membersAdded: 0 });
    expect(selfConnects(log.lines)).toEqual([]);
    expect(log.lines.filter((l) => l.msg === 'DNS membership: addresses changed').map((l) => [l.self, l.targets])).toEqual([
      [[`127.0.0.2:${port}`], []],
    ]);
  });

  it('an SRV record gives each member its host and port; AAAA answers are members too', async () => {
    dns = await startDnsServer();
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    dns.set('_cluster._tcp.app.test', {
      SRV: [
        { port: p1, target: 'a.app.test' },
        { port: p2, target: 'b.app.test' },
        { port: p3, target: 'c.app.test' },
      ],
    });
    dns.set('a.app.test', { A: ['127.0.0.1'] });
    dns.set('b.app.test', { AAAA: ['::1'] });
    dns.set('c.app.test', { A: ['127.0.0.1'] });
    const srv = { name: '_cluster._tcp.app.test' };
    const a = channel(dnsOptions('A', '127.0.0.1', p1!, srv));
    const b = channel(dnsOptions('B', '::1', p2!, srv));
    const c = channel(dnsOptions('C', '127.0.0.1', p3!, srv));
    for (const n of [a, b, c]) await n.start();
    await waitFor(() => [a, b, c].every((n) => n.members().length === 2), 5000, 'full membership over SRV');
    expect(a.members().map((m) => `${m.route}@${m.host}:${m.port}`).sort()).toEqual([`B@::1:${p2}`, `C@127.0.0.1:${p3}`]);

    // A name with both A and AAAA records (port from the options): both addresses are looked for.
    const port = await sharedPort(['127.0.0.2', '::1']);
    dns.set('dual.app.test', { A: ['127.0.0.2'], AAAA: ['::1'] });
    const x = channel(dnsOptions('X', '127.0.0.2', port, { name: 'dual.app.test', port }));
    const y = channel(dnsOptions('Y', '::1', port, { name: 'dual.app.test', port }));
    await x.start();
    await y.start();
    await waitFor(() => routes(x).includes('Y') && routes(y).includes('X'), 5000, 'X and Y over A + AAAA');
  });

  it('a node added to the record joins at the next lookup of the others', async () => {
    dns = await startDnsServer();
    const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const port = await sharedPort(hosts);
    dns.set('app.test', { A: hosts.slice(0, 2) });
    // C looks itself up under its own name only: it can be found, but it does not look for anyone.
    dns.set('c.test', { A: [hosts[2]!] });
    const a = channel(dnsOptions('A', hosts[0]!, port, { port }));
    const b = channel(dnsOptions('B', hosts[1]!, port, { port }));
    const c = channel(dnsOptions('C', hosts[2]!, port, { port, name: 'c.test' }));
    for (const n of [a, b, c]) await n.start();
    await waitFor(() => routes(a).join() === 'B' && routes(b).join() === 'A', 5000, 'A and B');
    const before = dns.queries('app.test');
    await waitFor(() => dns!.queries('app.test') >= before + 6, 5000, 'a few lookups');
    expect(c.members()).toEqual([]); // not in the record: nobody looks for C
    expect(routes(a)).toEqual(['B']);
    dns.set('app.test', { A: hosts });
    await waitFor(() => routes(a).join() === 'B,C' && routes(b).join() === 'A,C' && routes(c).join() === 'A,B', 5000, 'C to join');
  });

  it('addresses that are not members never become members: nothing listening, a silent listener, a node with another secret or none', async () => {
    dns = await startDnsServer();
    const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8'];
    const port = await sharedPort(hosts);
    dns.set('app.test', { A: hosts });
    // .5: nothing listens. .6: accepts and never says anything.
    let silentConnections = 0;
    const silent = net.createServer((s) => {
      silentConnections++;
      s.resume(); // reads (and so notices the close), never answers
      s.on('error', () => undefined);
    });
    listeners.push(silent);
    await new Promise<void>((r) => silent.listen(port, '127.0.0.6', r));
    // .7: a cluster node with another secret. .8: one without a secret (loopback, static).
    const other = channel(dnsOptions('OTHER', '127.0.0.7', port, { port }, { secret: 'another secret' }));
    const open = channel({
      jvmRoute: 'OPEN',
      receiver: { address: '127.0.0.8', port },
      membership: { type: 'static', members: [`127.0.0.2:${port}`], frequency: FAST.frequency, dropTime: FAST.dropTime },
      failureDetector: { connectTimeout: FAST.connectTimeout },
    });
    const a = channel(dnsOptions('A', '127.0.0.2', port, { port }));
    const b = channel(dnsOptions('B', '127.0.0.3', port, { port }));
    const added: string[] = [];
    for (const n of [a, b]) n.on('memberAdded', (m: ClusterMember) => added.push(m.route));
    for (const n of [other, open, a, b]) await n.start();
    await waitFor(() => routes(a).join() === 'B' && routes(b).join() === 'A', 5000, 'A and B');
    // Long enough for several lookups, connection attempts, handshake timeouts (sender.timeout) and probes.
    await sleep(3500);
    expect(routes(a)).toEqual(['B']);
    expect(routes(b)).toEqual(['A']);
    expect(added.sort()).toEqual(['A', 'B']);
    expect(other.members()).toEqual([]);
    expect(open.members()).toEqual([]);
    expect(silentConnections).toBeGreaterThan(0); // it was tried, and got nowhere
  }, 15_000);

  it('an address that leaves the answer: its member stays while alive (heartbeats decide), and leaves once killed', async () => {
    dns = await startDnsServer();
    const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const port = await sharedPort(hosts);
    dns.set('app.test', { A: hosts });
    const a = channel(dnsOptions('A', hosts[0]!, port, { port }));
    await a.start();
    const child = spawnTs('test/cluster/channel/fixtures/node.ts', [JSON.stringify(dnsOptions('B', hosts[1]!, port, { port }))]);
    await child.waitFor(/"event":"started"/);
    const c = channel(dnsOptions('C', hosts[2]!, port, { port }));
    await c.start();
    await waitFor(() => routes(a).join() === 'B,C' && routes(c).join() === 'A,B', 5000, 'full membership');
    const removed: Array<[string, string]> = [];
    for (const n of [a, c]) n.on('memberRemoved', (m: ClusterMember, reason: string) => removed.push([m.route, reason]));

    // B leaves the answer (a pod turning NotReady) but keeps running: the probe finds it alive, it stays.
    dns.set('app.test', { A: [hosts[0]!, hosts[2]!] });
    const q = dns.queries('app.test');
    await waitFor(() => dns!.queries('app.test') >= q + 8, 5000, 'several lookups without B');
    await sleep(FAST.dropTime + FAST.connectTimeout);
    expect(routes(a)).toEqual(['B', 'C']);
    expect(removed).toEqual([]);
    await expect(a.request(a.members().find((m) => m.route === 'B')!, { op: 'echo', value: 'still here' }, 3000)).resolves.toBe('still here');

    // Killed: removed by the failure detector, on both nodes, and not brought back.
    child.signal('SIGKILL');
    await waitFor(() => routes(a).join() === 'C' && routes(c).join() === 'A', 5000, 'B to be removed');
    expect(removed.map(([r]) => r)).toEqual(['B', 'B']);
    expect(removed.every(([, reason]) => reason !== 'shutdown')).toBe(true);
    await sleep(3 * INTERVAL);
    expect(routes(a)).toEqual(['C']);
  });

  it('SERVFAIL, NXDOMAIN, timeouts and empty answers keep the cluster: logged once, counted, the last addresses kept', async () => {
    dns = await startDnsServer();
    const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
    const port = await sharedPort(hosts);
    dns.set('app.test', { A: hosts });
    const logs = hosts.map(() => captured());
    const nodes = hosts.map((h, i) => channel(dnsOptions(`N${i + 1}`, h, port, { port }, { logger: logs[i]!.logger })));
    for (const n of nodes) await n.start();
    await waitFor(() => nodes.every((n) => n.members().length === 2), 5000, 'full membership');
    const removed: string[] = [];
    for (const n of nodes) n.on('memberRemoved', (m: ClusterMember) => removed.push(m.route));

    const failuresNow = () => nodes.map((n) => n.stats().dnsFailures);
    const fail = async (what: () => void, label: string) => {
      const before = failuresNow();
      what();
      await waitFor(() => nodes.every((n, i) => n.stats().dnsFailures >= before[i]! + 3), 20_000, `three failed lookups (${label})`);
    };
    await fail(() => dns!.fault('app.test', 'servfail'), 'SERVFAIL');
    await fail(() => dns!.fault('app.test', 'nxdomain'), 'NXDOMAIN');
    await fail(() => dns!.fault('app.test', 'timeout'), 'timeout');
    await fail(() => {
      dns!.fault('app.test', null);
      dns!.set('app.test', {}); // the name exists, without A or AAAA records
    }, 'no records');
    await sleep(FAST.dropTime); // well past dropTime without a single good answer
    expect(nodes.map(routes)).toEqual([
      ['N2', 'N3'],
      ['N1', 'N3'],
      ['N1', 'N2'],
    ]);
    expect(removed).toEqual([]);
    const r = await nodes[0]!.send({ during: 'outage' }, { ack: true });
    expect(r.failed).toEqual([]);

    dns.set('app.test', { A: hosts });
    const ok = nodes.map((n) => n.stats().dnsRefreshes);
    await waitFor(() => nodes.every((n, i) => n.stats().dnsRefreshes > ok[i]!), 5000, 'answers again');
    for (const [i, log] of logs.entries()) {
      // One outage, however many failures and kinds of failure: one warning, one recovery line.
      const warns = log.lines.filter((l) => l.level === 40 && /lookup failed/.test(l.msg));
      expect(warns).toHaveLength(1);
      expect(warns[0]).toMatchObject({ code: 'ESERVFAIL', reason: 'SERVFAIL', keeping: hosts.filter((_, j) => j !== i).map((h) => `${h}:${port}`) });
      const back = log.lines.filter((l) => l.msg === 'DNS membership: the name resolves again');
      expect(back).toHaveLength(1);
      expect(back[0]!.failures).toBe(nodes[i]!.stats().dnsFailures);
      const codes = new Set(log.lines.filter((l) => /lookup failed/.test(l.msg)).map((l) => l.code));
      expect([...codes].sort((a, b) => String(a).localeCompare(String(b)))).toEqual(['ENODATA', 'ENOTFOUND', 'ESERVFAIL', 'ETIMEOUT']);
    }
    expect(nodes.map(routes)).toEqual([
      ['N2', 'N3'],
      ['N1', 'N3'],
      ['N1', 'N2'],
    ]);
  }, 60_000);

  it('a server that cannot answer the first lookup is asked again before the node starts alone (it would skip the state transfer)', async () => {
    dns = await startDnsServer();
    const hosts = ['127.0.0.2', '127.0.0.3'];
    const port = await sharedPort(hosts);
    dns.set('app.test', { A: hosts });
    const a = channel(dnsOptions('A', hosts[0]!, port, { port }));
    await a.start();
    dns.fault('app.test', 'servfail', 2); // B's first lookup: SERVFAIL for A and for AAAA
    const b = channel(dnsOptions('B', hosts[1]!, port, { port, interval: '1m' }));
    await b.start();
    expect(routes(b)).toEqual(['A']); // known when start() resolved: a joiner asks it for state
    expect(b.stats()).toMatchObject({ dnsFailures: 1, dnsRefreshes: 1 });

    // NXDOMAIN is an answer ("nobody there yet"): no second lookup, the node starts alone.
    dns.fault('app.test', 'nxdomain');
    const before = dns.queries('app.test');
    const c = channel(dnsOptions('C', '127.0.0.4', await sharedPort(['127.0.0.4']), { port, interval: '1m', timeout: 5000 }));
    await c.start();
    expect(c.members()).toEqual([]);
    expect(c.stats()).toMatchObject({ dnsFailures: 1, dnsRefreshes: 0 });
    expect(dns.queries('app.test') - before).toBe(2); // one lookup: A and AAAA
  });

  it('the lookup interval runs on the injected clock', async () => {
    dns = await startDnsServer();
    const port = await sharedPort(['127.0.0.2']);
    dns.set('app.test', { A: ['127.0.0.2'] });
    const clock = new FakeClock();
    const a = channel(dnsOptions('A', '127.0.0.2', port, { port, interval: '10s' }, { clock: clock.now }));
    await a.start();
    const first = dns.queries('app.test');
    expect(first).toBeGreaterThan(0);
    await sleep(20 * FAST.frequency); // real time passes, many ticks; the injected clock does not move
    expect(dns.queries('app.test')).toBe(first);
    clock.advance(10_000);
    await waitFor(() => dns!.queries('app.test') > first, 3000, 'a lookup once the fake clock passed the interval');
    await waitFor(() => a.stats().dnsRefreshes === 2, 3000, 'the second answer');
    // A clock set back (an NTP step) does not stop the lookups until it has caught up again.
    const second = dns.queries('app.test');
    clock.advance(-86_400_000);
    await waitFor(() => dns!.queries('app.test') > second, 3000, 'a lookup after the clock went back');
  });
});

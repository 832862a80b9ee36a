// Failure detection and back-pressure against real node processes on 127.0.0.1 (static membership):
// kill -9 → removed after a failed probe; SIGSTOP (port still answers) → kept as a suspect, never
// removed; SIGCONT → back to normal without a re-add; a frozen peer's queue is bounded and sends
// fail instead of eating memory; a restarted process is a new member.
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import type { Channel, ClusterMember } from '../../../src/cluster/channel/index.js';
import { freePorts } from '../../helpers/ports.js';
import { spawnTs, stopAll, type Proc } from '../../helpers/spawn.js';
import { FAST, channel, nextEvent, sleep, staticOptions, stopChannels, waitFor, type StaticClusterOptions } from './helpers.js';

const FIXTURE = 'test/cluster/channel/fixtures/node.ts';

afterEach(async () => {
  await stopAll();
  await stopChannels();
});

interface Pair {
  a: Channel;
  child: Proc;
  ports: number[];
  events: Array<{ event: string; route?: string; reason?: string }>;
}

/** Channel A in this process and node B in a child process, joined. */
async function pair(o: StaticClusterOptions = {}): Promise<Pair> {
  const ports = await freePorts(2);
  const a = channel(staticOptions('A', ports[0]!, ports, o));
  await a.start();
  const child = spawnNode('B', ports[1]!, ports);
  await child.waitFor(/"event":"started"/);
  await waitFor(() => a.members().length === 1, 5000, 'B to join A');
  const events: Pair['events'] = [];
  a.on('memberAdded', (m: ClusterMember) => events.push({ event: 'memberAdded', route: m.route }));
  a.on('memberRemoved', (m: ClusterMember, reason: string) => events.push({ event: 'memberRemoved', route: m.route, reason }));
  return { a, child, ports, events };
}

function spawnNode(route: string, port: number, ports: number[]): Proc {
  return spawnTs(FIXTURE, [JSON.stringify(staticOptions(route, port, ports))]);
}

function childEvents(p: Proc): Array<{ event: string; route?: string }> {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string; route?: string });
}

describe('crash detection', () => {
  it('kill -9: the peer is removed once the TCP verification fails (not as a leave)', async () => {
    const { a, child } = await pair();
    const removed = nextEvent<[ClusterMember, string]>(a, 'memberRemoved', 10_000);
    const t0 = performance.now();
    child.signal('SIGKILL');
    const [m, reason] = await removed;
    const ms = performance.now() - t0;
    console.log(`kill -9 → memberRemoved after ${ms.toFixed(0)} ms (reason ${reason}; dropTime ${FAST.dropTime} ms)`);
    expect(m.route).toBe('B');
    expect(reason).not.toBe('shutdown'); // it did not leave: the failure detector found it dead
    expect(a.members()).toEqual([]);
  });

  it('SIGSTOP: a frozen node whose port answers is kept as a suspect; after SIGCONT all is normal, without a re-add', async () => {
    const { a, child, events } = await pair();
    child.signal('SIGSTOP');
    // Long enough for: heartbeats missing > dropTime, a probe (accepted, no answer), and a few more heartbeat periods.
    await sleep(FAST.dropTime + 2 * FAST.connectTimeout + 600);
    expect(a.members().map((m) => m.route)).toEqual(['B']);
    expect(a.stats().suspectsKept).toBeGreaterThanOrEqual(1);
    expect(events).toEqual([]);
    child.signal('SIGCONT');
    const peer = a.members()[0]!;
    await expect(a.request(peer, { op: 'echo', value: 'back' }, 3000)).resolves.toBe('back');
    const r = await a.send({ seq: 0 }, { ack: true });
    expect(r.ok.map((m) => m.route)).toEqual(['B']);
    await sleep(3 * FAST.frequency);
    expect(events).toEqual([]); // no memberRemoved, and no second memberAdded (no state-transfer storm)
    // The frozen node did not remove A either when it woke up.
    expect(childEvents(child).filter((e) => e.event === 'memberRemoved')).toEqual([]);
  });

  it('a restarted process on the same port is a new member: the old identity is removed, the new one added', async () => {
    const { a, child, ports, events } = await pair();
    const oldId = a.members()[0]!.id;
    child.signal('SIGKILL');
    await waitFor(() => a.members().length === 0, 5000, 'the old B to be removed');
    const again = spawnNode('B', ports[1]!, ports);
    await again.waitFor(/"event":"started"/);
    await waitFor(() => a.members().length === 1, 5000, 'the new B to join');
    expect(a.members()[0]!.route).toBe('B');
    expect(a.members()[0]!.id).not.toBe(oldId);
    expect(events.map((e) => `${e.event} ${e.route}`)).toEqual(['memberRemoved B', 'memberAdded B']);
  });
});

describe('back-pressure', () => {
  it('a peer that stops reading: sends fail once maxQueueBytes is queued, memory stays bounded, no crash; all accepted messages arrive in order after it resumes', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const MAX_QUEUE = 4 * 1024 * 1024;
    const { a, child, events } = await pair({ maxQueueBytes: MAX_QUEUE, senderTimeout: 1000 });
    child.signal('SIGSTOP');
    gc();
    const before = process.memoryUsage();
    const pad = 'x'.repeat(256 * 1024);
    let accepted = 0;
    let refused = 0;
    const attempts = 400; // 100 MiB offered to a peer that reads nothing
    for (let seq = 0; seq < attempts; seq++) {
      const r = await a.send({ seq: accepted, pad }, { ack: false });
      if (r.ok.length === 1) accepted++;
      else {
        expect(r.failed[0]!.error).toMatchObject({ code: 'ERR_QUEUE_FULL' });
        refused++;
      }
    }
    gc();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.external - (before.heapUsed + before.external);
    console.log(
      `frozen peer: ${accepted} × 256 KiB accepted (kernel buffers + ${MAX_QUEUE / 1048576} MiB queue), ${refused} refused, ` +
        `memory +${(grown / 1048576).toFixed(1)} MiB`,
    );
    expect(refused).toBeGreaterThan(attempts / 2);
    expect(grown).toBeLessThan(48 * 1024 * 1024);
    // Acked sends fail too (queue full, or no ack within the sender timeout) — and B is still a member.
    const acked = await a.send({ extra: true }, { ack: true });
    expect(acked.failed).toHaveLength(1);
    // Refused at the queue, it never leaves. Failed on its ack's timeout, its fate is unknown to
    // the sender, as with any message whose ack did not come: B may or may not get it.
    const extraCode = (acked.failed[0]!.error as { code?: string }).code;
    expect(['ERR_QUEUE_FULL', 'ERR_TIMEOUT']).toContain(extraCode);
    const mayArrive = extraCode === 'ERR_TIMEOUT' ? 1 : 0;
    expect(a.members().map((m) => m.route)).toEqual(['B']);

    child.signal('SIGCONT');
    const peer = a.members()[0]!;
    const counts = async () => (await a.request(peer, { op: 'count' }, 5000)) as { received: number; outOfOrder: number };
    let c = await counts();
    const deadline = Date.now() + 10_000;
    while (c.received < accepted && Date.now() < deadline) {
      await sleep(50);
      c = await counts();
    }
    // Everything accepted was delivered, in order; nothing refused was.
    await sleep(200);
    c = await counts();
    expect(c.outOfOrder).toBe(0);
    expect(c.received - accepted).toBeGreaterThanOrEqual(0);
    expect(c.received - accepted).toBeLessThanOrEqual(mayArrive);
    expect(events).toEqual([]);
  }, 30_000);
});

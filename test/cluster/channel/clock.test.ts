// One time source (issue 8 item 14): the clock injected into createClusterNode / createChannel is
// what the channel (member start time, dropTime, start-up waits) and both managers' waitForMembers
// read — never Date.now beside it. A fake clock that does not move stops every time-based decision;
// moving it makes them happen.
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createClusterNode, type ClusterNode } from '../../../src/cluster/index.js';
import { ClusterNode as Node } from '../../../src/cluster/node.js';
import { FrameType } from '../../../src/cluster/channel/frame.js';
import { FakeClock } from '../helpers/memory-cluster.js';
import { MemoryNetwork } from '../helpers/memory-channel.js';
import { freePorts } from '../../helpers/ports.js';
import { fakeReceiver, RawPeer, type FakeReceiver } from './fixtures/raw-peer.js';
import { FAST, channel, sleep, stopChannels, waitFor } from './helpers.js';

const silent = pino({ level: 'silent' });
const nodes: ClusterNode[] = [];
let fake: FakeReceiver | undefined;
let peer: RawPeer | undefined;

afterEach(async () => {
  peer?.destroy();
  peer = undefined;
  await fake?.close();
  fake = undefined;
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
  await stopChannels();
});

describe('managers: waitForMembers runs on the injected clock', () => {
  it.each(['delta', 'backup'] as const)('%s: a node alone waits memberWait on the fake clock, not on Date.now', async (manager) => {
    const clock = new FakeClock(); // 2023: far behind Date.now
    const node = new Node(
      {
        jvmRoute: 'A',
        receiver: { address: '127.0.0.1', port: 0 },
        membership: { type: 'static', members: [] },
        logger: silent,
        manager,
        memberWait: 10_000,
        clock: clock.now,
      },
      new MemoryNetwork().channel('A'),
    );
    nodes.push(node);
    let ready = false;
    node.ready.then(() => (ready = true), () => {}); // a failure shows below: `ready` stays false
    await sleep(300);
    expect(ready).toBe(false); // the fake clock has not moved: still waiting
    clock.advance(10_000);
    await waitFor(() => ready, 2000, 'ready once the fake clock passed memberWait');
  });
});

describe('channel: membership runs on the injected clock', () => {
  it("a member's silence counts on the fake clock: dropTime passes only when the clock moves", async () => {
    const clock = new FakeClock();
    const [port] = await freePorts(1);
    const c = channel({
      jvmRoute: 'N',
      receiver: { address: '127.0.0.1', port: port! },
      membership: { type: 'static', members: [], frequency: FAST.frequency, dropTime: FAST.dropTime },
      failureDetector: { connectTimeout: FAST.connectTimeout },
      clock: clock.now,
    });
    await c.start();
    expect(c.local.startedAt).toBe(clock.t);
    fake = await fakeReceiver('X', null);
    peer = await RawPeer.handshake(c.local.port, fake.member, null);
    peer.frame(FrameType.HEARTBEAT, Buffer.alloc(0));
    await waitFor(() => c.members().some((m) => m.route === 'X'), 3000, 'X to be verified and added');
    // X falls silent. Real time runs well past dropTime; the injected clock does not.
    await sleep(3 * FAST.dropTime);
    expect(c.stats().suspectsKept).toBe(0);
    // Now the clock passes dropTime: X is suspected, probed, found alive and kept as a suspect.
    clock.advance(FAST.dropTime + 1);
    await waitFor(() => c.stats().suspectsKept === 1, 3000, 'X to be suspected on the fake clock');
    expect(c.members().map((m) => m.route)).toEqual(['X']);
  });

  it('createClusterNode hands its clock to the channel', async () => {
    const clock = new FakeClock();
    const [port] = await freePorts(1);
    const node = createClusterNode({
      jvmRoute: 'A',
      receiver: { address: '127.0.0.1', port: port! },
      membership: { type: 'static', members: [] },
      logger: silent,
      clock: clock.now,
    });
    nodes.push(node);
    await node.ready;
    expect(node.local.startedAt).toBe(clock.t);
  });
});

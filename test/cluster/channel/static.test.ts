// Static membership and the TCP transport between channels in this process, over real sockets on
// 127.0.0.1: join, per-peer FIFO delivery with and without acks, ack semantics, request/response,
// graceful leave, restart as a new identity.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelError, RemoteHandlerError, type ClusterMember } from '../../../src/cluster/channel/index.js';
import { freePorts } from '../../helpers/ports.js';
import { FAST, channel, nextEvent, sleep, staticCluster, staticOptions, stopChannels, waitFor } from './helpers.js';

afterEach(stopChannels);

describe.each([
  ['without a secret', undefined],
  ['with a secret (HMAC on every frame)', 'correct horse battery staple'],
])('static membership %s', (_name, secret) => {
  it('nodes join, see each other oldest first, and a joiner knows the oldest member when start() resolves', async () => {
    const ports = await freePorts(3);
    const [a, b, c] = ['A', 'B', 'C'].map((r, i) => channel(staticOptions(r, ports[i]!, ports, { secret })));
    const addedOnA: string[] = [];
    a!.on('memberAdded', (m: ClusterMember) => addedOnA.push(m.route));
    await a!.start();
    expect(a!.members()).toEqual([]); // alone: the other addresses refuse
    await b!.start();
    expect(b!.members().map((m) => m.route)).toEqual(['A']);
    await c!.start();
    // Tribes order: the oldest member first, on every node; never the node itself.
    expect(c!.members().map((m) => m.route)).toEqual(['A', 'B']);
    await waitFor(() => a!.members().length === 2 && b!.members().length === 2, 3000, 'A and B to see everyone');
    expect(a!.members().map((m) => m.route)).toEqual(['B', 'C']);
    expect(b!.members().map((m) => m.route)).toEqual(['A', 'C']);
    expect(addedOnA).toEqual(['B', 'C']);
    expect(c!.members()[0]).toEqual(a!.local);
    expect(a!.stats().membersAdded).toBe(2);
  });

  it('delivers 10 000 messages per peer in order, without acks and with acks, from two senders at once', async () => {
    const [a, b, c] = await staticCluster(['A', 'B', 'C'], { secret });
    const seen = new Map<string, number[]>();
    c!.onMessage((from, msg) => {
      const list = seen.get(from.route) ?? [];
      list.push((msg as { seq: number }).seq);
      seen.set(from.route, list);
    });
    const N = 10_000;
    const target = (n: typeof a) => n!.members().filter((m) => m.route === 'C');
    // No acks: resolves when queued; the last message with an ack proves everything before it was handled.
    const fire = async (n: typeof a) => {
      const sends = [];
      for (let seq = 0; seq < N - 1; seq++) sends.push(n!.send({ seq }, { ack: false }, target(n)));
      const queued = await Promise.all(sends);
      expect(queued.every((r) => r.ok.length === 1 && r.failed.length === 0)).toBe(true);
      const last = await n!.send({ seq: N - 1 }, { ack: true, timeoutMs: 60_000 }, target(n));
      expect(last.failed).toEqual([]);
    };
    await Promise.all([fire(a), fire(b)]);
    const inOrder = Array.from({ length: N }, (_, i) => i);
    expect(seen.get('A')).toEqual(inOrder);
    expect(seen.get('B')).toEqual(inOrder);

    // With acks, all in flight at once: every ack arrives, order still holds. (This is about order,
    // not speed: a generous timeout, so a loaded CI machine cannot turn it into a timing test.)
    seen.clear();
    const slow = { ack: true, timeoutMs: 60_000 };
    const acked = await Promise.all([
      Promise.all(Array.from({ length: N }, (_, seq) => a!.send({ seq }, slow, target(a)))),
      Promise.all(Array.from({ length: N }, (_, seq) => b!.send({ seq }, slow, target(b)))),
    ]);
    expect(acked.flat().every((r) => r.ok.length === 1)).toBe(true);
    expect(seen.get('A')).toEqual(inOrder);
    expect(seen.get('B')).toEqual(inOrder);
    expect(c!.stats().framesDropped).toBe(0);
  }, 60_000);
});

describe('acks and requests', () => {
  it('an ack arrives only after the async handler finished; handlers of one peer never overlap', async () => {
    const [a, b] = await staticCluster(['A', 'B']);
    const applied: number[] = [];
    let running = 0;
    let overlapped = false;
    b!.onMessage(async (_from, msg) => {
      overlapped ||= running > 0;
      running++;
      await sleep(Math.random() * 5);
      applied.push((msg as { n: number }).n);
      running--;
    });
    for (let n = 0; n < 20; n++) {
      const r = await a!.send({ n }, { ack: true });
      expect(r.ok.map((m) => m.route)).toEqual(['B']);
      expect(applied).toContain(n); // Tomcat's SYNCHRONIZED_ACK: processed before the ack
    }
    await Promise.all(Array.from({ length: 50 }, (_, i) => a!.send({ n: 100 + i }, { ack: false })));
    await a!.send({ n: 999 }, { ack: true });
    expect(overlapped).toBe(false);
    expect(applied.slice(20)).toEqual([...Array.from({ length: 50 }, (_, i) => 100 + i), 999]);
  });

  it("a failing handler fails the sender's ack (FAIL-ACK) but leaves the member in the cluster", async () => {
    const [a, b] = await staticCluster(['A', 'B']);
    b!.onMessage((_from, msg) => {
      if ((msg as { bad?: boolean }).bad) throw new Error('cannot apply this delta');
    });
    const r = await a!.send({ bad: true }, { ack: true });
    expect(r.ok).toEqual([]);
    expect(r.failed[0]!.error).toBeInstanceOf(RemoteHandlerError);
    expect(r.failed[0]!.error.message).toMatch(/cannot apply this delta/);
    expect((await a!.send({ bad: false }, { ack: true })).ok).toHaveLength(1);
    expect(a!.members()).toHaveLength(1);
  });

  it('request/response returns the handler value; errors and timeouts reject', async () => {
    const [a, b] = await staticCluster(['A', 'B']);
    b!.onRequest(async (from, msg) => {
      const m = msg as { op: string };
      if (m.op === 'fail') throw new Error('no such session');
      if (m.op === 'slow') await sleep(400);
      if (m.op === 'nothing') return undefined;
      return { from: from.route, sessions: [{ id: 'ABC.A', n: 1 }] };
    });
    const peer = a!.members()[0]!;
    await expect(a!.request(peer, { op: 'get' }, 1000)).resolves.toEqual({ from: 'A', sessions: [{ id: 'ABC.A', n: 1 }] });
    await expect(a!.request(peer, { op: 'nothing' }, 1000)).resolves.toBeNull();
    await expect(a!.request(peer, { op: 'fail' }, 1000)).rejects.toThrow(/no such session/);
    await expect(a!.request(peer, { op: 'slow' }, 100)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    // The timed-out request does not break the connection: the next one is answered.
    await expect(a!.request(peer, { op: 'get' }, 1000)).resolves.toMatchObject({ from: 'A' });
    // Bad input: a clear error, nothing sent.
    await expect(a!.send(undefined, { ack: false })).rejects.toThrow(TypeError);
    await expect(a!.request(a!.local, { op: 'get' }, 100)).rejects.toMatchObject({ code: 'ERR_NOT_A_MEMBER' });
  });

  it('messages larger than maxFrameSize fail at the sender with a clear error', async () => {
    const [a] = await staticCluster(['A', 'B'], { maxFrameSize: 64 * 1024 });
    const r = await a!.send({ blob: 'x'.repeat(100 * 1024) }, { ack: false });
    expect(r.failed[0]!.error).toBeInstanceOf(ChannelError);
    expect(r.failed[0]!.error.message).toMatch(/exceeds maxFrameSize/);
  });
});

describe('leaving and restarting', () => {
  it('graceful leave: peers remove the member at once (reason shutdown), without waiting for dropTime', async () => {
    const [a, b, c] = await staticCluster(['A', 'B', 'C']);
    const onA = nextEvent<[ClusterMember, string]>(a!, 'memberRemoved', 5000);
    const onC = nextEvent<[ClusterMember, string]>(c!, 'memberRemoved', 5000);
    const t0 = performance.now();
    await b!.stop();
    const [[removed, reason], [removedOnC]] = await Promise.all([onA, onC]);
    const ms = performance.now() - t0;
    console.log(`graceful leave → memberRemoved on peers after ${ms.toFixed(1)} ms (dropTime ${FAST.dropTime} ms)`);
    expect(removed.route).toBe('B');
    expect(removedOnC.route).toBe('B');
    // The leave message, not the silence: a removal after dropTime would say 'timeout'.
    expect(reason).toBe('shutdown');
    expect(a!.members().map((m) => m.route)).toEqual(['C']);
  });

  it('messages sent right before stop() are delivered before the leave is applied', async () => {
    const [a, b] = await staticCluster(['A', 'B']);
    const order: string[] = [];
    a!.onMessage((_f, msg) => void order.push(`msg ${(msg as { n: number }).n}`));
    a!.on('memberRemoved', () => order.push('removed'));
    // Not awaited: stop() follows the sends at once; a send that failed would be missing from `order`.
    for (let n = 0; n < 100; n++) b!.send({ n }, { ack: false }).catch(() => {});
    await b!.stop();
    await waitFor(() => order.includes('removed'), 2000, 'removal');
    expect(order).toEqual([...Array.from({ length: 100 }, (_, n) => `msg ${n}`), 'removed']);
  });

  it('messages to a member that left fail with ERR_NOT_A_MEMBER instead of waiting', async () => {
    const [a, b] = await staticCluster(['A', 'B']);
    const peer = a!.members()[0]!;
    await b!.stop();
    await waitFor(() => a!.members().length === 0, 2000, 'B removed');
    const r = await a!.send({ x: 1 }, { ack: true }, [peer]);
    expect(r.failed[0]!.error).toMatchObject({ code: 'ERR_NOT_A_MEMBER' });
    expect(await a!.send({ x: 1 }, { ack: true })).toEqual({ ok: [], failed: [] });
  });
});

describe('robustness', () => {
  it('a receiver port already in use fails start() with a clear error', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const c = channel(staticOptions('A', port, [port]));
      await expect(c.start()).rejects.toThrow(`cluster receiver 127.0.0.1:${port} is already in use`);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it("an application listener that throws does not break the channel or lose the peer's messages", async () => {
    const [a, b] = await staticCluster(['A', 'B']);
    b!.on('message', () => {
      throw new Error('listener bug');
    });
    const got: unknown[] = [];
    b!.onMessage((_f, msg) => void got.push(msg));
    expect((await a!.send({ n: 1 }, { ack: true })).ok).toHaveLength(1);
    expect((await a!.send({ n: 2 }, { ack: true })).ok).toHaveLength(1);
    expect(got).toEqual([{ n: 1 }, { n: 2 }]);
  });
});

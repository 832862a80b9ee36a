// The connection handshake (auth.ts, receiver.ts): HELLO → HELLO_ACK (the receiver's challenge) →
// AUTH (the answer). A captured HELLO replays forever, but without the secret nobody can answer the
// challenge: the connection stays at the 16 KiB handshake limit, nothing from it is handled, and it
// is closed. Without a secret (loopback clusters) frames above 16 KiB need a grant: only a verified
// member's oldest connection gets one. Assertions are about drops and counters, never about memory.
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, idAndText } from '../../../src/cluster/channel/frame.js';
import { MAX_HANDSHAKE_FRAME } from '../../../src/cluster/channel/handshake.js';
import type { Channel } from '../../../src/cluster/channel/index.js';
import { fakeReceiver, RawPeer, type FakeReceiver } from './fixtures/raw-peer.js';
import { sleep, staticCluster, stopChannels, waitFor } from './helpers.js';

const SECRET = Buffer.from('the cluster secret');
const MAX_FRAME = 256 * 1024;
const HOLD_MS = 600; // the handshake timeout (sender.timeout) in these tests

let node: Channel;
let friend: Channel;
let handled: unknown[];
let drops: string[];
const fakes: FakeReceiver[] = [];
const raws: RawPeer[] = [];

async function setup(secret: Buffer | null) {
  [node, friend] = (await staticCluster(['N', 'F'], {
    ...(secret ? { secret: secret.toString() } : {}),
    maxFrameSize: MAX_FRAME,
    senderTimeout: HOLD_MS,
  })) as [Channel, Channel];
  handled = [];
  drops = [];
  node.onMessage((_from, msg) => void handled.push(msg));
  node.on('dropped', (reason: string) => drops.push(reason));
}

async function fake(route: string, secret: Buffer | null, probeDelayMs = 0): Promise<FakeReceiver> {
  const f = await fakeReceiver(route, secret, probeDelayMs);
  fakes.push(f);
  return f;
}

async function raw(fn: () => Promise<RawPeer>): Promise<RawPeer> {
  const r = await fn();
  raws.push(r);
  return r;
}

/** A MESSAGE frame header announcing `length` bytes (the body never needs to follow). */
function bigHeader(length: number): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt32BE(length);
  h[4] = FrameType.MESSAGE;
  return h;
}

/** Resolves true when the peer's connection closed within `ms`. */
async function closesWithin(p: RawPeer, ms: number): Promise<boolean> {
  return Promise.race([p.closed.then(() => true), sleep(ms).then(() => false)]);
}

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  for (const f of fakes.splice(0)) await f.close();
  await stopChannels();
});

describe('with a secret', () => {
  it('a replayed HELLO gets a challenge, nothing more: a frame above 16 KiB is refused and counted, 30 times over', async () => {
    await setup(SECRET);
    const x = await fake('X', SECRET);
    const real = await raw(() => RawPeer.handshake(node.local.port, x.member, SECRET));
    real.message(1, '{"real":true}');
    expect(await real.reply(1)).toEqual([FrameType.ACK, '']);
    const captured = real.helloFrame!;
    const before = node.stats().framesDropped;
    for (let i = 0; i < 30; i++) {
      const replay = await raw(() => RawPeer.sendHello(node.local.port, captured, SECRET));
      expect(replay.gotHelloAck()).toBe(true); // the HELLO itself verifies: it is genuine, just old
      replay.write(bigHeader(MAX_HANDSHAKE_FRAME + 1));
      expect(await closesWithin(replay, 2000)).toBe(true);
    }
    expect(drops).toEqual(Array(30).fill('oversized'));
    expect(node.stats().framesDropped - before).toBe(30);
    expect(handled).toEqual([{ real: true }]);
  });

  it('replaying the captured AUTH too fails: it answered another challenge', async () => {
    await setup(SECRET);
    const x = await fake('X', SECRET);
    const real = await raw(() => RawPeer.handshake(node.local.port, x.member, SECRET));
    const replay = await raw(() => RawPeer.sendHello(node.local.port, real.helloFrame!, SECRET));
    replay.write(real.authFrame!);
    // Any follow-up, signed as the real connection would sign it (and sent only on the replay: a
    // message on the real connection is genuine and would be handled once X is verified).
    replay.write(real.signed(FrameType.MESSAGE, idAndText(0, '{"replayed":true}')));
    expect(await closesWithin(replay, 2000)).toBe(true);
    expect(drops).toEqual(['forged']);
    expect(handled).toEqual([]);
  });

  it('a replayed HELLO that never answers the challenge is closed after the handshake timeout, and makes no member', async () => {
    await setup(SECRET);
    const x = await fake('X', SECRET); // answers probes: a HELLO taken at face value would make it a member
    const real = await raw(() => RawPeer.handshake(node.local.port, x.member, SECRET, SECRET, false));
    expect(real.gotHelloAck()).toBe(true);
    expect(await closesWithin(real, HOLD_MS + 1000)).toBe(true);
    await sleep(300); // a probe, had one started, would have answered by now
    expect(node.members().map((m) => m.route)).toEqual(['F']);
  });
});

describe('without a secret (loopback cluster)', () => {
  it("a HELLO in a connected member's name gets no large frames: held, then refused and counted; the member is unaffected", async () => {
    await setup(null);
    // F's own connection to N exists (heartbeats): it is F's oldest and holds the large-frame grant.
    const impostor = await raw(() => RawPeer.handshake(node.local.port, friend.local, null));
    impostor.write(bigHeader(MAX_HANDSHAKE_FRAME + 1));
    expect(await closesWithin(impostor, HOLD_MS + 1500)).toBe(true);
    expect(drops).toEqual(['unauthenticated']);
    expect(node.stats().framesDropped).toBe(1);
    // The real F still sends large messages.
    const r = await friend.send({ big: 'x'.repeat(100 * 1024) }, { ack: true });
    expect(r.failed).toEqual([]);
    expect((handled.at(-1) as { big: string }).big.length).toBe(100 * 1024);
  });

  it('a new member may send a large frame before it is verified: read once the probe verified it', async () => {
    await setup(null);
    const y = await fake('Y', null, 300); // its probe answer takes 300 ms
    const p = await raw(() => RawPeer.handshake(node.local.port, y.member, null));
    p.message(7, JSON.stringify({ early: 'y'.repeat(40 * 1024) }));
    expect(await p.reply(7)).toEqual([FrameType.ACK, '']);
    expect(drops).toEqual([]);
    expect((handled[0] as { early: string }).early.length).toBe(40 * 1024);
  });

  it('a large frame from a sender that cannot be verified is refused as unverified', async () => {
    await setup(null);
    const z = await fake('Z', null);
    await z.close(); // nobody answers the probe
    fakes.splice(fakes.indexOf(z), 1);
    const p = await raw(() => RawPeer.handshake(node.local.port, z.member, null));
    p.write(bigHeader(MAX_HANDSHAKE_FRAME + 1));
    expect(await closesWithin(p, 3000)).toBe(true);
    expect(drops).toEqual(['unverified']);
    await waitFor(() => node.members().length === 1, 1000, 'membership to stay as it was');
  });
});

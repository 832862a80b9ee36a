// Hostile and broken input from raw sockets: forged HMACs, a wrong secret, replays, oversized,
// truncated and malformed frames, invalid JSON. Each is dropped and counted, never reaches a
// handler, and the node keeps serving its real peers. Prototype-pollution payloads are not hostile
// to us: their keys arrive as data (own properties), and no prototype changes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FrameType, idAndText } from '../../../src/cluster/channel/frame.js';
import type { Channel } from '../../../src/cluster/channel/index.js';
import { fakeReceiver, RawPeer, type FakeReceiver } from './fixtures/raw-peer.js';
import { staticCluster, stopChannels, waitFor } from './helpers.js';

const SECRET = 'the cluster secret';
const MAX_FRAME = 64 * 1024;

let node: Channel;
let friend: Channel;
let fake: FakeReceiver;
let handled: unknown[];
let drops: string[];
const raws: RawPeer[] = [];

async function setup(secret: string | undefined) {
  [node, friend] = (await staticCluster(['N', 'F'], { secret, maxFrameSize: MAX_FRAME })) as [Channel, Channel];
  handled = [];
  drops = [];
  node.onMessage((_from, msg) => void handled.push(msg));
  node.onRequest((_from, msg) => ({ echo: msg }));
  node.on('dropped', (reason: string) => drops.push(reason));
  fake = await fakeReceiver('X', secret ? Buffer.from(secret) : null);
}

async function raw(fn: () => Promise<RawPeer>): Promise<RawPeer> {
  const r = await fn();
  raws.push(r);
  return r;
}

/** The node still works for its real peer: an acked message goes through and is handled. */
async function stillWorks() {
  const r = await friend.send({ still: 'works' }, { ack: true });
  expect(r.failed).toEqual([]);
  expect(handled).toContainEqual({ still: 'works' });
  expect(node.members().map((m) => m.route)).toContain('F');
}

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await fake?.close();
  await stopChannels();
});

describe('without a secret (loopback cluster)', () => {
  beforeEach(() => setup(undefined));

  it('invalid JSON is dropped, counted and answered with FAIL-ACK; __proto__ payloads are delivered as data; the connection stays usable', async () => {
    const p = await raw(() => RawPeer.handshake(node.local.port, fake.member, null));
    p.message(1, '{"not json"');
    expect(await p.reply(1)).toEqual([FrameType.FAIL_ACK, 'dropped: invalid-json']);
    p.message(2, '{"a":{"__proto__":{"polluted":true}}}');
    expect(await p.reply(2)).toEqual([FrameType.ACK, '']);
    p.message(3, '{"constructor":{"prototype":{"polluted":true}}}');
    expect(await p.reply(3)).toEqual([FrameType.ACK, '']);
    p.frame(FrameType.REQUEST, idAndText(4, '[1,2'));
    expect(await p.reply(4)).toEqual([FrameType.RESPONSE_ERROR, 'dropped: invalid-json']);
    p.message(0, 'garbage without ack'); // dropped silently: nobody waits for it
    // A valid message on the same connection is handled and acked.
    p.message(5, '{"fine":true}');
    expect(await p.reply(5)).toEqual([FrameType.ACK, '']);
    expect(handled.map((m) => JSON.stringify(m))).toEqual([
      '{"a":{"__proto__":{"polluted":true}}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"fine":true}',
    ]);
    const a = (handled[0] as { a: object }).a;
    expect(Object.keys(a)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(drops).toEqual(['invalid-json', 'invalid-json', 'invalid-json']);
    expect(node.stats().framesDropped).toBe(3);
    expect(p.isOpen()).toBe(true);
    await stillWorks();
  });

  it('an oversized frame is refused from its header, counted, and that connection closed', async () => {
    const p = await raw(() => RawPeer.handshake(node.local.port, fake.member, null));
    const header = Buffer.alloc(5);
    header.writeUInt32BE(MAX_FRAME + 1);
    header[4] = FrameType.MESSAGE;
    p.write(header); // no body follows: the header alone must be enough
    await p.closed;
    expect(drops).toEqual(['oversized']);
    // Before the handshake the limit is far smaller: a stranger cannot make the node buffer 64 KiB.
    const q = await raw(() => RawPeer.open(node.local.port));
    const big = Buffer.alloc(5);
    big.writeUInt32BE(20_000);
    big[4] = FrameType.HELLO;
    q.write(big);
    await q.closed;
    expect(drops).toEqual(['oversized', 'oversized']);
    await stillWorks();
  });

  it('a truncated frame is counted when its connection closes, and nothing of it is delivered', async () => {
    const p = await raw(() => RawPeer.handshake(node.local.port, fake.member, null));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 40, FrameType.MESSAGE]), idAndText(0, '{"half":"a frame')]);
    p.write(frame);
    await new Promise((r) => setTimeout(r, 50));
    p.socket.end();
    await waitFor(() => drops.length === 1, 2000, 'the truncated frame to be counted');
    expect(drops).toEqual(['truncated']);
    expect(handled).toEqual([]);
    await stillWorks();
  });

  it('protocol violations (garbage, unknown frame types, bad HELLO) close the connection and are counted', async () => {
    const http = await raw(() => RawPeer.open(node.local.port));
    http.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await http.closed;
    const unknownFirst = await raw(() => RawPeer.open(node.local.port));
    unknownFirst.write(Buffer.from([0, 0, 0, 1, FrameType.MESSAGE]));
    await unknownFirst.closed;
    const badHello = await raw(() => RawPeer.open(node.local.port));
    badHello.write(Buffer.from([0, 0, 0, 3, FrameType.HELLO, 0x7b, 0x7d]));
    await badHello.closed;
    const p = await raw(() => RawPeer.handshake(node.local.port, fake.member, null));
    p.frame(99, Buffer.alloc(0));
    await p.closed;
    expect(drops).toEqual(['oversized', 'malformed', 'malformed', 'malformed']);
    expect(node.stats().framesDropped).toBe(4);
    await stillWorks();
  });

  it('a sender that is not a member of our domain is not handled (DomainFilterInterceptor)', async () => {
    const p = await raw(() => RawPeer.handshake(node.local.port, { ...fake.member, domain: 'other-app' }, null));
    p.message(1, '{"from":"elsewhere"}');
    expect(await p.reply(1)).toEqual([FrameType.FAIL_ACK, 'dropped: domain']);
    expect(handled).toEqual([]);
    expect(node.members().map((m) => m.route)).toEqual(['F']);
  });
});

describe('with a secret', () => {
  beforeEach(() => setup(SECRET));

  it('a HELLO signed with a wrong secret, or not signed, is dropped as forged and the connection closed', async () => {
    const wrong = await raw(() => RawPeer.handshake(node.local.port, fake.member, Buffer.from('guess'), Buffer.from('guess')));
    await wrong.closed;
    const unsigned = await raw(() => RawPeer.handshake(node.local.port, fake.member, null, null));
    await unsigned.closed;
    expect(drops).toEqual(['forged', 'forged']);
    expect(node.members().map((m) => m.route)).toEqual(['F']);
    await stillWorks();
  });

  it('a frame with a forged MAC is dropped as forged, never handled, and its connection closed', async () => {
    const p = await raw(() => RawPeer.handshake(node.local.port, fake.member, Buffer.from(SECRET)));
    p.message(1, '{"n":1}');
    expect(await p.reply(1)).toEqual([FrameType.ACK, '']);
    // A well-formed frame whose MAC is made up.
    const payload = idAndText(2, '{"n":"evil"}');
    const forged = Buffer.concat([Buffer.from([0, 0, 0, 0, FrameType.MESSAGE]), payload, Buffer.alloc(32, 7)]);
    forged.writeUInt32BE(forged.length - 4, 0);
    p.write(forged);
    await p.closed;
    expect(handled).toEqual([{ n: 1 }]);
    expect(drops).toEqual(['forged']);
    await stillWorks();
  });

  it('a replayed frame is dropped (sequence numbers), on the same connection and on a new one', async () => {
    const p = await raw(() => RawPeer.handshake(node.local.port, fake.member, Buffer.from(SECRET)));
    const captured = p.message(1, '{"transfer":100}');
    expect(await p.reply(1)).toEqual([FrameType.ACK, '']);
    // Replayed on another authenticated connection: that connection's keys differ.
    const q = await raw(() => RawPeer.handshake(node.local.port, fake.member, Buffer.from(SECRET)));
    q.write(captured);
    await q.closed;
    // Replayed on the same connection: the sequence number moved on.
    p.write(captured);
    await p.closed;
    expect(handled).toEqual([{ transfer: 100 }]);
    expect(drops).toEqual(['forged', 'forged']);
    await stillWorks();
  });
});

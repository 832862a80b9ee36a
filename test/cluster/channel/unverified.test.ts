// Frames from a sender that is still being verified (design decision, inbox.ts): a joiner's first
// request (e.g. DeltaManager's GET_ALL_SESSIONS to the oldest member) often arrives before the
// receiving node finished its TCP probe of the joiner. It is held — not dropped — and handled once
// the joiner is verified, after 'memberAdded'; if verification fails it is answered with a failure.
import { afterEach, expect, it } from 'vitest';
import { FrameType, idAndText } from '../../../src/cluster/channel/frame.js';
import type { ClusterMember } from '../../../src/cluster/channel/index.js';
import { fakeReceiver, RawPeer, type FakeReceiver } from './fixtures/raw-peer.js';
import { channel, staticOptions, stopChannels } from './helpers.js';
import { freePorts } from '../../helpers/ports.js';

let fake: FakeReceiver | undefined;
let peer: RawPeer | undefined;

afterEach(async () => {
  peer?.destroy();
  await fake?.close();
  await stopChannels();
});

async function node() {
  const [port] = await freePorts(1);
  const n = channel(staticOptions('N', port!, [port!]));
  const log: string[] = [];
  n.on('memberAdded', (m: ClusterMember) => log.push(`added ${m.route}`));
  n.onRequest((from, msg) => {
    log.push(`request from ${from.route}`);
    return { state: 'all sessions', asked: msg };
  });
  await n.start();
  return { n, log };
}

it("a joiner's request sent while the node is still verifying it is held and answered after memberAdded", async () => {
  const { n, log } = await node();
  fake = await fakeReceiver('J', null, 150); // its receiver answers the probe after 150 ms
  peer = await RawPeer.handshake(n.local.port, fake.member, null);
  peer.frame(FrameType.REQUEST, idAndText(1, '{"type":"GET_ALL_SESSIONS"}'));
  const [type, text] = await peer.reply(1);
  expect(type).toBe(FrameType.RESPONSE);
  expect(JSON.parse(text)).toEqual({ state: 'all sessions', asked: { type: 'GET_ALL_SESSIONS' } });
  expect(log).toEqual(['added J', 'request from J']);
  expect(n.stats().framesDropped).toBe(0);
});

it('if the sender cannot be verified, its held request is answered with a failure, never handled', async () => {
  const { n, log } = await node();
  fake = await fakeReceiver('J', null);
  const claimed = fake.member;
  await fake.close(); // its advertised receiver is gone: the probe is refused
  fake = undefined;
  peer = await RawPeer.handshake(n.local.port, claimed, null);
  peer.frame(FrameType.REQUEST, idAndText(1, '{"type":"GET_ALL_SESSIONS"}'));
  expect(await peer.reply(1)).toEqual([FrameType.RESPONSE_ERROR, 'dropped: unverified']);
  expect(log).toEqual([]);
  expect(n.members()).toEqual([]);
  expect(n.stats().framesDropped).toBe(1);
});

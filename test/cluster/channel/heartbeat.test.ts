// Multicast heartbeat datagrams (heartbeat.ts): what a member advertises round-trips; forged,
// malformed and replayed datagrams are refused with the reason that is counted.
import { describe, expect, it } from 'vitest';
import { HeartbeatReplayGuard, decodeHeartbeat, encodeHeartbeat } from '../../../src/cluster/channel/heartbeat.js';
import { SHUTDOWN_COMMAND, createLocalMember } from '../../../src/cluster/channel/member.js';

const secret = Buffer.from('s3cret');
const member = createLocalMember('jvm_a', '127.0.0.1', 4000, 'shop');

describe('heartbeat datagrams', () => {
  it('round-trip member info, command and sequence number, with and without a secret', () => {
    for (const s of [secret, null]) {
      const hb = { member, command: SHUTDOWN_COMMAND, seq: 42 };
      expect(decodeHeartbeat(encodeHeartbeat(hb, s), s)).toEqual(hb);
    }
  });

  it('refuses a datagram signed with another secret, an unsigned one, and a tampered one', () => {
    const good = encodeHeartbeat({ member, command: '', seq: 1 }, secret);
    expect(decodeHeartbeat(encodeHeartbeat({ member, command: '', seq: 1 }, Buffer.from('x')), secret)).toEqual({ error: 'forged' });
    expect(decodeHeartbeat(encodeHeartbeat({ member, command: '', seq: 1 }, null), secret)).toEqual({ error: 'forged' });
    const tampered = Buffer.from(good);
    tampered[20] = tampered[20]! ^ 1;
    expect(decodeHeartbeat(tampered, secret)).toEqual({ error: 'forged' });
  });

  it('refuses foreign, malformed, polluting and oversized datagrams', () => {
    expect(decodeHeartbeat(Buffer.from('TRIBES-B\x01\x00garbage'), null)).toEqual({ error: 'malformed' });
    expect(decodeHeartbeat(Buffer.from('STKDMB01{not json'), null)).toEqual({ error: 'invalid-json' });
    expect(decodeHeartbeat(Buffer.from('STKDMB01{"member":{},"command":"","seq":1}'), null)).toEqual({ error: 'malformed' });
    expect(decodeHeartbeat(Buffer.from('STKDMB01{"__proto__":{"x":1}}'), null)).toEqual({ error: 'forbidden-key' });
    const bad = { ...member, port: 70000 };
    expect(decodeHeartbeat(Buffer.from(`STKDMB01${JSON.stringify({ member: bad, command: '', seq: 1 })}`), null)).toEqual({
      error: 'malformed',
    });
    expect(decodeHeartbeat(Buffer.alloc(9000), null)).toEqual({ error: 'oversized' });
  });
});

describe('HeartbeatReplayGuard', () => {
  it('accepts only increasing sequence numbers per member and forgets silent members', () => {
    const g = new HeartbeatReplayGuard(1000);
    expect(g.accept('a', 1, 0)).toBe(true);
    expect(g.accept('a', 2, 10)).toBe(true);
    expect(g.accept('a', 2, 20)).toBe(false); // replay
    expect(g.accept('a', 1, 30)).toBe(false); // older
    expect(g.accept('b', 1, 30)).toBe(true); // members are independent
    g.prune(1011);
    expect(g.accept('a', 1, 1011)).toBe(true); // forgotten after 1000 ms of silence
    expect(g.accept('b', 1, 1011)).toBe(false); // b was heard at 30: still remembered
  });
});

// Multicast heartbeat datagrams (heartbeat.ts): what a member advertises round-trips; forged,
// malformed and replayed datagrams are refused with the reason that is counted. Replay protection
// is a time window plus sequence numbers: every replay fails one or the other.
import { describe, expect, it } from 'vitest';
import { HeartbeatReplayGuard, decodeHeartbeat, encodeHeartbeat } from '../../../src/cluster/channel/heartbeat.js';
import { SHUTDOWN_COMMAND, createLocalMember } from '../../../src/cluster/channel/member.js';

const secret = Buffer.from('s3cret');
const T0 = 1_700_000_000_000;
const member = createLocalMember('jvm_a', '127.0.0.1', 4000, 'shop', T0);

describe('heartbeat datagrams', () => {
  it('round-trip member info, command, sequence number and send time, with and without a secret', () => {
    for (const s of [secret, null]) {
      const hb = { member, command: SHUTDOWN_COMMAND, seq: 42, at: T0 + 5 };
      expect(decodeHeartbeat(encodeHeartbeat(hb, s), s)).toEqual(hb);
    }
  });

  it('refuses a datagram signed with another secret, an unsigned one, and a tampered one', () => {
    const hb = { member, command: '', seq: 1, at: T0 };
    const good = encodeHeartbeat(hb, secret);
    expect(decodeHeartbeat(encodeHeartbeat(hb, Buffer.from('x')), secret)).toEqual({ error: 'forged' });
    expect(decodeHeartbeat(encodeHeartbeat(hb, null), secret)).toEqual({ error: 'forged' });
    const tampered = Buffer.from(good);
    tampered[20] = tampered[20]! ^ 1;
    expect(decodeHeartbeat(tampered, secret)).toEqual({ error: 'forged' });
  });

  it('refuses foreign, malformed, timeless and oversized datagrams; keys like __proto__ are just data', () => {
    expect(decodeHeartbeat(Buffer.from('TRIBES-B\x01\x00garbage'), null)).toEqual({ error: 'malformed' });
    expect(decodeHeartbeat(Buffer.from('STKDMB02{not json'), null)).toEqual({ error: 'invalid-json' });
    expect(decodeHeartbeat(Buffer.from('STKDMB02{"member":{},"command":"","seq":1,"at":1}'), null)).toEqual({ error: 'malformed' });
    // The previous format (no send time) is not accepted.
    expect(decodeHeartbeat(Buffer.from(`STKDMB01${JSON.stringify({ member, command: '', seq: 1 })}`), null)).toEqual({ error: 'malformed' });
    expect(decodeHeartbeat(Buffer.from(`STKDMB02${JSON.stringify({ member, command: '', seq: 1 })}`), null)).toEqual({ error: 'malformed' });
    expect(decodeHeartbeat(Buffer.from('STKDMB02{"__proto__":{"x":1}}'), null)).toEqual({ error: 'malformed' });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    const bad = { ...member, port: 70000 };
    expect(decodeHeartbeat(Buffer.from(`STKDMB02${JSON.stringify({ member: bad, command: '', seq: 1, at: T0 })}`), null)).toEqual({
      error: 'malformed',
    });
    expect(decodeHeartbeat(Buffer.alloc(9000), null)).toEqual({ error: 'oversized' });
  });
});

describe('HeartbeatReplayGuard', () => {
  it('accepts only increasing sequence numbers per member, within the time window', () => {
    const g = new HeartbeatReplayGuard(1000);
    expect(g.accept('a', 1, T0, T0)).toBe(true);
    expect(g.accept('a', 2, T0 + 10, T0 + 10)).toBe(true);
    expect(g.accept('a', 2, T0 + 10, T0 + 20)).toBe(false); // replay
    expect(g.accept('a', 1, T0, T0 + 30)).toBe(false); // older
    expect(g.accept('b', 1, T0 + 30, T0 + 30)).toBe(true); // members are independent
    // Clock skew within the window is fine, in both directions.
    expect(g.accept('c', 1, T0 + 900, T0)).toBe(true);
    expect(g.accept('d', 1, T0 - 900, T0)).toBe(true);
  });

  it('refuses a heartbeat sent longer ago than the window, even for an id it never saw (a replay of a gone member)', () => {
    const g = new HeartbeatReplayGuard(1000);
    expect(g.accept('gone', 7, T0, T0 + 1001)).toBe(false);
    expect(g.accept('future', 1, T0 + 1001, T0)).toBe(false);
  });

  it('remembers ids for twice the window, so a replay is caught by the window or by its sequence number', () => {
    const g = new HeartbeatReplayGuard(1000);
    expect(g.accept('a', 5, T0, T0)).toBe(true);
    // Replayed just inside the window: the id is still remembered, so its seq refuses it.
    g.prune(T0 + 1000);
    expect(g.accept('a', 5, T0, T0 + 1000)).toBe(false);
    // Once forgotten (2 × window of silence) the window refuses the same replay.
    g.prune(T0 + 2001);
    expect(g.accept('a', 5, T0, T0 + 2001)).toBe(false);
    // …while the real member, sending fresh heartbeats, is accepted again.
    expect(g.accept('a', 6, T0 + 2001, T0 + 2001)).toBe(true);
  });
});

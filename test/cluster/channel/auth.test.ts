// Frame authentication (auth.ts): per-connection keys from both nonces, implicit sequence numbers,
// so replayed, reordered or cross-connection frames fail, and a wrong secret fails everything.
import { describe, expect, it } from 'vitest';
import { FrameMac, connectionKeys, helloAckMac, helloMac, newNonce, verifyMac } from '../../../src/cluster/channel/auth.js';

const secret = Buffer.from('s3cret');
const payload = (s: string) => Buffer.from(s);

function pair(sec = secret, verifierSecret = sec) {
  const cn = newNonce();
  const sn = newNonce();
  const tx = new FrameMac(connectionKeys(sec, cn, sn).clientToServer);
  const rx = new FrameMac(connectionKeys(verifierSecret, cn, sn).clientToServer);
  return { tx, rx, cn, sn };
}

describe('FrameMac', () => {
  it('accepts frames in order and rejects a replayed one', () => {
    const { tx, rx } = pair();
    const m0 = tx.sign(7, payload('a'))!;
    const m1 = tx.sign(7, payload('b'))!;
    expect(rx.verify(7, payload('a'), m0)).toBe(true);
    expect(rx.verify(7, payload('b'), m1)).toBe(true);
    expect(rx.verify(7, payload('b'), m1)).toBe(false); // replay of the last frame
  });

  it('rejects reordered frames, a changed type or payload, and frames from another connection', () => {
    const a = pair();
    const m0 = a.tx.sign(7, payload('a'))!;
    const m1 = a.tx.sign(7, payload('b'))!;
    expect(a.rx.verify(7, payload('b'), m1)).toBe(false); // m1 before m0
    const b = pair();
    const n0 = b.tx.sign(7, payload('a'))!;
    expect(b.rx.verify(10, payload('a'), n0)).toBe(false);
    const c = pair();
    expect(c.rx.verify(7, payload('a'), m0)).toBe(false); // same content, other connection's keys
    const d = pair();
    expect(d.rx.verify(7, payload('x'), d.tx.sign(7, payload('y'))!)).toBe(false);
  });

  it('rejects everything signed with another secret', () => {
    const { tx, rx } = pair(Buffer.from('right'), Buffer.from('wrong'));
    expect(rx.verify(7, payload('a'), tx.sign(7, payload('a'))!)).toBe(false);
  });

  it('without a secret signs nothing and accepts only MAC-less frames', () => {
    const m = new FrameMac(null);
    expect(m.sign(7, payload('a'))).toBeUndefined();
    expect(m.verify(7, payload('a'), Buffer.alloc(0))).toBe(true);
    expect(m.verify(7, payload('a'), Buffer.alloc(32))).toBe(false);
  });
});

describe('handshake MACs', () => {
  it('binds HELLO_ACK to the client nonce, so an old answer cannot be replayed to a new HELLO', () => {
    const p = payload('{"hello":1}');
    const n1 = newNonce();
    const mac = helloAckMac(secret, n1, p)!;
    expect(verifyMac(helloAckMac(secret, n1, p), mac)).toBe(true);
    expect(verifyMac(helloAckMac(secret, newNonce(), p), mac)).toBe(false);
    expect(verifyMac(helloMac(Buffer.from('other'), p), helloMac(secret, p)!)).toBe(false);
  });
});

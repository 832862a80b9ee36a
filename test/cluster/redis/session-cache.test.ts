/**
 * The Redis store's pure parts: the local cache's coherence rules (a read is only cached when
 * nothing happened to its session meanwhile), its LRU bound, and the key layout (hash tag, slot).
 */
import { describe, expect, it } from 'vitest';
import { idFromKey, randomHexInSlot, scanPattern, sessionKey, sessionSlot } from '../../../src/cluster/store/keys.js';
import { SessionCache } from '../../../src/cluster/store/session-cache.js';
import { ClusterSession } from '../../../src/cluster/session/session.js';
import { randomBytes } from 'node:crypto';

const session = (id: string) => new ClusterSession(id, 0, 1800);

describe('SessionCache', () => {
  it('a load is cached only if no write of ours, no invalidation and no flush happened since it was sent', () => {
    const c = new SessionCache(10);
    const t1 = c.loadToken('s');
    expect(c.putIfUnchanged(t1, session('s'))).toBe(true);
    const t2 = c.loadToken('x');
    c.touch('x'); // a write of ours was sent after the read: the reply predates it
    expect(c.putIfUnchanged(t2, session('x'))).toBe(false);
    const t3 = c.loadToken('y');
    c.invalidate('y'); // another node changed it meanwhile
    expect(c.putIfUnchanged(t3, session('y'))).toBe(false);
    const t4 = c.loadToken('z');
    c.flush(); // connection lost: invalidations may have been missed
    expect(c.putIfUnchanged(t4, session('z'))).toBe(false);
    expect(c.ids()).toEqual([]);
    expect(c.flushes).toBe(1);
  });

  it('counts hits and misses, keeps the most recently used within maxEntries, and can be off', () => {
    const c = new SessionCache(2);
    c.put(session('a'));
    c.put(session('b'));
    expect(c.lookup('a')?.id).toBe('a'); // a is now the most recent
    c.put(session('c')); // evicts b
    expect(c.ids()).toEqual(['a', 'c']);
    expect(c.lookup('b')).toBeUndefined();
    expect({ hits: c.hits, misses: c.misses, evictions: c.evictions }).toEqual({ hits: 1, misses: 1, evictions: 1 });
    const off = new SessionCache(0);
    off.put(session('a'));
    expect(off.putIfUnchanged(off.loadToken('a'), session('a'))).toBe(false);
    expect(off.size).toBe(0);
  });
});

describe('key layout', () => {
  it('<prefix>{<HEX>}.<route>: every route of one session in one hash slot; ids come back from keys', () => {
    const id = 'ABCDEF0123456789ABCDEF0123456789.jvm_a';
    expect(sessionKey('stickyd:session:', id)).toBe('stickyd:session:{ABCDEF0123456789ABCDEF0123456789}.jvm_a');
    expect(idFromKey('stickyd:session:', sessionKey('stickyd:session:', id))).toBe(id);
    expect(idFromKey('stickyd:session:', 'other:key')).toBeNull();
    expect(sessionSlot(id)).toBe(sessionSlot('ABCDEF0123456789ABCDEF0123456789.jvm_b'));
    expect(scanPattern('app*:')).toBe('app\\*:{*');
    expect(scanPattern('s:', 'jvm_a')).toBe('s:{*}.jvm_a');
  });

  it('CRC16 slots as Redis Cluster computes them (redis.io key distribution examples), and fresh ids drawn within a slot', () => {
    // Known values: CRC16/XMODEM("123456789") = 0x31C3; slot = crc & 16383.
    expect(sessionSlot('123456789')).toBe(0x31c3 & 0x3fff);
    expect(sessionSlot('foo')).toBe(12182); // CLUSTER KEYSLOT foo
    for (let i = 0; i < 5; i++) {
      const slot = Math.floor(Math.random() * 16384);
      const hex = randomHexInSlot(slot, randomBytes);
      expect(hex).toMatch(/^[0-9A-F]{32}$/);
      expect(sessionSlot(`${hex}.A`)).toBe(slot);
    }
    expect(() => randomHexInSlot(1, (n) => Buffer.alloc(n))).toThrow(/random source/);
  });
});

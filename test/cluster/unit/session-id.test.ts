import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  defaultRandomSource,
  generateSessionId,
  isPlausibleSessionId,
  isValidRoute,
  splitSessionId,
  withRoute,
} from '../../../src/cluster/session/id.js';

describe('session ids (cluster-semantics §3.1)', () => {
  it('are 32 uppercase hex chars, a dot and the jvmRoute', () => {
    for (let i = 0; i < 200; i++) expect(generateSessionId('jvm_a')).toMatch(/^[0-9A-F]{32}\.jvm_a$/);
  });

  it('draw 16 bytes from node:crypto randomBytes (the OS CSPRNG) by default', () => {
    expect(defaultRandomSource).toBe(randomBytes);
    const asked: number[] = [];
    const id = generateSessionId('B', (n) => {
      asked.push(n);
      return Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    });
    expect(asked).toEqual([16]);
    expect(id).toBe('00112233445566778899AABBCCDDEEFF.B');
  });

  it('refuse a random source that returns the wrong size', () => {
    expect(() => generateSessionId('B', () => Buffer.alloc(8))).toThrow(/16 bytes/);
  });

  it('do not repeat (10k draws)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(generateSessionId('A'));
    expect(seen.size).toBe(10_000);
  });

  it('have no route part when the route is empty (Tomcat appends .jvmRoute only when set)', () => {
    expect(generateSessionId('')).toMatch(/^[0-9A-F]{32}$/);
  });

  it('split at the FIRST dot, as the valve and mod_proxy_balancer do', () => {
    expect(splitSessionId('ABC.jvm_a')).toEqual({ base: 'ABC', route: 'jvm_a' });
    expect(splitSessionId('ABC.r.x')).toEqual({ base: 'ABC', route: 'r.x' });
    expect(splitSessionId('ABC')).toEqual({ base: 'ABC', route: null });
    expect(withRoute('ABC.A', 'B')).toBe('ABC.B');
    expect(withRoute('ABC', 'B')).toBe('ABC.B');
  });

  it('accept routes a proxy can match and reject separators', () => {
    for (const ok of ['A', 'jvm_a', 'node-1', 'n.1']) expect(isValidRoute(ok)).toBe(true);
    for (const bad of ['', 'a b', 'a;b', 'a,b', 'a=b', 'x'.repeat(65)]) expect(isValidRoute(bad)).toBe(false);
  });

  it('treat presented ids as untrusted text: bounded and printable', () => {
    expect(isPlausibleSessionId('0123456789ABCDEF0123456789ABCDEF.A')).toBe(true);
    for (const bad of ['', 'a b', 'a;b', 'x'.repeat(201), 'a\u0000b', 'é']) expect(isPlausibleSessionId(bad)).toBe(false);
  });
});

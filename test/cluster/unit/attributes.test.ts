import { describe, expect, it } from 'vitest';
import {
  AttributeNotSerializableError,
  applyDelta,
  decodeAttributes,
  diffAttributes,
  encodeAttribute,
  attributeNameProblem,
  requestChanges,
} from '../../../src/cluster/session/attributes.js';

const texts = (o: Record<string, unknown>) => new Map(Object.entries(o).map(([k, v]) => [k, JSON.stringify(v)]));

describe('attribute diffing (deltas per top-level attribute)', () => {
  it('replicates an in-place mutation of an object attribute (Tomcat does not, cluster-semantics §2.3)', () => {
    const base = texts({ list: ['first'], n: 1 });
    const values = decodeAttributes(base);
    (values.list as string[]).push('second');
    const { delta } = requestChanges(base, values);
    expect(delta).toEqual({ set: [['list', '["first","second"]']], remove: [] });
  });

  it('marks a top-level attribute changed when something deep inside changes', () => {
    const base = texts({ user: { profile: { name: 'a', tags: [1] } }, other: 1 });
    const values = decodeAttributes(base);
    ((values.user as { profile: { tags: number[] } }).profile.tags)[0] = 2;
    expect(requestChanges(base, values).delta.set.map(([k]) => k)).toEqual(['user']);
  });

  it('reports removals (delete and undefined) and nothing for untouched values', () => {
    const base = texts({ a: 1, b: 2, c: 3 });
    const values = decodeAttributes(base);
    delete values.a;
    values.b = undefined;
    expect(requestChanges(base, values).delta).toEqual({ set: [], remove: ['a', 'b'] });
    expect(requestChanges(base, decodeAttributes(base)).delta).toEqual({ set: [], remove: [] });
  });

  it('keeps the previous value of an attribute that can no longer be serialised', () => {
    const base = texts({ a: 1 });
    const values = decodeAttributes(base) as Record<string, unknown>;
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    values.a = loop;
    const r = requestChanges(base, values);
    expect(r.delta).toEqual({ set: [], remove: [] });
    expect(r.errors[0]).toBeInstanceOf(AttributeNotSerializableError);
    expect(r.texts.get('a')).toBe('1');
  });

  it('diffs two states, honouring a name filter', () => {
    const from = texts({ a: 1, b: 2, secret: 'x' });
    const to = texts({ a: 1, b: 3, c: 4, secret: 'y' });
    expect(diffAttributes(from, to)).toEqual({ set: [['b', '3'], ['c', '4'], ['secret', '"y"']], remove: [] });
    expect(diffAttributes(from, to, (n) => n !== 'secret').set.map(([k]) => k)).toEqual(['b', 'c']);
    expect(diffAttributes(to, from).remove).toEqual(['c']);
  });

  it('applies a delta', () => {
    const m = texts({ a: 1, b: 2 });
    applyDelta(m, { set: [['a', '5'], ['z', '"x"']], remove: ['b'] });
    expect(Object.fromEntries(m)).toEqual({ a: '5', z: '"x"' });
  });
});

describe('attribute values must be JSON', () => {
  it('rejects functions, symbols, bigints, NaN and cycles with a clear error', () => {
    const cyc: Record<string, unknown> = {};
    cyc.me = cyc;
    for (const v of [() => 1, Symbol('s'), 10n, NaN, Infinity, cyc]) {
      expect(() => encodeAttribute('k', v)).toThrow(AttributeNotSerializableError);
    }
    expect(() => encodeAttribute('k', () => 1)).toThrow(/session attribute "k" cannot be replicated/);
  });

  it('encodes JSON values and treats undefined as removal', () => {
    expect(encodeAttribute('k', { a: [1, 'x', null, true] })).toBe('{"a":[1,"x",null,true]}');
    expect(encodeAttribute('k', undefined)).toBeNull();
  });

  it('leaves out a text that is not JSON instead of failing the whole session', () => {
    const bad: string[] = [];
    expect(decodeAttributes(new Map([['ok', '1'], ['broken', '{']]), (n) => bad.push(n))).toEqual(Object.assign(Object.create(null), { ok: 1 }));
    expect(bad).toEqual(['broken']);
  });

  it('refuses only the prototype names as attribute names; values may hold any key (they are data)', () => {
    for (const n of ['__proto__', 'constructor', 'prototype']) expect(attributeNameProblem(n)).toMatch(/not allowed/);
    for (const n of ['user', 'proto', 'Constructor', '', 'cookie']) expect(attributeNameProblem(n)).toBeNull();
    expect(attributeNameProblem(5)).toMatch(/string/);
    // A value with prototype keys at any depth is encoded byte-faithfully and parses to own properties.
    const form = JSON.parse('{"__proto__":{"admin":true},"a":[{"constructor":{"prototype":1}}]}');
    const text = encodeAttribute('form', form)!;
    expect(text).toBe('{"__proto__":{"admin":true},"a":[{"constructor":{"prototype":1}}]}');
    const back = decodeAttributes(new Map([['form', text]])).form as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    // A request that stores a forbidden name reports it instead of replicating it.
    const current = Object.create(null) as Record<string, unknown>;
    current['constructor'] = 1;
    current.ok = 2;
    const r = requestChanges(new Map(), current);
    expect(r.delta.set).toEqual([['ok', '2']]);
    expect(r.errors.map((e) => e.attribute)).toEqual(['constructor']);
  });

  it('decodes into a null-prototype object, so "__proto__" is just a name', () => {
    const v = decodeAttributes(new Map([['__proto__', '{"polluted":true}']]));
    expect(Object.getPrototypeOf(v)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

// Payload parsing (safe-json.ts): JSON only. Keys such as __proto__, constructor and prototype are
// data: kept as own properties at any depth (also behind \u escapes), never touching a prototype.
import { describe, expect, it } from 'vitest';
import { parseClusterJson, toClusterJson } from '../../../src/cluster/channel/safe-json.js';

describe('parseClusterJson', () => {
  it('parses ordinary JSON, including strings that merely mention the forbidden words', () => {
    expect(parseClusterJson('{"a":[1,{"b":null}],"c":"x"}')).toEqual({ ok: true, value: { a: [1, { b: null }], c: 'x' } });
    expect(parseClusterJson('{"text":"the constructor of a prototype is __proto__"}')).toEqual({
      ok: true,
      value: { text: 'the constructor of a prototype is __proto__' },
    });
    expect(parseClusterJson('"\\u00e9"')).toEqual({ ok: true, value: 'é' });
  });

  it.each([
    ['{"__proto__":{"polluted":true}}', ['__proto__']],
    ['{"a":{"constructor":{"prototype":{"polluted":true}}}}', ['a']],
    ['{"prototype":1}', ['prototype']],
    ['{"\\u005f_proto__":{"polluted":true}}', ['__proto__']],
    ['{"constr\\u0075ctor":1}', ['constructor']],
  ])('keeps %s as data: own properties, no prototype touched', (text, keys) => {
    const r = parseClusterJson(text);
    expect(r.ok).toBe(true);
    const v = (r as { value: Record<string, unknown> }).value;
    expect(Object.keys(v)).toEqual(keys);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    // Serialising it again gives the same keys back: byte-faithful replication.
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps a deep __proto__ as an own property inside arrays too', () => {
    const r = parseClusterJson('[1,[2,{"deep":[{"__proto__":{"polluted":true}}]}]]') as { ok: true; value: any };
    const inner = r.value[1][1].deep[0];
    expect(Object.prototype.hasOwnProperty.call(inner, '__proto__')).toBe(true);
    expect(inner.polluted).toBeUndefined();
    expect(JSON.stringify(r.value)).toBe('[1,[2,{"deep":[{"__proto__":{"polluted":true}}]}]]');
  });

  it.each([['{"a":'], ['undefined'], ["{'a':1}"], [''], ['{"a":1}garbage']])('reports invalid JSON for %j', (text) => {
    expect(parseClusterJson(text)).toEqual({ ok: false, reason: 'invalid-json' });
  });
});

describe('toClusterJson', () => {
  it('refuses values that are not JSON with a TypeError the caller sees', () => {
    expect(() => toClusterJson(undefined)).toThrow(TypeError);
    expect(() => toClusterJson(() => 1)).toThrow(/not JSON-serialisable/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toClusterJson(cyclic)).toThrow(/not JSON-serialisable/);
    expect(() => toClusterJson(10n)).toThrow(TypeError);
    expect(toClusterJson({ a: 1 })).toBe('{"a":1}');
  });
});

// Payload parsing (safe-json.ts): JSON only, and any message carrying a prototype-pollution key is
// refused as a whole — including keys hidden behind \u escapes and deep inside arrays.
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
    ['{"__proto__":{"polluted":true}}'],
    ['{"a":{"constructor":{"prototype":{"x":1}}}}'],
    ['{"prototype":1}'],
    ['[1,[2,{"deep":[{"__proto__":null}]}]]'],
    ['{"\\u005f_proto__":{"polluted":true}}'],
    ['{"constr\\u0075ctor":1}'],
  ])('refuses %s', (text) => {
    expect(parseClusterJson(text)).toEqual({ ok: false, reason: 'forbidden-key' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
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

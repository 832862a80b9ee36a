// A proxypass rule that an earlier one shadows is never used (the first matching rule wins,
// apache-semantics §8): the loader warns at the later rule, naming the earlier one. "Shadows" is
// decided the way the mount table matches (src/proxy/mounts.ts): whole path segments unless the
// prefix ends in "/", runs of "/" alike.
import { describe, expect, it } from 'vitest';
import { shadows } from '../../src/config/load.js';
import { aliasMatch } from '../../src/proxy/mounts.js';
import { brief, parse } from './util.js';

describe('shadows(earlier, later)', () => {
  const cases: Array<[string, string, boolean]> = [
    ['/', '/anything', true],
    ['/', '/', true],
    ['/app', '/app', true],
    ['/app', '/app/', true],
    ['/app', '/app/static', true],
    ['/app/', '/app/static', true],
    ['/app', '/apple', false], // segment boundary: /app does not match /apple
    ['/app/', '/app', false], // /app/ does not match the request /app
    ['/app/static', '/app', false],
    ['/ap', '/app', false],
    ['/app//', '/app/x', true], // a run of "/" matches a run
    ['/app', '/app//x', true],
    ['//app', '/app/x', true],
    ['/a/b', '/a/bc/d', false],
  ];
  it.each(cases)('%s before %s: %s', (earlier, later, expected) => {
    expect(shadows(earlier, later)).toBe(expected);
  });

  it('agrees with the mount table: a counterexample among sample paths exactly when not shadowed', () => {
    const paths = ['/', '/app', '/app/', '/app/x', '/apple', '/app//x', '/a/b', '/a/bc/d', '/app/static/y', '/ap', '/anything'];
    for (const [earlier, later] of cases) {
      const counter = paths.find((p) => aliasMatch(p, later) > 0 && aliasMatch(p, earlier) === 0);
      expect(counter === undefined, `${earlier} before ${later}: ${counter}`).toBe(shadows(earlier, later));
    }
  });
});

const file = (rules: string[]) => `listen: [{ port: 8051 }]
balancers:
  b:
    members: [{ url: "http://127.0.0.1:1" }]
proxypass:
${rules.map((r) => `  - ${r}`).join('\n')}
`;

describe('the loader warns about a shadowed rule', () => {
  it('an exclusion after a rule that matches all it would: never applies', () => {
    const c = parse(file(['{ path: /, url: balancer://b/ }', '{ path: /static, url: "!" }']));
    expect(brief(c.warnings)).toEqual([
      '7:13 proxypass[1].path: this exclusion never applies: proxypass[0] (path / at line 6) comes first and matches every path it matches, and the first matching rule wins (put the exclusion first)',
    ]);
  });

  it('a rule after an exclusion or a shorter prefix: never used; only the first shadowing rule is named', () => {
    const c = parse(file(['{ path: /app, url: "!" }', '{ path: /app/api, url: balancer://b/api }', '{ path: /app/, url: balancer://b/ }']));
    expect(brief(c.warnings)).toEqual([
      '7:13 proxypass[1].path: this rule is never used: proxypass[0] (the exclusion of /app at line 6) comes first and matches every path it matches, and the first matching rule wins (put the more specific rule first)',
      '8:13 proxypass[2].path: this rule is never used: proxypass[0] (the exclusion of /app at line 6) comes first and matches every path it matches, and the first matching rule wins (put the more specific rule first)',
    ]);
  });

  it('the same path twice: the second is never used', () => {
    const c = parse(file(['{ path: /x, url: balancer://b/x }', '{ path: /x, url: balancer://b/y }']));
    expect(brief(c.warnings)).toEqual([
      '7:13 proxypass[1].path: this rule is never used: proxypass[0] (path /x at line 6) comes first and matches every path it matches, and the first matching rule wins (put the more specific rule first)',
    ]);
  });

  it('no warning where the order is right or the prefixes only look alike', () => {
    expect(parse(file(['{ path: /static, url: "!" }', '{ path: /app/, url: balancer://b/ }', '{ path: /apple, url: balancer://b/ }', '{ path: /app, url: balancer://b/ }', '{ path: /, url: balancer://b/ }'])).warnings).toEqual([]);
  });
});

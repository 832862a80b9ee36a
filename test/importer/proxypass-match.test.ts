// ProxyPassMatch → prefix rule (proxypass-match.ts): only anchored-prefix regular expressions are
// convertible; the target is what httpd's proxy_trans_match makes of it.
import { describe, expect, it } from 'vitest';
import { regexToPrefix } from '../../src/importer/proxypass-match.js';

describe('convertible: anchored prefixes', () => {
  const cases: Array<[string, string, string, string, boolean]> = [
    // regex, url → path, target, with a note about whole segments
    ['^/app(.*)$', 'balancer://c/app$1', '/app', 'balancer://c/app', true],
    ['^/app/(.*)$', 'balancer://c/x/$1', '/app/', 'balancer://c/x/', false],
    ['^/app/(.*)', 'http://h:8080/$1', '/app/', 'http://h:8080/', false],
    ['^/(.*)$', 'balancer://c/$1', '/', 'balancer://c/', false],
    ['^/static/.*$', '!', '/static/', '!', false],
    ['^/static', '!', '/static', '!', true],
    // No substitution in the URL: httpd appends the whole path.
    ['^/app', 'balancer://c', '/app', 'balancer://c/app', true],
    ['^/app/(.*)$', 'balancer://c', '/app/', 'balancer://c/app/', false],
    // Escaped punctuation is literal.
    ['^/v1\\.0/(.*)$', 'balancer://c/$1', '/v1.0/', 'balancer://c/', false],
    ['^\\/a\\-b(.*)$', 'balancer://c/a-b$1', '/a-b', 'balancer://c/a-b', true],
  ];
  it.each(cases)('%s %s', (regex, url, path, target, note) => {
    const r = regexToPrefix(regex, url);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([r.path, r.url]).toEqual([path, target]);
    expect(r.note !== null).toBe(note);
  });
});

describe('not convertible: real regular expressions', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['/app(.*)', 'balancer://c$1', /not an anchored prefix/],
    ['^/app$', 'balancer://c/app', /matches one path exactly/],
    ['^/(app|api)/(.*)$', 'balancer://c/$2', /not an anchored prefix/],
    ['^/.*\\.jsp$', 'balancer://c$1', /not an anchored prefix/],
    ['^/app/?(.*)$', 'balancer://c/$1', /not an anchored prefix/],
    ['^/v\\d/(.*)$', 'balancer://c/$1', /not an anchored prefix/],
    ['^app/(.*)$', 'balancer://c/$1', /not an anchored prefix/],
    ['^/app/(.*)$', 'balancer://c/$1/x', /substitutions other than a final \$1/],
    ['^/app/(.*)$', 'balancer://c/$2', /substitutions other than a final \$1/],
    ['^/app/.*$', 'balancer://c/$1', /substitutions other than a final \$1/],
  ];
  it.each(cases)('%s %s', (regex, url, reason) => {
    const r = regexToPrefix(regex, url);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

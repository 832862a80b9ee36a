import { describe, expect, it } from 'vitest';
import type { ProxyPassRule } from '../../src/config/types.js';
import { aliasMatch, memberPath, MountTable } from '../../src/proxy/mounts.js';
import { parseRequestPath } from '../../src/proxy/request-path.js';

describe('aliasMatch (httpd alias_match)', () => {
  it.each([
    ['/app', '/app', 4],
    ['/app/x', '/app', 4],
    ['/app?', '/app', 0], // a decoded %3F is a path character, not a boundary
    ['/apple', '/app', 0],
    ['/ap', '/app', 0],
    ['/', '/examples', 0],
    ['/anything', '/', 1],
    ['//app//x', '/app', 5],
    ['/app//x', '/app/', 6],
    ['/app/x', '/app/', 5],
    ['/app', '/app/', 0],
    ['/App/x', '/app', 0],
    ['/a/b/c', '/a//b', 4],
    ['/ab', '/a/b', 0],
  ])('%s against %s → %i', (uri, alias, n) => {
    expect(aliasMatch(uri, alias)).toBe(n);
  });
});

function rule(path: string, balancer: string, backendpath = '', exclude = false): ProxyPassRule {
  return { path, balancer: exclude ? '' : balancer, backendpath, exclude, url: exclude ? '!' : `balancer://${balancer}${backendpath}` };
}

describe('MountTable', () => {
  const table = new MountTable([
    rule('/static', '', '', true),
    rule('/app', 'c1', '/x'),
    rule('/', 'c2', '/'),
  ]);

  it('maps /app + balancer://c1/x: /app/y goes to /x/y with the query appended', () => {
    const t = table.resolve(parseRequestPath('/app/y?a=1'));
    expect(t && 'forwardPath' in t && [t.rule.balancer, t.forwardPath, t.stickyUrl]).toEqual(['c1', '/x/y?a=1', '/x/y?a=1']);
  });

  it('uses the decoded path for matching and stickiness, the raw one on the wire', () => {
    const t = table.resolve(parseRequestPath('/%61pp/a%3Bjsessionid=1.b?q=%41'));
    expect(t && 'forwardPath' in t && [t.rule.balancer, t.forwardPath, t.stickyUrl]).toEqual(['c1', '/x/a%3Bjsessionid=1.b?q=%41', '/x/a;jsessionid=1.b?q=%41']);
  });

  it('first match wins; an exclude rule is reported as such', () => {
    expect(table.resolve(parseRequestPath('/static/img.png'))).toMatchObject({ excluded: true });
    const t = table.resolve(parseRequestPath('/application'));
    expect(t && 'forwardPath' in t && [t.rule.balancer, t.forwardPath]).toEqual(['c2', '/application']);
  });

  it('runs of slashes are merged before matching and forwarding (MergeSlashes On)', () => {
    const t = table.resolve(parseRequestPath('//app//y'));
    expect(t && 'forwardPath' in t && [t.rule.balancer, t.forwardPath]).toEqual(['c1', '/x/y']);
  });

  it('dot segments are removed before matching, so ".." cannot step out of an exclusion', () => {
    expect(table.resolve(parseRequestPath('/app/../static/x'))).toMatchObject({ excluded: true });
  });

  it('no rule: null', () => {
    expect(new MountTable([rule('/app', 'c1')]).resolve(parseRequestPath('/other'))).toBeNull();
  });

  it('supplies the slash a rule without trailing slash would glue on', () => {
    const t = new MountTable([rule('/', 'c1', '')]).resolve(parseRequestPath('/foo'));
    expect(t && 'forwardPath' in t && t.forwardPath).toBe('/foo');
  });

  it('memberPath puts the member basepath first and never sends an empty path', () => {
    expect(memberPath('', '')).toBe('/');
    expect(memberPath('', '?q')).toBe('/?q');
    expect(memberPath('/base', '/x/y')).toBe('/base/x/y');
    expect(memberPath('/base', '')).toBe('/base');
  });
});

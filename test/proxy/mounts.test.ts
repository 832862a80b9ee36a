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

function rule(path: string, balancer: string, backendpath = '', exclude = false, nocanon = false): ProxyPassRule {
  return { path, balancer: exclude ? '' : balancer, backendpath, exclude, url: exclude ? '!' : `balancer://${balancer}${backendpath}`, nocanon };
}

function target(table: MountTable, url: string): [string, string, string] | 'excluded' | null {
  const t = table.resolve(parseRequestPath(url));
  if (t === null) return null;
  if ('excluded' in t) return 'excluded';
  return [t.rule.balancer, t.forwardPath, t.stickyUrl];
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

  it('uses the decoded path for stickiness, and sends it canonicalised (ap_proxy_canonenc); the query as it came', () => {
    expect(target(table, '/%61pp/a%3Bjsessionid=1.b%7c?q=%41')).toEqual(['c1', '/x/a;jsessionid=1.b%7C?q=%41', '/x/a;jsessionid=1.b|?q=%41']);
  });

  it('nocanon: the rest of the path goes out as the client wrote it', () => {
    const raw = new MountTable([rule('/app', 'c1', '/x', false, true)]);
    expect(target(raw, '/%61pp/a%3Bjsessionid=1.b%7c?q=%41')).toEqual(['c1', '/x/a%3Bjsessionid=1.b%7c?q=%41', '/x/a;jsessionid=1.b|?q=%41']);
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

describe('MountTable matches the servlet form of the path (what Tomcat maps)', () => {
  const table = new MountTable([
    rule('/manager', '', '', true),
    rule('/app', 'c1', '/app'),
    rule('/slash/', 'c2', '/s/'),
    rule('/', 'c3', '/'),
  ]);

  it.each([
    ['/manager/html'],
    ['/manager;x/html'],
    ['/manager;jsessionid=1.a'],
    ['/app/..;/manager/html'],
    ['/app/%2e%2e;/manager/html'],
    ['/app/..%3B/manager/html'],
    ['/app/..;x=1/manager'],
    ['/%6danager;/html'],
    ['/manager%3Bx/html'],
    ['/;x/manager/html'],
    ['/app/a/..;/..;/manager'],
    ['/app;/../manager'],
  ])('%s is excluded by `/manager !`', (url) => {
    expect(target(table, url)).toBe('excluded');
  });

  it.each([
    // url, forwarded, sticky URL
    ['/app;jsessionid=ABC.a', '/app;jsessionid=ABC.a', '/app;jsessionid=ABC.a'],
    ['/app;jsessionid=ABC.a/x', '/app;jsessionid=ABC.a/x', '/app;jsessionid=ABC.a/x'],
    ['/app/x;jsessionid=ABC.a?q=1', '/app/x;jsessionid=ABC.a?q=1', '/app/x;jsessionid=ABC.a?q=1'],
    ['/app/x%3Bjsessionid=ABC.a', '/app/x;jsessionid=ABC.a', '/app/x;jsessionid=ABC.a'],
    ['/app/x/..;/y', '/app/x/..;/y', '/app/x/..;/y'],
    ['/other/..;/app/y', '/app/y', '/app/y'],
    ['/slash;v=1/y', '/s/y', '/s/y'],
  ])('%s goes to %s (sticky URL %s)', (url, forwarded, sticky) => {
    const t = target(table, url);
    expect(t).not.toBe('excluded');
    expect(t && t !== 'excluded' && [t[1], t[2]]).toEqual([forwarded, sticky]);
  });

  it('a prefix still has to match whole segments: /manager2 and /managerx;y are not /manager', () => {
    expect(target(table, '/manager2/x')).toEqual(['c3', '/manager2/x', '/manager2/x']);
    expect(target(table, '/managerx;y/z')).toEqual(['c3', '/managerx;y/z', '/managerx;y/z']);
  });
});

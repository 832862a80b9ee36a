import { describe, expect, it } from 'vitest';
import { PathError, parseRequestPath, rawOffset } from '../../src/proxy/request-path.js';

describe('parseRequestPath: httpd r->uri from the request target', () => {
  it.each([
    // target, decoded path, raw path, query
    ['/', '/', '/', null],
    ['/app/x?a=1&b', '/app/x', '/app/x', 'a=1&b'],
    ['/app/x?', '/app/x', '/app/x', ''],
    ['/a%20b/c', '/a b/c', '/a%20b/c', null],
    ['/x%3Bjsessionid=abc.b', '/x;jsessionid=abc.b', '/x%3Bjsessionid=abc.b', null],
    ['/a/./b/../c', '/a/c', '/a/c', null],
    ['/a/b/..', '/a/', '/a/', null],
    ['/a/b/.', '/a/b/', '/a/b/', null],
    ['/a/%2e%2E/c', '/c', '/c', null],
    ['/a//b', '/a/b', '/a/b', null],
    ['//a///b//', '/a/b/', '/a/b/', null],
    ['//', '/', '/', null],
    ['/a/..b/c', '/a/..b/c', '/a/..b/c', null],
    ['http://example.com/app/x?q', '/app/x', '/app/x', 'q'],
    ['http://example.com', '/', '/', null],
    ['/%C3%A9', '/\u00c3\u00a9', '/%C3%A9', null],
  ])('%s', (target, decoded, raw, query) => {
    const p = parseRequestPath(target);
    expect(p.decoded).toBe(decoded);
    expect(p.raw).toBe(raw);
    expect(p.query).toBe(query);
  });

  it.each([
    // decoded path, servlet form (path parameters stripped, dots resolved again)
    ['/a/b', '/a/b'],
    ['/a;x/b', '/a/b'],
    ['/a;x=1;y=2/b;z', '/a/b'],
    ['/a/..;/b', '/b'],
    ['/a/b/..;x', '/a/'],
    ['/a/.;x/b', '/a/b'],
    ['/;x/a', '/a'],
    ['/a/;x', '/a/'],
    ['/a/;x/', '/a/'],
    ['/;x', '/'],
    ['/a/b;c/', '/a/b/'],
  ])('servlet form of %s is %s', (decoded, servlet) => {
    expect(parseRequestPath(decoded).servlet).toBe(servlet);
  });

  it('maps decoded offsets back to the raw path', () => {
    const p = parseRequestPath('/a%20b/c%3Bd');
    expect(p.decoded).toBe('/a b/c;d');
    // "/a b/" is 5 decoded chars and "/a%20b/" 7 raw ones.
    expect(rawOffset(p, 5)).toBe(7);
    expect(p.raw.slice(rawOffset(p, 5))).toBe('c%3Bd');
    expect(rawOffset(p, p.decoded.length)).toBe(p.raw.length);
  });

  it.each([
    ['/a%zzb', 400],
    ['/a%2', 400],
    ['/a%2Fb', 404],
    ['/a%2fb', 404],
    ['/a%00b', 404],
    ['/a\\b', 400],
    ['/a%5Cb', 400],
    ['/a%5cb', 400],
    ['/..', 400],
    ['/..;/x', 400],
    ['/a/..;/..;/x', 400],
    ['/a/../..', 400],
    ['*', 400],
    ['example.com:443', 400],
  ])('%s is refused with %i', (target, status) => {
    let error: unknown;
    try {
      parseRequestPath(target);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PathError);
    expect((error as PathError).status).toBe(status);
  });
});

import { describe, expect, it } from 'vitest';
import type { ReverseRule } from '../../src/config/types.js';
import { absoluteUrl, ReverseMap, type PublicOrigin } from '../../src/proxy/reverse.js';

const members: Record<string, Array<{ name: string }>> = {
  rv: [{ name: 'http://127.0.0.1:27001' }, { name: 'http://127.0.0.1:27002' }],
  base: [{ name: 'http://example.com/foo' }],
  other: [{ name: 'http://127.0.0.1:27003' }],
};
const origin: PublicOrigin = { host: '127.0.0.1:27080', localPort: 27080, serverName: 'www.example.com' };

function map(rules: ReverseRule[], cookiePaths = [] as Array<{ internal: string; public: string }>, cookieDomains = [] as Array<{ internal: string; public: string }>): ReverseMap {
  return new ReverseMap(rules, cookiePaths, cookieDomains, (b) => members[b]);
}

describe('ProxyPassReverse (apache-semantics §8, the [V] examples)', () => {
  const m = map([{ path: '/rv', balancer: 'rv', url: '' }]);
  it.each([
    ['http://127.0.0.1:27002/bar?q=1', 'http://127.0.0.1:27080/rv/bar?q=1'],
    ['HTTP://127.0.0.1:27001/upper', 'http://127.0.0.1:27080/rv/upper'],
    ['http://127.0.0.1:27001', 'http://127.0.0.1:27080/rv'],
    ['/local', '/local'],
    ['http://foreign.example/x', 'http://foreign.example/x'],
  ])('%s → %s', (value, expected) => {
    expect(m.location(value, origin)).toBe(expected);
  });

  it('the first matching entry wins, even when a later entry names the member\'s own balancer', () => {
    const both = map([{ path: '/first', balancer: 'rv', url: '' }, { path: '/second', balancer: 'other', url: '' }]);
    expect(both.location('http://127.0.0.1:27003/x', origin)).toBe('http://127.0.0.1:27080/second/x');
    expect(both.location('http://127.0.0.1:27001/x', origin)).toBe('http://127.0.0.1:27080/first/x');
  });

  it('a balancer entry with its own path matches member URL + that path (case-sensitive path)', () => {
    const m2 = map([{ path: '/bash', balancer: 'base', url: '/bar' }]);
    expect(m2.location('http://example.com/foo/bar/that', origin)).toBe('http://127.0.0.1:27080/bash/that');
    expect(m2.location('http://example.com/foo/BAR/that', origin)).toBe('http://example.com/foo/BAR/that');
  });

  it('a public path of "/" does not double the slash', () => {
    expect(map([{ path: '/', balancer: 'rv', url: '/' }]).location('http://127.0.0.1:27001/x', origin)).toBe('http://127.0.0.1:27080/x');
  });

  it('plain URL entries compare case-insensitively; path entries compare with the path part', () => {
    const m3 = map([{ path: '/p', balancer: null, url: 'http://backend:8080/app' }, { path: '/q', balancer: null, url: '/internal' }]);
    expect(m3.location('HTTP://BACKEND:8080/app/x', origin)).toBe('http://127.0.0.1:27080/p/x');
    expect(m3.location('http://anyhost/internal/y', origin)).toBe('http://127.0.0.1:27080/q/y');
  });

  it('absolute URLs are built from the Host header, port 80 left out, lower-cased host, local port as fallback', () => {
    expect(absoluteUrl('/x', { host: 'WWW.Example.com', localPort: 8080, serverName: 's' })).toBe('http://www.example.com:8080/x');
    expect(absoluteUrl('/x', { host: 'www.example.com:80', localPort: 8080, serverName: 's' })).toBe('http://www.example.com/x');
    expect(absoluteUrl('/x', { host: '[::1]:9000', localPort: 8080, serverName: 's' })).toBe('http://[::1]:9000/x');
    expect(absoluteUrl('/x', { host: null, localPort: 80, serverName: 'srv' })).toBe('http://srv/x');
  });
});

describe('ProxyPassReverseCookiePath / CookieDomain (apache-semantics §8)', () => {
  const m = map([], [{ internal: '/app', public: '/rv' }, { internal: '/', public: '/root' }], [{ internal: 'backend.local', public: 'www.example.com' }]);
  it.each([
    ['JSESSIONID=1.a; Path=/app/sub; HttpOnly', 'JSESSIONID=1.a; Path=/rv; HttpOnly'],
    ['JSESSIONID=1.a; path=/application', 'JSESSIONID=1.a; path=/rv'],
    ['JSESSIONID=1.a; Path=/other', 'JSESSIONID=1.a; Path=/root'],
    ['a=1; Domain=BACKEND.local; Path=/app', 'a=1; Domain=www.example.com; Path=/rv'],
    ['a=1; Path=/app; Domain=backend.local', 'a=1; Path=/rv; Domain=www.example.com'],
    ['a=1; Domain=sub.backend.local', 'a=1; Domain=sub.backend.local'],
    ['a=1', 'a=1'],
  ])('%s → %s', (value, expected) => {
    expect(m.cookie(value)).toBe(expected);
  });

  it('the path match is case-sensitive', () => {
    expect(map([], [{ internal: '/app', public: '/rv' }]).cookie('a=1; Path=/APP')).toBe('a=1; Path=/APP');
  });
});

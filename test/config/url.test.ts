import { describe, expect, it } from 'vitest';
import { parseMemberUrl } from '../../src/config/index.js';
import { normalizeReverseUrl, parseBalancerUrl, parseDirectUrl } from '../../src/config/url.js';

describe('member URL normalization (apache-semantics §7.2, U:2051-2062)', () => {
  it.each([
    // written                          url                              scheme  host            port  basepath
    ['http://10.0.0.1:8080', 'http://10.0.0.1:8080', 'http', '10.0.0.1', 8080, ''],
    ['HTTP://Backend.Example.COM:8080/', 'http://backend.example.com:8080', 'http', 'backend.example.com', 8080, ''],
    ['http://h:80', 'http://h', 'http', 'h', 80, ''],
    ['http://h', 'http://h', 'http', 'h', 80, ''],
    ['http://h:8080/App/', 'http://h:8080/App', 'http', 'h', 8080, '/App'],
    ['http://h/a/b//', 'http://h/a/b', 'http', 'h', 80, '/a/b'],
    ['ajp://192.168.55.229:8009', 'ajp://192.168.55.229', 'ajp', '192.168.55.229', 8009, ''],
    ['AJP://Tomcat:8010', 'ajp://tomcat:8010', 'ajp', 'tomcat', 8010, ''],
    ['ajp://tomcat:80', 'ajp://tomcat:80', 'ajp', 'tomcat', 80, ''],
    ['http://h:8009', 'http://h:8009', 'http', 'h', 8009, ''],
    ['http://[::1]:8080/x', 'http://[::1]:8080/x', 'http', '::1', 8080, '/x'],
    ['http://[2001:DB8::1]', 'http://[2001:db8::1]', 'http', '2001:db8::1', 80, ''],
    ['ajp://[::1]:8009/', 'ajp://[::1]', 'ajp', '::1', 8009, ''],
    ['https://Secure.Example:443/app/', 'https://secure.example/app', 'https', 'secure.example', 443, '/app'],
    ['HTTPS://h:8443', 'https://h:8443', 'https', 'h', 8443, ''],
    ['https://h:80', 'https://h:80', 'https', 'h', 80, ''],
  ])('%s → %s', (written, url, scheme, host, port, basepath) => {
    expect(parseMemberUrl(written)).toEqual({ url, scheme, host, port, basepath });
  });

  it.each([
    ['ftp://h', /scheme must be http:\/\/, https:\/\/ or ajp:\/\//],
    ['h:8080', /expected a URL such as http:\/\/host:port/],
    ['http://', /the URL has no host/],
    ['http://:8080', /the URL has no host/],
    ['http://h:0', /port must be a number between 1 and 65535/],
    ['http://h:65536', /port must be a number between 1 and 65535/],
    ['http://h:x', /port must be a number between 1 and 65535/],
    ['http://h/?a=1', /a query or fragment is not allowed/],
    ['http://h#top', /a query or fragment is not allowed/],
    ['http://user@h', /user information in a URL is not supported/],
    ['http://[nope]', /is not an IPv6 address/],
    ['http://h/a b', /white space/],
  ])('refuses %s', (written, message) => {
    expect(() => parseMemberUrl(written)).toThrow(message);
  });

  it('a direct ProxyPass URL names its member without the path and keeps the path as written', () => {
    expect(parseDirectUrl('HTTP://Legacy:80/app/')).toEqual({
      member: { url: 'http://legacy', scheme: 'http', host: 'legacy', port: 80, basepath: '' },
      path: '/app/',
    });
  });

  it('a ProxyPassReverse URL keeps its path, trailing slash included (it is a prefix)', () => {
    expect(normalizeReverseUrl('HTTP://Old.Example.com:80/app/')).toBe('http://old.example.com/app/');
    expect(normalizeReverseUrl('https://h:443')).toBe('https://h');
    expect(normalizeReverseUrl('https://h:8443/')).toBe('https://h:8443/');
  });

  it('balancer URLs: the name is lower-cased, the path kept; other schemes are not balancer URLs', () => {
    expect(parseBalancerUrl('balancer://Cluster/MyWeb/')).toEqual({ name: 'cluster', path: '/MyWeb/' });
    expect(parseBalancerUrl('BALANCER://c')).toEqual({ name: 'c', path: '' });
    expect(parseBalancerUrl('http://c')).toBeNull();
    expect(() => parseBalancerUrl('balancer://')).toThrow(/expected balancer:\/\/name/);
    expect(() => parseBalancerUrl('balancer:cluster')).toThrow(/expected balancer:\/\/name/);
  });
});

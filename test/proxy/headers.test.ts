import { describe, expect, it } from 'vitest';
import { forwardRequestHeaders, forwardResponseHeaders, hostHeader, memberHostHeader } from '../../src/proxy/headers.js';

const base = { addHeaders: true, clientAddress: '127.0.0.1', serverName: 'www.example.com', tunnel: false };

function flat(pairs: Array<[string, string]>): string[] {
  return pairs.flat();
}

describe('forwardRequestHeaders (apache-semantics §8)', () => {
  it('removes hop-by-hop headers, the ones Connection names, and framing/expectation headers; keeps order and case', () => {
    const raw = flat([
      ['Host', 'front:8080'], ['Connection', 'keep-alive, X-Secret'], ['X-Secret', 's'], ['Keep-Alive', 'timeout=5'],
      ['Proxy-Connection', 'keep-alive'], ['TE', 'trailers'], ['Trailer', 'X-T'], ['Upgrade', 'h2c'],
      ['Transfer-Encoding', 'chunked'], ['Expect', '100-continue'], ['Accept', '*/*'], ['cookie', 'a=1'], ['Cookie', 'b=2'],
    ]);
    const out = forwardRequestHeaders(raw, { ...base, addHeaders: false });
    expect(out).toEqual(flat([['Accept', '*/*'], ['cookie', 'a=1'], ['Cookie', 'b=2']]));
  });

  it('appends X-Forwarded-For/-Host/-Server with ", " to values the client sent (merged first)', () => {
    const raw = flat([['Host', 'front:8080'], ['X-Forwarded-For', '10.0.0.9'], ['x-forwarded-for', '10.0.0.10'], ['X-Forwarded-Server', 'edge']]);
    expect(forwardRequestHeaders(raw, base)).toEqual(flat([
      ['X-Forwarded-For', '10.0.0.9, 10.0.0.10, 127.0.0.1'],
      ['X-Forwarded-Host', 'front:8080'],
      ['X-Forwarded-Server', 'edge, www.example.com'],
    ]));
  });

  it('adds no X-Forwarded-Host without a Host header, and nothing at all with addheaders off', () => {
    expect(forwardRequestHeaders([], base)).toEqual(flat([['X-Forwarded-For', '127.0.0.1'], ['X-Forwarded-Server', 'www.example.com']]));
    expect(forwardRequestHeaders(flat([['X-Forwarded-For', '1.2.3.4']]), { ...base, addHeaders: false })).toEqual(flat([['X-Forwarded-For', '1.2.3.4']]));
  });

  it('a tunnel keeps Upgrade even though Connection names it', () => {
    const raw = flat([['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Key', 'k']]);
    expect(forwardRequestHeaders(raw, { ...base, addHeaders: false, tunnel: true })).toEqual(flat([['Upgrade', 'websocket'], ['Sec-WebSocket-Key', 'k']]));
  });
});

describe('Host (ProxyPreserveHost, §8)', () => {
  it.each([
    [false, 'front', '10.0.0.1', 80, '10.0.0.1'],
    [false, 'front', '10.0.0.1', 8080, '10.0.0.1:8080'],
    [false, 'front', '::1', 8080, '[::1]:8080'],
    [false, 'front', '::1', 80, '[::1]'],
    [true, 'Front.Example:8443', '10.0.0.1', 8080, 'Front.Example:8443'],
    [true, null, '10.0.0.1', 8080, '10.0.0.1:8080'],
  ] as const)('preserve=%s client=%s member=%s:%i → %s', (preserve, client, host, port, expected) => {
    expect(hostHeader(preserve, client, host, port)).toBe(expected);
  });

  it('memberHostHeader omits only port 80', () => {
    expect(memberHostHeader('h', 443)).toBe('h:443');
  });
});

describe('forwardResponseHeaders', () => {
  it('removes Keep-Alive, Proxy-Authenticate, TE, Trailer, Upgrade, Transfer-Encoding, Connection and what it lists', () => {
    const out = forwardResponseHeaders(flat([
      ['Connection', 'close, X-Internal'], ['X-Internal', '1'], ['Keep-Alive', 'timeout=5'], ['Proxy-Authenticate', 'Basic'],
      ['TE', 'x'], ['Trailer', 'X-T'], ['Upgrade', 'h2'], ['Transfer-Encoding', 'chunked'],
      ['Set-Cookie', 'a=1'], ['set-cookie', 'b=2'], ['Content-Type', 'text/plain'],
    ]), null);
    expect(out).toEqual(['Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'Content-Type', 'text/plain']);
  });

  it('Connection: keep-alive (any case, spaces) drops only hop-by-hop headers; another Connection header still lists its own', () => {
    const headers: Array<[string, string]> = [['Connection', ' Keep-Alive '], ['Keep-Alive', 'timeout=5'], ['X-Internal', '1'], ['Content-Length', '2']];
    expect(forwardResponseHeaders(flat(headers), null)).toEqual(['X-Internal', '1', 'Content-Length', '2']);
    expect(forwardResponseHeaders(flat([...headers, ['connection', 'x-internal']]), null)).toEqual(['Content-Length', '2']);
    expect(forwardResponseHeaders(flat([['Connection', 'keep-alive, X-Internal'], ['X-Internal', '1']]), null)).toEqual([]);
  });

  it('passes location-type headers and Set-Cookie through the rewriter', () => {
    const out = forwardResponseHeaders(flat([['Location', 'L'], ['Content-Location', 'C'], ['URI', 'U'], ['Destination', 'D'], ['Set-Cookie', 'S'], ['Link', 'K']]), {
      location: (v) => `loc(${v})`,
      cookie: (v) => `cookie(${v})`,
    });
    expect(out).toEqual(['Location', 'loc(L)', 'Content-Location', 'loc(C)', 'URI', 'loc(U)', 'Destination', 'loc(D)', 'Set-Cookie', 'cookie(S)', 'Link', 'K']);
  });
});

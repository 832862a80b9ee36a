/**
 * The AJP/1.3 codec without sockets: byte-exact packets built by hand from the protocol
 * document's layouts, exhaustive code tables, round trips, and rejection of every kind of
 * malformed packet (these are the checks that keep a broken container from crashing stickyd).
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_CHUNK, METHOD_CODES, REQUEST_HEADER_CODES, RESPONSE_HEADER_NAMES } from '../../src/members/ajp/constants.js';
import { PacketFramer } from '../../src/members/ajp/framer.js';
import { AjpOverflowError, AjpProtocolError, PacketReader, PacketWriter } from '../../src/members/ajp/packet.js';
import {
  decodeBodyChunk,
  decodeForwardRequest,
  encodeBodyChunk,
  encodeCPing,
  encodeEmptyBodyChunk,
  encodeForwardRequest,
  forwardRequestFor,
  type ForwardRequest,
} from '../../src/members/ajp/request.js';
import {
  decodeContainerPacket,
  encodeCPong,
  encodeEndResponse,
  encodeGetBodyChunk,
  encodeSendBodyChunk,
  encodeSendHeaders,
  reasonPhrase,
} from '../../src/members/ajp/response.js';
import { attemptOf, backendRequest } from '../helpers/ajp-fixtures.js';

// ---- hand encoders for expected bytes (independent of src/members/ajp/packet.ts) ----
const int = (n: number) => [n >> 8, n & 0xff];
const str = (s: string) => [...int(Buffer.byteLength(s, 'latin1')), ...Buffer.from(s, 'latin1'), 0];
const NULL_STR = [0xff, 0xff];
const packet = (magic: number, payload: number[]) => Buffer.from([...int(magic), ...int(payload.length), ...payload]);
const toContainer = (payload: number[]) => packet(0x1234, payload);
const fromContainer = (payload: number[]) => packet(0x4142, payload);
const payloadOf = (b: Buffer) => b.subarray(4);

function forward(over: Partial<ForwardRequest> = {}): ForwardRequest {
  return {
    method: 'GET', protocol: 'HTTP/1.1', uri: '/', remoteAddr: '10.0.0.1', remoteHost: null,
    serverName: 'example.org', serverPort: 80, isSsl: false, headers: [],
    queryString: null, route: null, secret: null, attributes: [], ...over,
  };
}

describe('Forward Request encoding', () => {
  it('matches the AJPv13 layout byte for byte for a GET through the proxy', () => {
    const req = backendRequest({
      method: 'GET',
      path: '/app/index.jsp?a=1&b=2',
      headers: [
        ['Host', 'www.example.org:8080'],
        ['User-Agent', 'curl/8'],
        ['Cookie', 'JSESSIONID=ABC.jvm_a'],
        ['X-Custom', 'v'],
      ],
      route: 'jvm_a',
    });
    const bytes = encodeForwardRequest(forwardRequestFor(attemptOf(req), 's3cret'));
    const expected = toContainer([
      0x02, // JK_AJP13_FORWARD_REQUEST
      0x02, // method GET
      ...str('HTTP/1.1'),
      ...str('/app/index.jsp'), // req_uri without the query
      ...str('127.0.0.9'), // remote_addr
      ...NULL_STR, // remote_host: null (no lookups)
      ...str('www.example.org'), // server_name from Host, port stripped
      ...int(8080), // server_port = the port the client connected to
      0x00, // is_ssl
      ...int(4), // num_headers
      0xa0, 0x0b, ...str('www.example.org:8080'), // host
      0xa0, 0x0e, ...str('curl/8'), // user-agent
      0xa0, 0x09, ...str('JSESSIONID=ABC.jvm_a'), // cookie
      ...str('X-Custom'), ...str('v'), // unknown name as a string
      0x05, ...str('a=1&b=2'), // query_string
      0x06, ...str('jvm_a'), // jvm_route
      0x0c, ...str('s3cret'), // secret
      0x0a, ...str('AJP_REMOTE_PORT'), ...str('54321'),
      0x0a, ...str('AJP_LOCAL_ADDR'), ...str('127.0.0.1'),
      0xff, // request_terminator
    ]);
    expect(bytes.toString('hex')).toBe(expected.toString('hex'));
  });

  it('sends an unknown method as 0xFF plus the stored_method attribute, and decodes it back', () => {
    const bytes = encodeForwardRequest(forward({ method: 'PATCH' }));
    expect(bytes[5]).toBe(0xff);
    const tail = Buffer.from([0x0d, ...str('PATCH'), 0xff]);
    expect(bytes.subarray(bytes.length - tail.length).equals(tail)).toBe(true);
    expect(decodeForwardRequest(payloadOf(bytes)).method).toBe('PATCH');
  });

  it('uses the protocol method code for each of the 27 known methods', () => {
    const names = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY',
      'MOVE', 'LOCK', 'UNLOCK', 'ACL', 'REPORT', 'VERSION-CONTROL', 'CHECKIN', 'CHECKOUT', 'UNCHECKOUT', 'SEARCH',
      'MKWORKSPACE', 'UPDATE', 'LABEL', 'MERGE', 'BASELINE-CONTROL', 'MKACTIVITY'];
    expect(METHOD_CODES.size).toBe(27);
    names.forEach((m, i) => {
      const bytes = encodeForwardRequest(forward({ method: m }));
      expect(bytes[5], m).toBe(i + 1);
      expect(decodeForwardRequest(payloadOf(bytes)).method).toBe(m);
    });
  });

  it('codes the 14 known request headers as 0xA001..0xA00E whatever their case, others as strings', () => {
    const names = ['accept', 'accept-charset', 'accept-encoding', 'accept-language', 'authorization', 'connection',
      'content-type', 'content-length', 'cookie', 'cookie2', 'host', 'pragma', 'referer', 'user-agent'];
    expect(REQUEST_HEADER_CODES.size).toBe(14);
    names.forEach((n, i) => {
      for (const spelled of [n, n.toUpperCase()]) {
        const bytes = encodeForwardRequest(forward({ headers: [[spelled, 'x']] }));
        const fixed = toContainer([0x02, 0x02, ...str('HTTP/1.1'), ...str('/'), ...str('10.0.0.1'), ...NULL_STR,
          ...str('example.org'), ...int(80), 0, ...int(1), 0xa0, i + 1, ...str('x'), 0xff]);
        expect(bytes.toString('hex'), spelled).toBe(fixed.toString('hex'));
      }
    });
    const other = encodeForwardRequest(forward({ headers: [['Accept-Ranges', 'x']] }));
    expect(other.includes(Buffer.from([...str('Accept-Ranges')]))).toBe(true);
  });

  it('sends query_string only when the URL has a "?" (empty query kept), jvm_route only with a route, secret only when set', () => {
    const get = (path: string, route: string, secret: string) =>
      decodeForwardRequest(payloadOf(encodeForwardRequest(forwardRequestFor(attemptOf(backendRequest({ path, route })), secret))));
    expect(get('/a', '', '')).toMatchObject({ uri: '/a', queryString: null, route: null, secret: null });
    expect(get('/a?', 'r', 'x')).toMatchObject({ uri: '/a', queryString: '', route: 'r', secret: 'x' });
    expect(get('/a%20b?q=%2F', 'jvm_b', '')).toMatchObject({ uri: '/a%20b', queryString: 'q=%2F', route: 'jvm_b' });
  });

  it('makes Content-Length agree with the body this attempt sends', () => {
    const cl = (over: Parameters<typeof backendRequest>[0]) =>
      forwardRequestFor(attemptOf(backendRequest(over)), '').headers.filter(([n]) => n.toLowerCase() === 'content-length');
    const stream = Readable.from([]);
    // Known length: the header keeps its place and gets the real value; a repeated header is dropped.
    expect(cl({ headers: [['content-length', '999'], ['Content-Length', '5']], body: stream, bodyLength: 12 }))
      .toEqual([['content-length', '12']]);
    // Chunked upload: no Content-Length, the container asks until the empty packet.
    expect(cl({ headers: [['Transfer-Encoding', 'chunked']], body: stream, bodyLength: null })).toEqual([]);
    // A declared length without a body stream: 0.
    expect(cl({ headers: [], body: null, bodyLength: 0 })).toEqual([['Content-Length', '0']]);
  });

  it('sets is_ssl and the SSL attributes only for a secure client connection', () => {
    const ssl = { cert: 'PEM', cipher: 'TLS_AES_128_GCM_SHA256', session: 'abcd', keySize: 128 };
    expect(decodeForwardRequest(payloadOf(encodeForwardRequest(forward({ isSsl: true, ssl }))))).toMatchObject({ isSsl: true, ssl });
    expect(decodeForwardRequest(payloadOf(encodeForwardRequest(forward({ isSsl: false, ssl })))).ssl).toBeUndefined();
  });

  it('round-trips varied requests exactly', () => {
    const cases: ForwardRequest[] = [
      forward(),
      forward({ method: 'POST', protocol: 'HTTP/1.0', uri: '/x/y;jsessionid=AB.c', remoteHost: 'client.local',
        headers: [['content-type', 'text/plain'], ['content-length', '3'], ['X-A', ''], ['X-Latin1', 'caf\u00e9']],
        queryString: 'x=%E2%82%AC', route: 'jvm_b', secret: 'p\u00e4ss', attributes: [['AJP_REMOTE_PORT', '1']] }),
      forward({ method: 'MKCALENDAR', serverPort: 65535, headers: Array.from({ length: 50 }, (_, i): [string, string] => [`X-H${i}`, 'v'.repeat(i)]) }),
    ];
    for (const c of cases) {
      const back = decodeForwardRequest(payloadOf(encodeForwardRequest(c)));
      const norm = (f: ForwardRequest) => ({ ...f, headers: f.headers.map(([n, v]) => [REQUEST_HEADER_CODES.has(n.toLowerCase()) ? n.toLowerCase() : n, v]) });
      expect(norm(back)).toEqual(norm(c));
    }
  });

  it('sends latin1 text byte for byte and text above U+00FF as UTF-8', () => {
    const latin = encodeForwardRequest(forward({ secret: 'caf\u00e9' }));
    expect(latin.includes(Buffer.from([0, 4, 0x63, 0x61, 0x66, 0xe9, 0]))).toBe(true);
    const utf8 = encodeForwardRequest(forward({ secret: '\u20ac' }));
    expect(utf8.includes(Buffer.from([0, 3, 0xe2, 0x82, 0xac, 0]))).toBe(true);
  });

  it('refuses a request that does not fit one 8192-byte packet (mod_proxy_ajp answers 400)', () => {
    expect(() => encodeForwardRequest(forward({ headers: [['Cookie', 'x'.repeat(8200)]] }))).toThrow(AjpOverflowError);
    // Just below the limit still fits.
    const base = encodeForwardRequest(forward({ headers: [['Cookie', '']] })).length;
    const room = 8192 - base;
    expect(encodeForwardRequest(forward({ headers: [['Cookie', 'x'.repeat(room)]] })).length).toBe(8192);
    expect(() => encodeForwardRequest(forward({ headers: [['Cookie', 'x'.repeat(room + 1)]] }))).toThrow(AjpOverflowError);
  });
});

describe('request body and CPing packets', () => {
  it('frames body data as magic, length+2, data length, data', () => {
    expect(encodeBodyChunk(Buffer.from('abc')).toString('hex')).toBe(toContainer([...int(3), 0x61, 0x62, 0x63]).toString('hex'));
    expect(encodeEmptyBodyChunk().toString('hex')).toBe('12340000');
    expect(encodeBodyChunk(Buffer.alloc(0)).toString('hex')).toBe('12340000');
    expect(encodeBodyChunk(Buffer.alloc(MAX_BODY_CHUNK)).length).toBe(8192);
    expect(() => encodeBodyChunk(Buffer.alloc(MAX_BODY_CHUNK + 1))).toThrow(RangeError);
    expect(MAX_BODY_CHUNK).toBe(8186);
  });

  it('decodes body packets, the empty packet and a zero data length as end', () => {
    expect(decodeBodyChunk(payloadOf(encodeBodyChunk(Buffer.from('hello'))))?.toString()).toBe('hello');
    expect(decodeBodyChunk(Buffer.alloc(0))).toBeNull();
    expect(decodeBodyChunk(Buffer.from([0, 0]))).toBeNull();
    expect(() => decodeBodyChunk(Buffer.from([0, 5, 1]))).toThrow(AjpProtocolError);
  });

  it('CPing is 12 34 00 01 0A and CPong is 41 42 00 01 09', () => {
    expect(encodeCPing().toString('hex')).toBe('123400010a');
    expect(encodeCPong().toString('hex')).toBe('4142000109');
    expect(decodeContainerPacket(payloadOf(encodeCPong()))).toEqual({ type: 'cpong' });
  });
});

describe('container packets', () => {
  it('decodes SEND_HEADERS with coded and string header names, byte for byte as Tomcat writes it', () => {
    const bytes = fromContainer([
      0x04, ...int(302), ...str('302'), ...int(3),
      0xa0, 0x06, ...str('http://example.org/x'), // Location
      0xa0, 0x07, ...str('JSESSIONID=AB.jvm_a; Path=/app; HttpOnly'), // Set-Cookie
      ...str('X-Powered-By'), ...str('JSP/3.1'),
    ]);
    expect(decodeContainerPacket(payloadOf(bytes))).toEqual({
      type: 'headers', status: 302, message: '302',
      headers: [['Location', 'http://example.org/x'], ['Set-Cookie', 'JSESSIONID=AB.jvm_a; Path=/app; HttpOnly'], ['X-Powered-By', 'JSP/3.1']],
    });
    expect(encodeSendHeaders(302, '302', [['Location', 'http://example.org/x'], ['set-cookie', 'JSESSIONID=AB.jvm_a; Path=/app; HttpOnly'], ['X-Powered-By', 'JSP/3.1']]).toString('hex'))
      .toBe(bytes.toString('hex'));
  });

  it('maps all 11 response header codes', () => {
    RESPONSE_HEADER_NAMES.forEach((name, i) => {
      const m = decodeContainerPacket(payloadOf(fromContainer([0x04, ...int(200), ...str('OK'), ...int(1), 0xa0, i + 1, ...str('v')])));
      expect(m).toMatchObject({ headers: [[name, 'v']] });
    });
    expect(RESPONSE_HEADER_NAMES).toHaveLength(11);
  });

  it('decodes body chunks with their trailing byte, END_RESPONSE and GET_BODY_CHUNK', () => {
    expect(decodeContainerPacket(payloadOf(fromContainer([0x03, ...int(2), 0x68, 0x69, 0x00])))).toEqual({ type: 'body', data: Buffer.from('hi') });
    expect(decodeContainerPacket(payloadOf(encodeSendBodyChunk(Buffer.from('hi'))))).toEqual({ type: 'body', data: Buffer.from('hi') });
    expect(decodeContainerPacket(payloadOf(fromContainer([0x03, 0, 0, 0])))).toEqual({ type: 'body', data: Buffer.alloc(0) }); // flush
    expect(decodeContainerPacket(payloadOf(fromContainer([0x05, 0x01])))).toEqual({ type: 'end', reuse: true });
    expect(decodeContainerPacket(payloadOf(encodeEndResponse(false)))).toEqual({ type: 'end', reuse: false });
    expect(decodeContainerPacket(payloadOf(fromContainer([0x06, 0x1f, 0xfa])))).toEqual({ type: 'get-body', size: 8186 });
    expect(decodeContainerPacket(payloadOf(encodeGetBodyChunk(100)))).toEqual({ type: 'get-body', size: 100 });
  });

  it('turns Tomcat\'s numeric placeholder reason into "no phrase" and keeps real ones', () => {
    expect(reasonPhrase(200, '200')).toBe('');
    expect(reasonPhrase(200, null)).toBe('');
    expect(reasonPhrase(200, '')).toBe('');
    expect(reasonPhrase(404, 'Not Found')).toBe('Not Found');
  });

  const malformed: Array<[string, number[]]> = [
    ['an empty packet', []],
    ['an unknown packet type', [0x07]],
    ['a CPING sent by the container', [0x0a]],
    ['a header count larger than the headers present', [0x04, ...int(200), ...str('OK'), ...int(2), 0xa0, 0x01, ...str('text/plain')]],
    ['a header count smaller than the headers present', [0x04, ...int(200), ...str('OK'), ...int(0), 0xa0, 0x01, ...str('text/plain')]],
    ['a string without its NUL', [0x04, ...int(200), 0, 2, 0x4f, 0x4b, 0x21, ...int(0)]],
    ['a string length past the end', [0x04, ...int(200), 0x01, 0x00, 0x41]],
    ['an unknown response header code', [0x04, ...int(200), ...str('OK'), ...int(1), 0xa0, 0x0c, ...str('v')]],
    ['a null header name', [0x04, ...int(200), ...str('OK'), ...int(1), ...NULL_STR, ...str('v')]],
    ['a header name that is not a token', [0x04, ...int(200), ...str('OK'), ...int(1), ...str('Bad Name'), ...str('v')]],
    ['a header value with CR LF', [0x04, ...int(200), ...str('OK'), ...int(1), ...str('X'), ...str('a\r\nInjected: 1')]],
    ['a null header value', [0x04, ...int(200), ...str('OK'), ...int(1), ...str('X'), ...NULL_STR]],
    ['status 0', [0x04, ...int(0), ...str('OK'), ...int(0)]],
    ['status 1000', [0x04, ...int(1000), ...str('OK'), ...int(0)]],
    ['SEND_HEADERS cut short', [0x04, 0x00]],
    ['a body chunk longer than its packet', [0x03, ...int(10), 0x41, 0x00]],
    ['a body chunk shorter than its packet', [0x03, ...int(1), 0x41, 0x00, 0x00]],
    ['a body chunk without its trailing byte', [0x03, ...int(1), 0x41]],
    ['END_RESPONSE without the reuse flag', [0x05]],
    ['END_RESPONSE with extra bytes', [0x05, 0x01, 0x00]],
    ['GET_BODY_CHUNK cut short', [0x06, 0x1f]],
    ['CPONG with extra bytes', [0x09, 0x00]],
  ];
  it.each(malformed)('rejects %s with AjpProtocolError', (_what, payload) => {
    expect(() => decodeContainerPacket(Buffer.from(payload))).toThrow(AjpProtocolError);
  });
});

describe('packet reader and writer bounds', () => {
  it('reads every field type and refuses to read past the end', () => {
    const w = new PacketWriter('test').byte(7).int(513).string('ab').string(null).bool(true);
    const r = new PacketReader(payloadOf(w.finish(0x1234)), 'test');
    expect([r.byte('b'), r.int('i'), r.string('s'), r.string('n'), r.bool('t')]).toEqual([7, 513, 'ab', null, true]);
    expect(() => r.byte('past')).toThrow(/truncated AJP test/);
    expect(() => new PacketReader(Buffer.from([1]), 'x').int('i')).toThrow(AjpProtocolError);
  });

  it('refuses values out of range and payloads over 8188 bytes', () => {
    expect(() => new PacketWriter('t').byte(256)).toThrow(RangeError);
    expect(() => new PacketWriter('t').int(65536)).toThrow(RangeError);
    expect(() => new PacketWriter('t').raw(Buffer.alloc(8189))).toThrow(AjpOverflowError);
    expect(new PacketWriter('t').raw(Buffer.alloc(8188)).finish(0x4142).length).toBe(8192);
  });
});

describe('packet framer', () => {
  const packets = [encodeCPong(), encodeSendHeaders(200, 'OK', [['Content-Type', 'text/plain']]), encodeSendBodyChunk(Buffer.alloc(8184, 1)), encodeEndResponse(true)];
  const stream = Buffer.concat(packets);

  it('reassembles packets split at every possible byte boundary and several packets per chunk', () => {
    for (const size of [1, 2, 3, 5, 4096, stream.length]) {
      const f = new PacketFramer(0x4142);
      const got: Buffer[] = [];
      for (let off = 0; off < stream.length; off += size) f.push(stream.subarray(off, off + size), (p) => got.push(p));
      expect(got.map((p) => p.toString('hex'))).toEqual(packets.map((p) => payloadOf(p).toString('hex')));
      expect(f.buffered).toBe(0);
    }
  });

  it('keeps a truncated packet pending', () => {
    const f = new PacketFramer(0x4142);
    const got: Buffer[] = [];
    f.push(stream.subarray(0, 20), (p) => got.push(p));
    expect(got).toHaveLength(1);
    expect(f.buffered).toBe(15);
  });

  it('rejects a wrong magic and a length over the limit, after delivering the packets before them', () => {
    const f = new PacketFramer(0x4142);
    const got: Buffer[] = [];
    expect(() => f.push(Buffer.concat([encodeCPong(), Buffer.from('HTTP/1.1 200 OK\r\n')]), (p) => got.push(p))).toThrow(/bad AJP packet magic 0x4854/);
    expect(got).toHaveLength(1);
    expect(() => new PacketFramer(0x4142).push(Buffer.from([0x41, 0x42, 0x20, 0x00]), () => {})).toThrow(/exceeds the 8188-byte/);
    expect(() => new PacketFramer(0x4142).push(Buffer.from([0x41, 0x42, 0xff, 0xff]), () => {})).toThrow(AjpProtocolError);
    // The largest legal packet passes.
    const max = new PacketFramer(0x4142);
    let n = 0;
    max.push(Buffer.concat([Buffer.from([0x41, 0x42, 0x1f, 0xfc]), Buffer.alloc(8188)]), () => n++);
    expect(n).toBe(1);
  });
});

// TLS on the listeners (mod_ssl's vocabulary), over real handshakes on 127.0.0.1: requests
// proxied over HTTPS, SNI, X-Forwarded-Proto, plain HTTP on the TLS port, the handshake
// timeout, HSTS, keep-alive and pipelining over TLS, the redirect listener, OCSP stapling,
// protocol versions.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../helpers/pki.js';
import { request, startBackend } from '../proxy/helpers.js';
import { edgeCleanup, httpsRequest, rawExchange, startEdge } from './helpers.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(edgeCleanup);

function tlsBlock(extra = ''): string {
  return `    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n${extra}`;
}

async function proxied(backendUrl: string, listen: string): Promise<string> {
  return `listen:\n${listen}balancers:\n  app:\n    members: [{ url: "${backendUrl}", route: a }]\nproxypass:\n  - { path: /, url: balancer://app }\n`;
}

/** Bytes written on a TLS connection to `port` (trusting the test CA), and all that comes back until the server ends it. */
function tlsExchange(port: number, bytes: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.ca.cert }, () => s.write(bytes));
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('end', () => resolve(text));
    s.on('error', reject);
  });
}

describe('a TLS listener', () => {
  it('proxies HTTPS requests with X-Forwarded-Proto: https, replacing what the client sent', async () => {
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}`));
    const r = await httpsRequest(e.ports[0]!, '/x', { ca: pki.ca.cert, headers: { 'X-Forwarded-Proto': 'http', 'x-forwarded-proto': 'gopher' } });
    expect(r.status).toBe(200);
    expect(r.subject).toBe('localhost');
    const got = b.received[0]!;
    expect(got.rawHeaders.filter((_v, i) => i % 2 === 0 && got.rawHeaders[i]!.toLowerCase() === 'x-forwarded-proto')).toHaveLength(1);
    expect(got.headers['x-forwarded-proto']).toBe('https');
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('a request with several X-Forwarded-Proto fields gets one, https, and the listener keeps serving', async () => {
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}`));
    const reply = await tlsExchange(e.ports[0]!, 'GET /dup HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Proto: gopher\r\nx-forwarded-proto: ftp\r\nX-Other: 1\r\nConnection: close\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    const got = b.received[0]!;
    expect(got.rawHeaders.filter((_v, i) => i % 2 === 0 && got.rawHeaders[i]!.toLowerCase() === 'x-forwarded-proto')).toHaveLength(1);
    expect(got.headers['x-forwarded-proto']).toBe('https');
    expect(got.headers['x-other']).toBe('1');
    // The daemon is still there.
    expect((await httpsRequest(e.ports[0]!, '/after', { ca: pki.ca.cert })).status).toBe(200);
  });

  it('leaves X-Forwarded-Proto to the client on a plain listener, as httpd does', async () => {
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, '  - { address: 127.0.0.1, port: PORT0 }\n'));
    await request(`http://127.0.0.1:${e.ports[0]}/x`, { headers: { 'X-Forwarded-Proto': 'https' } });
    await request(`http://127.0.0.1:${e.ports[0]}/y`);
    expect(b.received[0]!.headers['x-forwarded-proto']).toBe('https');
    expect(b.received[1]!.headers['x-forwarded-proto']).toBeUndefined();
  });

  it('picks the certificate by SNI from the certificates\' own names; no match and no SNI get the first', async () => {
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock(`      certificates:\n        - { certificatefile: ${pki.wildcard.certFile}, certificatekeyfile: ${pki.wildcard.keyFile} }\n        - { certificatefile: ${pki.other.certFile}, certificatekeyfile: ${pki.other.keyFile} }\n`)}`);
    const subject = (servername?: string): Promise<string> => new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: e.ports[0]!, rejectUnauthorized: false, ...(servername ? { servername } : {}) }, () => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(await subject('www.other.test')).toBe('other.test');
    expect(await subject('shop.wild.test')).toBe('*.wild.test');
    expect(await subject('nothing.test')).toBe('localhost');
    expect(await subject()).toBe('localhost');
  });

  it('answers plain HTTP sent to it with mod_ssl\'s 400 and closes', async () => {
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}`);
    const r = await rawExchange(e.ports[0]!, 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(r.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(r.text).toContain('Connection: close');
    expect(r.text).toContain("Reason: <strong>You&#39;re speaking plain HTTP to an SSL-enabled server port. Instead use the HTTPS scheme to access this URL, please.</strong>");
    expect(e.daemon.counters.clientErrors['plain-http']).toBe(1);
  });

  it('closes a connection whose handshake does not finish in time (RequestReadTimeout handshake=)', async () => {
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}server:\n  servername: proxy.test\n  requestreadtimeout: { handshake: 1 }\n`);
    // Half a ClientHello: a record header announcing 512 bytes, then 5 of them.
    const half = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);
    const stalled = await rawExchange(e.ports[0]!, half, { timeoutMs: 5000 });
    expect(stalled.text).toBe('');
    expect(stalled.closedAfterMs).toBeGreaterThan(900);
    // A client that connects and sends nothing at all is closed too.
    const silent = await rawExchange(e.ports[0]!, '', { timeoutMs: 5000 });
    expect(silent.closedAfterMs).toBeGreaterThan(900);
    expect(e.daemon.counters.clientErrors['tls-timeout']).toBe(2);
    // A real client is not affected.
    const ok = await httpsRequest(e.ports[0]!, '/', { ca: pki.ca.cert });
    expect(ok.status).toBe(404);
  });

  it('never speaks below TLSv1.2, and speaks TLSv1.2 and TLSv1.3', async () => {
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}`);
    await expect(new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: e.ports[0]!, ca: pki.ca.cert, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }, () => resolve(s.getProtocol()));
      s.on('error', reject);
    })).rejects.toThrow(/alert protocol version|unsupported protocol/);
    expect((await httpsRequest(e.ports[0]!, '/', { ca: pki.ca.cert, maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    expect((await httpsRequest(e.ports[0]!, '/', { ca: pki.ca.cert, minVersion: 'TLSv1.3' })).protocol).toBe('TLSv1.3');
    expect(e.daemon.counters.clientErrors['tls-handshake']).toBe(1);
  });

  it('refuses a renegotiation the client starts (TLSv1.2), as mod_ssl and nginx do; the connection still serves', async () => {
    // CVE-2011-1473: each renegotiation costs the server a full handshake; node's own limit
    // (3 per 10 minutes) lets the first ones through. testssl.sh reports that as HIGH.
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}`));
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: e.ports[0]!, ca: pki.ca.cert, servername: 'localhost', maxVersion: 'TLSv1.2' }, () => resolve(s));
      s.once('error', reject);
    });
    try {
      expect(socket.getProtocol()).toBe('TLSv1.2');
      const outcome = await new Promise<string>((resolve) => {
        socket.once('error', (err) => resolve(err.message));
        socket.renegotiate({ rejectUnauthorized: false }, (err) => resolve(err?.message ?? 'renegotiated'));
        // A request after the new ClientHello: what makes the client read the server's answer to it.
        socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
        socket.resume();
      });
      expect(outcome).toMatch(/no renegotiation/);
    } finally {
      socket.destroy();
    }
    // Nothing else suffered: a new connection is served.
    expect((await httpsRequest(e.ports[0]!, '/', { ca: pki.ca.cert, maxVersion: 'TLSv1.2' })).status).toBe(200);
  });

  it('staples the OCSP response of the certificate presented', async () => {
    const ocsp = pki.ocsp(pki.server);
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock(`      staplingfile: ${ocsp}\n`)}`);
    const stapled = await new Promise<Buffer | null>((resolve, reject) => {
      let got: Buffer | null = null;
      const s = tls.connect({ host: '127.0.0.1', port: e.ports[0]!, ca: pki.ca.cert, servername: 'localhost', requestOCSP: true }, () => {
        s.destroy();
        resolve(got);
      });
      s.on('OCSPResponse', (r: Buffer) => (got = r));
      s.on('error', reject);
    });
    expect(stapled).not.toBeNull();
    expect(stapled!.length).toBeGreaterThan(100);
  });
});

describe('HSTS', () => {
  it('adds Strict-Transport-Security to every response of the TLS listener, replacing the member\'s', async () => {
    const b = await startBackend('a', (_req, res) => {
      res.setHeader('Strict-Transport-Security', 'max-age=1');
      res.end('ok');
    });
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock('      hsts: { maxage: 31536000, includesubdomains: on }\n')}  - { address: 127.0.0.1, port: PORT1 }\n`));
    const proxiedAnswer = await httpsRequest(e.ports[0]!, '/x', { ca: pki.ca.cert });
    expect(proxiedAnswer.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const plain = await request(`http://127.0.0.1:${e.ports[1]}/x`);
    expect(plain.headers['strict-transport-security']).toBe('max-age=1');
  });

  it('is on stickyd\'s own error pages too (Header always set)', async () => {
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock('      hsts: on\n')}`);
    const r = await httpsRequest(e.ports[0]!, '/nothing', { ca: pki.ca.cert });
    expect(r.status).toBe(404);
    expect(r.headers['strict-transport-security']).toBe('max-age=63072000');
  });

  it('is on the raw refusals of requests that never reached the request path (400, 431, 405), and only over TLS', async () => {
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock('      hsts: on\n')}  - { address: 127.0.0.1, port: PORT1 }\n`));
    const refusals: Array<[number, string]> = [
      // httpd's strict request line: a run of spaces (ClientInput).
      [400, 'GET  /x HTTP/1.1\r\nHost: localhost\r\n\r\n'],
      // The parser: a header block over maxheadersize.
      [431, `GET /x HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
      // A forward-proxy method.
      [405, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'],
    ];
    const stsFields = (reply: string) => reply.split('\r\n\r\n')[0]!.split('\r\n').filter((l) => /^strict-transport-security:/i.test(l));
    for (const [status, bytes] of refusals) {
      const overTls = await tlsExchange(e.ports[0]!, bytes);
      expect(overTls, `over TLS: ${status}`).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(stsFields(overTls), `over TLS: ${status}`).toEqual(['Strict-Transport-Security: max-age=63072000']);
      const plain = (await rawExchange(e.ports[1]!, bytes)).text;
      expect(plain, `plain: ${status}`).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(stsFields(plain), `plain: ${status}`).toEqual([]);
    }
    expect(b.received).toEqual([]);
  });
});

/** Responses with a Content-Length, in the order they came, from the text of a connection. */
function responses(text: string): Array<{ head: string; status: number; fields: string[]; body: string }> {
  const out: Array<{ head: string; status: number; fields: string[]; body: string }> = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = text.slice(at, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
    if (!Number.isInteger(length) || end + 4 + length > text.length) break;
    const fields = head.split('\r\n');
    out.push({ head, status: Number(fields[0]!.split(' ')[1]), fields: fields.slice(1), body: text.slice(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

describe('HTTP/1.1 over TLS', () => {
  it('keeps the connection alive: a pipelined pair is answered in order, each with HSTS, and reaches the member with X-Forwarded-Proto: https', async () => {
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock('      hsts: on\n')}`));
    const s = tls.connect({ host: '127.0.0.1', port: e.ports[0]!, servername: 'localhost', ca: pki.ca.cert, ALPNProtocols: ['http/1.1'] });
    s.on('error', () => {});
    let text = '';
    let ended = false;
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('close', () => (ended = true));
    await new Promise((r) => s.once('secureConnect', r));
    expect(s.alpnProtocol).toBe('http/1.1');
    s.write('GET /first HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Proto: http\r\n\r\nGET /second HTTP/1.1\r\nHost: localhost\r\nx-forwarded-proto: gopher\r\n\r\n');
    for (let i = 0; i < 500 && responses(text).length < 2 && !ended; i++) await new Promise((r) => setTimeout(r, 10));
    // A moment more: the connection must stay open after both.
    await new Promise((r) => setTimeout(r, 200));
    const got = responses(text);
    expect(got.map((r) => [r.status, (JSON.parse(r.body) as { url: string }).url])).toEqual([[200, '/first'], [200, '/second']]);
    for (const r of got) {
      expect(r.fields.filter((f) => /^strict-transport-security:/i.test(f))).toEqual(['Strict-Transport-Security: max-age=63072000']);
      expect(r.fields).toContain('Connection: keep-alive');
    }
    expect(ended).toBe(false);
    expect(b.received.map((x) => [x.url, x.headers['x-forwarded-proto']])).toEqual([['/first', 'https'], ['/second', 'https']]);
    for (const x of b.received) expect(x.rawHeaders.filter((_v, i) => i % 2 === 0 && x.rawHeaders[i]!.toLowerCase() === 'x-forwarded-proto')).toHaveLength(1);
    // Both logged, in order, as requests of the same client connection.
    expect(e.records.map((r) => r.url)).toEqual(['/first', '/second']);
    const sockets = e.records.map((r) => r.context?.req.socket);
    expect(sockets[0]).toBeDefined();
    expect(sockets[1]).toBe(sockets[0]);
    s.destroy();
  });

  it('an HTTP/1.0 request without any header field reaches the member with X-Forwarded-Proto: https too', async () => {
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}`));
    const reply = await tlsExchange(e.ports[0]!, 'GET /bare HTTP/1.0\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(b.received.map((x) => [x.url, x.headers['x-forwarded-proto']])).toEqual([['/bare', 'https']]);
  });
});

describe('HSTS on HTTP/1.1 Upgrade answers', () => {
  const upgradeOverTls = (port: number, path: string): Promise<string> =>
    tlsExchange(port, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  const stsFields = (reply: string) => reply.split('\r\n\r\n')[0]!.split('\r\n').filter((l) => /^strict-transport-security:/i.test(l));

  it('stickyd\'s error page for an Upgrade and a member\'s refusal carry the listener\'s HSTS, replacing the member\'s', async () => {
    const b = await startBackend('a', (_req, res) => {
      res.setHeader('Strict-Transport-Security', 'max-age=1');
      res.statusCode = 403;
      res.end('no websocket here');
    });
    const yaml = `listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock('      hsts: on\n')}balancers:\n  app:\n    members: [{ url: "${b.url}", route: a }]\nproxypass:\n  - { path: /ws, url: balancer://app }\n`;
    const e = await startEdge(yaml);
    const notMounted = await upgradeOverTls(e.ports[0]!, '/elsewhere');
    expect(notMounted).toMatch(/^HTTP\/1\.1 404 /);
    expect(stsFields(notMounted)).toEqual(['Strict-Transport-Security: max-age=63072000']);
    const refused = await upgradeOverTls(e.ports[0]!, '/ws');
    expect(refused).toMatch(/^HTTP\/1\.1 403 /);
    expect(stsFields(refused)).toEqual(['Strict-Transport-Security: max-age=63072000']);
    expect(refused).toContain('no websocket here');
  });
});

describe('the redirect listener', () => {
  it('answers every request with Redirect permanent to https:// on the request\'s host at the TLS port', async () => {
    const b = await startBackend('a');
    const e = await startEdge(await proxied(b.url, `  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}  - address: 127.0.0.1\n    port: PORT1\n    redirect: {}\n`));
    const r = await request(`http://127.0.0.1:${e.ports[1]}/a/b%20c?x=1&y=2`, { headers: { Host: 'www.example.test:8080' } });
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe(`https://www.example.test:${e.ports[0]}/a/b%20c?x=1&y=2`);
    expect(r.body).toContain('<title>301 Moved Permanently</title>');
    expect(r.headers['strict-transport-security']).toBeUndefined();
    const post = await request(`http://127.0.0.1:${e.ports[1]}/form`, { method: 'POST', body: 'x=1', headers: { Host: 'shop.test' } });
    expect(post.status).toBe(301);
    expect(b.received).toHaveLength(0);
    expect(e.records.map((x) => [x.status, x.url, x.balancer])).toEqual([[301, '/a/b%20c?x=1&y=2', null], [301, '/form', null]]);
  });

  it('goes to the url given, with the status given, and refuses a Host that is not a host name', async () => {
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n    redirect: { url: "https://www.example.com/base", status: 308 }\n`);
    const r = await request(`http://127.0.0.1:${e.ports[0]}/x?y`);
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('https://www.example.com/base/x?y');
    const self = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}  - address: 127.0.0.1\n    port: PORT1\n    redirect: {}\n`);
    const bad = await rawExchange(self.ports[1]!, 'GET / HTTP/1.1\r\nHost: evil.test/@x\r\n\r\n');
    expect(bad.text).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('listener addresses', () => {
  it('say https for a TLS listener', async () => {
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n${tlsBlock()}  - { address: 127.0.0.1, port: PORT1 }\n`);
    expect(e.daemon.addresses).toEqual([{ address: '127.0.0.1', port: e.ports[0], tls: true }, { address: '127.0.0.1', port: e.ports[1] }]);
    // The TLS port accepts raw TCP (it must read the first byte to know what comes).
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(e.ports[0]!, '127.0.0.1', () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
  });
});

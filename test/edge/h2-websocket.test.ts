// WebSocket over HTTP/2 (RFC 8441): the listener announces SETTINGS_ENABLE_CONNECT_PROTOCOL, an
// extended CONNECT (:protocol websocket) reaches the member as an HTTP/1.1 Upgrade through the
// balancer (sticky route included), and WebSocket frames cross the stream both ways. The client
// here is node's HTTP/2 client writing the frames by hand (RFC 6455 §5.2: masked, as a client's
// must be); the members are `ws` servers.
import type http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { makePki, type Pki } from '../helpers/pki.js';
import { startBackend } from '../proxy/helpers.js';
import { edgeCleanup, h2Connect, rawExchange, startEdge } from './helpers.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(edgeCleanup);

/** A member with a WebSocket echo that prefixes its name, and what its upgrade requests carried. */
async function wsMember(name: string) {
  const b = await startBackend(name);
  const wss = new WebSocketServer({ noServer: true });
  const upgrades: http.IncomingHttpHeaders[] = [];
  b.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    upgrades.push(req.headers);
    if (req.url?.startsWith('/refuse')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nno, sir');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => ws.send(`${name}:${data.toString()}`));
    });
  });
  return Object.assign(b, { upgrades });
}

/** A masked text frame (FIN, opcode 1), payload under 126 bytes. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** The payload of the first unmasked text frame in `data`, or null when it has not all arrived. */
function readText(data: Buffer): string | null {
  if (data.length < 2) return null;
  const length = data[1]! & 0x7f;
  if (data.length < 2 + length) return null;
  expect(data[0]).toBe(0x81);
  return data.subarray(2, 2 + length).toString();
}

function tlsListen(extra = ''): string {
  return `listen:\n  - address: 127.0.0.1\n    port: PORT0\n    protocols: [h2, http/1.1]\n    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n${extra}`;
}

async function cluster(extra = '') {
  const a = await wsMember('a');
  const b = await wsMember('b');
  const e = await startEdge(`${tlsListen()}${extra}balancers:\n  app:\n    stickysession: JSESSIONID\n    members:\n      - { url: "${a.url}", route: jvm_a }\n      - { url: "${b.url}", route: jvm_b }\nproxypass:\n  - { path: /, url: balancer://app/ }\n`, { accessLog: true });
  return { a, b, e };
}

/** The server's SETTINGS, once they arrived. */
function remoteSettings(session: http2.ClientHttp2Session): Promise<http2.Settings> {
  if (session.remoteSettings.enableConnectProtocol !== undefined && session.remoteSettings.enableConnectProtocol) return Promise.resolve(session.remoteSettings);
  return new Promise((resolve) => session.once('remoteSettings', resolve));
}

/** An extended CONNECT for a WebSocket on `path`; resolves with the response head and the stream. */
function openWebSocket(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<{ status: number; headers: http2.IncomingHttpHeaders; stream: http2.ClientHttp2Stream }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'https', ':path': path, ':authority': 'localhost', 'sec-websocket-version': '13', ...headers });
    stream.once('response', (h) => resolve({ status: Number(h[':status']), headers: h, stream }));
    stream.once('error', reject);
  });
}

function roundTrip(stream: http2.ClientHttp2Stream, text: string): Promise<string> {
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      const got = readText(data);
      if (got !== null) {
        stream.off('data', onData);
        resolve(got);
      }
    };
    stream.on('data', onData);
    stream.write(textFrame(text));
  });
}

function bodyOf(stream: http2.ClientHttp2Stream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

describe('WebSocket over HTTP/2 (RFC 8441)', () => {
  it('announces extended CONNECT, tunnels to the member the session cookie names, frames both ways', async () => {
    const { b, e } = await cluster();
    const session = await h2Connect(e.ports[0]!, { ca: pki.ca.cert });
    expect((await remoteSettings(session)).enableConnectProtocol).toBe(true);
    const ws = await openWebSocket(session, '/chat?room=1', { cookie: 'JSESSIONID=ABC.jvm_b', 'sec-websocket-protocol': 'chat' });
    // RFC 8441 §5: 200, no Sec-WebSocket-Accept (there is no key on HTTP/2), the subprotocol kept.
    expect(ws.status).toBe(200);
    expect(ws.headers['sec-websocket-accept']).toBeUndefined();
    expect(ws.headers.upgrade).toBeUndefined();
    expect(await roundTrip(ws.stream, 'hello')).toBe('b:hello');
    expect(await roundTrip(ws.stream, 'again')).toBe('b:again');
    // The member got an HTTP/1.1 Upgrade with a key of stickyd's, the Host and X-Forwarded-* of any request.
    const up = b.upgrades[0]!;
    expect(up).toMatchObject({ upgrade: 'websocket', connection: 'upgrade', host: new URL(b.url).host, 'x-forwarded-host': 'localhost', 'x-forwarded-proto': 'https', 'x-forwarded-for': '127.0.0.1', cookie: 'JSESSIONID=ABC.jvm_b', 'sec-websocket-version': '13' });
    expect(Buffer.from(String(up['sec-websocket-key']), 'base64')).toHaveLength(16);
    // A second WebSocket on the same connection, to the other member.
    const other = await openWebSocket(session, '/chat', { cookie: 'JSESSIONID=DEF.jvm_a' });
    expect(await roundTrip(other.stream, 'x')).toBe('a:x');
    expect(await roundTrip(ws.stream, 'still')).toBe('b:still');
    // The client ends its side: the member's side is closed and the stream ends.
    const ended = new Promise<void>((resolve) => ws.stream.once('close', () => resolve()));
    ws.stream.end();
    await ended;
    await expect.poll(() => e.records.find((r) => r.url === '/chat?room=1')?.status).toBe(101);
  });

  it('a member that refuses the upgrade: its status and body reach the client; nothing is tunnelled', async () => {
    const { e } = await cluster();
    const session = await h2Connect(e.ports[0]!, { ca: pki.ca.cert });
    await remoteSettings(session);
    const ws = await openWebSocket(session, '/refuse', { cookie: 'JSESSIONID=ABC.jvm_a' });
    expect(ws.status).toBe(403);
    expect(await bodyOf(ws.stream)).toBe('no, sir');
  });

  it('a plain CONNECT (a forward proxy\'s) gets 405, an extended CONNECT for another protocol 501', async () => {
    const { a, b, e } = await cluster();
    const session = await h2Connect(e.ports[0]!, { ca: pki.ca.cert });
    await remoteSettings(session);
    const statusOf = (headers: http2.OutgoingHttpHeaders) => new Promise<number>((resolve, reject) => {
      const s = session.request(headers);
      s.once('response', (h) => resolve(Number(h[':status'])));
      s.once('error', reject);
      s.resume();
    });
    expect(await statusOf({ ':method': 'CONNECT', ':authority': 'example.com:443' })).toBe(405);
    expect(await statusOf({ ':method': 'CONNECT', ':protocol': 'connect-udp', ':scheme': 'https', ':path': '/x', ':authority': 'localhost' })).toBe(501);
    expect(a.upgrades.length + b.upgrades.length).toBe(0);
    // Both are in the access log, as httpd logs its own refusals.
    await expect.poll(() => e.records.filter((r) => r.method === 'CONNECT').map((r) => [r.status, r.url, r.balancer])).toEqual([[405, 'example.com:443', null], [501, '/x', null]]);
  });

  it('an HTTP/1.1 CONNECT gets 405 and is in the access log too', async () => {
    const e = await startEdge('listen:\n  - { address: 127.0.0.1, port: PORT0 }\n');
    const { text: reply } = await rawExchange(e.ports[0]!, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    const body = reply.slice(reply.indexOf('\r\n\r\n') + 4);
    await expect.poll(() => e.records.map((r) => [r.method, r.url, r.status, r.bytes, r.balancer])).toEqual([['CONNECT', 'example.com:443', 405, Buffer.byteLength(body), null]]);
    expect(e.daemon.counters.requests).toBe(1);
  });

  it('server.http2.websockets: off does not announce it (clients use HTTP/1.1 for WebSockets)', async () => {
    const { e } = await cluster('server:\n  servername: proxy.test\n  http2: { websockets: off }\n');
    const session = await h2Connect(e.ports[0]!, { ca: pki.ca.cert });
    const settings = await new Promise<http2.Settings>((resolve) => (session.remoteSettings.maxConcurrentStreams !== undefined ? resolve(session.remoteSettings) : session.once('remoteSettings', resolve)));
    expect(settings.enableConnectProtocol).toBe(false);
  });
});

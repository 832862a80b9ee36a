/**
 * AjpConnector against the test AJP server on 127.0.0.1: what goes over the wire, bodies both
 * ways, connection reuse and the pool settings, CPing/CPong, and every way a container can
 * misbehave — each must end in the right BackendError kind, never in a crash, and the connector
 * must keep working afterwards.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { AjpConnector, type AjpMemberConfig } from '../../src/members/ajp/connector.js';
import { encodeSendBodyChunk, encodeSendHeaders } from '../../src/members/ajp/response.js';
import { BackendError } from '../../src/members/connector.js';
import { ajpMember, backendRequest, pattern, readAll, request, trickle, type BackendRequest } from '../helpers/ajp-fixtures.js';
import { echoHandler, startAjpServer, type AjpHandler } from '../helpers/ajp-server.js';
import { eventually } from '../helpers/patience.js';
import { refusedPort } from '../helpers/ports.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(handler: AjpHandler = echoHandler, member: Partial<AjpMemberConfig> = {}) {
  const server = await startAjpServer(handler);
  const connector = new AjpConnector(ajpMember(server.port, member));
  cleanups.push(() => server.close(), () => connector.destroy());
  return { server, connector };
}

async function text(connector: AjpConnector, req: Partial<BackendRequest> = {}) {
  const res = await request(connector, backendRequest(req));
  return { ...res, text: (await readAll(res.body)).toString() };
}

/** The BackendError a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BackendError);
    return e as BackendError;
  }
  throw new Error('expected a rejection');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a request over AJP', () => {
  it('forwards method, path, query, client facts, route and secret, and returns status, headers and body', async () => {
    const { server, connector } = await setup(async (ex) => {
      ex.sendHeaders(201, [['Content-Type', 'text/plain'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-Node', 'jvm_a']], 'Created');
      await ex.sendBody('made');
      ex.end();
    }, { secret: 'top' });
    const res = await text(connector, {
      method: 'PUT', path: '/app/item?id=7', headers: [['Host', 'shop.example:8443'], ['Accept', '*/*'], ['X-Trace', 't1']], route: 'jvm_a',
    });
    expect(res).toMatchObject({ status: 201, statusText: 'Created', text: 'made' });
    expect(res.headers).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Node', 'jvm_a']);
    expect(server.requests[0]).toMatchObject({
      method: 'PUT', protocol: 'HTTP/1.1', uri: '/app/item', queryString: 'id=7', remoteAddr: '127.0.0.9', remoteHost: null,
      serverName: 'shop.example', serverPort: 8080, isSsl: false, route: 'jvm_a', secret: 'top',
      headers: [['host', 'shop.example:8443'], ['accept', '*/*'], ['X-Trace', 't1']],
      attributes: [['AJP_REMOTE_PORT', '54321'], ['AJP_LOCAL_ADDR', '127.0.0.1']],
    });
  });

  it('sends a small body as the unasked first packet right behind the Forward Request', async () => {
    const { server, connector } = await setup();
    const res = await text(connector, { method: 'POST', body: Readable.from([Buffer.from('name=x')]), bodyLength: 6, headers: [['Content-Length', '6']] });
    expect(JSON.parse(res.text)).toMatchObject({ bodyLength: 6 });
    expect(server.bodies[0]!.toString()).toBe('name=x');
  });

  it('streams bodies over 1 MB both ways intact (Content-Length upload, chunked upload, download)', async () => {
    const up = pattern(1_300_000, 7);
    const down = pattern(2_100_000, 9);
    const { server, connector } = await setup(async (ex) => {
      const body = await ex.readBody();
      const reply = ex.request.uri === '/download' ? down : Buffer.from(sha(body));
      ex.sendHeaders(200, [['Content-Length', String(reply.length)]]);
      await ex.sendBody(reply);
      ex.end();
    });
    const withLength = await text(connector, { method: 'POST', path: '/upload', body: trickle(up), bodyLength: up.length });
    expect(withLength.text).toBe(sha(up));
    const chunked = await text(connector, { method: 'POST', path: '/upload', body: trickle(up, 3000), bodyLength: null, headers: [['Transfer-Encoding', 'chunked']] });
    expect(chunked.text).toBe(sha(up));
    expect(server.requests[1]!.headers.some(([n]) => n === 'content-length')).toBe(false);
    const res = await request(connector, backendRequest({ path: '/download' }));
    // A slow reader: the connector must hold the member back, not buffer everything or lose bytes.
    const parts: Buffer[] = [];
    for await (const c of res.body) {
      parts.push(c as Buffer);
      if (parts.length % 20 === 0) await sleep(5);
    }
    expect(sha(Buffer.concat(parts))).toBe(sha(down));
    expect(server.connections).toBe(1);
  });

  it('answers GET_BODY_CHUNK past the end of the body, and requests without a body, with the empty packet', async () => {
    const seen: Array<Buffer | null> = [];
    const { connector } = await setup(async (ex) => {
      seen.push(await ex.readChunk(), await ex.readChunk());
      ex.sendHeaders(204);
      ex.end();
    });
    expect((await text(connector, { method: 'POST', body: Readable.from([Buffer.from('ab')]), bodyLength: null })).status).toBe(204);
    expect((await text(connector, {})).status).toBe(204);
    expect(seen.map((b) => b?.toString() ?? null)).toEqual(['ab', null, null, null]);
  });

  it('honours the requested chunk size', async () => {
    const sizes: number[] = [];
    const { connector } = await setup(async (ex) => {
      for (;;) {
        const c = await ex.readChunk(1000);
        if (c === null) break;
        sizes.push(c.length);
      }
      ex.sendHeaders(200);
      ex.end();
    });
    await text(connector, { method: 'POST', body: Readable.from([pattern(2500)]), bodyLength: null });
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('answers a request too large for one AJP packet with 400 without contacting the member', async () => {
    const { server, connector } = await setup();
    const res = await text(connector, { headers: [['Cookie', 'x'.repeat(9000)]] });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/8192-byte AJP packet/);
    expect(server.connections).toBe(0);
  });
});

describe('connection reuse and the pool', () => {
  it('reuses one connection for sequential requests', async () => {
    const { server, connector } = await setup();
    for (let i = 1; i <= 5; i++) expect(JSON.parse((await text(connector)).text)).toMatchObject({ connection: 1, cycle: i });
    expect(server.connections).toBe(1);
    expect(connector.stats()).toMatchObject({ open: 1, idle: 1, opened: 1 });
  });

  it('opens a new connection per request with disablereuse, or when END_RESPONSE says reuse=0', async () => {
    const a = await setup(echoHandler, { disablereuse: true });
    for (let i = 0; i < 3; i++) await text(a.connector);
    expect(a.server.connections).toBe(3);
    const b = await setup(async (ex) => { ex.sendHeaders(200); ex.end(false); });
    for (let i = 0; i < 3; i++) await text(b.connector);
    expect(b.server.connections).toBe(3);
  });

  it('does not reuse a connection whose response body was abandoned', async () => {
    const { server, connector } = await setup(async (ex) => {
      ex.sendHeaders(200);
      await ex.sendBody(pattern(200_000));
      ex.end();
    });
    const res = await request(connector, backendRequest());
    for await (const _ of res.body) break; // read one chunk, then give up (destroys the stream)
    expect((await text(connector)).status).toBe(200);
    expect(server.connections).toBe(2);
  });

  it('runs concurrent requests on separate connections, at most `max`', async () => {
    const { server, connector } = await setup(async (ex) => { await sleep(100); ex.sendHeaders(200); ex.end(); }, { max: 3 });
    await Promise.all(Array.from({ length: 7 }, () => text(connector)));
    expect(server.connections).toBe(3);
  });

  it("fails with 'acquire' when no slot frees up within acquire ms, and waits when acquire is unset", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow: AjpHandler = async (ex) => {
      if (ex.request.uri === '/hold') await held;
      ex.sendHeaders(200);
      ex.end();
    };
    const { connector } = await setup(slow, { max: 1, acquire: 150 });
    const first = text(connector, { path: '/hold' });
    await sleep(50);
    const t0 = Date.now();
    const err = await failure(request(connector, backendRequest()));
    expect(err.kind).toBe('acquire');
    expect(err.nothingSent).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    release();
    expect((await first).status).toBe(200);

    let release2!: () => void;
    const held2 = new Promise<void>((r) => (release2 = r));
    const b = await setup(async (ex) => { if (ex.request.uri === '/hold') await held2; ex.sendHeaders(200); ex.end(); }, { max: 1, acquire: null });
    const one = text(b.connector, { path: '/hold' });
    const two = text(b.connector);
    await sleep(100);
    release2();
    expect([(await one).status, (await two).status]).toEqual([200, 200]);
    expect(b.server.connections).toBe(1);
  });

  it('closes idle connections after ttl', async () => {
    const { server, connector } = await setup(echoHandler, { ttl: 150 });
    await text(connector);
    expect(server.openConnections()).toBe(1);
    await eventually('the idle connection to be closed', () => server.openConnections() === 0);
    expect(connector.stats().open).toBe(0);
    await text(connector);
    expect(server.connections).toBe(2);
  });

  it('drops a pooled connection the container closed while idle and opens a new one', async () => {
    const { server, connector } = await setup(async (ex) => { ex.sendHeaders(200); ex.end(true); if (ex.cycle === 1) setTimeout(() => ex.destroy(), 20); });
    await text(connector);
    await eventually('the pooled connection to be dropped', () => connector.stats().open === 0);
    expect((await text(connector)).status).toBe(200);
    expect(server.connections).toBe(2);
  });

  it("fails with 'connect' when nothing listens", async () => {
    const connector = new AjpConnector(ajpMember((await refusedPort()).port));
    cleanups.push(() => connector.destroy());
    const err = await failure(request(connector, backendRequest()));
    expect(err.kind).toBe('connect');
    expect(err.nothingSent).toBe(true);
  });

  it("fails with 'dns' when the member's host name does not resolve (httpd: 500, no failover)", async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND tomcat-a.invalid'), { code: 'ENOTFOUND' });
    const connector = new AjpConnector(ajpMember(8009, { host: 'tomcat-a.invalid' }), {
      lookup: (_host, _opts, cb) => process.nextTick(() => (cb as (e: Error) => void)(notFound)),
    });
    cleanups.push(() => connector.destroy());
    const err = await failure(request(connector, backendRequest()));
    expect(err.kind).toBe('dns');
    expect(err.nothingSent).toBe(false);
  });

  it('close() waits for the request in flight, then closes the connections', async () => {
    const { server, connector } = await setup(async (ex) => { await sleep(100); ex.sendHeaders(200); ex.end(); });
    const inflight = text(connector);
    await sleep(20);
    const closed = connector.close();
    expect((await inflight).status).toBe(200);
    await closed;
    await eventually('the container to see the connection closed', () => server.openConnections() === 0);
    expect((await failure(request(connector, backendRequest()))).kind).toBe('connect');
  });
});

describe('CPing/CPong', () => {
  it('sends CPING before every request when ping is set, on new and reused connections', async () => {
    const { server, connector } = await setup(echoHandler, { ping: 500 });
    await text(connector);
    await text(connector);
    expect(server.cpings).toBe(2);
    expect(server.connections).toBe(1);
    const plain = await setup();
    await text(plain.connector);
    expect(plain.server.cpings).toBe(0);
  });

  it("fails with 'ping' when the CPONG is late, after one more try on a fresh connection, and sends no request", async () => {
    const { server, connector } = await setup(echoHandler, { ping: 100 });
    server.cpong = { delayMs: 400 };
    const t0 = Date.now();
    const err = await failure(request(connector, backendRequest()));
    expect(err.kind).toBe('ping');
    expect(err.nothingSent).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(server.cpings).toBe(2);
    expect(server.connections).toBe(2);
    expect(server.requests).toHaveLength(0);
    server.cpong = 'answer';
    expect((await text(connector)).status).toBe(200);
  });

  it("fails with 'ping' when the answer is not a CPONG or never comes", async () => {
    const { server, connector } = await setup(echoHandler, { ping: 100 });
    server.cpong = 'garbage';
    expect((await failure(request(connector, backendRequest()))).kind).toBe('ping');
    server.cpong = 'ignore';
    expect((await failure(request(connector, backendRequest()))).kind).toBe('ping');
    expect(server.requests).toHaveLength(0);
  });
});

describe('a misbehaving container', () => {
  const cases: Array<[string, AjpHandler, BackendError['kind']]> = [
    ['garbage instead of AJP', (ex) => ex.raw(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), 'protocol'],
    ['a huge packet length', (ex) => ex.raw(Buffer.from([0x41, 0x42, 0xff, 0xf0, 0x04])), 'protocol'],
    ['a truncated packet, then close', (ex) => { ex.raw(encodeSendHeaders(200, 'OK', [['X', 'y']]).subarray(0, 9)); setTimeout(() => ex.destroy(), 10); }, 'protocol'],
    ['an unknown packet type', (ex) => ex.raw(Buffer.from([0x41, 0x42, 0x00, 0x01, 0x42])), 'protocol'],
    ['a body chunk before the headers', (ex) => ex.raw(encodeSendBodyChunk(Buffer.from('x'))), 'protocol'],
    ['END_RESPONSE before the headers', (ex) => ex.end(), 'protocol'],
    ['a header count that lies', (ex) => { const p = encodeSendHeaders(200, 'OK', [['X', 'y']]); p[p.length - 9] = 5; /* num_headers 1 → 5 */ ex.raw(p); }, 'protocol'],
    ['a close before any response', (ex) => ex.destroy(), 'closed'],
  ];
  it.each(cases)('%s → %s, and the next request works', async (_what, bad, kind) => {
    const { server, connector } = await setup(async (ex) => {
      if (ex.connection === 1) await bad(ex);
      else await echoHandler(ex);
    }, { timeout: 1000 });
    const err = await failure(request(connector, backendRequest()));
    expect(err.kind).toBe(kind);
    expect(err.nothingSent).toBe(false);
    expect((await text(connector)).status).toBe(200);
    expect(server.connections).toBe(2);
  });

  it("reports 'timeout' when no response comes within timeout, without counting time spent waiting on the client", async () => {
    const { connector } = await setup(async (ex) => { if (ex.request.uri === '/mute') return; await echoHandler(ex); }, { timeout: 200 });
    const t0 = Date.now();
    expect((await failure(request(connector, backendRequest({ path: '/mute' })))).kind).toBe('timeout');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    // A client uploading slower than `timeout` per packet is not the member's fault.
    const slowBody = new Readable({ read() {} });
    const p = text(connector, { method: 'POST', body: slowBody, bodyLength: null });
    setTimeout(() => slowBody.push('a'), 300);
    setTimeout(() => slowBody.push(null), 600);
    expect(JSON.parse((await p).text)).toMatchObject({ bodyLength: 1 });
  });

  it('errors the response body when the container stalls or closes mid-body', async () => {
    const { connector } = await setup(async (ex) => {
      ex.sendHeaders(200);
      await ex.sendBody('partial');
      if (ex.request.uri === '/close') setTimeout(() => ex.destroy(), 20);
    }, { timeout: 200 });
    for (const [path, kind] of [['/stall', 'timeout'], ['/close', 'closed']] as const) {
      const res = await request(connector, backendRequest({ path }));
      expect(res.status).toBe(200);
      const err = await failure(readAll(res.body));
      expect(err.kind).toBe(kind);
    }
  });

  it('errors the response body on a protocol violation after the headers', async () => {
    const { connector } = await setup(async (ex) => {
      ex.sendHeaders(200);
      ex.sendHeaders(200);
    });
    const res = await request(connector, backendRequest());
    expect((await failure(readAll(res.body))).kind).toBe('protocol');
  });

  it("reports 'closed' with reusedConnection on a reused connection that dies before answering", async () => {
    const { connector } = await setup(async (ex) => { if (ex.cycle === 2) { ex.destroy(); return; } await echoHandler(ex); });
    await text(connector);
    const err = await failure(request(connector, backendRequest()));
    expect(err).toMatchObject({ kind: 'closed', reusedConnection: true });
  });

  it("reports 'send-timeout' when the container stops reading the body it asked for", async () => {
    const { connector } = await setup(async (ex) => {
      // Ask for ~40 MB at once, then stop reading: our writes back up.
      ex.socket.pause();
      const ask = Buffer.from([0x41, 0x42, 0x00, 0x03, 0x06, 0x1f, 0xfa]);
      ex.raw(Buffer.concat(Array.from({ length: 5000 }, () => ask)));
    }, { timeout: 300 });
    const big = new Readable({ read() { this.push(Buffer.alloc(64 * 1024, 1)); } });
    const err = await failure(request(connector, backendRequest({ method: 'PUT', body: big, bodyLength: null })));
    expect(err.kind).toBe('send-timeout');
    big.destroy();
  });
});

describe('client abort', () => {
  it('aborts the member request and discards the connection', async () => {
    const { server, connector } = await setup(async (ex) => {
      ex.sendHeaders(200);
      await ex.sendBody('first');
      await sleep(1000);
      await ex.sendBody('never read');
      ex.end();
    });
    const ac = new AbortController();
    const res = await request(connector, backendRequest({ signal: ac.signal }));
    const reading = failure(readAll(res.body));
    await sleep(50);
    ac.abort();
    expect((await reading).kind).toBe('aborted');
    await eventually('the container to see the connection closed', () => server.openConnections() === 0);
  });

  it("rejects with 'aborted' while waiting for the response head", async () => {
    const { connector } = await setup(async () => { await sleep(500); });
    const ac = new AbortController();
    const p = request(connector, backendRequest({ signal: ac.signal }));
    setTimeout(() => ac.abort(), 50);
    expect((await failure(p)).kind).toBe('aborted');
  });
});

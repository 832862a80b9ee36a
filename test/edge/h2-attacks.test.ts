// The known HTTP/2 attacks against a TLS listener with h2, each sent with hand-made frames
// (test/helpers/h2-frames.ts), and what stickyd does: rapid reset (CVE-2023-44487), CONTINUATION
// floods (CVE-2024-27316 class), PING and SETTINGS floods (CVE-2019-9512/-9515), HPACK bombs,
// too many concurrent streams. In each case the connection (or the stream) is refused, nothing of
// the attack reaches a member beyond what the limits allow, and the listener goes on serving.
import type http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../helpers/pki.js';
import { FRAME, FLAG, getRequest, H2_ERROR, hpackIndexed, hpackLiteral, RawH2 } from '../helpers/h2-frames.js';
import { startBackend, type Backend } from '../proxy/helpers.js';
import { edgeCleanup, h2Connect, h2Request, startEdge, type Edge } from './helpers.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(edgeCleanup);

/** A member that holds every request (but /after) open until `release()`. */
async function holdingBackend(): Promise<Backend & { release(): void; held: http.ServerResponse[] }> {
  const held: http.ServerResponse[] = [];
  const b = await startBackend('a', (req, res) => {
    if (req.url === '/after') res.end('ok');
    else held.push(res);
  });
  return Object.assign(b, {
    held,
    release() {
      for (const res of held.splice(0)) res.end('released');
    },
  });
}

async function start(b: Backend, http2 = ''): Promise<Edge> {
  return startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n    protocols: [h2, http/1.1]\n    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\nserver:\n  servername: proxy.test\n  http2: { ${http2} }\nbalancers:\n  app:\n    members: [{ url: "${b.url}" }]\nproxypass:\n  - { path: /, url: balancer://app }\n`);
}

async function connect(e: Edge): Promise<RawH2> {
  const c = await RawH2.connect({ port: e.ports[0]!, ca: pki.ca.cert });
  c.settings();
  return c;
}

/** The listener still answers a well-behaved client. */
async function stillServes(e: Edge): Promise<void> {
  const s = await h2Connect(e.ports[0]!, { ca: pki.ca.cert });
  const r = await h2Request(s, '/after');
  expect([200, 503]).toContain(r.status);
  s.close();
}

const yieldToServer = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('rapid reset (CVE-2023-44487)', () => {
  it('a client that opens and resets streams past maxresets gets GOAWAY ENHANCE_YOUR_CALM and is cut off', async () => {
    const b = await startBackend('a');
    const e = await start(b, 'maxresets: 50');
    const c = await connect(e);
    let sent = 0;
    for (let id = 1; sent < 5000 && !c.closed && !c.frames.some((f) => f.type === FRAME.GOAWAY); id += 2) {
      if (!c.headers(id, getRequest('/reset', `localhost:${e.ports[0]}`))) break;
      c.rst(id, H2_ERROR.CANCEL);
      sent++;
      if (sent % 20 === 0) await yieldToServer();
    }
    const goaway = await c.goaway();
    await c.closedPromise;
    expect(goaway).not.toBeNull();
    expect(goaway!.code).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
    expect(sent).toBeLessThan(5000);
    expect(e.daemon.counters.clientErrors['h2-rapid-reset']).toBe(1);
    // Streams reset at once never reach the member; at most the limit's worth could have.
    expect(b.received.length).toBeLessThanOrEqual(50);
    await stillServes(e);
  });

  it('a client that resets a few streams (a browser cancelling) is left alone', async () => {
    const b = await holdingBackend();
    const e = await start(b, 'maxresets: 50');
    const c = await connect(e);
    for (let i = 0; i < 20; i++) {
      c.headers(1 + 2 * i, getRequest(`/cancel${i}`, `localhost:${e.ports[0]}`), { endStream: true });
      await new Promise((r) => setTimeout(r, 5));
      c.rst(1 + 2 * i, H2_ERROR.CANCEL);
    }
    c.headers(41, getRequest('/kept', `localhost:${e.ports[0]}`), { endStream: true });
    await new Promise((r) => setTimeout(r, 200));
    b.release();
    await c.waitFor((f) => f.type === FRAME.HEADERS && f.stream === 41);
    expect(c.frames.some((f) => f.type === FRAME.GOAWAY)).toBe(false);
    expect(e.daemon.counters.clientErrors['h2-rapid-reset']).toBe(0);
    c.close();
  });
});

describe('stickyd\'s own stream resets', () => {
  it('streams stickyd resets itself (a member that dies mid-body) do not count as the client\'s resets', async () => {
    // The member sends its head and part of the body, then its connection dies: stickyd can only
    // reset the client's stream (RST_STREAM), as mod_http2 does.
    const b = await startBackend('a', (req, res) => {
      if (req.url === '/after') return void res.end('fine');
      res.writeHead(200, { 'Content-Length': '100000' });
      res.write('x'.repeat(1000), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const e = await start(b, 'maxresets: 5');
    const s = await h2Connect(e.ports[0]!, { ca: pki.ca.cert });
    const outcomes: string[] = [];
    for (let i = 0; i < 12; i++) {
      outcomes.push(await new Promise<string>((resolve) => {
        const stream = s.request({ ':path': `/dies${i}` });
        let bytes = 0;
        stream.on('data', (d: Buffer) => (bytes += d.length));
        stream.on('error', () => {});
        stream.once('close', () => resolve(`${bytes} bytes, RST_STREAM ${stream.rstCode}`));
      }));
    }
    // Every one was cut short (INTERNAL_ERROR)...
    expect(outcomes).toEqual(Array.from({ length: 12 }, () => `1000 bytes, RST_STREAM ${H2_ERROR.INTERNAL_ERROR}`));
    expect(e.daemon.counters.clientErrors['h2-rapid-reset']).toBe(0); // ...by stickyd, not by the client
    expect(s.closed || s.destroyed).toBe(false);
    const r = await h2Request(s, '/after');
    expect(r.status).toBe(200);
    s.close();
  });
});

describe('CONTINUATION flood (CVE-2024-27316 class)', () => {
  it('a header block that never ends is refused after a few CONTINUATION frames: GOAWAY, nothing forwarded', async () => {
    const b = await startBackend('a');
    const e = await start(b);
    const c = await connect(e);
    c.headers(1, getRequest('/flood', `localhost:${e.ports[0]}`), { endHeaders: false });
    let frames = 0;
    for (; frames < 20_000 && !c.closed; frames++) {
      if (!c.continuation(1, hpackLiteral(`x-flood-${frames % 50}`, 'v'.repeat(100)))) break;
      if (frames % 50 === 0) await yieldToServer();
    }
    const goaway = await c.goaway();
    await c.closedPromise;
    expect(goaway).not.toBeNull();
    expect(goaway!.code).not.toBe(H2_ERROR.NO_ERROR);
    expect(frames).toBeLessThan(20_000);
    expect(b.received).toHaveLength(0);
    expect(e.daemon.counters.clientErrors['h2-flood'] + e.daemon.counters.clientErrors['h2-protocol']).toBe(1);
    await stillServes(e);
  });
});

describe('PING and SETTINGS floods (CVE-2019-9512, CVE-2019-9515)', () => {
  for (const kind of ['PING', 'SETTINGS'] as const) {
    it(`a client that sends ${kind} frames past maxcontrolframes, reading every acknowledgement, gets GOAWAY ENHANCE_YOUR_CALM`, async () => {
      const b = await startBackend('a');
      const e = await start(b, 'maxcontrolframes: 40');
      const c = await connect(e);
      let sent = 0;
      // Ten at a time, each batch acknowledged before the next: a client that keeps up.
      while (sent < 2000 && !c.closed && !c.frames.some((f) => f.type === FRAME.GOAWAY)) {
        for (let i = 0; i < 10; i++) {
          if (kind === 'PING') c.ping(Buffer.from([0, 0, 0, 0, 0, 0, (sent >> 8) & 0xff, sent & 0xff]));
          else c.settings([[0x1, 4096]]);
          sent++;
        }
        const want = sent;
        await c.waitFor(() => c.frames.filter((f) => f.type === FRAME[kind] && (f.flags & FLAG.ACK) !== 0).length >= want || c.frames.some((f) => f.type === FRAME.GOAWAY), 2000).catch(() => {});
      }
      const goaway = await c.goaway();
      expect(goaway!.code).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
      await c.closedPromise;
      expect(sent).toBeLessThanOrEqual(60);
      expect(e.daemon.counters.clientErrors['h2-flood']).toBe(1);
      await stillServes(e);
    });
  }

  it('a client that floods PINGs without reading the acknowledgements is cut off too (nghttp2\'s outbound limit)', async () => {
    const b = await startBackend('a');
    const e = await start(b, 'maxcontrolframes: 100000');
    const c = await connect(e);
    c.socket.pause();
    let sent = 0;
    for (; sent < 200_000 && !c.closed; sent++) {
      if (!c.ping()) break;
      if (sent % 1000 === 0) await yieldToServer();
    }
    c.socket.resume();
    await c.closedPromise;
    expect(sent).toBeLessThan(200_000);
    expect(e.daemon.counters.clientErrors['h2-flood']).toBe(1);
    await stillServes(e);
  });
});

describe('HPACK bombs', () => {
  it('a header block that decodes past the header list limit is refused (RST_STREAM), the connection and the listener go on', async () => {
    const b = await startBackend('a');
    const e = await start(b);
    const c = await connect(e);
    // One 4000-byte field into the dynamic table, then 200 one-byte references to it: 800 KB
    // decoded from a 4 KB block.
    const block = [...getRequest('/bomb', `localhost:${e.ports[0]}`).map(([n, v]) => hpackLiteral(n, v)), hpackLiteral('x-bomb', 'b'.repeat(4000), true)];
    for (let i = 0; i < 200; i++) block.push(hpackIndexed(62));
    c.headers(1, Buffer.concat(block), { endStream: true });
    const reset = await c.waitFor((f) => f.type === FRAME.RST_STREAM && f.stream === 1);
    expect(reset.payload.readUInt32BE(0)).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
    // The same connection serves the next request (the dynamic table is still in step).
    c.headers(3, getRequest('/next', `localhost:${e.ports[0]}`), { endStream: true });
    await c.waitFor((f) => f.type === FRAME.HEADERS && f.stream === 3);
    expect(b.received.map((r) => r.url)).toEqual(['/next']);
    // A header list over server.maxheadersize (16 KB here; node's own default is 64 KB) is refused too.
    const big = Buffer.concat([...getRequest('/big', `localhost:${e.ports[0]}`).map(([n, v]) => hpackLiteral(n, v)), hpackLiteral('x-big', 'b'.repeat(20_000))]);
    c.headers(5, big.subarray(0, 16_000), { endHeaders: false, endStream: true });
    c.continuation(5, big.subarray(16_000), true);
    const refused = await c.waitFor((f) => f.type === FRAME.RST_STREAM && f.stream === 5);
    expect(refused.payload.readUInt32BE(0)).toBe(H2_ERROR.ENHANCE_YOUR_CALM);
    expect(b.received.map((r) => r.url)).toEqual(['/next']);
    c.close();
  });
});

describe('too many concurrent streams', () => {
  it('streams past maxsessionstreams are refused (REFUSED_STREAM while the limit is in flight); the member sees only the allowed ones', async () => {
    const b = await holdingBackend();
    const e = await start(b, 'maxsessionstreams: 10');
    const c = await connect(e);
    // Sent at once with the preface: the server's limit is not acknowledged yet, so the streams
    // past it are refused one by one (RFC 9113 §5.1.2) and the connection goes on.
    for (let i = 0; i < 15; i++) c.headers(1 + 2 * i, getRequest(`/s${i}`, `localhost:${e.ports[0]}`), { endStream: true });
    await c.waitFor(() => c.resets().size >= 5);
    for (let t = 0; t < 50 && b.held.length < 10; t++) await new Promise((r) => setTimeout(r, 20));
    expect([...c.resets().values()]).toEqual([7, 7, 7, 7, 7]);
    expect(b.held).toHaveLength(10);
    b.release();
    await c.waitFor(() => c.answered().size >= 10);
    expect(c.answered().size).toBe(10);
    c.close();
  });

  it('a client that knows the limit (it acknowledged the SETTINGS) and exceeds it loses the connection: GOAWAY PROTOCOL_ERROR', async () => {
    const b = await holdingBackend();
    const e = await start(b, 'maxsessionstreams: 10');
    const c = await connect(e);
    await c.waitFor((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) !== 0);
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 15; i++) c.headers(1 + 2 * i, getRequest(`/s${i}`, `localhost:${e.ports[0]}`), { endStream: true });
    const goaway = await c.goaway();
    expect(goaway!.code).toBe(H2_ERROR.PROTOCOL_ERROR);
    await c.closedPromise;
    for (let t = 0; t < 10 && b.held.length < 10; t++) await new Promise((r) => setTimeout(r, 20));
    expect(b.held.length).toBeLessThanOrEqual(10);
    expect(e.daemon.counters.clientErrors['h2-protocol']).toBe(1);
    b.release();
    await stillServes(e);
  });
});

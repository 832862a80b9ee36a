// ClientInput (src/proxy/client-input.ts) on its own, over a real socket on 127.0.0.1: what it hands
// the parser and what it holds back (the listeners' behaviour through it is in client-side,
// read-deadline and http1-server tests), and its fast path: the byte-level request-line check must
// accept only what requestLineProblem() accepts.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientInput, strictRequestLine } from '../../src/proxy/client-input.js';
import { requestLineProblem } from '../../src/proxy/request-line.js';

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

interface Fed {
  input: ClientInput;
  socket: net.Socket;
  /** What the parser was handed, as text. */
  parsed: () => string;
  refusals: Array<{ status: number; why: string }>;
  /** Whether the parser owns the socket (the test lets go of it as an Upgrade would). */
  owns: { value: boolean };
}

/** A server whose one connection goes through ClientInput.feeding; `client` writes to it. */
async function feeding(onChunk?: (fed: Fed, chunk: Buffer) => void): Promise<{ fed: Promise<Fed>; client: net.Socket }> {
  let ready!: (f: Fed) => void;
  const fed = new Promise<Fed>((r) => (ready = r));
  const server = net.createServer((socket) => {
    sockets.push(socket);
    const chunks: Buffer[] = [];
    const refusals: Fed['refusals'] = [];
    const owns = { value: true };
    const f: Fed = { input: null as unknown as ClientInput, socket, parsed: () => Buffer.concat(chunks).toString('latin1'), refusals, owns };
    f.input = ClientInput.feeding(socket, (chunk) => {
      chunks.push(chunk);
      onChunk?.(f, chunk);
    }, () => owns.value, {
      maxHeadSize: 8192,
      header: { timeout: 0, max: 0, minrate: 0 },
      refuse: (status, why) => refusals.push({ status, why }),
    });
    ready(f);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  sockets.push(client);
  await new Promise((r) => client.once('connect', r));
  return { fed, client };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('ClientInput.feeding', () => {
  it('hands the parser well-formed requests (bodies included) and holds back a refused request line: none of its bytes, 400 only once the requests before it are answered', async () => {
    // The parser hands the handler one request (whatever the reads): one response is due.
    let started = false;
    const { fed, client } = await feeding((f) => {
      if (started) return;
      started = true;
      f.input.requestStarted();
    });
    const good = 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nGET  /x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n';
    client.write(`${good}GET  /bad HTTP/1.1\r\nHost: x\r\n\r\n`);
    const f = await fed;
    await until(() => f.parsed().length >= good.length);
    await new Promise((r) => setTimeout(r, 50));
    // A body that looks like a bad request line is the body: it went to the parser.
    expect(f.parsed()).toBe(good);
    // One response is still due: the refusal waits for it.
    expect(f.refusals).toEqual([]);
    f.input.requestEnded();
    expect(f.refusals.map((r) => r.status)).toEqual([400]);
    // Nothing more reaches the parser after a refusal.
    client.write('GET /c HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(f.parsed()).toBe(good);
    client.destroy();
  });

  it('steps aside once the parser lets go of the socket (Upgrade, CONNECT): what follows is no longer its to check', async () => {
    // The parser lets go once the Upgrade's header block is complete.
    const { fed, client } = await feeding((f) => {
      if (f.parsed().includes('\r\n\r\n')) f.owns.value = false;
    });
    client.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const f = await fed;
    await until(() => f.parsed().length > 0);
    await until(() => f.socket.listenerCount('data') === 0);
    expect(f.socket.listenerCount('data')).toBe(0);
    client.write('GET  not-http\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(f.refusals).toEqual([]);
    expect(f.parsed()).toMatch(/^GET \/ws HTTP\/1\.1\r\n[^]*\r\n\r\n$/);
    client.destroy();
  });
});

describe('the byte-level request-line check (fast path)', () => {
  const ok = ['GET / HTTP/1.1', 'POST /a/b?c=d&e=%20 HTTP/1.0', 'OPTIONS * HTTP/1.1', 'GET http://h:1/x HTTP/1.1', 'M-SEARCH /\u00e9 HTTP/1.1', 'GET / HTTP/2.0', 'CONNECT h:443 HTTP/1.1'];
  const bad = ['GET /', 'GET / ', 'GET  / HTTP/1.1', 'GET /  HTTP/1.1', ' GET / HTTP/1.1', 'GET / HTTP/1.1 ', 'GET\t/ HTTP/1.1', 'GET /a#b HTTP/1.1',
    'GET / HTTP/0.9', 'GET / HTTP/1.1x', 'GET / http/1.1', 'GET / HTTP/11', 'GET /a\u0001 HTTP/1.1', 'GET /a\u007f HTTP/1.1', 'G(T / HTTP/1.1', 'GET / HTTP/1.1 x', ''];
  const line = (text: string, cr = true) => Buffer.from(`${text}${cr ? '\r' : ''}\n`, 'latin1');

  it('passes the lines requestLineProblem accepts', () => {
    for (const text of ok) {
      expect(requestLineProblem(`${text}\r`), text).toBeNull();
      const b = line(text);
      expect(strictRequestLine(b, 0, b.length - 1), text).toBe(true);
    }
  });

  it('never passes a line requestLineProblem refuses (bare LF included), at any offset in a read', () => {
    const cases = [...bad.map((t) => line(t)), ...ok.map((t) => line(t, false))];
    // Every prefix and one-byte change of the good lines too: the fast path may send a good line
    // the slow way, never a bad one through.
    for (const text of ok) {
      const b = line(text);
      for (let k = 0; k < b.length - 1; k++) {
        for (const x of [0x00, 0x09, 0x20, 0x23, 0x30, 0x41, 0x7f, 0xff]) {
          const m = Buffer.from(b);
          m[k] = x;
          cases.push(m);
        }
      }
    }
    let passed = 0;
    for (const b of cases) {
      const padded = Buffer.concat([Buffer.from('xx'), b]);
      const lf = padded.indexOf(0x0a, 2);
      if (lf < 0) continue;
      const verdict = requestLineProblem(padded.toString('latin1', 2, lf));
      if (strictRequestLine(padded, 2, lf)) {
        passed++;
        expect(verdict, JSON.stringify(padded.toString('latin1', 2, lf))).toBeNull();
      }
    }
    // The fast path did take lines (the good ones at least): the loop above checked something.
    expect(passed).toBeGreaterThanOrEqual(ok.length);
  });
});

// Request lines httpd's strict parser refuses (HttpProtocolOptions Strict Require1.0), over raw
// TCP: 400 at once, the connection closed, nothing forwarded, whatever follows the line. node's
// parser alone takes a line without a version as HTTP/0.9 and forwards the header lines after it,
// waits for more when it stands alone, and accepts runs of spaces; test/conformance/request-line
// compares the answers with httpd's.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, rawExchange, request, startBackend, startProxy, startRawBackend, type Backend } from './helpers.js';

afterEach(cleanup);

async function setup() {
  const backend = await startBackend('a');
  const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
  return { backend, proxy };
}

/** The status codes of the responses in `answer`, in order (bodies do not end with a newline). */
function statuses(answer: string): number[] {
  return [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

function nothingForwarded(b: Backend): void {
  expect(b.received).toHaveLength(0);
  expect(b.connections).toBe(0);
}

/**
 * Write `data` and keep the connection open: resolves with what came back and whether the proxy
 * closed the connection, once it closed or after `waitMs`.
 */
function exchangeOpen(port: number, data: string | string[], waitMs = 3000): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ answer: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      closed = true;
      done();
    });
    s.on('error', done);
    const parts = Array.isArray(data) ? data : [data];
    let i = 0;
    const next = (): void => {
      if (i >= parts.length || s.destroyed) return;
      s.write(parts[i++]!);
      setTimeout(next, 50);
    };
    next();
  });
}

const SHAPES: Array<[string, string]> = [
  ['no version, alone', 'GET /\r\n'],
  ['no version, then header lines', 'GET /\r\nHost: x\r\n\r\n'],
  ['no version, trailing space, alone', 'GET / \r\n'],
  ['no version, trailing space, then header lines', 'GET / \r\nHost: x\r\n\r\n'],
  ['no version, then an empty line', 'GET /\r\n\r\n'],
  ['HTTP/0.9 written out', 'GET / HTTP/0.9\r\nHost: x\r\n\r\n'],
  ['HTTP/1.1x', 'GET / HTTP/1.1x\r\nHost: x\r\n\r\n'],
  ['lower-case http/1.1', 'GET / http/1.1\r\nHost: x\r\n\r\n'],
  ['two spaces before the target', 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['two spaces before the version', 'GET /  HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a space after the version', 'GET / HTTP/1.1 \r\nHost: x\r\n\r\n'],
  ['a space before the method', ' GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a tab as separator', 'GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a fourth word', 'GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n'],
  ['a fragment in the target', 'GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['not HTTP', 'GET / FOO/1.1\r\nHost: x\r\n\r\n'],
  ['HTTP/1 without minor', 'GET / HTTP/1\r\nHost: x\r\n\r\n'],
  ['a method alone', 'GET\r\n\r\n'],
  ['a bare LF after the line', 'GET / HTTP/1.1\nHost: x\r\n\r\n'],
  ['a POST without version, body after the headers', 'POST /\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'],
];

/**
 * A member that answers a request without Upgrade with 200, and one with Upgrade with 101: then it
 * echoes every byte that follows the header block.
 */
function echoUpgradeMember(): ReturnType<typeof startRawBackend> {
  return startRawBackend((sock) => {
    let buf = '';
    let switched = false;
    sock.on('data', (d: Buffer) => {
      if (switched) return void sock.write(d);
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!/^upgrade:/im.test(buf.slice(0, end))) {
        buf = buf.slice(end + 4);
        return void sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
      switched = true;
      sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      if (buf.length > end + 4) sock.write(buf.slice(end + 4));
    });
  });
}

describe('request lines without an HTTP version, and other shapes httpd\'s strict parser refuses', () => {
  it.each(SHAPES)('%s: 400 at once, connection closed, nothing forwarded', async (_name, data) => {
    const { backend, proxy } = await setup();
    // The connection stays open on our side: the proxy must answer and close without more input.
    const { answer, closed } = await exchangeOpen(proxy.port, data);
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close\r\n/);
    expect(closed).toBe(true);
    nothingForwarded(backend);
    expect(proxy.daemon.counters.clientErrors['bad-request']).toBe(1);
  });

  it('a line split over several packets is checked whole', async () => {
    const { backend, proxy } = await setup();
    const { answer, closed } = await exchangeOpen(proxy.port, ['GE', 'T /ind', 'ex.html\r', '\nHost: x\r\n\r\n']);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(closed).toBe(true);
    nothingForwarded(backend);
  });

  it('pipelined behind a valid request: the valid one is answered first, then 400 and close', async () => {
    const { backend, proxy } = await setup();
    const answer = await rawExchange(proxy.port, 'GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second\r\nHost: x\r\n\r\n');
    expect(statuses(answer)).toEqual([200, 400]);
    expect(backend.received.map((r) => r.url)).toEqual(['/first']);
  });

  it('after a keep-alive request on the same connection', async () => {
    const { backend, proxy } = await setup();
    const { answer, closed } = await exchangeOpen(proxy.port, ['GET /first HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /second  HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(statuses(answer)).toEqual([200, 400]);
    expect(closed).toBe(true);
    expect(backend.received.map((r) => r.url)).toEqual(['/first']);
  });

  it('after a request with a body (Content-Length, chunked): the line after the body is checked', async () => {
    const { backend, proxy } = await setup();
    const cl = await rawExchange(proxy.port, 'POST /a HTTP/1.1\r\nHost: x\r\nX-Other: 1\r\nCONTENT-LENGTH: 12\r\n\r\nGET /\r\n\r\nxxxGET /b\r\nHost: x\r\n\r\n');
    expect(statuses(cl)).toEqual([200, 400]);
    const chunked = await rawExchange(proxy.port, 'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n9;ext=1\r\nGET /\r\n\r\n\r\n0\r\nX-Trailer: 1\r\n\r\nGET /d\r\nHost: x\r\n\r\n');
    expect(statuses(chunked)).toEqual([200, 400]);
    // The bodies that look like request lines went to the member as bodies.
    expect(backend.received.map((r) => [r.url, r.body.toString()])).toEqual([['/a', 'GET /\r\n\r\nxxx'], ['/c', 'GET /\r\n\r\n']]);
  });

  it('header lines split over packets are followed too', async () => {
    const { backend, proxy } = await setup();
    const { answer } = await exchangeOpen(proxy.port, ['POST /a HTTP/1.1\r\nHo', 'st: x\r\nX-A: 1\r\nCont', 'ent-Length: 12\r', '\n\r\nGET /\r\n\r\nx', 'xxGET /b\r\nHost: x\r\n\r\n']);
    expect(statuses(answer)).toEqual([200, 400]);
    expect(backend.received.map((r) => [r.url, r.body.toString()])).toEqual([['/a', 'GET /\r\n\r\nxxx']]);
  });

  it('what httpd accepts still works: empty lines first, absolute-form, HTTP/1.0, a query', async () => {
    const { backend, proxy } = await setup();
    const answer = await rawExchange(proxy.port, '\r\n\r\nGET /one HTTP/1.1\r\nHost: x\r\n\r\nGET http://x/two?q=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /three HTTP/1.0\r\n\r\n');
    expect(statuses(answer)).toEqual([200, 200, 200]);
    expect(backend.received.map((r) => r.url)).toEqual(['/one', '/two?q=1', '/three']);
    expect((await request(`${proxy.url}/four`)).status).toBe(200);
  });

  it('a Connection line is followed whatever else it lists: "keep-alive, upgrade" still switches protocols, "keep-alive" alone does not', async () => {
    const member = await echoUpgradeMember();
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${member.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const tunnel = await exchangeOpen(proxy.port, ['GET /tunnel HTTP/1.1\r\nHost: x\r\nconnection: keep-alive, UpGrade\r\nUpgrade: echo\r\n\r\nGET  /not-http\r\n'], 1500);
    expect(tunnel.answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(tunnel.answer.slice(tunnel.answer.indexOf('\r\n\r\n') + 4)).toBe('GET  /not-http\r\n');
    // Without an upgrade token the next request line is checked: 200, then 400 and close.
    const plain = await exchangeOpen(proxy.port, ['GET /a HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\nUpgrade: echo\r\n\r\nGET  /not-http HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(statuses(plain.answer)).toEqual([200, 400]);
    expect(plain.closed).toBe(true);
    expect(proxy.daemon.counters.clientErrors['bad-request']).toBe(1);
  });

  it('pipelined behind responses the client does not read yet (node pauses the connection): all answered in order, then 400', async () => {
    // The client reads nothing at first: the first responses fill the socket buffers, so when the
    // next requests arrive node pauses reading, and what comes after them waits in the socket's
    // buffer and reaches the checks as 'data' events once the client reads and the connection
    // flows again.
    const big = Buffer.alloc(4 * 1024 * 1024, 0x61);
    const backend = await startBackend('a', (_req, res) => res.end(big));
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const { statusList, closed } = await new Promise<{ statusList: number[]; closed: boolean }>((resolve) => {
      const s = net.connect(proxy.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      const done = (closed: boolean): void => {
        clearTimeout(timer);
        s.destroy();
        resolve({ statusList: statuses(Buffer.concat(chunks).toString('latin1')), closed });
      };
      const timer = setTimeout(() => done(false), 15_000);
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => done(true));
      s.on('error', () => done(false));
      s.pause();
      s.write(get('/r1') + get('/r2'));
      setTimeout(() => s.write(get('/r3') + get('/r4')), 300);
      setTimeout(() => s.write(`${get('/r5')}GET /bad  HTTP/1.1\r\nHost: x\r\n\r\n`), 600);
      setTimeout(() => s.resume(), 900);
    });
    expect(statusList).toEqual([200, 200, 200, 200, 200, 400]);
    expect(closed).toBe(true);
    expect(backend.received.map((r) => r.url)).toEqual(['/r1', '/r2', '/r3', '/r4', '/r5']);
  });

  it('after an Upgrade the bytes belong to the new protocol, even when they look like a bad request line', async () => {
    const member = await echoUpgradeMember();
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${member.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const { answer } = await exchangeOpen(
      proxy.port,
      ['GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nGET  /not-http\r\n', 'GET /\r\nmore\r\n'],
      1500,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe('GET  /not-http\r\nGET /\r\nmore\r\n');
    expect(proxy.daemon.counters.clientErrors['bad-request']).toBe(0);
  });
});

// What lbmethod bytraffic counts (apache-semantics §3.4), as httpd 2.4's mod_proxy_http counts it: a member's
// `transferred` grows by every byte written to it (request line, every header line, the body and
// its chunk framing), its `read` by each status line without its CRLF (1xx interim ones too) plus
// the response body, never the response header lines. test/conformance/lbmethods.test.ts checks
// the same numbers against real httpd.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startAjpServer, type AjpTestServer } from '../helpers/ajp-server.js';
import { cleanup, memberState, request, startBackend, startProxy, type Backend } from './helpers.js';

const ajpServers: AjpTestServer[] = [];
afterEach(async () => {
  await cleanup();
  for (const s of ajpServers.splice(0)) await s.close();
});

/** Count every byte the backend's sockets receive. */
function countReceived(b: Backend): { bytes: number } {
  const counter = { bytes: 0 };
  b.server.on('connection', (s: net.Socket) => s.on('data', (d: Buffer) => (counter.bytes += d.length)));
  return counter;
}

async function setup(handler: Parameters<typeof startBackend>[1]) {
  const backend = await startBackend('a', handler);
  const received = countReceived(backend);
  const proxy = await startProxy(`balancers:\n  c1:\n    lbmethod: bytraffic\n    members: [{ url: ${backend.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
  return { backend, received, proxy, state: () => memberState(proxy, 'c1', backend.url) };
}

describe('bytraffic counts bytes as httpd does', () => {
  it('transferred = every byte the member received, undici\'s own Connection and Content-Length lines included', async () => {
    const s = await setup((_req, res) => res.end('ok'));
    await request(`${s.proxy.url}/a/path?q=1`, { headers: { 'X-Some': 'value' } });
    expect(s.state().transferred).toBe(s.received.bytes);
    await request(`${s.proxy.url}/post`, { method: 'POST', body: 'x'.repeat(1234) });
    expect(s.state().transferred).toBe(s.received.bytes);
    // A chunked request body goes on chunked: the framing bytes count too.
    await request(`${s.proxy.url}/chunked`, { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' }, body: 'y'.repeat(300) });
    expect(s.state().transferred).toBe(s.received.bytes);
  });

  it('read = the status line without CRLF plus the body; header lines are not counted', async () => {
    const s = await setup((req, res) => {
      res.setHeader('X-Padding', 'p'.repeat(500));
      res.statusMessage = req.url === '/custom' ? 'Fine Thanks' : 'OK';
      res.end('b'.repeat(req.url === '/custom' ? 10 : 1000));
    });
    await request(`${s.proxy.url}/plain`);
    expect(s.state().read).toBe('HTTP/1.1 200 OK'.length + 1000);
    await request(`${s.proxy.url}/custom`);
    expect(s.state().read).toBe('HTTP/1.1 200 OK'.length + 1000 + 'HTTP/1.1 200 Fine Thanks'.length + 10);
  });

  it('an interim 103 response counts its status line too', async () => {
    const s = await setup((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' }, () => res.end('done'));
    });
    const reply = await request(`${s.proxy.url}/hints`);
    expect(reply.body).toBe('done');
    expect(s.state().read).toBe('HTTP/1.1 103 Early Hints'.length + 'HTTP/1.1 200 OK'.length + 4);
  });

  it('ajp:// members: mod_proxy_ajp counts the bodies only, both ways (not its header packets)', async () => {
    const ajp = await startAjpServer(async (ex) => {
      await ex.readBody();
      ex.sendHeaders(200, [['Content-Type', 'text/plain'], ['X-Padding', 'p'.repeat(300)]]);
      await ex.sendBody('r'.repeat(77));
      ex.end(true);
    });
    ajpServers.push(ajp);
    const url = `ajp://127.0.0.1:${ajp.port}`;
    const proxy = await startProxy(`balancers:\n  c1:\n    lbmethod: bytraffic\n    members: [{ url: "${url}" }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    await request(`${proxy.url}/get`);
    expect(memberState(proxy, 'c1', url)).toMatchObject({ transferred: 0, read: 77 });
    await request(`${proxy.url}/post`, { method: 'POST', body: 'q'.repeat(1000) });
    expect(memberState(proxy, 'c1', url)).toMatchObject({ transferred: 1000, read: 154 });
  });
});

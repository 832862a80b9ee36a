// HTTP/2 to clients (mod_http2's Protocols h2 http/1.1): negotiated by ALPN, and everything the
// proxy does over HTTP/1.1 done over HTTP/2 too, against HTTP/1.1 members: stickiness from a
// cookie split over several fields and from ;jsessionid=, failover with the body replayed,
// failonstatus, the routecookie, X-Forwarded-*, streaming both ways, the access log. Also h2c by
// prior knowledge, and that no hop-by-hop header reaches an HTTP/2 response.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { statusText } from '../../src/balancer/flags.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { getRequest, RawH2 } from '../helpers/h2-frames.js';
import { deadPort, echoed, startBackend, type Backend } from '../proxy/helpers.js';
import { edgeCleanup, h2Connect, h2Request, httpsRequest, startEdge, type Edge } from './helpers.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(edgeCleanup);

function tlsListen(protocols = '[h2, http/1.1]'): string {
  return `listen:\n  - address: 127.0.0.1\n    port: PORT0\n    protocols: ${protocols}\n    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n`;
}

function balancer(members: Backend[] | string, extra = ''): string {
  const list = typeof members === 'string' ? members : members.map((b) => `      - { url: "${b.url}", route: ${b.name} }`).join('\n');
  return `balancers:\n  c1:\n    stickysession: JSESSIONID|jsessionid\n${extra}    members:\n${list}\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`;
}

async function h2(e: Edge): Promise<http2.ClientHttp2Session> {
  return h2Connect(e.ports[0]!, { ca: pki.ca.cert });
}

describe('ALPN', () => {
  it('negotiates h2 with a client that offers it, http/1.1 with one that does not', async () => {
    const a = await startBackend('a');
    const e = await startEdge(tlsListen() + balancer([a]));
    const s = await h2(e);
    expect((s.socket as tls.TLSSocket).alpnProtocol).toBe('h2');
    const r = await h2Request(s, '/x');
    expect(r.status).toBe(200);
    expect(echoed({ body: r.body } as never).backend).toBe('a');
    const h1 = await httpsRequest(e.ports[0]!, '/y', { ca: pki.ca.cert });
    expect(h1.status).toBe(200);
    expect(h1.alpn).toBe(false);
    // Members are spoken to over HTTP/1.1 whatever the client spoke.
    expect(a.received.map((x) => x.url)).toEqual(['/x', '/y']);
  });

  it('a listener without h2 in protocols never negotiates it', async () => {
    const e = await startEdge(`${tlsListen('[http/1.1]')}`);
    const alpn = await new Promise<string | false | null>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: e.ports[0]!, ca: pki.ca.cert, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'] }, () => {
        resolve(s.alpnProtocol);
        s.destroy();
      });
      s.on('error', reject);
    });
    expect(alpn).toBe('http/1.1');
  });
});

describe('a request over HTTP/2 is the same request for the member', () => {
  it(':authority becomes Host (preservehost) and X-Forwarded-Host; X-Forwarded-For/-Server/-Proto are added; no pseudo-header reaches the member', async () => {
    const a = await startBackend('a');
    const e = await startEdge(`${tlsListen()}proxy: { preservehost: on }\n${balancer([a])}`);
    const s = await h2(e);
    await h2Request(s, '/p?q=1', { headers: { 'x-forwarded-proto': 'http', 'x-custom': 'v' } });
    const got = a.received[0]!;
    expect(got.url).toBe('/p?q=1');
    expect(got.headers.host).toBe(`localhost:${e.ports[0]}`);
    expect(got.headers['x-forwarded-host']).toBe(`localhost:${e.ports[0]}`);
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(got.headers['x-forwarded-server']).toBe('proxy.test');
    expect(got.headers['x-forwarded-proto']).toBe('https');
    expect(got.headers['x-custom']).toBe('v');
    expect(got.rawHeaders.filter((_v, i) => i % 2 === 0).some((n) => n.startsWith(':'))).toBe(false);
    expect(got.rawHeaders.filter((_v, i) => i % 2 === 0 && /^host$/i.test(got.rawHeaders[i]!))).toHaveLength(1);
  });

  it('cookie fields split by the client (RFC 9113 §8.2.3) are joined with "; ": the route is found and the member gets one Cookie', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    const e = await startEdge(tlsListen() + balancer([a, b]));
    // Hand-made frames, so that the cookie really travels as three fields.
    const c = await RawH2.connect({ port: e.ports[0]!, ca: pki.ca.cert });
    c.settings();
    for (let i = 0; i < 4; i++) {
      c.headers(1 + 2 * i, getRequest(`/s${i}`, `localhost:${e.ports[0]}`, [['cookie', 'theme=dark'], ['cookie', 'JSESSIONID=abc123.b'], ['cookie', 'lang=en']]), { endStream: true });
    }
    await c.waitFor((f) => f.type === 0x0 && f.stream === 7 && (f.flags & 0x1) === 1);
    c.close();
    expect(a.received).toHaveLength(0);
    expect(b.received.map((x) => x.url)).toEqual(['/s0', '/s1', '/s2', '/s3']);
    expect(b.received[0]!.rawHeaders.filter((_v, i) => i % 2 === 0 && /^cookie$/i.test(b.received[0]!.rawHeaders[i]!))).toHaveLength(1);
    expect(b.received[0]!.headers.cookie).toBe('theme=dark; JSESSIONID=abc123.b; lang=en');
    expect(e.records.map((r) => r.sessionRoute)).toEqual(['b', 'b', 'b', 'b']);
  });

  it('sticks by ;jsessionid= in the path', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    const e = await startEdge(tlsListen() + balancer([a, b]));
    const s = await h2(e);
    for (let i = 0; i < 3; i++) await h2Request(s, `/app/page;jsessionid=xyz.a?i=${i}`);
    expect(a.received).toHaveLength(3);
    expect(b.received).toHaveLength(0);
    expect(e.records.map((r) => [r.stickyName, r.sessionRoute])).toEqual([['jsessionid', 'a'], ['jsessionid', 'a'], ['jsessionid', 'a']]);
  });

  it('fails over from a dead member, replaying a 100 KB POST body whole', async () => {
    const dead = await deadPort();
    const b = await startBackend('b');
    const e = await startEdge(tlsListen() + balancer(`      - { url: "http://127.0.0.1:${dead}", route: a }\n      - { url: "${b.url}", route: b }`));
    const s = await h2(e);
    const body = Buffer.alloc(100 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7919) & 0xff;
    const r = await h2Request(s, '/upload', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(r.status).toBe(200);
    const got = b.received[0]!;
    expect(createHash('sha256').update(got.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    expect(e.records.at(-1)).toMatchObject({ status: 200, attempts: 2, member: b.url });
    expect(statusText(e.daemon.balancers.get('c1')!.member(`http://127.0.0.1:${dead}`)!.status)).toBe('Init Err ');
  });

  it('failonstatus puts the member in error after passing its answer on', async () => {
    const a = await startBackend('a', (_req, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    const e = await startEdge(tlsListen() + balancer([a], '    failonstatus: [503]\n'));
    const s = await h2(e);
    const r = await h2Request(s, '/x');
    expect(r.status).toBe(503);
    expect(r.body).toBe('busy');
    expect(statusText(e.daemon.balancers.get('c1')!.member(a.url)!.status)).toBe('Init Err ');
  });

  it('the routecookie is set on a load-balanced answer and then keeps the client on its member', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    const e = await startEdge(`${tlsListen()}balancers:\n  c1:\n    routecookie: { name: ROUTEID }\n    members:\n      - { url: "${a.url}", route: a }\n      - { url: "${b.url}", route: b }\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const s = await h2(e);
    const first = await h2Request(s, '/1');
    const setCookie = first.headers['set-cookie'] as string[];
    expect(setCookie).toHaveLength(1);
    const route = /^ROUTEID=\.(a|b); Path=\/; HttpOnly$/.exec(setCookie[0]!)![1]!;
    for (let i = 0; i < 4; i++) await h2Request(s, `/n${i}`, { headers: { cookie: `ROUTEID=.${route}` } });
    const served = (route === 'a' ? a : b).received.map((x) => x.url);
    expect(served).toEqual(['/1', '/n0', '/n1', '/n2', '/n3']);
  });

  it('no hop-by-hop header of the member reaches the HTTP/2 response; a chunked body arrives whole', async () => {
    const a = await startBackend('a', (_req, res) => {
      res.writeHead(200, { Connection: 'X-Hop, keep-alive', 'Keep-Alive': 'timeout=5', 'X-Hop': 'secret', 'X-Kept': 'yes', 'Proxy-Connection': 'x', Upgrade: 'h2c' });
      res.write('chunk one, ');
      res.end('chunk two');
    });
    const e = await startEdge(tlsListen() + balancer([a]));
    const s = await h2(e);
    const r = await h2Request(s, '/h');
    expect(r.status).toBe(200);
    expect(r.body).toBe('chunk one, chunk two');
    for (const h of ['connection', 'keep-alive', 'x-hop', 'transfer-encoding', 'proxy-connection', 'upgrade']) expect(r.headers[h], h).toBeUndefined();
    expect(r.headers['x-kept']).toBe('yes');
  });
});

describe('streaming over HTTP/2', () => {
  it('sends the member\'s response on as it comes, and the client\'s request body as it comes', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let seen: () => void = () => {};
    const sawFirstChunk = new Promise<void>((r) => (seen = r));
    const up = await startBackend('a');
    // The recording backend waits for whole bodies: this member answers as it reads instead.
    up.server.removeAllListeners('request');
    up.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url === '/down') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        // The gate is only ever resolved; were it rejected, the response would be cut.
        gate.then(() => res.end('second'), () => res.destroy());
        return;
      }
      let all = '';
      req.once('data', () => seen());
      req.on('data', (d: Buffer) => (all += d.toString()));
      req.on('end', () => res.end(all));
    });
    const e = await startEdge(tlsListen() + balancer([up]));
    const s = await h2(e);
    const collect = (st: http2.ClientHttp2Stream): Promise<string> => new Promise((resolve) => {
      let t = '';
      st.on('data', (c: Buffer) => (t += c.toString()));
      st.on('end', () => resolve(t));
    });
    // Down: the first chunk arrives while the member still holds the rest.
    const stream = s.request({ ':path': '/down' });
    const first = await new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(c.toString())));
    expect(first).toBe('first;');
    const rest = collect(stream);
    release();
    expect(await rest).toBe('second');
    // Up: the member sees the first of the body before the client has sent the rest.
    const upStream = s.request({ ':path': '/up', ':method': 'POST' }, { endStream: false });
    const echoedBody = collect(upStream);
    upStream.write(Buffer.alloc(200_000, 0x61));
    await sawFirstChunk;
    upStream.end('END');
    const body = await echoedBody;
    expect(body.length).toBe(200_003);
    expect(body.endsWith('END')).toBe(true);
  });
});

describe('the access log over HTTP/2', () => {
  it('%H and %r say HTTP/2.0; %{Host}i is the :authority; %{…}o reads the response head; %X is +', async () => {
    const a = await startBackend('a', (_req, res) => {
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.setHeader('x-app', 'one');
      res.end('ok');
    });
    const e = await startEdge(`${tlsListen()}log:\n  access:\n    format: '%H|%r|%{Host}i|%>s|%{X-App}o|%{Content-Type}o|%X|%{BALANCER_WORKER_ROUTE}e'\n${balancer([a])}`);
    const { AccessLog } = await import('../../src/log.js');
    const lines: string[] = [];
    const log = new AccessLog(e.config.log.access, { write: (l: string) => lines.push(l) } as never);
    e.daemon.onRequest((r) => log.emit(r));
    const s = await h2(e);
    await h2Request(s, '/logged?x=1');
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.join('')).toContain(`HTTP/2.0|GET /logged?x=1 HTTP/2.0|localhost:${e.ports[0]}|200|one|text/plain|+|a`);
  });
});

describe('h2c', () => {
  it('serves HTTP/2 by prior knowledge on a plain listener with h2c, and HTTP/1.1 on the same port', async () => {
    const a = await startBackend('a');
    const e = await startEdge(`listen:\n  - { address: 127.0.0.1, port: PORT0, protocols: [h2c, http/1.1] }\n${balancer([a])}`);
    const s = await h2Connect(e.ports[0]!, { plain: true });
    const r = await h2Request(s, '/c');
    expect(r.status).toBe(200);
    expect(a.received[0]!.headers['x-forwarded-proto']).toBeUndefined();
    const { request } = await import('../proxy/helpers.js');
    const h1 = await request(`http://127.0.0.1:${e.ports[0]}/h1`);
    expect(h1.status).toBe(200);
    expect(a.received.map((x) => x.url)).toEqual(['/c', '/h1']);
  });

  it('a graceful stop closes a connection that has sent nothing yet, rather than waiting for its header stage', async () => {
    const a = await startBackend('a');
    // Header stage and grace time far longer than the test: a stop that waited for either fails it.
    const e = await startEdge(`server: { servername: proxy.test, gracefultimeout: 600s, requestreadtimeout: { header: 600 } }\nlisten:\n  - { address: 127.0.0.1, port: PORT0, protocols: [h2c, http/1.1] }\n${balancer([a])}`);
    const idle = net.connect(e.ports[0]!, '127.0.0.1');
    await new Promise<void>((r, j) => idle.once('connect', r).once('error', j));
    const closed = new Promise<void>((r) => idle.once('close', () => r()));
    idle.on('error', () => {});
    // The listener has the connection (an HTTP/1.1 request on another one is answered after it came).
    const { request } = await import('../proxy/helpers.js');
    expect((await request(`http://127.0.0.1:${e.ports[0]}/h1`)).status).toBe(200);
    await e.daemon.stop();
    await closed;
  }, 20_000);
});

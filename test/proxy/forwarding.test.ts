// apache-semantics §8 and §9.12 through a running proxy: mounts, headers both ways, ProxyPassReverse and cookie
// rewrites, stickiness (cookie, ;jsessionid=, routecookie), and what the access record reports.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { cleanup, echoed, rawExchange, request, startBackend, startProxy, startRawBackend } from './helpers.js';

afterEach(cleanup);

describe('mounts (ProxyPass)', () => {
  it('maps /app + balancer://c1/x, passes the canonicalised path and the raw query, 404s excluded and unmatched paths', async () => {
    const a = await startBackend('a');
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${a.url}/base }]\nproxypass:\n  - { path: /app/static, url: "!" }\n  - { path: /app, url: balancer://c1/x }\n`);
    expect(echoed(await request(`${proxy.url}/app/y%20z/%41?q=%20&r`)).url).toBe('/base/x/y%20z/A?q=%20&r');
    expect(echoed(await request(`${proxy.url}/app`)).url).toBe('/base/x');
    expect((await request(`${proxy.url}/app/static/logo.png`)).status).toBe(404);
    expect((await request(`${proxy.url}/application`)).status).toBe(404);
    expect((await request(`${proxy.url}/other`)).status).toBe(404);
    expect((await request(`${proxy.url}/app/a%2Fb`)).status).toBe(404);
    expect((await request(`${proxy.url}/app/%zz`)).status).toBe(400);
    expect(a.received.map((r) => r.url)).toEqual(['/base/x/y%20z/A?q=%20&r', '/base/x']);
  });
});

describe('the path as the member (Tomcat) will see it', () => {
  async function managerSetup() {
    const a = await startBackend('a');
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${a.url} }]\nproxypass:\n  - { path: /manager, url: "!" }\n  - { path: /app, url: balancer://c1/app }\n  - { path: /, url: balancer://c1/ }\n`);
    return { a, proxy };
  }

  it.each([
    '/manager;x/html',
    '/manager;jsessionid=ABC.a/html',
    '/app/..;/manager/html',
    '/app/%2e%2e;/manager/html',
    '/app/..%3B/manager/html',
    '/manager%3Bx/html',
    '/;x/manager/html',
    '/app;x/..;/manager/status',
  ])('%s stays behind `/manager !`: 404, nothing forwarded', async (path) => {
    const { a, proxy } = await managerSetup();
    expect((await request(`${proxy.url}${path}`)).status).toBe(404);
    expect(a.received).toHaveLength(0);
  });

  it.each([
    ['/app/a\\b', 400],
    ['/app/a%5Cb', 400],
    ['/app/a%2Fb', 404],
    ['/..;/manager/html', 400],
  ])('%s: %i, nothing forwarded (what Tomcat would refuse)', async (path, status) => {
    const { a, proxy } = await managerSetup();
    // Raw bytes: a URL string would have its backslash turned into "/" by the client.
    const answer = await rawExchange(proxy.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer.slice(0, 12)).toBe(`HTTP/1.1 ${status}`);
    expect(a.received).toHaveLength(0);
  });

  it('a path parameter on the mount\'s own segment still goes to that mount, parameter and all', async () => {
    const { a, proxy } = await managerSetup();
    expect(echoed(await request(`${proxy.url}/app;jsessionid=ABC.a/x?q=1`)).url).toBe('/app;jsessionid=ABC.a/x?q=1');
    expect(echoed(await request(`${proxy.url}/managerial/x`)).url).toBe('/managerial/x');
    expect(a.received).toHaveLength(2);
  });
});

describe('request headers (§8, §9.12)', () => {
  it('appends X-Forwarded-For/-Host/-Server, sets Host to the member, strips hop-by-hop headers', async () => {
    const a = await startBackend('a');
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${a.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    await request(`${proxy.url}/h`, {
      headers: [
        'Host', 'front.example:8443', 'X-Forwarded-For', '10.0.0.9', 'Connection', 'X-Hop, keep-alive', 'X-Hop', 'secret',
        'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Proxy-Connection', 'keep-alive', 'X-Kept', 'yes',
      ],
    });
    const h = a.received[0]!.headers;
    expect(h.host).toBe(`127.0.0.1:${a.port}`);
    expect(h['x-forwarded-for']).toBe('10.0.0.9, 127.0.0.1');
    expect(h['x-forwarded-host']).toBe('front.example:8443');
    expect(h['x-forwarded-server']).toBe('proxy.test');
    expect(h['x-kept']).toBe('yes');
    for (const gone of ['x-hop', 'keep-alive', 'te', 'proxy-connection', 'via']) expect(h[gone]).toBeUndefined();
  });

  it('a reload\'s new ServerName reaches the next request on a keep-alive connection opened before it (X-Forwarded-Server, the access log\'s %v)', async () => {
    const a = await startBackend('a');
    const yaml = (name: string) => `listen: [{ address: 127.0.0.1, port: PORT }]\nserver: { servername: ${name}, workers: 1 }\nbalancers:\n  c1:\n    members: [{ url: ${a.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`;
    const proxy = await startProxy(yaml('before.test').replace(/^listen:.*\n/, ''));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(`${proxy.url}/1`, { agent });
      await proxy.daemon.reload(parseConfig(yaml('after.test').replace('PORT', String(proxy.port)), 'test.yaml', {}));
      const second = await request(`${proxy.url}/2`, { agent });
      expect([first.status, second.status]).toEqual([200, 200]);
      // One connection carried both requests: the second was served on the one opened before the reload.
      expect(a.received.map((r) => r.headers['x-forwarded-server'])).toEqual(['before.test', 'after.test']);
      expect(proxy.records.map((r) => r.context?.keepalives)).toEqual([0, 1]);
      expect(proxy.records.map((r) => r.context?.client.serverName)).toEqual(['before.test', 'after.test']);
    } finally {
      agent.destroy();
    }
  });

  it('ProxyPreserveHost on passes the client Host verbatim; addheaders off adds nothing', async () => {
    const a = await startBackend('a');
    const proxy = await startProxy(`proxy: { preservehost: true, addheaders: false }\nbalancers:\n  c1:\n    members: [{ url: ${a.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    await request(`${proxy.url}/h`, { headers: { Host: 'Front.Example:8443' } });
    const h = a.received[0]!.headers;
    expect(h.host).toBe('Front.Example:8443');
    expect(h['x-forwarded-for']).toBeUndefined();
    expect(h['x-forwarded-host']).toBeUndefined();
  });
});

describe('response headers (§8, §9.12)', () => {
  it('strips hop-by-hop response headers and what Connection lists; re-frames the body', async () => {
    const raw = await startRawBackend((s) => s.once('data', () => s.end(
      'HTTP/1.1 200 OK\r\nConnection: close, X-Internal\r\nX-Internal: 1\r\nKeep-Alive: timeout=9\r\nProxy-Authenticate: Basic\r\n' +
      'Trailer: X-T\r\nUpgrade: h2\r\nTransfer-Encoding: chunked\r\nX-App: kept\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    )));
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: ${raw.url} }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('hello');
    expect(reply.headers['x-app']).toBe('kept');
    for (const gone of ['x-internal', 'proxy-authenticate', 'trailer', 'upgrade']) expect(reply.headers[gone]).toBeUndefined();
    // The keep-alive headers the client sees are the proxy's own, not the member's.
    expect(reply.headers['keep-alive']).not.toBe('timeout=9');
  });

  it('ProxyPassReverse rewrites Location (every status) and the cookie rules rewrite Set-Cookie', async () => {
    const a = await startBackend('a', (req, res, _body, b) => {
      res.setHeader('Location', `http://127.0.0.1:${b.port}/bar?q=1`);
      res.setHeader('Content-Location', `HTTP://127.0.0.1:${b.port}/upper`);
      res.setHeader('Set-Cookie', ['JSESSIONID=1.a; Path=/app/sub; HttpOnly', 'other=1; Domain=backend.local; Path=/application']);
      res.statusCode = req.url === '/redirect' ? 302 : 201;
      res.end();
    });
    const proxy = await startProxy(
      `balancers:\n  rv:\n    members: [{ url: ${a.url} }]\nproxypass:\n  - { path: /rv, url: balancer://rv, reverse: true }\n` +
      `cookiepath: [{ internal: /app, public: /rv }]\ncookiedomain: [{ internal: backend.local, public: www.example.com }]\n`,
    );
    for (const path of ['/rv/redirect', '/rv/created']) {
      const reply = await request(`${proxy.url}${path}`);
      expect(reply.headers.location).toBe(`http://127.0.0.1:${proxy.port}/rv/bar?q=1`);
      expect(reply.headers['content-location']).toBe(`http://127.0.0.1:${proxy.port}/rv/upper`);
      expect(reply.headers['set-cookie']).toEqual(['JSESSIONID=1.a; Path=/rv; HttpOnly', 'other=1; Domain=www.example.com; Path=/rv']);
    }
  });

  it('stickyd\'s own 503 carries Connection: close', async () => {
    const proxy = await startProxy(`balancers:\n  c1:\n    members: [{ url: "http://127.0.0.1:9", status: +D }]\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`);
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(503);
    expect(reply.headers.connection).toBe('close');
    expect(reply.headers['retry-after']).toBeUndefined();
    expect(reply.body).toContain('<title>503 Service Unavailable</title>');
  });
});

describe('stickiness (§2)', () => {
  async function cluster(extra = '') {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const proxy = await startProxy(
      `balancers:\n  c1:\n    stickysession: JSESSIONID|jsessionid\n${extra}    members:\n      - { url: ${a.url}, route: jvm_a }\n      - { url: ${b.url}, route: jvm_b }\nproxypass:\n  - { path: /app, url: balancer://c1/app }\n`,
    );
    return { a, b, proxy };
  }

  it('a cookie route sticks to its member; the access record has the BALANCER_* values', async () => {
    const { proxy } = await cluster();
    for (let i = 0; i < 4; i++) expect(echoed(await request(`${proxy.url}/app/x`, { headers: { Cookie: 'JSESSIONID=abc.jvm_b' } })).backend).toBe('b');
    expect(proxy.records.at(-1)).toMatchObject({ balancer: 'balancer://c1', memberRoute: 'jvm_b', sessionRoute: 'jvm_b', stickyName: 'JSESSIONID', routeChanged: false, attempts: 1 });
  });

  it('a ;jsessionid= path parameter sticks, also %-encoded, and wins over the cookie', async () => {
    const { proxy } = await cluster();
    expect(echoed(await request(`${proxy.url}/app/x;jsessionid=abc.jvm_a`, { headers: { Cookie: 'JSESSIONID=abc.jvm_b' } })).backend).toBe('a');
    const reply = await request(`${proxy.url}/app/x%3Bjsessionid=abc.jvm_a`);
    expect(echoed(reply).backend).toBe('a');
    // The member receives the path canonicalised as httpd sends it: the encoded ";" decoded, so
    // the member sees the same session parameter the sticky lookup saw.
    expect(echoed(reply).url).toBe('/app/x;jsessionid=abc.jvm_a');
    expect(proxy.records.at(-1)).toMatchObject({ stickyName: 'jsessionid', sessionRoute: 'jvm_a' });
  });

  it('an unknown route is load-balanced with ROUTE_CHANGED', async () => {
    const { proxy } = await cluster();
    await request(`${proxy.url}/app/x`, { headers: { Cookie: 'JSESSIONID=abc.jvm_zz' } });
    expect(proxy.records.at(-1)).toMatchObject({ sessionRoute: 'jvm_zz', routeChanged: true });
  });

  it('routecookie: a load-balanced answer sets ROUTEID=.<route>, which then keeps the client on that member', async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const proxy = await startProxy(
      `balancers:\n  c1:\n    routecookie: { name: ROUTEID, path: /app }\n    members:\n      - { url: ${a.url}, route: r1 }\n      - { url: ${b.url}, route: r2 }\nproxypass:\n  - { path: /app, url: balancer://c1/app }\n`,
    );
    const first = await request(`${proxy.url}/app/`);
    const member = echoed(first).backend;
    const route = member === 'a' ? 'r1' : 'r2';
    expect(first.headers['set-cookie']).toEqual([`ROUTEID=.${route}; Path=/app; HttpOnly`]);
    for (let i = 0; i < 4; i++) {
      const next = await request(`${proxy.url}/app/`, { headers: { Cookie: `ROUTEID=.${route}` } });
      expect(echoed(next).backend).toBe(member);
      // The route did not change: no new cookie.
      expect(next.headers['set-cookie']).toBeUndefined();
    }
  });
});

// DNS rebinding: the admin listener answers only requests whose Host names it (src/admin/host.ts).
// Over real HTTP on 127.0.0.1: a page that rebinds evil.example to 127.0.0.1 sends
// `Host: evil.example:<port>` (and, being same-origin for the browser, a matching Origin); every
// path refuses it with 421 and nothing changes, while the listener's own names keep working.
import { afterEach, describe, expect, it } from 'vitest';
import { hostAllowed } from '../../src/admin/host.js';
import { cleanup, json, request, sessionHandler, startBackend, startStack, type Reply, type Stack } from './fixtures.js';

afterEach(cleanup);

const TOKEN = 'host-test-token-0123456789';

async function stack(admin = 'admin: { port: ADMIN_PORT }'): Promise<{ s: Stack; port: number }> {
  const a = await startBackend('a', sessionHandler('a'));
  const b = await startBackend('b', sessionHandler('b'));
  // The fixture's server.servername is proxy.test.
  const s = await startStack(`${admin}
balancers:
  c1:
    stickysession: JSESSIONID
    members:
      - { url: ${a.url}, route: a }
      - { url: ${b.url}, route: b }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
  return { s, port: Number(new URL(s.adminUrl).port) };
}

/** Every admin path with the method a page would use on it. */
const PATHS: Array<[string, string]> = [
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/'],
  ['GET', '/balancer-manager'],
  ['GET', '/balancer-manager?b=c1&xml=1'],
  ['POST', '/balancer-manager'],
  ['GET', '/metrics'],
  ['GET', '/api/balancers'],
  ['GET', '/api/balancers/c1/members/a'],
  ['PATCH', '/api/balancers/c1/members/a'],
  ['GET', '/nowhere'],
];

function send(s: Stack, method: string, path: string, host: string, extra: Record<string, string> = {}): Promise<Reply> {
  const headers: Record<string, string> = { Host: host, ...extra };
  if (method === 'POST') return request(`${s.adminUrl}${path}`, { method, headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'b=c1' });
  if (method === 'PATCH') return request(`${s.adminUrl}${path}`, { method, headers, json: { status: '+D' } });
  return request(`${s.adminUrl}${path}`, { method, headers });
}

describe('the Host check over HTTP', () => {
  it('a foreign Host gets 421 on every path, with or without a port and whatever the case', async () => {
    const { s, port } = await stack();
    for (const host of ['evil.example', `evil.example:${port}`, `EVIL.example:${port}`, 'evil.example.', 'localhost.evil.example', '127.0.0.1.evil.example', `proxy.test.evil.example:${port}`]) {
      for (const [method, path] of PATHS) {
        const r = await send(s, method, path, host, { Authorization: `Bearer ${TOKEN}` });
        expect(r.status, `${method} ${path} Host ${host}`).toBe(421);
        expect(r.body, `${method} ${path} Host ${host}`).toContain('is not a name of this admin listener (add it to admin.allowedhosts)');
      }
    }
    // The API answers in its own JSON error format.
    const api = await send(s, 'GET', '/api/balancers', 'evil.example');
    expect(api.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json(api)).toEqual({ error: 'misdirected request: the Host "evil.example" is not a name of this admin listener (add it to admin.allowedhosts)' });
  });

  it("the rebinding attack on a token-less loopback listener: no nonce, no manager change, no API change", async () => {
    const { s, port } = await stack();
    const evil = `evil.example:${port}`;
    const members = s.daemon.balancers.get('c1')!.members;
    // Reading the page (and its nonce) through the rebound name fails…
    const page = await send(s, 'GET', '/balancer-manager', evil);
    expect(page.status).toBe(421);
    expect(page.body).not.toContain('nonce');
    // …and so does a change with a nonce the attacker somehow had, same-origin for the browser.
    const nonce = /name="nonce" value="([^"]*)"/.exec((await request(`${s.adminUrl}/balancer-manager?b=c1&w=${encodeURIComponent(members[0]!.name)}`)).body)![1]!;
    const post = await request(`${s.adminUrl}/balancer-manager`, {
      method: 'POST',
      headers: { Host: evil, Origin: `http://${evil}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ b: 'c1', w: members[0]!.name, nonce, w_status_D: '1', w_lf: '7' }).toString(),
    });
    expect(post.status).toBe(421);
    const patch = await send(s, 'PATCH', '/api/balancers/c1/members/b', evil);
    expect(patch.status).toBe(421);
    expect(members.map((m) => [m.status, m.lbfactor])).toEqual([[1, 100], [1, 100]]);
    // The same change from the listener's own name works (the check is not what refuses it).
    const own = await request(`${s.adminUrl}/balancer-manager`, {
      method: 'POST',
      headers: { Origin: s.adminUrl, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ b: 'c1', w: members[0]!.name, nonce, w_lf: '7' }).toString(),
    });
    expect(own.status).toBe(303); // the manager answers a change with a redirect to the page
    expect(members[0]!.lbfactor).toBe(700);
  });

  it("the listener's own names are accepted: its address, localhost on loopback, server.servername, with or without a port", async () => {
    const { s, port } = await stack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }`);
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LocalHost', 'localhost.', `proxy.test:${port}`, 'PROXY.TEST', '127.0.0.1:1']) {
      for (const [method, path] of PATHS.filter(([m]) => m === 'GET')) {
        const r = await send(s, method, path, host, { Authorization: `Bearer ${TOKEN}` });
        expect([200, 302, 404], `${method} ${path} Host ${host}: ${r.status} ${r.body.slice(0, 120)}`).toContain(r.status);
      }
    }
    const patch = await send(s, 'PATCH', '/api/balancers/c1/members/b', `localhost:${port}`, { Authorization: `Bearer ${TOKEN}` });
    expect(patch.status).toBe(200);
    // Another loopback address or an IP literal that is not the listener's is not its name.
    for (const host of ['127.0.0.2', '[::1]', '10.0.0.1', '0.0.0.0']) expect((await send(s, 'GET', '/healthz', host)).status, host).toBe(421);
  });

  it('admin.allowedhosts adds names, "*" turns the check off, and a reload applies a new list at once', async () => {
    const { s, port } = await stack('admin: { port: ADMIN_PORT, allowedhosts: [Admin.Example.COM, "10.1.2.3"] }');
    expect((await send(s, 'GET', '/balancer-manager', `admin.example.com:${port}`)).status).toBe(200);
    expect((await send(s, 'GET', '/healthz', '10.1.2.3')).status).toBe(200);
    expect((await send(s, 'GET', '/healthz', 'other.example.com')).status).toBe(421);
    await s.reload(`admin: { port: ADMIN_PORT, allowedhosts: [other.example.com] }
balancers:
  c1:
    members:
      - { url: "http://127.0.0.1:9", route: a }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    expect((await send(s, 'GET', '/healthz', 'other.example.com')).status).toBe(200);
    expect((await send(s, 'GET', '/healthz', 'admin.example.com')).status).toBe(421);
    await s.reload(`admin: { port: ADMIN_PORT, allowedhosts: ["*"] }
balancers:
  c1:
    members:
      - { url: "http://127.0.0.1:9", route: a }
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    expect((await send(s, 'GET', '/healthz', 'evil.example')).status).toBe(200);
  });

  it('a request without Host (HTTP/1.0, never a browser) is served; a malformed Host is refused', async () => {
    const { port } = await stack();
    const raw = async (head: string): Promise<string> => {
      const net = await import('node:net');
      return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1', () => sock.write(head));
        let out = '';
        sock.on('data', (d: Buffer) => (out += d.toString()));
        sock.on('end', () => resolve(out));
        sock.on('error', reject);
      });
    };
    expect(await raw('GET /healthz HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    for (const host of ['user@127.0.0.1', '127.0.0.1/x', '', '[::1', 'a b']) {
      expect(await raw(`GET /healthz HTTP/1.0\r\nHost: ${host}\r\n\r\n`), JSON.stringify(host)).toMatch(/^HTTP\/1\.1 (421|400) /);
    }
  });
});

describe('hostAllowed (the rule, without sockets)', () => {
  const loop = { address: '127.0.0.1', servername: 'www.example.com', allowedhosts: [] };
  const wild = { address: '0.0.0.0', servername: 'www.example.com', allowedhosts: [] };
  const v6wild = { address: '::', servername: 'www.example.com', allowedhosts: [] };
  const lan = { address: '10.0.0.5', servername: 'www.example.com', allowedhosts: ['admin.example.com'] };

  it.each<[string, { address: string; servername: string; allowedhosts: string[] }, string, boolean]>([
    ['loopback: its address', loop, '127.0.0.1:8052', true],
    ['loopback: localhost', loop, 'localhost:8052', true],
    ['loopback: the servername', loop, 'www.example.com', true],
    ['loopback: a foreign name', loop, 'evil.example:8052', false],
    ['loopback: the address in another notation', loop, '0x7f.1:8052', true],
    ['loopback: another IP', loop, '192.168.1.1', false],
    ['wildcard: any IPv4 literal', wild, '192.168.1.1:8052', true],
    ['wildcard: an IPv6 literal', wild, '[fe80::1]:8052', true],
    ['wildcard: localhost', wild, 'localhost', true],
    ['wildcard: a foreign name', wild, 'evil.example', false],
    ['wildcard: a name that looks like an address', wild, '127.0.0.1.nip.io', false],
    [':: wildcard: [::1]', v6wild, '[::1]:8052', true],
    ['a LAN address: itself', lan, '10.0.0.5:8052', true],
    ['a LAN address: no localhost (it is not loopback)', lan, 'localhost', false],
    ['a LAN address: another IP', lan, '10.0.0.6', false],
    ['a LAN address: an allowed name', lan, 'ADMIN.example.com.:443', true],
    ['an empty Host', loop, '', false],
    ['userinfo', loop, 'evil@127.0.0.1', false],
  ])('%s', (_what, policy, host, allowed) => {
    expect(hostAllowed(host, policy)).toBe(allowed);
  });
});

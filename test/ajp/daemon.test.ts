/**
 * ajp:// members through the real daemon (in-process startDaemon, real sockets on 127.0.0.1):
 * stickiness by cookie and ;jsessionid=, failover to the next AJP member when one is down (body
 * replayed), 502 for a member that answers garbage or too late, failover after a failed CPing,
 * and large bodies both ways.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, deadPort, memberState, request, startProxy } from '../proxy/helpers.js';
import { pattern } from '../helpers/ajp-fixtures.js';
import { startAjpServer, type AjpHandler, type AjpTestServer } from '../helpers/ajp-server.js';
import { agentOnWorker, cleanupWorkers, startWorkers } from '../workers/helpers.js';

const servers: AjpTestServer[] = [];
afterEach(async () => {
  await cleanup();
  for (const s of servers.splice(0)) await s.close();
});

/** A Tomcat-like member: new sessions get `<hex>.<route>`; the body says which node answered. */
function node(route: string): AjpHandler {
  let n = 0;
  return async (ex) => {
    const body = await ex.readBody();
    const cookie = ex.request.headers.find(([h]) => h === 'cookie')?.[1];
    const urlId = /;jsessionid=([^?/]*)/.exec(ex.request.uri)?.[1];
    const known = urlId ?? (cookie ? /JSESSIONID=([^;]*)/.exec(cookie)?.[1] : undefined);
    const headers: Array<[string, string]> = [['Content-Type', 'application/json']];
    const id = known ?? `${(++n).toString(16).padStart(32, '0').toUpperCase()}.${route}`;
    if (!known) headers.push(['Set-Cookie', `JSESSIONID=${id}; Path=/myweb; HttpOnly`]);
    const text = JSON.stringify({ node: route, id, bodyLength: body.length, sha: createHash('sha256').update(body).digest('hex') });
    ex.sendHeaders(200, [...headers, ['Content-Length', String(Buffer.byteLength(text))]]);
    await ex.sendBody(text);
    ex.end(true);
  };
}

async function member(route: string, handler: AjpHandler = node(route)): Promise<AjpTestServer> {
  const s = await startAjpServer(handler);
  servers.push(s);
  return s;
}

function config(members: Array<{ port: number; route: string; extra?: string }>, balancer = ''): string {
  const list = members.map((m) => `      - { url: "ajp://127.0.0.1:${m.port}", route: ${m.route}${m.extra ? `, ${m.extra}` : ''} }`).join('\n');
  return `balancers:\n  cluster:\n    stickysession: JSESSIONID|jsessionid\n${balancer}    members:\n${list}\nproxypass:\n  - { path: /myweb, url: balancer://cluster/myweb }\n`;
}

const json = (body: string) => JSON.parse(body) as { node: string; id: string; bodyLength: number; sha: string };

describe('ajp:// members behind the daemon', () => {
  it("forwards the client's headers unchanged, as mod_proxy_ajp does: its Host, no X-Forwarded-*", async () => {
    const a = await member('jvm_a');
    // preservehost off and addheaders on: both apply to http:// members only.
    const proxy = await startProxy(`proxy: { preservehost: false, addheaders: true }\n${config([{ port: a.port, route: 'jvm_a' }])}`);
    const r = await request(`${proxy.url}/myweb/index.jsp`, {
      headers: { Host: 'www.example.test:8051', 'X-Forwarded-For': '192.0.2.7', 'X-Custom': 'kept' },
    });
    expect(r.status).toBe(200);
    const seen = new Map(a.requests[0]!.headers.map(([n, v]) => [n.toLowerCase(), v]));
    expect(seen.get('host')).toBe('www.example.test:8051');
    expect(seen.get('x-forwarded-for')).toBe('192.0.2.7'); // the client's own value, nothing appended
    expect(seen.has('x-forwarded-host')).toBe(false);
    expect(seen.has('x-forwarded-server')).toBe(false);
    expect(seen.get('x-custom')).toBe('kept');
    expect(a.requests[0]).toMatchObject({ remoteAddr: '127.0.0.1', serverName: 'www.example.test' });
  });

  it('sticks to the member named by the cookie or ;jsessionid=, and sends the session route as jvm_route', async () => {
    const a = await member('jvm_a');
    const b = await member('jvm_b');
    const proxy = await startProxy(config([{ port: a.port, route: 'jvm_a' }, { port: b.port, route: 'jvm_b' }]));
    const first = await request(`${proxy.url}/myweb/index.jsp?x=1`);
    expect(first.status).toBe(200);
    const { node: home, id } = json(first.body);
    expect(first.headers['set-cookie']).toEqual([`JSESSIONID=${id}; Path=/myweb; HttpOnly`]);
    for (let i = 0; i < 5; i++) {
      const r = await request(`${proxy.url}/myweb/index.jsp`, { headers: { Cookie: `JSESSIONID=${id}` } });
      expect(json(r.body)).toMatchObject({ node: home, id });
    }
    const other = home === 'jvm_a' ? 'jvm_b' : 'jvm_a';
    const byUrl = await request(`${proxy.url}/myweb/index.jsp;jsessionid=0000.${other}`);
    expect(json(byUrl.body).node).toBe(other);
    const homeServer = home === 'jvm_a' ? a : b;
    // jvm_route is httpd's session-route note: the route the request asked for, absent without a session.
    expect(homeServer.requests.map((r) => r.route)).toEqual([null, ...Array(5).fill(home)]);
    expect(homeServer.requests[0]).toMatchObject({ uri: '/myweb/index.jsp', queryString: 'x=1', remoteAddr: '127.0.0.1' });
    expect(Number(homeServer.requests[0]!.attributes.find(([n]) => n === 'AJP_REMOTE_PORT')![1])).toBeGreaterThan(0);
    // All of it over one pooled connection per member.
    expect(homeServer.connections).toBe(1);
  });

  it('fails over to the next AJP member when the sticky one is down, replaying a 100 KB body', async () => {
    const b = await member('jvm_b');
    const dead = await deadPort();
    const proxy = await startProxy(config([{ port: dead, route: 'jvm_a' }, { port: b.port, route: 'jvm_b' }]));
    const body = pattern(100_000, 5);
    const r = await request(`${proxy.url}/myweb/form`, {
      method: 'POST', body, headers: { Cookie: 'JSESSIONID=ABC.jvm_a', 'Content-Type': 'application/octet-stream' },
    });
    expect(r.status).toBe(200);
    expect(json(r.body)).toMatchObject({ node: 'jvm_b', bodyLength: body.length, sha: createHash('sha256').update(body).digest('hex') });
    expect(memberState(proxy, 'cluster', `ajp://127.0.0.1:${dead}`).usable).toBe(false);
    expect(proxy.records.at(-1)).toMatchObject({ status: 200, attempts: 2, member: `ajp://127.0.0.1:${b.port}`, routeChanged: true });
  });

  it('answers 502 for a member that sends garbage, without putting it in error', async () => {
    const bad = await member('jvm_a', (ex) => ex.raw(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')));
    const proxy = await startProxy(config([{ port: bad.port, route: 'jvm_a' }]));
    expect((await request(`${proxy.url}/myweb/x`)).status).toBe(502);
    expect(memberState(proxy, 'cluster', `ajp://127.0.0.1:${bad.port}`).usable).toBe(true);
    expect((await request(`${proxy.url}/myweb/x`)).status).toBe(502);
    expect(bad.connections).toBe(2);
  });

  it('answers 502 when the member sends no response within its timeout', async () => {
    const mute = await member('jvm_a', () => {});
    const proxy = await startProxy(config([{ port: mute.port, route: 'jvm_a', extra: 'timeout: 1' }]));
    const t0 = Date.now();
    expect((await request(`${proxy.url}/myweb/x`)).status).toBe(502);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
  });

  it('fails over when a member does not answer CPing within ping', async () => {
    const a = await member('jvm_a');
    a.cpong = 'ignore';
    const b = await member('jvm_b');
    const proxy = await startProxy(config([
      { port: a.port, route: 'jvm_a', extra: 'ping: 100ms' },
      { port: b.port, route: 'jvm_b', extra: 'ping: 100ms' },
    ]));
    const r = await request(`${proxy.url}/myweb/x`, { headers: { Cookie: 'JSESSIONID=ABC.jvm_a' } });
    expect(r.status).toBe(200);
    expect(json(r.body).node).toBe('jvm_b');
    expect(a.requests).toHaveLength(0);
    expect(a.cpings).toBe(2);
    expect(b.cpings).toBe(1);
  });

  it('streams more than 1 MB each way', async () => {
    const down = pattern(1_500_000, 11);
    const up = pattern(1_200_000, 13);
    const a = await member('jvm_a', async (ex) => {
      const body = await ex.readBody();
      ex.sendHeaders(200, [['Content-Length', String(down.length)], ['X-Upload-Sha', createHash('sha256').update(body).digest('hex')]]);
      await ex.sendBody(down);
      ex.end();
    });
    const proxy = await startProxy(config([{ port: a.port, route: 'jvm_a' }]));
    const r = await new Promise<{ status: number; sha: string; body: Buffer }>((resolve, reject) => {
      const req = http.request(`${proxy.url}/myweb/big`, { method: 'PUT', agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, sha: String(res.headers['x-upload-sha']), body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(up); // a Content-Length upload
    });
    expect(r.status).toBe(200);
    expect(r.sha).toBe(createHash('sha256').update(up).digest('hex'));
    expect(r.body.equals(down)).toBe(true);
  });
});

describe('ajp:// members behind two worker threads', { timeout: 120_000 }, () => {
  afterEach(cleanupWorkers);

  it('each worker has its own AJP pool; a session sticks whichever worker serves it; a dead member put in error by one worker is skipped by the other', async () => {
    const a = await member('jvm_a');
    const b = await member('jvm_b');
    const dead = await deadPort();
    const proxy = await startWorkers(config([{ port: dead, route: 'jvm_dead' }, { port: a.port, route: 'jvm_a' }, { port: b.port, route: 'jvm_b' }]));
    const one = await agentOnWorker(proxy.url, 1, proxy.workerOf);
    const two = await agentOnWorker(proxy.url, 2, proxy.workerOf);

    // Worker 1 tries the dead member first (byrequests), puts it in error, fails over with the body.
    const body = pattern(50_000, 3);
    const first = await request(`${proxy.url}/myweb/login`, { method: 'POST', body, agent: one, headers: { 'Content-Type': 'application/octet-stream' } });
    const { node: home, id, sha } = json(first.body);
    expect(sha).toBe(createHash('sha256').update(body).digest('hex'));
    await proxy.workerOf('/myweb/login');
    expect(proxy.records.find((r) => r.url === '/myweb/login')).toMatchObject({ worker: 1, attempts: 2, failures: [{ kind: 'connect' }] });

    // The session sticks on both workers; worker 2 never tries the dead member.
    for (let i = 0; i < 4; i++) {
      const r = await request(`${proxy.url}/myweb/page-${i}`, { agent: i % 2 === 0 ? two : one, headers: { Cookie: `JSESSIONID=${id}` } });
      expect(json(r.body)).toMatchObject({ node: home, id });
    }
    const other = await request(`${proxy.url}/myweb/fresh`, { agent: two });
    expect(json(other.body).node).not.toBe(home);
    await proxy.workerOf('/myweb/fresh');
    expect(proxy.records.find((r) => r.url === '/myweb/fresh')).toMatchObject({ worker: 2, attempts: 1 });

    // One pooled AJP connection per worker to the session's member.
    const homeServer = home === 'jvm_a' ? a : b;
    expect(homeServer.requests).toHaveLength(5);
    expect(homeServer.connections).toBe(2);
  });
});

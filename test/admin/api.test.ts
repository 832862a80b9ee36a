// The admin listener over real HTTP on 127.0.0.1: probes, token, the JSON API's reads, changes and errors.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, json, okHandler, request, sessionHandler, startBackend, startStack, type Stack } from './fixtures.js';

afterEach(cleanup);

const TOKEN = 'api-test-token-0123456789';

async function stack(extraBalancer = '', admin = `admin: { port: ADMIN_PORT, token: ${TOKEN} }`): Promise<{ s: Stack; a: string; b: string }> {
  const a = await startBackend('a', sessionHandler('a'));
  const b = await startBackend('b', sessionHandler('b'));
  const s = await startStack(`${admin}
balancers:
  c1:
    stickysession: JSESSIONID|jsessionid
    growth: 1
${extraBalancer}    members:
      - { url: ${a.url}, route: a }
      - { url: ${b.url}, route: b }
proxypass:
  - { path: /app, url: balancer://c1 }
  - { path: /direct, url: ${a.url} }
`);
  return { s, a: a.url, b: b.url };
}

type MemberDoc = { url: string; route: string; status: string; flags: string; loadfactor: number; lbset: number; usable: boolean };

describe('probes and the token', () => {
  it('/healthz and /readyz need no token; readyz lists what is missing', async () => {
    const { s } = await stack();
    expect(await request(`${s.adminUrl}/healthz`)).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await request(`${s.adminUrl}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
    for (const route of ['a', 'b']) {
      expect((await request(`${s.adminUrl}/api/balancers/c1/members/${route}`, { method: 'PATCH', json: { status: '+D' }, token: TOKEN })).status).toBe(200);
    }
    const r = await request(`${s.adminUrl}/readyz`);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^not ready\nbalancer:\/\/c1: no usable member \(http:\/\/127\.0\.0\.1:\d+ Init Dis, http:\/\/127\.0\.0\.1:\d+ Init Dis\)\n$/);
  });

  it('everything else needs the token: 401 with WWW-Authenticate, also for a wrong one', async () => {
    const { s } = await stack();
    for (const path of ['/api/balancers', '/balancer-manager', '/metrics']) {
      const none = await request(`${s.adminUrl}${path}`);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^(Basic|Bearer) realm=/);
      expect((await request(`${s.adminUrl}${path}`, { token: 'wrong' })).status).toBe(401);
      expect((await request(`${s.adminUrl}${path}`, { token: TOKEN })).status).toBe(200);
    }
    const api = await request(`${s.adminUrl}/api/balancers`);
    expect(api.headers['www-authenticate']).toBe('Bearer realm="stickyd admin API"');
    expect(json(api)).toEqual({ error: 'this needs the admin token: send Authorization: Bearer <token>' });
  });

  it('the API takes only Bearer: Basic credentials a browser holds for the page do not work there', async () => {
    const { s } = await stack();
    const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
    expect((await request(`${s.adminUrl}/balancer-manager`, { headers: { Authorization: basic } })).status).toBe(200);
    expect((await request(`${s.adminUrl}/api/balancers`, { headers: { Authorization: basic } })).status).toBe(401);
  });
});

describe('reading', () => {
  it('GET /api/balancers lists the configured balancers (not the implicit ones) with their members', async () => {
    const { s, a, b } = await stack();
    const doc = json<{ balancers: Array<Record<string, unknown> & { members: MemberDoc[] }> }>(await request(`${s.adminUrl}/api/balancers`, { token: TOKEN }));
    expect(doc.balancers.map((x) => x.name)).toEqual(['c1']);
    expect(doc.balancers[0]).toMatchObject({
      url: 'balancer://c1',
      stickysession: 'JSESSIONID|jsessionid',
      lbmethod: 'byrequests',
      maxattempts: 1,
      maxattemptsSet: true,
      timeout: 0,
      nofailover: false,
      maxMembers: 3,
      usedMembers: 2,
      paths: ['/app'],
      readonly: false,
    });
    expect(doc.balancers[0]!.members.map((m) => [m.url, m.route, m.status, m.loadfactor, m.lbset, m.usable])).toEqual([
      [a, 'a', 'Init Ok ', 1, 0, true],
      [b, 'b', 'Init Ok ', 1, 0, true],
    ]);
  });

  it('counts follow the traffic: elected, transferred, read', async () => {
    const { s, a } = await stack();
    for (let i = 0; i < 4; i++) expect((await request(`${s.proxyUrl}/app/x`)).status).toBe(200);
    const m = json<MemberDoc & { elected: number; transferred: number; read: number }>(await request(`${s.adminUrl}/api/balancers/c1/members/a`, { token: TOKEN }));
    expect(m.url).toBe(a);
    expect(m.elected).toBe(2);
    expect(m.transferred).toBeGreaterThan(0);
    expect(m.read).toBeGreaterThan(0);
  });

  it('a member without a route is addressed by its URL, percent-encoded', async () => {
    const { s, b } = await stack();
    await request(`${s.adminUrl}/api/balancers/c1/members/b`, { method: 'PATCH', json: { route: '' }, token: TOKEN });
    expect((await request(`${s.adminUrl}/api/balancers/c1/members/b`, { token: TOKEN })).status).toBe(404);
    const r = await request(`${s.adminUrl}/api/balancers/c1/members/${encodeURIComponent(b)}`, { token: TOKEN });
    expect(r.status).toBe(200);
    expect(json<MemberDoc>(r)).toMatchObject({ url: b, route: '' });
  });
});

describe('changing', () => {
  it('PATCH a member: status as an object or a string, the answer says what changed', async () => {
    const { s } = await stack();
    const drained = await request(`${s.adminUrl}/api/balancers/c1/members/a`, { method: 'PATCH', json: { status: { N: true }, loadfactor: 2.5 }, token: TOKEN });
    expect(drained.status).toBe(200);
    expect(json(drained)).toMatchObject({ member: { status: 'Init Drn Ok ', loadfactor: 2.5, overridden: ['loadfactor', 'status'] }, changes: ['loadfactor 1.00 → 2.50', '+N'] });
    const back = await request(`${s.adminUrl}/api/balancers/c1/members/a`, { method: 'PATCH', json: { status: '-N+H' }, token: TOKEN });
    expect(json(back)).toMatchObject({ member: { status: 'Init Stby Ok ' }, changes: ['-N', '+H'] });
    expect(s.daemon.balancers.get('c1')!.member(json<{ member: MemberDoc }>(back).member.url)!.lbfactor).toBe(250);
    expect(s.logLines.some((l) => l.includes('admin API: balancer://c1 member') && l.includes('+H'))).toBe(true);
  });

  it('PATCH a balancer', async () => {
    const { s } = await stack();
    const r = await request(`${s.adminUrl}/api/balancers/c1`, { method: 'PATCH', json: { lbmethod: 'bybusyness', timeout: 3, nofailover: true, stickysession: 'SID|sid' }, token: TOKEN });
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ balancer: { lbmethod: 'bybusyness', timeout: 3, nofailover: true, stickysession: 'SID|sid' } });
    const b = s.daemon.balancers.get('c1')!;
    expect([b.lbmethod, b.timeout, b.nofailover, b.sticky]).toEqual(['bybusyness', 3000, true, { cookie: 'SID', param: 'sid' }]);
  });

  it('POST a member: 201, disabled until enabled; it then takes traffic through the proxy', async () => {
    const { s } = await stack();
    const c = await startBackend('c', okHandler);
    const r = await request(`${s.adminUrl}/api/balancers/c1/members`, { method: 'POST', json: { url: c.url, route: 'c' }, token: TOKEN });
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe(`/api/balancers/c1/members/${encodeURIComponent(c.url)}`);
    expect(json(r)).toMatchObject({ member: { url: c.url, route: 'c', status: 'Init Dis ' } });
    for (let i = 0; i < 4; i++) await request(`${s.proxyUrl}/app/`);
    expect(c.received).toHaveLength(0);
    await request(`${s.adminUrl}/api/balancers/c1/members/c`, { method: 'PATCH', json: { status: '-D' }, token: TOKEN });
    for (let i = 0; i < 6; i++) await request(`${s.proxyUrl}/app/`);
    expect(c.received.length).toBeGreaterThan(0);
    // growth 1 is used up now.
    const full = await request(`${s.adminUrl}/api/balancers/c1/members`, { method: 'POST', json: { url: 'http://127.0.0.1:9' }, token: TOKEN });
    expect(full.status).toBe(409);
    expect(json(full)).toMatchObject({ field: 'url', error: expect.stringMatching(/no free member slot/) });
  });
});

describe('errors say what is wrong, with the status that fits', () => {
  it.each<[string, string, string, unknown, number, Record<string, unknown>]>([
    ['invalid value', 'PATCH', '/api/balancers/c1/members/a', { loadfactor: 0 }, 400, { field: 'loadfactor', error: 'loadfactor must be a number from 1 to 100 (got 0)' }],
    ['E by hand', 'PATCH', '/api/balancers/c1/members/a', { status: '-E' }, 400, { field: 'status' }],
    ['unknown field', 'PATCH', '/api/balancers/c1/members/a', { loadfactr: 2 }, 400, { field: 'loadfactr', error: expect.stringMatching(/unknown field "loadfactr" \(known: loadfactor/) }],
    ['wrong type', 'PATCH', '/api/balancers/c1', { nofailover: 'yes' }, 400, { field: 'nofailover' }],
    ['not an object', 'PATCH', '/api/balancers/c1', [1, 2], 400, { error: 'the body must be a JSON object' }],
    ['unknown balancer', 'GET', '/api/balancers/nope', undefined, 404, { field: 'balancer', error: 'there is no balancer named "nope"' }],
    ['implicit balancer', 'GET', '/api/balancers/http%3A%2F%2F127.0.0.1', undefined, 404, { field: 'balancer' }],
    ['unknown member', 'PATCH', '/api/balancers/c1/members/zz', { lbset: 1 }, 404, { field: 'member' }],
    ['duplicate route', 'PATCH', '/api/balancers/c1/members/a', { route: 'b' }, 409, { field: 'route' }],
    ['duplicate member', 'POST', '/api/balancers/c1/members', { url: 'MEMBER_A' }, 409, { field: 'url' }],
    ['bad URL', 'POST', '/api/balancers/c1/members', { url: 'ftp://x' }, 400, { field: 'url' }],
  ])('%s: %s %s', async (_what, method, path, body, status, doc) => {
    const { s, a } = await stack();
    const r = await request(`${s.adminUrl}${path}`, { method, token: TOKEN, ...(body === undefined ? {} : { json: JSON.parse(JSON.stringify(body).replace('MEMBER_A', a)) }) });
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json(r)).toMatchObject(doc);
  });

  it('415 for a body that is not JSON, 400 for broken JSON, 413 for a huge body, 405 with Allow', async () => {
    const { s } = await stack();
    const url = `${s.adminUrl}/api/balancers/c1/members/a`;
    const form = await request(url, { method: 'PATCH', body: 'loadfactor=2', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, token: TOKEN });
    expect([form.status, json(form).error]).toEqual([415, 'send the body as application/json (got application/x-www-form-urlencoded)']);
    const broken = await request(url, { method: 'PATCH', body: '{"loadfactor": ', headers: { 'Content-Type': 'application/json' }, token: TOKEN });
    expect(broken.status).toBe(400);
    expect(json(broken).error).toMatch(/^the body is not valid JSON/);
    const huge = await request(url, { method: 'PATCH', body: JSON.stringify({ route: 'x'.repeat(70_000) }), headers: { 'Content-Type': 'application/json' }, token: TOKEN });
    expect([huge.status, json(huge).error]).toEqual([413, 'the request body is larger than 65536 bytes']);
    const del = await request(url, { method: 'DELETE', token: TOKEN });
    expect([del.status, del.headers.allow]).toEqual([405, 'GET, HEAD, PATCH']);
    // Nothing of that changed the member.
    expect(s.daemon.balancers.get('c1')!.members[0]!.overridden.size).toBe(0);
  });

  it('admin.readonly: reads work, every change is 403', async () => {
    const { s } = await stack('', `admin: { port: ADMIN_PORT, token: ${TOKEN}, readonly: true }`);
    expect(json(await request(`${s.adminUrl}/api/balancers/c1`, { token: TOKEN }))).toMatchObject({ readonly: true });
    const r = await request(`${s.adminUrl}/api/balancers/c1/members/a`, { method: 'PATCH', json: { status: '+D' }, token: TOKEN });
    expect([r.status, json(r).error]).toEqual([403, 'the admin listener is read-only (admin.readonly)']);
    expect((await request(`${s.adminUrl}/api/balancers/c1/members`, { method: 'POST', json: { url: 'http://127.0.0.1:9' }, token: TOKEN })).status).toBe(403);
    expect(s.daemon.balancers.get('c1')!.members[0]!.usable).toBe(true);
  });

  it('nonce None makes that balancer read-only (apache-semantics §6)', async () => {
    const { s } = await stack('    nonce: None\n');
    const r = await request(`${s.adminUrl}/api/balancers/c1`, { method: 'PATCH', json: { timeout: 5 }, token: TOKEN });
    expect([r.status, json(r).error]).toEqual([403, 'balancer://c1 has nonce None: it cannot be changed at runtime']);
  });
});

describe('runtime changes and reloads', () => {
  it('a change survives a reload for a member that still exists; a member the reload removes is gone', async () => {
    const { s, a, b } = await stack();
    await request(`${s.adminUrl}/api/balancers/c1/members/a`, { method: 'PATCH', json: { status: '+N', lbset: 2 }, token: TOKEN });
    await request(`${s.adminUrl}/api/balancers/c1`, { method: 'PATCH', json: { lbmethod: 'bytraffic' }, token: TOKEN });
    // The file now changes a's loadfactor and drops b.
    await s.reload(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    stickysession: JSESSIONID|jsessionid
    members:
      - { url: ${a}, route: a, loadfactor: 3 }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
    const doc = json<{ lbmethod: string; members: Array<MemberDoc> }>(await request(`${s.adminUrl}/api/balancers/c1`, { token: TOKEN }));
    expect(doc.lbmethod).toBe('bytraffic');
    expect(doc.members.map((m) => [m.url, m.status, m.lbset, m.loadfactor])).toEqual([[a, 'Init Drn Ok ', 2, 3]]);
    expect(doc.members.some((m) => m.url === b)).toBe(false);
  });
});

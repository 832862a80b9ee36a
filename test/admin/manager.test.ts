// The balancer-manager over plain HTTP: what the page shows, and the protection of changes (apache-semantics §6).
import { afterEach, describe, expect, it } from 'vitest';
import { statusText } from '../../src/balancer/flags.js';
import { cleanup, request, sessionHandler, startBackend, startStack, type Reply, type Stack } from './fixtures.js';

afterEach(cleanup);

async function stack(balancerExtra = '', admin = 'admin: { port: ADMIN_PORT }'): Promise<{ s: Stack; a: string; b: string }> {
  const a = await startBackend('a', sessionHandler('a'));
  const b = await startBackend('b', sessionHandler('b'));
  const s = await startStack(`${admin}
balancers:
  c1:
    stickysession: JSESSIONID|jsessionid
    maxattempts: 1
    growth: 1
${balancerExtra}    members:
      - { url: ${a.url}, route: a, loadfactor: 1.5, lbset: 1 }
      - { url: ${b.url}, route: b, hcmethod: GET, hcuri: "/health?x=<1>", hcinterval: 10s, hcpasses: 2, hcfails: 3, hcexpr: "%{REQUEST_STATUS} =~ /^[23]/" }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
  return { s, a: a.url, b: b.url };
}

function nonceIn(html: string): string {
  const m = /name="nonce" value="([^"]*)"/.exec(html);
  if (!m) throw new Error('no nonce in the page');
  return m[1]!;
}

async function form(s: Stack, fields: Record<string, string>, headers: Record<string, string> = { Origin: s.adminUrl }): Promise<Reply> {
  return request(`${s.adminUrl}/balancer-manager`, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
  });
}

function member(s: Stack, i: number) {
  return s.daemon.balancers.get('c1')!.members[i]!;
}

describe('the page', () => {
  it("shows httpd's balancer and member columns with httpd's formats", async () => {
    const { s, a, b } = await stack();
    for (let i = 0; i < 3; i++) await request(`${s.proxyUrl}/app/x`);
    const page = await request(`${s.adminUrl}/balancer-manager`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    const html = page.body;
    expect(html).toContain('<h1>Load Balancer Manager for 127.0.0.1:');
    expect(html).toContain('<th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th><th>Timeout</th><th>FailoverAttempts</th><th>Method</th><th>Path</th><th>Active</th>');
    expect(html).toContain('<td>3 [2 Used]</td><td>JSESSIONID | jsessionid</td><td>Off</td><td>0</td><td>1</td><td>byrequests</td><td>/app</td><td>Yes</td>');
    expect(html).toContain('<th>Worker URL</th><th>Route</th><th>RouteRedir</th><th>Factor</th><th>Set</th><th>Status</th><th>Elected</th><th>Busy</th><th>Load</th><th>To</th><th>From</th><th>HC Method</th><th>HC Interval</th><th>Passes</th><th>Fails</th><th>HC uri</th><th>HC Expr</th><th>Last check</th>');
    // a: factor 1.50 in lbset 1 (b in lbset 0 takes all load-balanced traffic).
    const rowA = new RegExp(`<tr data-member="${a}"><td class="url"><a href="/balancer-manager\\?b=c1&amp;w=${encodeURIComponent(a)}&amp;nonce=[0-9a-f-]{36}">${a}</a></td><td>a</td><td></td><td>1.50</td><td>1</td><td class="status">Init Ok </td><td>0</td><td>0</td><td>0</td><td>  0 </td><td>  0 </td><td>NONE</td>`);
    expect(html).toMatch(rowA);
    const rowB = new RegExp(`<tr data-member="${b}">.*<td>b</td><td></td><td>1.00</td><td>0</td><td class="status">Init Ok </td><td>3</td><td>0</td><td>0</td><td>[ \\d.]{3}\\d?[ K]</td><td>[ \\d.]{3}\\d?[ K]</td><td>GET</td><td>10000ms</td><td>2 \\(\\d\\)</td><td>3 \\(\\d\\)</td><td>/health\\?x=&lt;1&gt;</td><td>%\\{REQUEST_STATUS\\} =~ /\\^\\[23\\]/</td>`);
    expect(html).toMatch(rowB);
    // No script anywhere.
    expect(html).not.toMatch(/<script/i);
  });

  it('GET never changes anything, whatever the parameters', async () => {
    const { s, a } = await stack();
    const page = await request(`${s.adminUrl}/balancer-manager?b=c1&w=${encodeURIComponent(a)}`);
    const nonce = nonceIn(page.body);
    await request(`${s.adminUrl}/balancer-manager?b=c1&w=${encodeURIComponent(a)}&nonce=${nonce}&w_lf=5&w_status_D=1`, { headers: { Referer: `${s.adminUrl}/balancer-manager` } });
    expect([member(s, 0).lbfactor, statusText(member(s, 0).status)]).toEqual([150, 'Init Ok ']);
  });

  it('the member form carries httpd field names and the current values', async () => {
    const { s, a } = await stack();
    const html = (await request(`${s.adminUrl}/balancer-manager?b=c1&w=${encodeURIComponent(a)}`)).body;
    for (const field of ['w_lf', 'w_ls', 'w_wr', 'w_rr']) expect(html).toContain(`name="${field}"`);
    for (const flag of 'INDHRCS') expect(html).toContain(`name="w_status_${flag}"`);
    expect(html).not.toContain('w_status_E');
    expect(html).toContain('<input name="w_lf" id="w_lf" type="text" value="1.50">');
    expect(html).toContain(`<input type="hidden" name="w" value="${a}">`);
  });
});

describe('changes by POST', () => {
  it('applies a same-origin form with the right nonce and answers 303 to the page', async () => {
    const { s, a } = await stack();
    const nonce = nonceIn((await request(`${s.adminUrl}/balancer-manager?b=c1&w=${encodeURIComponent(a)}`)).body);
    const r = await form(s, { b: 'c1', w: a, nonce, w_lf: '2', w_ls: '1', w_wr: 'a', w_rr: '', w_status_D: '1', w_status_N: '0' });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe(`/balancer-manager?b=c1&w=${encodeURIComponent(a)}&nonce=${nonce}`);
    expect([member(s, 0).lbfactor, statusText(member(s, 0).status)]).toEqual([200, 'Init Dis ']);
    expect(s.logLines.some((l) => l.includes(`balancer-manager: balancer://c1 member ${a}: loadfactor 1.50 → 2.00, +D`))).toBe(true);
  });

  it('a Referer from this host is enough when the browser sends no Origin', async () => {
    const { s, a } = await stack();
    const nonce = nonceIn((await request(`${s.adminUrl}/balancer-manager?b=c1`)).body);
    const r = await form(s, { b: 'c1', w: a, nonce, w_status_N: '1' }, { Referer: `${s.adminUrl}/balancer-manager?b=c1` });
    expect(r.status).toBe(303);
    expect(statusText(member(s, 0).status)).toBe('Init Drn Ok ');
  });

  it.each<[string, (s: Stack) => Record<string, string>]>([
    ['no Origin and no Referer', () => ({})],
    ['an Origin of another site', () => ({ Origin: 'http://evil.example' })],
    ['a Referer of another site', () => ({ Referer: 'http://evil.example/balancer-manager' })],
    ['the same host on another port', (s) => ({ Origin: s.adminUrl.replace(/:\d+$/, ':1') })],
    ['Origin null', () => ({ Origin: 'null' })],
  ])('refuses a cross-site POST: %s', async (_what, headers) => {
    const { s, a } = await stack();
    const nonce = nonceIn((await request(`${s.adminUrl}/balancer-manager?b=c1`)).body);
    const r = await form(s, { b: 'c1', w: a, nonce, w_status_D: '1' }, headers(s));
    expect(r.status).toBe(403);
    expect(r.body).toContain('Nothing was changed:</strong> the change did not come from this page');
    expect(statusText(member(s, 0).status)).toBe('Init Ok ');
  });

  it('refuses a missing or wrong nonce', async () => {
    const { s, a } = await stack();
    for (const fields of [{ b: 'c1', w: a, w_status_D: '1' }, { b: 'c1', w: a, nonce: 'guess', w_status_D: '1' }] as Array<Record<string, string>>) {
      const r = await form(s, fields);
      expect(r.status).toBe(403);
      expect(r.body).toContain('the nonce does not match');
    }
    expect(statusText(member(s, 0).status)).toBe('Init Ok ');
  });

  it('shows an out-of-range value as an error and changes nothing (httpd would silently ignore it)', async () => {
    const { s, a } = await stack();
    const nonce = nonceIn((await request(`${s.adminUrl}/balancer-manager?b=c1`)).body);
    const r = await form(s, { b: 'c1', w: a, nonce, w_lf: '1.5', w_ls: '100', w_status_D: '1' });
    expect(r.status).toBe(400);
    expect(r.body).toContain('<p class="error" id="error" role="alert"><strong>Nothing was changed:</strong> lbset must be a whole number from 0 to 99 (got &quot;100&quot;)</p>');
    expect(statusText(member(s, 0).status)).toBe('Init Ok ');
  });

  it('adds a member with b_nwrkr + b_wyes; a failed add answers 400', async () => {
    const { s, a } = await stack();
    const nonce = nonceIn((await request(`${s.adminUrl}/balancer-manager?b=c1`)).body);
    const noConfirm = await form(s, { b: 'c1', nonce, b_nwrkr: 'http://127.0.0.1:9' });
    expect(noConfirm.status).toBe(400);
    expect(noConfirm.body).toContain('tick &quot;Are you sure?&quot;');
    const dup = await form(s, { b: 'c1', nonce, b_nwrkr: a, b_wyes: '1', b_lbm: 'bytraffic' });
    expect(dup.status).toBe(400);
    // The lbmethod of the same form was not applied either.
    expect(s.daemon.balancers.get('c1')!.lbmethod).toBe('byrequests');
    const ok = await form(s, { b: 'c1', nonce, b_nwrkr: 'http://127.0.0.1:9', b_wyes: '1' });
    expect(ok.status).toBe(303);
    expect(s.daemon.balancers.get('c1')!.members.map((m) => [m.name, statusText(m.status)]).at(-1)).toEqual(['http://127.0.0.1:9', 'Init Dis ']);
    // growth 1 is used up: the add field is gone from the form.
    expect((await request(`${s.adminUrl}/balancer-manager?b=c1`)).body).not.toContain('b_nwrkr');
  });

  it('balancer settings: b_lbm, b_tmo, b_max, b_sforce, b_ss', async () => {
    const { s } = await stack();
    const nonce = nonceIn((await request(`${s.adminUrl}/balancer-manager?b=c1`)).body);
    const r = await form(s, { b: 'c1', nonce, b_lbm: 'bybusyness', b_tmo: '7', b_max: '0', b_sforce: '1', b_ss: 'SID | sid' });
    expect(r.status).toBe(303);
    const b = s.daemon.balancers.get('c1')!;
    expect([b.lbmethod, b.timeout, b.maxAttempts, b.nofailover, b.sticky]).toEqual(['bybusyness', 7000, 0, true, { cookie: 'SID', param: 'sid' }]);
  });

  it('nonce None: the page has no forms or nonce links for that balancer, and a POST is refused', async () => {
    const { s, a } = await stack('    nonce: None\n');
    const html = (await request(`${s.adminUrl}/balancer-manager?b=c1&w=${encodeURIComponent(a)}`)).body;
    expect(html).not.toContain('<form');
    expect(html).toContain('nonce: None</code>: the manager cannot change it');
    const r = await form(s, { b: 'c1', w: a, nonce: '', w_status_D: '1' });
    expect(r.status).toBe(403);
    expect(statusText(member(s, 0).status)).toBe('Init Ok ');
  });

  it('admin.readonly: no forms, POST refused', async () => {
    const { s, a } = await stack('', 'admin: { port: ADMIN_PORT, readonly: true }');
    const html = (await request(`${s.adminUrl}/balancer-manager?b=c1&w=${encodeURIComponent(a)}`)).body;
    expect(html).not.toContain('<form');
    expect(html).toContain('read-only (admin.readonly)');
    const r = await form(s, { b: 'c1', w: a, nonce: 'x', w_status_D: '1' });
    expect(r.status).toBe(403);
  });

  it('with a token, the page asks the browser for Basic credentials', async () => {
    const { s } = await stack('', 'admin: { port: ADMIN_PORT, token: manager-test-token-0123456789 }');
    const r = await request(`${s.adminUrl}/balancer-manager`);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Basic realm="stickyd balancer-manager", charset="UTF-8"');
    const ok = await request(`${s.adminUrl}/balancer-manager`, { headers: { Authorization: `Basic ${Buffer.from('anyone:manager-test-token-0123456789').toString('base64')}` } });
    expect(ok.status).toBe(200);
  });
});

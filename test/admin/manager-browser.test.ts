// The balancer-manager in a real headless Chromium: drain a member through the form and watch the
// real proxy keep its sticky sessions while new sessions go elsewhere; markup from the config is text.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, json, request, sessionHandler, startBackend, startStack } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(`\n!!!!!!!!!!\n!!! ${CHROMIUM} is missing: the balancer-manager browser tests are SKIPPED (apt-get install chromium)\n!!!!!!!!!!\n`);
}

const TOKEN = 'browser-test-token-0123456789';

describe.skipIf(!available)('balancer-manager in headless Chromium', () => {
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    profile = mkdtempSync(path.join(os.tmpdir(), 'stickyd-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // The token as the Basic password: what an operator types into the browser's prompt.
      httpCredentials: { username: 'operator', password: TOKEN },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  afterEach(cleanup);

  async function openManager(adminUrl: string): Promise<Page> {
    const page = await context.newPage();
    page.on('dialog', (d) => {
      throw new Error(`the page opened a dialog: ${d.message()}`);
    });
    const res = await page.goto(`${adminUrl}/balancer-manager`);
    expect(res?.status()).toBe(200);
    return page;
  }

  function statusCell(page: Page, url: string) {
    return page.locator(`tr[data-member="${url}"] td.status`);
  }

  it('drains a member through the form: new sessions stop going there, its sticky sessions still do', async () => {
    const a = await startBackend('a', sessionHandler('a'));
    const b = await startBackend('b', sessionHandler('b'));
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    stickysession: JSESSIONID|jsessionid
    members:
      - { url: ${a.url}, route: a }
      - { url: ${b.url}, route: b }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
    // A session that lives on a (byrequests: the first pick is the first member).
    const first = await request(`${s.proxyUrl}/app/login`);
    expect(json(first)).toMatchObject({ backend: 'a' });
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^JSESSIONID=.*\.a$/);

    const page = await openManager(s.adminUrl);
    await expect.poll(() => statusCell(page, a.url).textContent()).toBe('Init Ok ');
    // Apache's way: the Worker URL link opens the member's edit form.
    await page.click(`tr[data-member="${a.url}"] a`);
    await page.waitForSelector('#member-form');
    await page.check('#w_status_N1');
    await Promise.all([page.waitForURL(/balancer-manager\?b=c1&w=/), page.click('#submit-member')]);
    expect(await statusCell(page, a.url).textContent()).toBe('Init Drn Ok ');
    expect(await page.locator('#error').count()).toBe(0);

    // Through the real proxy: new sessions all go to b ...
    const fresh = [];
    for (let i = 0; i < 6; i++) fresh.push(json<{ backend: string }>(await request(`${s.proxyUrl}/app/new`)).backend);
    expect(fresh).toEqual(['b', 'b', 'b', 'b', 'b', 'b']);
    // ... while the session on a still reaches a.
    for (let i = 0; i < 3; i++) {
      expect(json(await request(`${s.proxyUrl}/app/cart`, { headers: { Cookie: cookie } }))).toMatchObject({ backend: 'a' });
    }
    await page.close();
  });

  it('shows a refused value as a visible error and changes nothing', async () => {
    const a = await startBackend('a', sessionHandler('a'));
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    members:
      - { url: ${a.url}, route: a }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
    const page = await openManager(s.adminUrl);
    await page.click(`tr[data-member="${a.url}"] a`);
    await page.fill('#w_lf', '500');
    await page.fill('#w_wr', 'a2');
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('#submit-member')]);
    expect(response.status()).toBe(400);
    expect(await page.locator('#error').textContent()).toBe('Nothing was changed: loadfactor must be a number from 1 to 100 (got "500")');
    expect(s.daemon.balancers.get('c1')!.members[0]!.route).toBe('a');
    await page.close();
  });

  it('renders a route named <script> as text, and balancer settings change through their form', async () => {
    const a = await startBackend('a', sessionHandler('a'));
    const b = await startBackend('b', sessionHandler('b'));
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }
balancers:
  c1:
    growth: 1
    members:
      - { url: ${a.url}, route: "<script>document.title='owned'</script>" }
      - { url: ${b.url}, route: "<img src=x onerror=alert(1)>" }
proxypass:
  - { path: /app, url: balancer://c1 }
`);
    const page = await openManager(s.adminUrl);
    expect(await page.title()).toBe('Balancer Manager');
    const routes = await page.locator('table.members tr[data-member] td:nth-child(2)').allTextContents();
    expect(routes).toEqual(["<script>document.title='owned'</script>", '<img src=x onerror=alert(1)>']);
    expect(await page.locator('table.members img').count()).toBe(0);

    // The balancer's own form: switch the lbmethod and add a member.
    await page.click('section[data-balancer="c1"] h3 a');
    await page.selectOption('#b_lbm', 'bybusyness');
    await page.fill('#b_nwrkr', 'http://127.0.0.1:9');
    await page.check('#b_wyes');
    await Promise.all([page.waitForURL(/balancer-manager\?b=c1&nonce=/), page.click('#submit-balancer')]);
    expect(await page.locator('table.balancer td:nth-child(6)').textContent()).toBe('bybusyness');
    expect(await statusCell(page, 'http://127.0.0.1:9').textContent()).toBe('Init Dis ');
    expect(await page.locator('table.balancer td:first-child').textContent()).toBe('3 [3 Used]');
    await page.close();
  });
});

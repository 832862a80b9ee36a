// The live dashboard in a real headless Chromium: the counts and shares on the page are the
// requests the test sent (one worker and two), a member whose backend dies turns red within a
// second with its error age and next retry, a drain through the balancer-manager and a reload show
// on the timeline, and the page runs under its CSP without a single violation. Screenshots (light
// and dark) go to a directory printed in the log, and to test-results/dashboard/ for a person to
// look at.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupWorkers, startWorkers } from '../workers/helpers.js';
import { freePort } from '../helpers/ports.js';
import { inSession, newSession } from './dashboard-fixtures.js';
import { cleanup, sessionHandler, sleep, startBackend, startStack, type Backend } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(`\n!!!!!!!!!!\n!!! ${CHROMIUM} is missing: the dashboard browser tests are SKIPPED (apt-get install chromium)\n!!!!!!!!!!\n`);
}

const TOKEN = 'dashboard-browser-token-0123456789';
const RESULTS = path.resolve(import.meta.dirname, '../../test-results/dashboard');

function members(a: Backend, b: Backend, c: Backend, cRetry = '30s'): string {
  return `balancers:
  cluster:
    stickysession: JSESSIONID|jsessionid
    members:
      - { url: ${a.url}, route: jvm_a, loadfactor: 2 }
      - { url: ${b.url}, route: jvm_b }
      - { url: ${c.url}, route: jvm_c, retry: ${cRetry} }
proxypass:
  - { path: /app, url: balancer://cluster }
`;
}

async function backends(): Promise<[Backend, Backend, Backend]> {
  return [await startBackend('a', sessionHandler('jvm_a')), await startBackend('b', sessionHandler('jvm_b')), await startBackend('c', sessionHandler('jvm_c'))];
}

describe.skipIf(!available)('the dashboard in headless Chromium', { timeout: 120_000 }, () => {
  let context: BrowserContext;
  let profile: string;
  let shots: string;
  /** Problems the pages reported: CSP violations, script errors. */
  const problems: string[] = [];

  beforeAll(async () => {
    profile = mkdtempSync(path.join(os.tmpdir(), 'stickyd-chromium-'));
    shots = mkdtempSync(path.join(os.tmpdir(), 'stickyd-dashboard-screenshots-'));
    console.log(`dashboard screenshots: ${shots} (copied to ${RESULTS})`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      httpCredentials: { username: 'operator', password: TOKEN },
      viewport: { width: 1680, height: 1000 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (shots && existsSync(shots)) {
      rmSync(RESULTS, { recursive: true, force: true });
      mkdirSync(RESULTS, { recursive: true });
      cpSync(shots, RESULTS, { recursive: true });
    }
  });

  afterEach(async () => {
    for (const p of context.pages()) await p.close();
    await cleanupWorkers();
    await cleanup();
    const seen = problems.splice(0);
    if (seen.length > 0) throw new Error(`the page reported problems:\n${seen.join('\n')}`);
  });

  async function openDashboard(adminUrl: string): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`the page opened a dialog: ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    const res = await page.goto(`${adminUrl}/dashboard`);
    expect(res?.status()).toBe(200);
    await page.waitForSelector('#live.on', { timeout: 5000 });
    return page;
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  }

  const row = (url: string, balancer = 'cluster') => `section[data-balancer="${balancer}"] tr[data-member="${url}"]`;
  const kpi = (name: string, balancer = 'cluster') => `section[data-balancer="${balancer}"] [data-kpi="${name}"] .v`;

  /** The computed background colour of an element (this runs in the page, whose globals this file's types do not know). */
  function background(locator: Locator): Promise<string> {
    return locator.evaluate((e) => (globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor);
  }

  async function cell(page: Page, url: string, cls: string): Promise<string> {
    return (await page.locator(`${row(url)} td.${cls}`).textContent()) ?? '';
  }

  /** Sends 4n new sessions (loadfactors 2:1:1: 2n on a, n on b and c), 3 requests in a's session and 1 in b's. */
  async function traffic(proxyUrl: string, n: number): Promise<Record<string, string>> {
    const sessions: Record<string, string> = {};
    for (let i = 0; i < 4 * n; i++) {
      const r = await newSession(proxyUrl);
      sessions[r.backend] = r.cookie;
    }
    for (let i = 0; i < 3; i++) expect(await inSession(proxyUrl, sessions.a!)).toBe('a');
    expect(await inSession(proxyUrl, sessions.b!)).toBe('b');
    return sessions;
  }

  /** The page shows the counts and shares of traffic(n). */
  async function expectCounts(page: Page, a: Backend, b: Backend, c: Backend, n: number): Promise<void> {
    const total = 4 * n + 4;
    await expect.poll(() => page.locator(kpi('requests')).textContent(), { timeout: 5000 }).toBe(String(total));
    await expect.poll(() => cell(page, a.url, 'requests'), { timeout: 5000 }).toBe(String(2 * n + 3));
    expect(await cell(page, b.url, 'requests')).toBe(String(n + 1));
    expect(await cell(page, c.url, 'requests')).toBe(String(n));
    // Shares over the last minutes: the samples must hold every request (they do once a second has closed).
    await expect.poll(() => cell(page, c.url, 'share-new'), { timeout: 5000 }).toBe(`25 % (${n})`);
    expect(await cell(page, a.url, 'share-new')).toBe(`50 % (${2 * n})`);
    expect(await cell(page, b.url, 'share-new')).toBe(`25 % (${n})`);
    expect(await cell(page, a.url, 'share-sticky')).toBe('75 % (3)');
    expect(await cell(page, b.url, 'share-sticky')).toBe('25 % (1)');
    expect(await cell(page, c.url, 'share-sticky')).toBe('0 % (0)');
    expect(await page.locator(kpi('balanced')).textContent()).toBe(String(4 * n));
    expect(await page.locator(kpi('sticky')).textContent()).toBe(`${Math.round((4 / total) * 100)} %`);
    for (const m of [a, b, c]) {
      expect(await page.locator(`${row(m.url)}`).getAttribute('data-state')).toBe('ok');
      expect(await cell(page, m.url, 'p50')).toMatch(/^\d+(\.\d+)? (ms|s)$/);
      expect(await cell(page, m.url, 'errors')).toBe('0');
    }
    // The share bar of new sessions: one part per route, in member order.
    const parts = page.locator('section[data-balancer="cluster"] .bar.share-new span');
    const titles = [];
    for (let i = 0; i < (await parts.count()); i++) titles.push(await parts.nth(i).getAttribute('title'));
    expect(titles).toEqual(['jvm_a: 50 %', 'jvm_b: 25 %', 'jvm_c: 25 %']);
    expect(await parts.allTextContents()).toEqual(['jvm_a 50%', '25%', '25%']);
  }

  /** Some background traffic for a few seconds so that the charts have something to show. */
  async function liveliness(proxyUrl: string, seconds: number, sessions: Record<string, string>): Promise<void> {
    const end = Date.now() + seconds * 1000;
    let i = 0;
    while (Date.now() < end) {
      if (i % 3 === 0) await newSession(proxyUrl);
      else await inSession(proxyUrl, sessions[['a', 'b', 'c'][i % 3]!] ?? sessions.a!);
      i++;
      await sleep(15);
    }
  }

  it('shows the counts and shares of what was sent, with one worker; screenshots light and dark', async () => {
    const [a, b, c] = await backends();
    // A second balancer without stickiness, on two of the same backends.
    const api = `  api:
    lbmethod: bybusyness
    members:
      - { url: ${b.url}, route: api_b }
      - { url: ${c.url}, route: api_c }
proxypass:
  - { path: /api, url: balancer://api }
`;
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }\n${members(a, b, c).replace('proxypass:\n', api)}`);
    const page = await openDashboard(s.adminUrl);
    expect(await page.title()).toMatch(/^stickyd dashboard — 127\.0\.0\.1:\d+$/);
    expect(await page.locator('section.balancer h2').allTextContents()).toEqual(['balancer://cluster', 'balancer://api']);
    const sessions = await traffic(s.proxyUrl, 2);
    await expectCounts(page, a, b, c, 2);
    for (let i = 0; i < 6; i++) await newSession(s.proxyUrl, '/api/items');
    await expect.poll(() => page.locator(kpi('requests', 'api')).textContent(), { timeout: 5000 }).toBe('6');
    expect(await page.locator(kpi('sticky', 'api')).textContent()).toBe('0 %');
    await liveliness(s.proxyUrl, 6, sessions);
    await sleep(1200);
    await shot(page, '1-traffic-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, '2-traffic-dark');
    // A laptop's width: the timeline moves under the balancers, the table scrolls if it must.
    await page.setViewportSize({ width: 1280, height: 900 });
    await sleep(300);
    await shot(page, '2-traffic-dark-1280');
    // The dark scheme is a real one: the page background is dark.
    expect(await background(page.locator('body'))).toBe('rgb(20, 23, 27)');
  });

  it('turns a member red within a second when its backend dies, with its error age and next retry; the timeline says so', async () => {
    const [a, b, c] = await backends();
    const s = await startStack(`admin: { port: ADMIN_PORT, token: ${TOKEN} }\n${members(a, b, c)}`);
    const page = await openDashboard(s.adminUrl);
    const sessions = await traffic(s.proxyUrl, 2);
    await liveliness(s.proxyUrl, 3, sessions);
    await c.stop();
    // The session on c fails over (the client gets its answer from another member) and puts c in error.
    expect(await inSession(s.proxyUrl, sessions.c!)).not.toBe('c');
    const failed = Date.now();
    await page.waitForSelector(`${row(c.url)}[data-state="error"]`, { timeout: 1000 });
    expect(Date.now() - failed).toBeLessThan(1000);
    const pill = page.locator(`${row(c.url)} .pill`);
    expect(await pill.textContent()).toBe('ERROR');
    expect(await background(pill)).toBe('rgb(214, 40, 40)');
    expect(await cell(page, c.url, 'err-age')).toMatch(/^\d s$/);
    expect(await cell(page, c.url, 'retry')).toMatch(/^in (29|30) s$/);
    expect(await page.locator(`${row(c.url)} td.retry`).getAttribute('title')).toMatch(/^the first request after \d\d:\d\d:\d\d tries it again \(retry 30 s\)$/);
    expect(await page.locator('.usable').textContent()).toBe('2/3 usable');
    const first = page.locator('ol.events li').first();
    expect(await first.getAttribute('data-kind')).toBe('error');
    expect(await first.locator('.text').textContent()).toBe('in errorcluster · jvm_c out of service (E); the first request after its retry (30 s) tries it again');
    // The failure is counted by kind once the second closes.
    await expect.poll(() => cell(page, c.url, 'errors'), { timeout: 3000 }).toBe('connect 1');
    await liveliness(s.proxyUrl, 2, { a: sessions.a!, b: sessions.b!, c: sessions.a! });
    await sleep(1000);
    await shot(page, '3-member-in-error');
  });

  it('shows a drain through the balancer-manager and a reload on the timeline; the pages link to each other', async () => {
    const [a, b, c] = await backends();
    const yaml = `admin: { port: ADMIN_PORT, token: ${TOKEN} }\n${members(a, b, c)}`;
    const s = await startStack(yaml);
    const page = await openDashboard(s.adminUrl);
    await traffic(s.proxyUrl, 1);
    // To the manager and back, draining jvm_b on the way.
    await Promise.all([page.waitForURL(/\/balancer-manager$/), page.click('#manager-link')]);
    await page.click(`tr[data-member="${b.url}"] a`);
    await page.check('#w_status_N1');
    await Promise.all([page.waitForURL(/balancer-manager\?b=cluster&w=/), page.click('#submit-member')]);
    await Promise.all([page.waitForURL(/\/dashboard$/), page.click('#dashboard-link')]);
    await page.waitForSelector('#live.on');
    expect(await page.locator(row(b.url)).getAttribute('data-state')).toBe('draining');
    expect(await background(page.locator(`${row(b.url)} .pill`))).toBe('rgb(28, 126, 214)');
    const drained = page.locator('ol.events li[data-kind="changed"]');
    expect(await drained.count()).toBe(1);
    expect(await drained.locator('.text').textContent()).toBe('changedcluster · jvm_b +N (draining) (through the balancer-manager)');

    // A reload that takes c out and adds a member whose route looks like markup (it stays text).
    const markup = '<img src=x onerror=alert(1)>';
    await s.reload(yaml.replace(`      - { url: ${c.url}, route: jvm_c, retry: 30s }\n`, `      - { url: http://127.0.0.1:9, route: "${markup}" }\n`));
    await page.waitForSelector('ol.events li[data-kind="reload"]', { timeout: 2000 });
    expect(await page.locator('ol.events li').first().locator('.text').textContent()).toBe(`reloadconfiguration reloaded: cluster: added ${markup}; removed ${c.url}`);
    await expect.poll(() => page.locator(`${row('http://127.0.0.1:9')} td.route`).textContent(), { timeout: 2000 }).toBe(markup);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('tr[data-member]').count()).toBe(3);
    expect(await page.locator('.usable').textContent()).toBe('3/3 usable');
    await shot(page, '4-drain-and-reload');
  });

  it('works the same with server.workers: 2 — counts over both workers, a dead member red within a second', async () => {
    const [a, b, c] = await backends();
    const adminPort = await freePort();
    const proxy = await startWorkers(`admin: { address: 127.0.0.1, port: ${adminPort}, token: ${TOKEN} }\n${members(a, b, c)}`);
    const page = await openDashboard(`http://127.0.0.1:${adminPort}`);
    expect(await page.locator('#daemon').textContent()).toContain('workers 2');
    // Enough new connections that both workers serve some (the kernel spreads them by a hash).
    const sessions = await traffic(proxy.url, 5);
    await expectCounts(page, a, b, c, 5);
    await expect.poll(() => new Set(proxy.records.map((r) => r.worker)).size).toBe(2);

    await c.stop();
    expect(await inSession(proxy.url, sessions.c!)).not.toBe('c');
    const failed = Date.now();
    await page.waitForSelector(`${row(c.url)}[data-state="error"]`, { timeout: 1000 });
    expect(Date.now() - failed).toBeLessThan(1000);
    expect(await cell(page, c.url, 'err-age')).toMatch(/^\d s$/);
    expect(await cell(page, c.url, 'retry')).toMatch(/^in (29|30) s$/);
    await sleep(1200);
    await shot(page, '5-two-workers');
  });
});

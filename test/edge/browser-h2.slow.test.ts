// The demo (stickyd demo: two replicating nodes behind stickyd) loaded by a real headless
// Chromium over HTTPS and HTTP/2. The browser trusts the test certificate by its public key
// (--ignore-certificate-errors-spki-list, the SPKI hash of the certificate the listener presents),
// so nothing is installed anywhere; `localhost` is mapped to 127.0.0.1 for the browser only.
import { createHash, createPublicKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../helpers/pki.js';
import { freePort, freePorts } from '../helpers/ports.js';
import { repoRoot, spawnStickyd, stopAll } from '../helpers/spawn.js';

const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available) console.warn(`\n!!! ${CHROMIUM} is missing: the HTTPS/HTTP/2 browser test is SKIPPED (apt-get install chromium)\n`);

/** A cluster base port whose next two ports are free too (the demo nodes replicate on base+1, base+2). */
async function clusterBase(): Promise<number> {
  const net = await import('node:net');
  for (;;) {
    const base = await freePort();
    const taken = await Promise.all([base + 1, base + 2].map((p) => new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(true));
      srv.listen(p, '127.0.0.1', () => srv.close(() => resolve(false)));
    })));
    if (!taken.includes(true)) return base;
  }
}

/** Chromium's --ignore-certificate-errors-spki-list value: base64 of SHA-256 over the DER SPKI. */
function spkiHash(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

// The protocol the page was loaded over (evaluated in the page: the tests are typed without the DOM).
const NEXT_HOP_PROTOCOL = "performance.getEntriesByType('navigation')[0].nextHopProtocol";

describe.skipIf(!available)('the demo in Chromium over HTTPS and HTTP/2', () => {
  let pki: Pki;
  let profile: string;
  let context: BrowserContext;
  beforeAll(() => {
    pki = makePki();
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'stickyd-chromium-h2-'));
  });
  afterAll(async () => {
    await context?.close();
    await stopAll();
    fs.rmSync(profile, { recursive: true, force: true });
    pki.cleanup();
  });

  it('loads over h2 with TLSv1.3, sticks to one node, and the session survives that node\'s death', async () => {
    const [proxyPort, a, b] = await freePorts(3);
    const yaml = fs.readFileSync(path.join(repoRoot, 'config/examples/demo.yaml'), 'utf8')
      .replace('    port: ${STICKYD_DEMO_PORT:-8051}\n', `    port: ${proxyPort}\n    protocols: [h2, http/1.1]\n    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n      hsts: on\n`)
      .replace('127.0.0.1:${STICKYD_DEMO_NODE_A_PORT:-8081}', `127.0.0.1:${a}`)
      .replace('127.0.0.1:${STICKYD_DEMO_NODE_B_PORT:-8082}', `127.0.0.1:${b}`)
      .replace(/\nadmin:\n[\s\S]*?\n\n/, '\n')
      .replace(/retry: 5s/g, 'retry: 1s');
    const config = path.join(pki.dir, 'demo-h2.yaml');
    // The demo file's shape, which this test edits, must not drift from under it.
    expect(yaml).toContain(`port: ${proxyPort}\n    protocols: [h2, http/1.1]`);
    expect(yaml).toContain(`127.0.0.1:${a}`);
    expect(yaml).not.toContain('\nadmin:');
    fs.writeFileSync(config, yaml);
    const demo = spawnStickyd(['demo', '-c', config, '--cluster-base-port', String(await clusterBase())]);
    const banner = await demo.waitFor(/kill -9 \d+/, 30_000);
    const victimPid = Number(/kill -9 (\d+)/.exec(banner)![1]);

    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--ignore-certificate-errors-spki-list=${spkiHash(pki.server.cert)}`, '--host-resolver-rules=MAP localhost 127.0.0.1'],
    });
    const page = await context.newPage();
    const url = `https://localhost:${proxyPort}/`;
    const res = await page.goto(url);
    expect(res?.status()).toBe(200);
    const security = await res!.securityDetails();
    expect(security?.protocol).toBe('TLS 1.3');
    expect(security?.subjectName).toBe('localhost');
    expect(await res!.headerValue('strict-transport-security')).toBe('max-age=63072000');
    expect(await page.evaluate(NEXT_HOP_PROTOCOL)).toBe('h2');

    interface DemoPage { node: string; sessionId: string; hits: number }
    const json = (): Promise<DemoPage> => page.evaluate(async (u) => (await (await fetch(`${u}?format=json`)).json()) as DemoPage, url);
    const first = await json();
    const second = await json();
    expect(second).toMatchObject({ node: first.node, sessionId: first.sessionId });
    expect(second.hits).toBe(first.hits + 1);
    expect(first.node).toBe('jvm_a');

    // The node holding the session dies: the browser's next request is answered by the other one, same session.
    process.kill(victimPid, 'SIGKILL');
    await demo.waitFor(/node jvm_a \(pid \d+\) exited/);
    const after = await json();
    expect(after.node).toBe('jvm_b');
    expect(after.hits).toBe(second.hits + 1);
    expect(after.sessionId.split('.')[0]).toBe(first.sessionId.split('.')[0]);
    await page.reload();
    expect(await page.evaluate(NEXT_HOP_PROTOCOL)).toBe('h2');

    demo.signal('SIGINT');
    expect(await demo.exited).toBe(0);
  }, 120_000);
});

// The admin listener over TLS (admin.tls): the balancer-manager and the API over HTTPS and
// HTTP/2, `stickyd ctl --cacert` and `stickyd healthcheck` against it, and a certificate reload.
import { copyFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAdminServer } from '../../src/admin/server.js';
import { statusText } from '../../src/balancer/flags.js';
import { parseConfig } from '../../src/config/index.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { freePorts } from '../helpers/ports.js';
import { spawnStickyd, stopAll } from '../helpers/spawn.js';
import { startBackend } from '../proxy/helpers.js';
import { edgeCleanup, h2Connect, h2Request, httpsRequest, startEdge } from './helpers.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(async () => {
  await stopAll();
  await edgeCleanup();
});

const TOKEN = 'a-test-token-of-32-characters-xx';

function adminYaml(backendUrl: string, certFile = pki.server.certFile, keyFile = pki.server.keyFile): string {
  return `listen:\n  - { address: 127.0.0.1, port: PORT0 }\nadmin:\n  address: 127.0.0.1\n  port: PORT1\n  token: ${TOKEN}\n  tls:\n    certificatefile: ${certFile}\n    certificatekeyfile: ${keyFile}\nbalancers:\n  c1:\n    members:\n      - { url: "${backendUrl}", route: a }\nproxypass:\n  - { path: /, url: balancer://c1 }\n`;
}

const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;

describe('admin.tls', () => {
  it('serves the probes, the API and the balancer-manager over HTTPS', async () => {
    const b = await startBackend('a');
    const e = await startEdge(adminYaml(b.url));
    const admin = e.ports[1]!;
    expect((await httpsRequest(admin, '/healthz', { ca: pki.ca.cert })).body).toBe('ok\n');
    const api = await httpsRequest(admin, '/api/balancers', { ca: pki.ca.cert, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body).balancers[0].name).toBe('c1');
    expect((await httpsRequest(admin, '/api/balancers', { ca: pki.ca.cert })).status).toBe(401);
  });

  it('serves the balancer-manager over HTTP/2: the page, and a change posted from it', async () => {
    const b = await startBackend('a');
    const e = await startEdge(adminYaml(b.url));
    const admin = e.ports[1]!;
    const s = await h2Connect(admin, { ca: pki.ca.cert });
    const page = await h2Request(s, `/balancer-manager?b=c1&w=${encodeURIComponent(b.url)}`, { headers: { authorization: basic } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('balancer://c1');
    const nonce = /name="nonce" value="([^"]*)"/.exec(page.body)![1]!;
    const change = await h2Request(s, '/balancer-manager', {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', origin: `https://localhost:${admin}` },
      body: new URLSearchParams({ b: 'c1', w: b.url, nonce, w_status_D: '1' }).toString(),
    });
    expect(change.status).toBe(303);
    expect(statusText(e.daemon.balancers.get('c1')!.member(b.url)!.status)).toBe('Init Dis ');
    // A page from another origin is still refused over HTTP/2 (the Host check reads :authority).
    const cross = await h2Request(s, '/balancer-manager', {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.test' },
      body: new URLSearchParams({ b: 'c1', w: b.url, nonce, w_status_D: '0' }).toString(),
    });
    expect(cross.status).toBe(403);
    expect(statusText(e.daemon.balancers.get('c1')!.member(b.url)!.status)).toBe('Init Dis ');
    const misdirected = await h2Request(s, '/healthz', { authority: 'evil.test' });
    expect(misdirected.status).toBe(421);
  });

  it('stickyd ctl reaches it with --cacert, and says what is wrong without', async () => {
    const b = await startBackend('a');
    const e = await startEdge(adminYaml(b.url));
    const url = `https://127.0.0.1:${e.ports[1]}`;
    const caFile = path.join(pki.dir, 'ctl-ca.pem');
    writeFileSync(caFile, pki.ca.cert);
    const ok = spawnStickyd(['ctl', '--admin', url, '--token', TOKEN, '--cacert', caFile, 'status', 'c1']);
    expect(await ok.exited).toBe(0);
    expect(ok.output()).toContain('balancer://c1');
    const env = spawnStickyd(['ctl', '--admin', url, '--token', TOKEN, 'disable', 'c1', 'a'], { env: { STICKYD_ADMIN_CACERT: caFile } });
    expect(await env.exited).toBe(0);
    expect(env.output()).toMatch(/Dis/);
    const refused = spawnStickyd(['ctl', '--admin', url, '--token', TOKEN, 'status']);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/cannot reach the admin listener at https:\/\/127\.0\.0\.1:\d+: \w+.*--cacert/);
  }, 60_000);

  it('stickyd ctl -c FILE takes https:// from admin.tls (the key file need not be readable)', async () => {
    const b = await startBackend('a');
    const e = await startEdge(adminYaml(b.url));
    const caFile = path.join(pki.dir, 'ctl-ca-2.pem');
    writeFileSync(caFile, pki.ca.cert);
    // The file ctl reads names a key file it cannot read (it need not: it is the daemon's).
    const file = path.join(pki.dir, 'ctl-admin.yaml');
    writeFileSync(file, adminYaml(b.url, pki.server.certFile, path.join(pki.dir, 'not-here.key')).replace('PORT0', String(e.ports[0])).replace('PORT1', String(e.ports[1])));
    const ok = spawnStickyd(['ctl', '-c', file, '--cacert', caFile, 'status', 'c1']);
    expect(await ok.exited).toBe(0);
    expect(ok.output()).toContain('balancer://c1');
    const refused = spawnStickyd(['ctl', '-c', file, 'status']);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(new RegExp(`cannot reach the admin listener at https://127\\.0\\.0\\.1:${e.ports[1]}: \\w+.*--cacert`));
  }, 60_000);

  it('stickyd healthcheck trusts the certificate the file names, and only that one', async () => {
    const [port, adminPort] = await freePorts(2);
    const file = path.join(pki.dir, 'admin-health.yaml');
    const cert = path.join(pki.dir, 'admin-live.crt');
    const key = path.join(pki.dir, 'admin-live.key');
    copyFileSync(pki.server.certFile, cert);
    copyFileSync(pki.server.keyFile, key);
    writeFileSync(file, adminYaml('http://127.0.0.1:9', cert, key).replace('PORT0', String(port)).replace('PORT1', String(adminPort)));
    const daemon = spawnStickyd(['run', '-c', file]);
    await daemon.waitFor(/admin listener on https:/, 30_000);
    const healthy = spawnStickyd(['healthcheck', '-c', file]);
    expect(await healthy.exited).toBe(0);
    expect(healthy.output()).toContain(`healthy: https://127.0.0.1:${adminPort}/healthz`);
    // The files now name another certificate than the running daemon presents (renewed, not reloaded).
    const other = pki.issue('admin-other', { dns: ['localhost'], ip: ['127.0.0.1'] });
    copyFileSync(other.certFile, cert);
    copyFileSync(other.keyFile, key);
    const stale = spawnStickyd(['healthcheck', '-c', file]);
    expect(await stale.exited).toBe(1);
    expect(stale.output()).toMatch(/unhealthy: .*presented a certificate .* that admin\.tls does not name/);
    // After a reload, new handshakes get the new certificate: healthy again.
    daemon.signal('SIGHUP');
    await daemon.waitFor(/reloaded/, 30_000);
    const again = spawnStickyd(['healthcheck', '-c', file]);
    expect(await again.exited).toBe(0);
    expect(await daemon.stop()).toBe(0);
  }, 90_000);

  it('an admin listener whose port is taken leaves no ticket-key rotation timer behind', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const config = parseConfig(adminYaml('http://127.0.0.1:9').replace('PORT0', '1').replace('PORT1', String(taken)), 'admin.yaml', {});
      const set = vi.spyOn(globalThis, 'setInterval');
      const clear = vi.spyOn(globalThis, 'clearInterval');
      try {
        await expect(startAdminServer('127.0.0.1', taken, () => { throw new Error('no request expected'); }, config.admin!.tls)).rejects.toThrow(/EADDRINUSE/);
        const started = set.mock.results.map((r) => r.value as unknown);
        expect(started.length).toBeGreaterThan(0); // the rotation timer was started, then...
        const cleared = new Set(clear.mock.calls.map((c) => c[0] as unknown));
        expect(started.filter((t) => !cleared.has(t))).toEqual([]); // ...stopped with the failed listen
      } finally {
        set.mockRestore();
        clear.mockRestore();
      }
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

// Session resumption across worker threads (one ticket key, made on the main thread) and
// certificate reloads with SIGHUP: new handshakes get the new certificate, open TLS connections
// go on, and a bad or mismatched certificate/key is reported while the old one keeps serving.
import { copyFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../helpers/pki.js';
import { freePort } from '../helpers/ports.js';
import { spawnStickyd, stopAll } from '../helpers/spawn.js';
import { startBackend } from '../proxy/helpers.js';
import { edgeCleanup, httpsRequest, startEdge } from './helpers.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(async () => {
  await stopAll();
  await edgeCleanup();
});

describe('session resumption with worker threads', () => {
  it('a session resumes on whichever worker the next connection lands (the same ticket key in every worker)', async () => {
    const b = await startBackend('a');
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\nserver: { servername: proxy.test, workers: 2 }\nbalancers:\n  app:\n    members: [{ url: "${b.url}" }]\nproxypass:\n  - { path: /, url: balancer://app }\n`);
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await httpsRequest(e.ports[0]!, '/first', { ca: pki.ca.cert, maxVersion: version, minVersion: version });
      expect(first.resumed).toBe(false);
      expect(first.session).toBeDefined();
      const resumed: boolean[] = [];
      for (let i = 0; i < 24; i++) {
        const r = await httpsRequest(e.ports[0]!, `/again/${i}`, { ca: pki.ca.cert, session: first.session!, maxVersion: version, minVersion: version });
        expect(r.status).toBe(200);
        resumed.push(r.resumed === true);
      }
      expect(resumed.every(Boolean), `${version}: resumed ${resumed.filter(Boolean).length} of 24`).toBe(true);
    }
    // Both workers served some of these connections (the kernel spreads them by their ports).
    await new Promise((r) => setTimeout(r, 100));
    const workers = new Set(e.records.map((r) => r.worker));
    expect(workers).toEqual(new Set([1, 2]));
  }, 60_000);
});

/** GET on an agent (keep-alive): status, the serial of the certificate the connection presented, and the socket. */
function get(port: number, agent: https.Agent): Promise<{ status: number; serial: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/', agent, servername: 'localhost', ca: pki.ca.cert }, (res) => {
      const socket = res.socket as tls.TLSSocket;
      const serial = socket.getPeerCertificate().serialNumber;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, serial, socket }));
    }).on('error', reject);
  });
}

describe('SIGHUP reloads certificates', () => {
  it('new handshakes get the new certificate, open connections go on; a mismatched key is reported and the old certificate keeps serving', async () => {
    const dir = pki.dir;
    const cert = path.join(dir, 'live.crt');
    const key = path.join(dir, 'live.key');
    copyFileSync(pki.server.certFile, cert);
    copyFileSync(pki.server.keyFile, key);
    const port = await freePort();
    const file = path.join(dir, 'reload.yaml');
    writeFileSync(file, `listen:\n  - address: 127.0.0.1\n    port: ${port}\n    tls:\n      certificatefile: live.crt\n      certificatekeyfile: live.key\nserver: { workers: 2, servername: proxy.test }\nlog: { access: false }\n`);
    const proc = spawnStickyd(['run', '-c', file]);
    await proc.waitFor(/stickyd listening on https:/, 30_000);
    const serial = (c: string): Promise<string> => import('node:crypto').then(({ X509Certificate }) => new X509Certificate(c).serialNumber);
    const old = await serial(pki.server.cert);

    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const a = await get(port, agent);
    expect(a.status).toBe(404);
    expect(a.serial).toBe(old);

    // A renewed certificate whose key is not the one in live.key: refused, the old one serves on.
    const renewed = pki.issue('renewed', { dns: ['localhost'], ip: ['127.0.0.1'] });
    copyFileSync(renewed.certFile, cert);
    proc.signal('SIGHUP');
    await proc.waitFor(/reload of .* failed/, 30_000);
    expect(proc.output()).toMatch(/listen\[0\]\.tls\.certificatekeyfile: the private key does not belong to the certificate CN=localhost/);
    const fresh = await httpsRequest(port, '/', { ca: pki.ca.cert });
    expect(fresh.status).toBe(404);
    expect((await get(port, new https.Agent({ keepAlive: false, maxCachedSessions: 0 }))).serial).toBe(old);

    // Now the key too: the reload works, new handshakes get the renewed certificate...
    copyFileSync(renewed.keyFile, key);
    proc.signal('SIGHUP');
    await proc.waitFor(/reloaded .*reload\.yaml/, 30_000);
    const fresher = new https.Agent({ keepAlive: false, maxCachedSessions: 0 });
    const renewedSerial = await serial(renewed.cert);
    // (each of the two workers has reloaded once the main thread says so)
    for (let i = 0; i < 6; i++) expect((await get(port, fresher)).serial).toBe(renewedSerial);
    // ...and the connection opened before both reloads is still open and serving.
    const b = await get(port, agent);
    expect(b.status).toBe(404);
    expect(b.socket).toBe(a.socket);
    expect(b.serial).toBe(old);
    agent.destroy();

    // A file that is not a certificate at all: reported, the renewed one serves on.
    writeFileSync(cert, 'not a certificate\n');
    proc.signal('SIGHUP');
    await proc.waitFor(/live\.crt holds no PEM certificate/, 30_000);
    expect((await get(port, fresher)).serial).toBe(renewedSerial);
    expect(await proc.stop()).toBe(0);
  }, 120_000);
});

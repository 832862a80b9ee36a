// https:// members (SSLProxy*): verification on by default, the CA file, the name check against
// the SNI name, verify none (loud, and still checking name and expiry as httpd does), mutual TLS,
// pooling, and what a failed handshake does: 500 "Error during SSL Handshake with remote server",
// the member in error and no failover — what httpd 2.4.71 does (checked by hand, see README).
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addMember } from '../../src/admin/changes.js';
import { statusText } from '../../src/balancer/flags.js';
import { parseConfig } from '../../src/config/index.js';
import { closeHttpsBackends, startHttpsBackend, type HttpsBackend } from '../helpers/https-backend.js';
import { makePki, type Issued, type Pki } from '../helpers/pki.js';
import { cleanup, deadPort, request, startBackend, startProxy, type Proxy } from './helpers.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(async () => {
  await cleanup();
  await closeHttpsBackends();
});

function tlsBackend(name: string, cert: Issued, extra: Parameters<typeof startHttpsBackend>[1] = {}): Promise<HttpsBackend> {
  return startHttpsBackend(name, { key: cert.key, cert: cert.cert, ...extra });
}

function config(members: string[], extra = ''): string {
  return `${extra}balancers:\n  c1:\n    members:\n${members.map((m) => `      - ${m}\n`).join('')}proxypass:\n  - { path: /, url: balancer://c1/ }\n`;
}

function status(proxy: Proxy, url: string): string {
  return statusText(proxy.daemon.balancers.get('c1')!.member(url)!.status);
}

const trustTestCa = () => `proxy:\n  tls:\n    cacertificatefile: ${pki.ca.certFile}\n`;

describe('https:// members', () => {
  it('verifies against cacertificatefile, sends SNI, and keeps the TLS connection alive for the next requests', async () => {
    const b = await tlsBackend('secure', pki.server);
    const url = `https://localhost:${b.port}`;
    const proxy = await startProxy(config([`{ url: "${url}" }`], trustTestCa()));
    const agent = new http.Agent({ keepAlive: true });
    try {
      for (let i = 0; i < 3; i++) {
        const reply = await request(`${proxy.url}/x${i}`, { agent });
        expect(reply.status).toBe(200);
        expect(reply.body).toBe('secure');
      }
    } finally {
      agent.destroy();
    }
    expect(b.seen.map((s) => s.url)).toEqual(['/x0', '/x1', '/x2']);
    expect(b.seen.every((s) => s.servername === 'localhost')).toBe(true);
    // Host keeps the port: it is not https's default.
    expect(b.seen[0]!.host).toBe(`localhost:${b.port}`);
    // One pooled TLS connection served all three.
    expect(b.connections).toBe(1);
    expect(status(proxy, url)).toBe('Init Ok ');
  });

  it('verification is on by default: a certificate from a CA node does not know gets 500, the member in error, no failover', async () => {
    const bad = await tlsBackend('bad', pki.server);
    const good = await startBackend('good');
    const url = `https://localhost:${bad.port}`;
    const proxy = await startProxy(config([`{ url: "${url}" }`, `{ url: "${good.url}" }`]));
    const first = await request(`${proxy.url}/`);
    expect(first.status).toBe(500);
    expect(first.body).toContain('Error during SSL Handshake with remote server');
    // httpd does not fail over on its handler's 500: the good member saw nothing.
    expect(good.received).toHaveLength(0);
    expect(status(proxy, url)).toBe('Init Err ');
    expect(proxy.records[0]!.failures).toEqual([{ member: url, kind: 'tls' }]);
    // The next request skips the member in error.
    const second = await request(`${proxy.url}/`);
    expect(second.status).toBe(200);
    expect(bad.seen).toHaveLength(0);
  });

  it('the certificate must name the host of the member URL (SSLProxyCheckPeerName); checkpeername: off lifts that', async () => {
    const b = await tlsBackend('other', pki.other);
    const url = `https://127.0.0.1:${b.port}`;
    const strict = await startProxy(config([`{ url: "${url}" }`], trustTestCa()));
    const refused = await request(`${strict.url}/`);
    expect(refused.status).toBe(500);
    expect(status(strict, url)).toBe('Init Err ');

    const lax = await startProxy(config([`{ url: "${url}" }`], `${trustTestCa()}    checkpeername: off\n`));
    expect((await request(`${lax.url}/`)).status).toBe(200);
  });

  it('an IP address is matched against the IP SANs and sends no SNI', async () => {
    const b = await tlsBackend('ip', pki.server);
    const proxy = await startProxy(config([`{ url: "${b.url}" }`], trustTestCa()));
    expect((await request(`${proxy.url}/`)).status).toBe(200);
    expect(b.seen[0]!.servername).toBe(false);
  });

  it('an expired certificate fails verification', async () => {
    const b = await tlsBackend('expired', pki.expired);
    const proxy = await startProxy(config([`{ url: "https://localhost:${b.port}" }`], trustTestCa()));
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(500);
  });

  it('with preservehost the SNI name and the name check are the client\'s Host, as httpd does', async () => {
    const b = await tlsBackend('other', pki.other);
    const url = `https://127.0.0.1:${b.port}`;
    const proxy = await startProxy(config([`{ url: "${url}" }`], `${trustTestCa()}  preservehost: on\n`));
    const ok = await request(`${proxy.url}/`, { headers: { Host: 'www.other.test' } });
    expect(ok.status).toBe(200);
    expect(b.seen[0]!.servername).toBe('www.other.test');
    expect(b.seen[0]!.host).toBe('www.other.test');
    // A Host the certificate does not name: the handshake fails (the member goes into error).
    const wrong = await request(`${proxy.url}/`, { headers: { Host: 'elsewhere.test' } });
    expect(wrong.status).toBe(500);
  });

  it('verify: none accepts an unknown CA, but still checks the name and the expiry (httpd\'s defaults)', async () => {
    const known = await tlsBackend('known-name', pki.server);
    const none = `proxy:\n  tls:\n    verify: none\n`;
    const p1 = await startProxy(config([`{ url: "https://localhost:${known.port}" }`], none));
    expect((await request(`${p1.url}/`)).status).toBe(200);

    const otherName = await tlsBackend('other-name', pki.other);
    const p2 = await startProxy(config([`{ url: "https://localhost:${otherName.port}" }`], none));
    expect((await request(`${p2.url}/`)).status).toBe(500);
    const p3 = await startProxy(config([`{ url: "https://localhost:${otherName.port}" }`], `${none}    checkpeername: off\n`));
    expect((await request(`${p3.url}/`)).status).toBe(200);

    const expired = await tlsBackend('expired', pki.expired);
    const p4 = await startProxy(config([`{ url: "https://localhost:${expired.port}" }`], none));
    expect((await request(`${p4.url}/`)).status).toBe(500);
    const p5 = await startProxy(config([`{ url: "https://localhost:${expired.port}" }`], `${none}    checkpeerexpire: off\n`));
    expect((await request(`${p5.url}/`)).status).toBe(200);
  });

  it('a balancer\'s tls overrides proxy.tls for its members only', async () => {
    const b = await tlsBackend('b', pki.server);
    const text = `proxy:\n  tls:\n    cacertificatefile: ${pki.ca.certFile}\nbalancers:\n  strict:\n    members: [{ url: "https://localhost:${b.port}" }]\n  lax:\n    tls: { cacertificatefile: ~, verify: none }\n    members: [{ url: "https://localhost:${b.port}" }]\n  defaults:\n    tls: { cacertificatefile: ~ }\n    members: [{ url: "https://localhost:${b.port}" }]\nproxypass:\n  - { path: /strict, url: balancer://strict }\n  - { path: /lax, url: balancer://lax }\n  - { path: /defaults, url: balancer://defaults }\n`;
    const proxy = await startProxy(text);
    expect((await request(`${proxy.url}/strict`)).status).toBe(200);
    expect((await request(`${proxy.url}/lax`)).status).toBe(200);
    // node's CA list does not know the test CA.
    expect((await request(`${proxy.url}/defaults`)).status).toBe(500);
  });

  it('an https:// member the balancer-manager adds trusts what the balancer\'s file-given members trust', async () => {
    const first = await tlsBackend('first', pki.server);
    const added = await tlsBackend('added', pki.server);
    const proxy = await startProxy(config([`{ url: "https://localhost:${first.port}", status: +D }`], trustTestCa()).replace('    members:', '    growth: 1\n    members:'));
    const b = proxy.daemon.balancers.get('c1')!;
    const { member } = addMember(b, `https://localhost:${added.port}`, proxy.config.proxy.timeout, { flags: { D: false } });
    expect(member.usable).toBe(true);
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('added');
  });

  it('presents the machine certificate to a member that asks for one (mutual TLS)', async () => {
    const b = await tlsBackend('mtls', pki.server, { ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
    const clientPem = pki.file('client-with-key.pem', pki.client.cert + pki.client.key);
    const proxy = await startProxy(config([`{ url: "https://localhost:${b.port}" }`], `${trustTestCa()}    machinecertificatefile: ${clientPem}\n`));
    expect((await request(`${proxy.url}/`)).status).toBe(200);
    expect(b.seen[0]!.clientCn).toBe('stickyd test client');
  });

  it('without a client certificate a member that requires one refuses the handshake (TLSv1.2): 500', async () => {
    const b = await tlsBackend('mtls', pki.server, { ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true, maxVersion: 'TLSv1.2' });
    const proxy = await startProxy(config([`{ url: "https://localhost:${b.port}" }`], trustTestCa()));
    expect((await request(`${proxy.url}/`)).status).toBe(500);
    expect(b.seen).toHaveLength(0);
  });

  it('no common protocol version is a handshake failure', async () => {
    const b = await tlsBackend('tls13', pki.server, { minVersion: 'TLSv1.3' });
    const proxy = await startProxy(config([`{ url: "https://localhost:${b.port}" }`], `${trustTestCa()}    protocol: [TLSv1.2]\n    ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256\n`));
    expect((await request(`${proxy.url}/`)).status).toBe(500);
  });

  it('a plain HTTP server behind an https:// URL is a handshake failure', async () => {
    const plain = await startBackend('plain');
    const proxy = await startProxy(config([`{ url: "https://localhost:${plain.port}" }`], trustTestCa()));
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(500);
    expect(reply.body).toContain('Error during SSL Handshake with remote server');
  });

  it('a refused connection fails over exactly as for http:// (503 path, no handshake)', async () => {
    const port = await deadPort();
    const b = await tlsBackend('alive', pki.server);
    const dead = `https://localhost:${port}`;
    const proxy = await startProxy(config([`{ url: "${dead}" }`, `{ url: "https://localhost:${b.port}" }`], trustTestCa()));
    const reply = await request(`${proxy.url}/`);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('alive');
    expect(status(proxy, dead)).toBe('Init Err ');
    expect(proxy.records[0]!.failures).toEqual([{ member: dead, kind: 'connect' }]);
  });

  it('a reload reads the CA file again: changed contents make new connections with the new trust', async () => {
    const b = await tlsBackend('renewed', pki.server);
    const caFile = path.join(pki.dir, 'reloaded-ca.pem');
    writeFileSync(caFile, pki.ca.cert);
    const text = config([`{ url: "https://localhost:${b.port}" }`], `proxy:\n  tls:\n    cacertificatefile: ${caFile}\n`);
    const proxy = await startProxy(text);
    expect((await request(`${proxy.url}/`)).status).toBe(200);
    // Same file name, other contents: a CA that did not issue the member's certificate.
    writeFileSync(caFile, pki.intermediate.cert);
    await proxy.daemon.reload(parseConfig(`listen: [{ address: 127.0.0.1, port: ${proxy.port} }]\nserver: { servername: proxy.test }\n${text}`, 'test.yaml', {}));
    expect((await request(`${proxy.url}/`)).status).toBe(500);
    expect(b.connections).toBe(1);
  });

  it('the Host of a member on https\'s default port has no :443 (httpd sends none either)', async () => {
    // Nothing may listen on 443 in a test, so this checks the Host line the request path builds.
    const { hostHeader } = await import('../../src/proxy/headers.js');
    expect(hostHeader(false, null, 'secure.example', 443, 443)).toBe('secure.example');
    expect(hostHeader(false, null, 'secure.example', 8443, 443)).toBe('secure.example:8443');
    expect(hostHeader(false, null, 'plain.example', 443)).toBe('plain.example:443');
  });
});

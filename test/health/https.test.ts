// Active health checks of https:// members: the check goes over TLS with the member's own
// settings (the CA list, the name check, the client certificate), on a fresh connection each time.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type MemberConfig } from '../../src/config/index.js';
import { MemberProbe } from '../../src/health/probe.js';
import { closeHttpsBackends, startHttpsBackend } from '../helpers/https-backend.js';
import { makePki, type Pki } from '../helpers/pki.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
const probes: MemberProbe[] = [];
afterEach(async () => {
  for (const p of probes.splice(0)) await p.close();
  await closeHttpsBackends();
});

function memberConfig(url: string, member: string, proxyTls = ''): MemberConfig {
  const c = parseConfig(`listen: [{ port: 1 }]\n${proxyTls}balancers:\n  b:\n    members:\n      - { url: "${url}", ${member} }\n`, `${pki.dir}/hc.yaml`, {});
  return c.balancers[0]!.members[0]!;
}

function probe(): MemberProbe {
  const p = new MemberProbe();
  probes.push(p);
  return p;
}

const trust = () => `proxy:\n  tls:\n    cacertificatefile: ${pki.ca.certFile}\n`;

describe('health checks of https:// members', () => {
  it('GET with hcexpr over TLS passes, each check on a new TLS connection', async () => {
    const b = await startHttpsBackend('healthy', { key: pki.server.key, cert: pki.server.cert }, (_req, res) => res.end('status: ready'));
    const config = memberConfig(`https://localhost:${b.port}`, `hcmethod: GET, hcuri: /health, hcexpr: "hc('body') =~ /ready/"`, trust());
    const p = probe();
    expect(await p.run(config)).toEqual({ ok: true, detail: '200 OK, hcexpr holds' });
    expect(await p.run(config)).toMatchObject({ ok: true });
    expect(b.seen.map((s) => [s.url, s.servername, s.host])).toEqual([
      ['/health', 'localhost', `localhost:${b.port}`],
      ['/health', 'localhost', `localhost:${b.port}`],
    ]);
    expect(b.connections).toBe(2);
  });

  it('a certificate that does not verify fails the check, saying why', async () => {
    const b = await startHttpsBackend('untrusted', { key: pki.server.key, cert: pki.server.cert });
    const config = memberConfig(`https://localhost:${b.port}`, 'hcmethod: HEAD');
    const result = await probe().run(config);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/TLS handshake with the member failed: .*(self-signed|unable to (get|verify))/i);
    expect(b.seen).toHaveLength(0);
  });

  it('the client certificate is presented to a member that requires it', async () => {
    const b = await startHttpsBackend('mtls', { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true });
    const pem = pki.file('hc-client.pem', pki.client.cert + pki.client.key);
    const config = memberConfig(`https://localhost:${b.port}`, 'hcmethod: OPTIONS', `${trust()}    machinecertificatefile: ${pem}\n`);
    expect(await probe().run(config)).toMatchObject({ ok: true });
    expect(b.seen[0]!.clientCn).toBe('stickyd test client');
  });
});

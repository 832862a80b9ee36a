// Debian's testssl.sh against a TLS listener with its defaults (protocols, cipher suite, h2):
// no HIGH or CRITICAL finding. Slow (minutes): `npm run test:slow`. It only ever connects to
// 127.0.0.1: the URI names localhost, `--ip 127.0.0.1` says where it is, `--nodns none` keeps
// testssl.sh from resolving anything.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../helpers/pki.js';
import { startBackend } from '../proxy/helpers.js';
import { edgeCleanup, startEdge } from './helpers.js';

const TESTSSL = ['/usr/bin/testssl', '/usr/bin/testssl.sh'].find((p) => existsSync(p));
if (TESTSSL === undefined) console.warn('\n!!! testssl.sh is missing: the TLS listener scan is SKIPPED (apt-get install testssl.sh)\n');

interface Finding {
  id: string;
  ip: string;
  port: string;
  severity: string;
  finding: string;
}

describe.skipIf(TESTSSL === undefined)('testssl.sh', () => {
  let pki: Pki;
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(async () => {
    await edgeCleanup();
    pki.cleanup();
  });

  it('finds nothing HIGH or CRITICAL on a TLS listener with the default settings', async () => {
    // A certificate as a public CA issues it: valid for a year (testssl.sh warns about one that
    // expires within 60 days) and naming an OCSP responder (without CRL or OCSP URI testssl.sh
    // reports HIGH; it does not contact the responder unless told to with --phone-out).
    const cert = pki.issue('testssl', { dns: ['localhost'], ip: ['127.0.0.1'], toDays: 365, ocspUrl: 'http://127.0.0.1:1/ocsp' });
    const b = await startBackend('a');
    const e = await startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n    protocols: [h2, http/1.1]\n    tls:\n      certificatefile: ${cert.certFile}\n      certificatekeyfile: ${cert.keyFile}\n      certificatechainfile: ${pki.ca.certFile}\n      hsts: on\nbalancers:\n  app:\n    members: [{ url: "${b.url}" }]\nproxypass:\n  - { path: /, url: balancer://app }\n`);
    const port = e.ports[0]!;
    const json = path.join(pki.dir, 'testssl.json');
    const ca = path.join(pki.dir, 'testssl-ca.pem');
    writeFileSync(ca, pki.ca.cert);
    const args = ['--quiet', '--color', '0', '--warnings', 'off', '--nodns', 'none', '--ip', '127.0.0.1', '--add-ca', ca, '--openssl-timeout', '10', '--connect-timeout', '10', '--jsonfile', json, `https://localhost:${port}/`];
    expect(args[args.indexOf('--ip') + 1]).toBe('127.0.0.1');
    const run = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(TESTSSL!, args, { timeout: 280_000, maxBuffer: 16 << 20, env: { ...process.env, TERM: 'dumb' } }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
      });
    });
    const findings = JSON.parse(readFileSync(json, 'utf8')) as Finding[];
    expect(findings.length, run.out.slice(-3000)).toBeGreaterThan(20);
    // Every connection went to 127.0.0.1 (findings about testssl.sh's own openssl, such as
    // engine_problem, have no address: "/").
    const scanned = findings.filter((f) => f.ip !== '/');
    expect(scanned.length).toBeGreaterThan(20);
    expect(new Set(scanned.map((f) => f.ip))).toEqual(new Set(['localhost/127.0.0.1']));
    expect(new Set(scanned.map((f) => f.port))).toEqual(new Set([String(port)]));
    const serious = findings.filter((f) => f.severity === 'HIGH' || f.severity === 'CRITICAL');
    expect(serious.map((f) => `${f.severity} ${f.id}: ${f.finding}`)).toEqual([]);
    // What a reader of the scan looks for first.
    const byId = new Map(findings.map((f) => [f.id, f]));
    expect(byId.get('TLS1_3')?.finding).toMatch(/offered/);
    expect(byId.get('TLS1')?.finding).toMatch(/not offered/);
    expect(byId.get('SSLv3')?.finding).toMatch(/not offered/);
    expect(byId.get('ALPN_HTTP2')?.finding ?? byId.get('ALPN')?.finding).toMatch(/h2/);
    expect(byId.get('HSTS_time')?.finding).toMatch(/730 days|63072000/);
    // Client-initiated renegotiation is refused outright (node alone would allow three per connection).
    expect(byId.get('secure_client_renego')?.severity).toBe('OK');
  }, 300_000);
});

// The TLS keys of the balancer file: the certificate files are read and checked when the file
// loads, and every problem is reported at the line and column of the key that names the file;
// certificates about to expire and verify: none are warnings. Then `stickyd check` and `stickyd
// run` as real processes.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type ConfigProblem } from '../../src/config/index.js';
import { freePort } from '../helpers/ports.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { spawnStickyd, stopAll } from '../helpers/spawn.js';
import { brief } from './util.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(stopAll);

/** The balancer file lives in the PKI directory, so relative paths resolve there. */
function file(): string {
  return path.join(pki.dir, 'stickyd.yaml');
}

function load(text: string) {
  return parseConfig(text, file(), {});
}

function problemsOf(text: string): { problems: string[]; warnings: string[] } {
  try {
    load(text);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { problems: brief(e.problems), warnings: brief(e.warnings) };
  }
  throw new Error(`expected problems in:\n${text}`);
}

const warnings = (list: ConfigProblem[]) => brief(list);

function tlsListener(tls: string): string {
  return `listen:\n  - port: 8443\n    tls:\n${tls}`;
}

describe('listen[].tls', () => {
  it('loads the certificates: the default first, the others by SNI name; relative paths from the file\'s directory', () => {
    const c = load(tlsListener(`      certificatefile: server.crt\n      certificatekeyfile: server.key\n      certificates:\n        - { certificatefile: ${pki.wildcard.certFile}, certificatekeyfile: ${pki.wildcard.keyFile} }\n`));
    const tls = c.listen[0]!.tls!;
    expect(tls.certificates.map((x) => x.names)).toEqual([['localhost'], ['*.wild.test']]);
    expect(tls.protocol).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(tls.ciphersuite).toMatch(/^TLS_AES_128_GCM_SHA256:.*ECDHE-ECDSA-AES128-GCM-SHA256/);
    expect(tls.certificates[0]!.cert).toContain('BEGIN CERTIFICATE');
    expect(c.warnings).toEqual([]);
  });

  it('a chain given in certificatechainfile or inside certificatefile, in order', () => {
    const chainFile = pki.file('chain-only.crt', pki.intermediate.cert);
    const c1 = load(tlsListener(`      certificatefile: ${pki.chained.certFile}\n      certificatekeyfile: ${pki.chained.keyFile}\n      certificatechainfile: ${chainFile}\n`));
    expect(c1.listen[0]!.tls!.certificates[0]!.cert.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const bundle = pki.file('bundle.crt', pki.chained.cert + pki.intermediate.cert + pki.chained.key);
    const c2 = load(tlsListener(`      certificatefile: ${bundle}\n`));
    expect(c2.listen[0]!.tls!.certificates[0]!.cert.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  it('every problem at its key: missing file, key of another certificate, chain out of order, expired', () => {
    const reversed = pki.file('reversed.crt', pki.intermediate.cert + pki.chained.cert);
    const text = [
      'listen:', //                                                        1
      '  - port: 8443', //                                                 2
      '    tls:', //                                                       3
      '      certificatefile: missing.crt', //                             4
      '  - port: 8444', //                                                 5
      '    tls:', //                                                       6
      `      certificatefile: ${pki.server.certFile}`, //                 7
      `      certificatekeyfile: ${pki.other.keyFile}`, //                8
      '  - port: 8445', //                                                 9
      '    tls:', //                                                       10
      `      certificatefile: ${pki.chained.certFile}`, //                11
      `      certificatekeyfile: ${pki.chained.keyFile}`, //              12
      `      certificatechainfile: ${pki.ca.certFile}`, //                13
      '      certificates:', //                                            14
      `        - certificatefile: ${pki.expired.certFile}`, //            15
      `          certificatekeyfile: ${pki.expired.keyFile}`, //          16
      '  - port: 8446', //                                                 17
      '    tls:', //                                                       18
      `      certificatefile: ${reversed}`, //                            19
      `      certificatekeyfile: ${pki.chained.keyFile}`, //              20
      '',
    ].join('\n');
    const { problems } = problemsOf(text);
    expect(problems).toEqual([
      '4:24 listen[0].tls.certificatefile: cannot read missing.crt: no such file',
      '8:27 listen[1].tls.certificatekeyfile: the private key does not belong to the certificate CN=localhost',
      '13:29 listen[2].tls.certificatechainfile: the certificates are not in order: certificate 2 (CN=stickyd test root CA) did not issue certificate 1 (CN=localhost); none of the certificates given issued it (issuer CN=stickyd test intermediate CA)',
      expect.stringMatching(/^15:28 listen\[2\]\.tls\.certificates\[0\]\.certificatefile: the certificate CN=localhost expired on \d{4}-\d\d-\d\d$/),
      '19:24 listen[3].tls.certificatefile: the certificates are not in order: certificate 2 (CN=localhost) did not issue certificate 1 (CN=stickyd test intermediate CA); none of the certificates given issued it (issuer CN=stickyd test root CA)',
      '20:27 listen[3].tls.certificatekeyfile: the private key does not belong to the certificate CN=stickyd test intermediate CA (the first certificate is a CA certificate: put the server certificate first)',
    ]);
  });

  it('a certificate that expires within 14 days is a warning with its position, and the file loads', () => {
    const c = load(tlsListener(`      certificatefile: ${pki.expiring.certFile}\n      certificatekeyfile: ${pki.expiring.keyFile}\n`));
    expect(warnings(c.warnings)).toEqual([expect.stringMatching(/^4:24 listen\[0\]\.tls\.certificatefile: the certificate CN=localhost expires in (9|10) days \(\d{4}-\d\d-\d\d\)$/)]);
  });

  it('an encrypted key, a key file without a key, a certificate file without a key', () => {
    const encrypted = path.join(pki.dir, 'encrypted.key');
    // openssl pkcs8 -topk8 with a pass phrase: what Apache would ask for at start.
    writeFileSync(encrypted, '');
    execFileSync('openssl', ['pkcs8', '-topk8', '-in', pki.server.keyFile, '-out', encrypted, '-passout', 'pass:secret']);
    const text = `listen:\n  - port: 1\n    tls: { certificatefile: ${pki.server.certFile}, certificatekeyfile: ${encrypted} }\n  - port: 2\n    tls: { certificatefile: ${pki.server.certFile}, certificatekeyfile: ${pki.server.certFile} }\n  - port: 3\n    tls: { certificatefile: ${pki.server.certFile} }\n`;
    const { problems } = problemsOf(text);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^3:\d+ listen\[0\]\.tls\.certificatekeyfile: the private key in .*encrypted\.key is encrypted; stickyd needs it unencrypted/);
    expect(problems[1]).toMatch(/^5:\d+ listen\[1\]\.tls\.certificatekeyfile: .*server\.crt holds no PEM private key/);
    expect(problems[2]).toMatch(/^7:\d+ listen\[2\]\.tls\.certificatefile: .*server\.crt holds no private key; name the key file in certificatekeyfile$/);
  });

  it('protocols: never below TLSv1.2; the cipher suite must serve each protocol; names OpenSSL does not know are refused', () => {
    const base = `      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n`;
    expect(problemsOf(tlsListener(`${base}      protocol: [TLSv1.1, TLSv1.2]\n`)).problems).toEqual([
      '6:18 listen[0].tls.protocol[0]: TLSv1.1 is deprecated (RFC 8996) and never spoken by stickyd (the lowest is TLSv1.2)',
    ]);
    expect(problemsOf(tlsListener(`${base}      ciphersuite: ECDHE-RSA-AES128-GCM-SHA256\n`)).problems).toEqual([
      '6:20 listen[0].tls.ciphersuite: names no TLSv1.3 suite (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256) while protocol includes TLSv1.3',
    ]);
    expect(problemsOf(tlsListener(`${base}      protocol: [TLSv1.3]\n      ciphersuite: "TLS_AES_128_GCM_SHA256:TLS_AES_512_GCM"\n`)).problems[0]).toMatch(/ciphersuite: no cipher suite is called "TLS_AES_512_GCM"/);
    expect(load(tlsListener(`${base}      protocol: [tlsv1.3]\n      ciphersuite: TLS_AES_128_GCM_SHA256\n`)).listen[0]!.tls!.protocol).toEqual(['TLSv1.3']);
  });

  it('protocols: h2 needs tls, h2c must not have it; the default http/1.1 stays out of the Config', () => {
    expect(problemsOf('listen:\n  - port: 80\n    protocols: [h2, http/1.1]\n').problems).toEqual([
      '3:17 listen[0].protocols[0]: h2 is negotiated inside TLS (ALPN): give this listener a tls section, or use h2c for HTTP/2 without TLS',
    ]);
    expect(problemsOf(tlsListener(`      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n    protocols: [h2c]\n`)).problems).toEqual([
      '6:17 listen[0].protocols[0]: h2c is HTTP/2 without TLS; on a TLS listener write h2',
    ]);
    expect(load('listen:\n  - port: 80\n    protocols: [h2c, http/1.1]\n').listen[0]!.protocols).toEqual(['h2c', 'http/1.1']);
    expect(load('listen:\n  - port: 80\n').listen[0]).toEqual({ address: '0.0.0.0', port: 80 });
  });

  it('a stapling file must be a good, current OCSP response for that certificate', () => {
    const good = pki.ocsp(pki.server);
    const base = `      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n`;
    const c = load(tlsListener(`${base}      staplingfile: ${good}\n`));
    expect(c.listen[0]!.tls!.certificates[0]!.ocsp!.length).toBeGreaterThan(100);
    const otherCert = pki.ocsp(pki.other);
    expect(problemsOf(tlsListener(`${base}      staplingfile: ${otherCert}\n`)).problems[0]).toMatch(/^6:21 listen\[0\]\.tls\.staplingfile: the OCSP response is for another certificate \(serial [0-9A-F]+, not [0-9A-F]+\)$/);
    const revoked = pki.issue('revoked', { dns: ['localhost'] });
    const revokedResponse = pki.ocsp(revoked, { revoked: true });
    const r = `      certificatefile: ${revoked.certFile}\n      certificatekeyfile: ${revoked.keyFile}\n      staplingfile: ${revokedResponse}\n`;
    expect(problemsOf(tlsListener(r)).problems).toEqual(['6:21 listen[0].tls.staplingfile: the OCSP response says the certificate is revoked']);
    expect(problemsOf(tlsListener(`${base}      staplingfile: ${pki.server.certFile}\n`)).problems[0]).toMatch(/staplingfile: .*not a DER-encoded OCSP response/);
  });
});

describe('proxy.tls and balancers.<name>.tls', () => {
  const members = (tls = '') => `listen: [{ port: 8051 }]\n${tls}balancers:\n  api:\n    members:\n      - url: https://api-1.test\n      - url: https://api-2.test:8443\n      - url: http://plain.test\nproxypass:\n  - { path: /, url: balancer://api }\n`;

  it('https members get the resolved settings with the files\' contents; http members none', () => {
    const c = load(members(`proxy:\n  tls:\n    cacertificatefile: ${pki.ca.certFile}\n    machinecertificatefile: ${pki.file('client.pem', pki.client.cert + pki.client.key)}\n`));
    const [a, b, plain] = c.balancers[0]!.members;
    expect(a!.tls).toMatchObject({ verify: 'require', checkpeername: true, checkpeerexpire: true, protocol: ['TLSv1.2', 'TLSv1.3'], ciphersuite: null });
    expect(a!.tls!.ca).toContain('BEGIN CERTIFICATE');
    expect(a!.tls!.cert).toContain('BEGIN CERTIFICATE');
    expect(a!.tls!.key).toContain('PRIVATE KEY');
    expect(b!.tls).toBe(a!.tls);
    expect(b!.port).toBe(8443);
    expect(a!.port).toBe(443);
    expect(plain!.tls).toBeUndefined();
  });

  it('a balancer\'s tls overrides key by key; ~ resets a file to none', () => {
    const c = load(members(`proxy:\n  tls:\n    cacertificatefile: ${pki.ca.certFile}\n    checkpeername: off\n`).replace('  api:\n', '  api:\n    tls: { cacertificatefile: ~, protocol: [TLSv1.3] }\n'));
    expect(c.balancers[0]!.members[0]!.tls).toMatchObject({ cacertificatefile: null, ca: null, checkpeername: false, protocol: ['TLSv1.3'] });
  });

  it('verify: none is a warning at the key that says it, naming the members', () => {
    const c = load(members().replace('  api:\n', '  api:\n    tls:\n      verify: none\n'));
    expect(warnings(c.warnings)).toEqual([
      '5:15 balancers.api.tls.verify: the certificates of https://api-1.test, https://api-2.test:8443 are not verified (verify: none): anyone who can reach the path to them can pose as them',
    ]);
    // Not used by any https:// member: nothing to warn about.
    expect(load('listen: [{ port: 1 }]\nproxy: { tls: { verify: none } }\n').warnings).toEqual([]);
  });

  it('a machine certificate without clientAuth is a warning', () => {
    const serverAsClient = pki.file('server-as-client.pem', pki.server.cert + pki.server.key);
    const c = load(members(`proxy:\n  tls:\n    machinecertificatefile: ${serverAsClient}\n`));
    expect(warnings(c.warnings)).toEqual([
      '4:29 proxy.tls.machinecertificatefile: the certificate CN=localhost is not for client authentication (its extendedKeyUsage lacks clientAuth): members that check will refuse it',
    ]);
    const client = pki.file('client-ok.pem', pki.client.cert + pki.client.key);
    expect(load(members(`proxy:\n  tls:\n    machinecertificatefile: ${client}\n`)).warnings).toEqual([]);
  });

  it('refuses what it cannot honour: optional verification, a CA file without certificates, a client certificate without key', () => {
    expect(problemsOf(members('proxy:\n  tls:\n    verify: optional\n')).problems).toEqual([
      '4:13 proxy.tls.verify: SSLProxyVerify optional verifies only what the member presents, and a member always presents a certificate: use require (or none)',
    ]);
    expect(problemsOf(members(`proxy:\n  tls:\n    cacertificatefile: ${pki.server.keyFile}\n`)).problems[0]).toMatch(/^4:24 proxy\.tls\.cacertificatefile: .*server\.key holds no PEM certificate/);
    expect(problemsOf(members(`proxy:\n  tls:\n    machinecertificatefile: ${pki.client.certFile}\n`)).problems[0]).toMatch(
      /^4:29 proxy\.tls\.machinecertificatefile: .*client\.crt holds no private key: mod_ssl reads the client certificate and its key from one file$/,
    );
  });
});

describe('stickyd check and stickyd run', () => {
  it('check prints warnings with their position on stderr and still says OK', async () => {
    const f = path.join(pki.dir, 'expiring.yaml');
    writeFileSync(f, `listen:\n  - port: 8443\n    tls:\n      certificatefile: ${pki.expiring.certFile}\n      certificatekeyfile: ${pki.expiring.keyFile}\n`);
    const proc = spawnStickyd(['check', '-c', f]);
    const code = await proc.exited;
    expect(code).toBe(0);
    expect(proc.output()).toMatch(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:24: listen\\[0\\]\\.tls\\.certificatefile: warning: the certificate CN=localhost expires in (9|10) days`));
    expect(proc.output()).toContain(`${f}: OK (0 balancers, 0 members, 0 proxypass rules)`);
  });

  it('check validates admin.tls as it does a listener: a key of another certificate, an expiring certificate', async () => {
    const f = path.join(pki.dir, 'admin-tls.yaml');
    writeFileSync(f, `listen:\n  - port: 8080\nadmin:\n  address: 127.0.0.1\n  port: 9090\n  tls:\n    certificatefile: ${pki.server.certFile}\n    certificatekeyfile: ${pki.other.keyFile}\n    certificates:\n      - { certificatefile: ${pki.expiring.certFile}, certificatekeyfile: ${pki.expiring.keyFile} }\n`);
    const proc = spawnStickyd(['check', '-c', f]);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain(`${f}:8:25: admin.tls.certificatekeyfile: the private key does not belong to the certificate CN=localhost`);
    expect(proc.output()).toMatch(/:10:28: admin\.tls\.certificates\[0\]\.certificatefile: warning: the certificate CN=localhost expires in (9|10) days/);
  });

  it('check exits 1 for an expired certificate', async () => {
    const f = path.join(pki.dir, 'expired.yaml');
    writeFileSync(f, `listen:\n  - port: 8443\n    tls:\n      certificatefile: ${pki.expired.certFile}\n      certificatekeyfile: ${pki.expired.keyFile}\n`);
    const proc = spawnStickyd(['check', '-c', f]);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toMatch(/:4:24: listen\[0\]\.tls\.certificatefile: the certificate CN=localhost expired on/);
  });

  it('run serves a TLS listener and announces it as https://', async () => {
    const f = path.join(pki.dir, 'tls-listener.yaml');
    const port = await freePort();
    writeFileSync(f, `listen:\n  - address: 127.0.0.1\n    port: ${port}\n    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n`);
    const proc = spawnStickyd(['run', '-c', f]);
    await proc.waitFor(new RegExp(`stickyd listening on https://127\\.0\\.0\\.1:${port}`), 30_000);
    const status = await new Promise<number>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port, path: '/', ca: pki.ca.cert, servername: 'localhost', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject);
    });
    expect(status).toBe(404);
    expect(await proc.stop()).toBe(0);
  }, 60_000);

  it('run logs verify: none at start and again on every reload', async () => {
    const f = path.join(pki.dir, 'unverified.yaml');
    writeFileSync(f, `listen:\n  - { address: 127.0.0.1, port: ${await freePort()} }\nproxy:\n  tls: { verify: none }\nbalancers:\n  api:\n    members: [{ url: "https://127.0.0.1:9" }]\nproxypass:\n  - { path: /, url: balancer://api }\n`);
    const proc = spawnStickyd(['run', '-c', f]);
    await proc.waitFor(/stickyd listening on/, 30_000);
    const count = () => proc.output().split('\n').filter((l) => l.includes('the certificates of https://127.0.0.1:9 are not verified')).length;
    expect(count()).toBe(1);
    expect(proc.output()).toMatch(/"level":40.*proxy\.tls\.verify: warning: the certificates of https:\/\/127\.0\.0\.1:9 are not verified/);
    proc.signal('SIGHUP');
    await proc.waitFor(/reloaded/, 30_000);
    expect(count()).toBe(2);
    expect(await proc.stop()).toBe(0);
  }, 60_000);
});

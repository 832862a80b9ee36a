// The importer on mod_ssl, mod_http2, mod_deflate and mod_brotli: a TLS virtual host with SNI
// siblings, SSLProxy* at server level and in <Proxy balancer://…>, AddOutputFilterByType. The
// generated file is loaded with the daemon's parseConfig, against certificates made for the test.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { formatDiagnostic, importApache } from '../../src/importer/index.js';
import { parseSslProtocol } from '../../src/importer/tls.js';
import { makePki, type Pki } from '../helpers/pki.js';
import { relativeTo, removeTrees, tree } from './tree.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());
afterEach(removeTrees);

const lines = (...l: string[]) => `${l.join('\n')}\n`;

function run(text: string) {
  const dir = tree({ 'httpd.conf': text });
  const result = importApache(path.join(dir, 'httpd.conf'), { show: relativeTo(dir) });
  const config = parseConfig(result.yaml, path.join(pki.dir, 'generated.yaml'), {});
  return { ...result, config, messages: result.diagnostics.map(formatDiagnostic) };
}

describe('SSLProtocol as mod_ssl reads it', () => {
  it.each([
    [['all', '-SSLv3'], ['TLSv1.2', 'TLSv1.3'], 'TLSv1, TLSv1.1 not converted: stickyd never speaks below TLSv1.2'],
    [['-all', '+TLSv1.2', '+TLSv1.3'], ['TLSv1.2', 'TLSv1.3'], null],
    [['TLSv1.3'], ['TLSv1.3'], null],
    [['all', '-SSLv3', '-TLSv1', '-TLSv1.1'], ['TLSv1.2', 'TLSv1.3'], null],
    [['+TLSv1.2', 'TLSv1.3'], ['TLSv1.3'], null], // a bare word replaces what came before
  ])('%j → %j', (words, versions, note) => {
    expect(parseSslProtocol(words)).toEqual({ versions, note });
  });

  it('refuses what leaves nothing stickyd speaks, and unknown names', () => {
    expect(() => parseSslProtocol(['TLSv1'])).toThrow(/no protocol stickyd speaks/);
    expect(() => parseSslProtocol(['+TLSv9'])).toThrow(/Illegal protocol/);
  });
});

describe('import of a TLS site', () => {
  it('converts SSLEngine vhosts to listen[].tls (SNI siblings as certificates), Protocols, SSLProxy* and compression', () => {
    const r = run(lines(
      'Listen 80',
      'Listen 443',
      'SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1',
      'SSLCipherSuite HIGH:!aNULL:!MD5',
      'SSLHonorCipherOrder on',
      'SSLProxyEngine on',
      'SSLProxyVerify require',
      `SSLProxyCACertificateFile ${pki.ca.certFile}`,
      'SSLProxyCheckPeerExpire off',
      'AddOutputFilterByType BROTLI_COMPRESS;DEFLATE text/html text/plain application/json',
      'AddOutputFilterByType DEFLATE text/css',
      'DeflateCompressionLevel 5',
      'BrotliCompressionQuality 6',
      '<VirtualHost *:443>',
      '  SSLEngine on',
      `  SSLCertificateFile ${pki.chained.certFile}`,
      `  SSLCertificateKeyFile ${pki.chained.keyFile}`,
      `  SSLCertificateChainFile ${pki.intermediate.certFile}`,
      '  Protocols h2 http/1.1',
      '  ProxyPass / balancer://app/',
      '</VirtualHost>',
      '<VirtualHost *:443>',
      '  SSLEngine on',
      `  SSLCertificateFile ${pki.other.certFile}`,
      `  SSLCertificateKeyFile ${pki.other.keyFile}`,
      '  ProxyPass / balancer://app/',
      '</VirtualHost>',
      '<VirtualHost *:80>',
      '  ProxyPass / balancer://app/',
      '</VirtualHost>',
      '<Proxy balancer://app>',
      '  BalancerMember https://localhost:9443 route=a',
      '  BalancerMember https://localhost:9444 route=b',
      '  SSLProxyProtocol -all +TLSv1.3',
      '  SSLProxyCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384',
      '</Proxy>',
    ));
    expect(r.messages).toEqual([
      'httpd.conf:11: AddOutputFilterByType: stickyd compresses every listed type with every coding: gzip also for text/html text/plain application/json',
    ]);
    const [plain, secure] = r.config.listen;
    expect(plain).toEqual({ address: '0.0.0.0', port: 80 });
    expect(secure!.protocols).toEqual(['h2', 'http/1.1']);
    const tls = secure!.tls!;
    expect(tls.certificates.map((c) => c.names)).toEqual([['localhost'], ['other.test', 'www.other.test']]);
    expect(tls.certificates[0]!.cert.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(tls.protocol).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(tls.ciphersuite).toBe('TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:HIGH:!aNULL:!MD5');
    const member = r.config.balancers[0]!.members[0]!;
    expect(member.tls).toMatchObject({ verify: 'require', cacertificatefile: pki.ca.certFile, checkpeerexpire: false, protocol: ['TLSv1.3'] });
    expect(member.tls!.ciphersuite).toBe('TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305');
    expect(r.config.compression).toEqual({
      algorithms: ['br', 'gzip'],
      types: ['text/html', 'text/plain', 'application/json', 'text/css'],
      minlength: 1024,
      gziplevel: 5,
      brotliquality: 6,
      zstdlevel: 3,
    });
    // Written as the README shows it: a TLS listener as a block, its files and lists inside.
    expect(r.yaml).toContain('  - address: 0.0.0.0\n    port: 443\n    protocols: [ h2, http/1.1 ]\n    tls:\n');
  });

  it('reports what does not carry over, each at its line', () => {
    const r = run(lines(
      'Listen 8443',
      'SSLUseStapling on',
      'SSLSessionCache shmcb:/run/ssl_scache(512000)',
      'SSLProtocol all',
      'SSLVerifyClient require',
      'DeflateAlterETag AddSuffix',
      'SetOutputFilter DEFLATE',
      '<VirtualHost *:8443>',
      '  SSLEngine on',
      `  SSLCertificateFile ${pki.server.certFile}`,
      `  SSLCertificateKeyFile ${pki.server.keyFile}`,
      '  Protocols h2c http/1.1 acme-tls/1',
      '  ProxyPass / balancer://b/',
      '</VirtualHost>',
      '<Proxy balancer://b>',
      '  BalancerMember https://10.0.0.1',
      '  SSLProxyCheckPeerName off',
      '  SSLProxyCheckPeerCN on',
      '</Proxy>',
      '<Location /x>',
      '  SSLProxyVerify none',
      '</Location>',
    ));
    expect(r.messages).toEqual([
      'httpd.conf:2: SSLUseStapling: not converted: stickyd staples an OCSP response from a file instead of fetching one: set listen[].tls.staplingfile (openssl ocsp … -respout) and reload with SIGHUP',
      'httpd.conf:3: SSLSessionCache: not converted: stickyd resumes TLS sessions with tickets (listen[].tls.sessiontickets); there is no session cache',
      'httpd.conf:4: SSLProtocol: SSLv3, TLSv1, TLSv1.1 not converted: stickyd never speaks below TLSv1.2',
      'httpd.conf:5: SSLVerifyClient: not converted: client certificate authentication on the listener is not supported',
      'httpd.conf:6: DeflateAlterETag: not converted: stickyd weakens the ETag of a compressed response (W/"…", as nginx does) so that If-None-Match still reaches the member\'s 304; see README',
      'httpd.conf:7: SetOutputFilter: not converted: stickyd compresses by media type only: list the types with AddOutputFilterByType (compression.types)',
      'httpd.conf:12: Protocols: acme-tls/1 not converted: stickyd speaks h2, h2c and http/1.1',
      "httpd.conf:16: BalancerMember: https://10.0.0.1: httpd refuses https:// members without SSLProxyEngine on (500); stickyd proxies to them",
      "httpd.conf:16: BalancerMember: https://10.0.0.1: httpd does not verify members' certificates unless SSLProxyVerify require; stickyd does by default: set proxy.tls.cacertificatefile to the CA that issued them (or verify: none to keep httpd's behaviour)",
      'httpd.conf:18: SSLProxyCheckPeerCN: converted as checkpeername: on: stickyd checks the names of the certificate (SAN, else CN) together',
      'httpd.conf:21: SSLProxyVerify: not converted: stickyd takes SSLProxyVerify per server or in <Proxy balancer://name>, not inside <Location>',
    ]);
    // h2c is for plain listeners: on a TLS one it is dropped, http/1.1 stays (the default).
    expect(r.config.listen[0]!.protocols).toBeUndefined();
    expect(r.config.listen[0]!.tls!.protocol).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(r.config.compression).toBeNull();
  });
});

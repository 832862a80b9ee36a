// Real clients against a TLS listener with h2: curl (HTTP/2, HTTP/1.1, TLS versions, compressed
// responses) and openssl s_client (ALPN, SNI, refused protocol versions). Everything on 127.0.0.1
// with certificates made by the test.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../helpers/pki.js';
import { startBackend } from '../proxy/helpers.js';
import { edgeCleanup, startEdge, type Edge } from './helpers.js';

let pki: Pki;
let caFile: string;
beforeAll(() => {
  pki = makePki();
  caFile = path.join(pki.dir, 'clients-ca.pem');
  writeFileSync(caFile, pki.ca.cert);
});
afterAll(() => pki.cleanup());
afterEach(edgeCleanup);

function run(cmd: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 20_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(input);
  });
}

async function start(): Promise<Edge> {
  const page = `<html><body>${'<p>hello, compressible text</p>'.repeat(200)}</body></html>`;
  const b = await startBackend('a', (_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page);
  });
  return startEdge(`listen:\n  - address: 127.0.0.1\n    port: PORT0\n    protocols: [h2, http/1.1]\n    tls:\n      certificatefile: ${pki.server.certFile}\n      certificatekeyfile: ${pki.server.keyFile}\n      certificates:\n        - { certificatefile: ${pki.other.certFile}, certificatekeyfile: ${pki.other.keyFile} }\ncompression: on\nbalancers:\n  app:\n    members: [{ url: "${b.url}" }]\nproxypass:\n  - { path: /, url: balancer://app }\n`);
}

function curl(e: Edge, extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const port = e.ports[0]!;
  return run('curl', ['-sS', '--cacert', caFile, '--resolve', `localhost:${port}:127.0.0.1`, '-o', '/dev/null', '-D', '-', '-w', 'version=%{http_version} status=%{response_code} size=%{size_download}\n', ...extra, `https://localhost:${port}/page`]);
}

describe('curl', () => {
  it('--http2: HTTP/2 over TLS; --http1.1: HTTP/1.1; --tlsv1.2 --tls-max 1.2 and --tlsv1.3 both work', async () => {
    const e = await start();
    const h2 = await curl(e, ['--http2']);
    expect(h2.code, h2.stderr).toBe(0);
    expect(h2.stdout).toMatch(/^HTTP\/2 200/m);
    expect(h2.stdout).toContain('version=2 status=200');
    const h1 = await curl(e, ['--http1.1']);
    expect(h1.stdout).toContain('version=1.1 status=200');
    const v12 = await curl(e, ['--http2', '--tlsv1.2', '--tls-max', '1.2', '-v']);
    expect(v12.stderr).toMatch(/SSL connection using TLSv1\.2/);
    expect(v12.stdout).toContain('status=200');
    const v13 = await curl(e, ['--http2', '--tlsv1.3', '-v']);
    expect(v13.stderr).toMatch(/SSL connection using TLSv1\.3/);
    expect(v13.stdout).toContain('status=200');
    // TLSv1.1 and below are never spoken.
    const v11 = await curl(e, ['--tlsv1.0', '--tls-max', '1.1', '--ciphers', 'DEFAULT:@SECLEVEL=0']);
    expect(v11.code).not.toBe(0);
  }, 60_000);

  it('--compressed over HTTP/2 gets a compressed response that curl decodes', async () => {
    const e = await start();
    const r = await curl(e, ['--http2', '--compressed']);
    expect(r.stdout).toMatch(/^content-encoding: (br|gzip)\r?$/m);
    expect(r.stdout).toMatch(/^vary: Accept-Encoding\r?$/im);
    expect(r.stdout).toContain('size=');
    const plain = await curl(e, ['--http2']);
    expect(plain.stdout).not.toMatch(/content-encoding/i);
  }, 60_000);
});

describe('openssl s_client', () => {
  function sClient(e: Edge, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return run('openssl', ['s_client', '-connect', `127.0.0.1:${e.ports[0]}`, '-CAfile', caFile, ...args], 'Q\n');
  }

  it('negotiates h2 by ALPN, falls back to http/1.1, and picks the certificate by SNI', async () => {
    const e = await start();
    const h2 = await sClient(e, ['-alpn', 'h2,http/1.1', '-servername', 'localhost']);
    expect(h2.stdout).toContain('ALPN protocol: h2');
    expect(h2.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    const h1 = await sClient(e, ['-alpn', 'http/1.1', '-servername', 'localhost']);
    expect(h1.stdout).toContain('ALPN protocol: http/1.1');
    const other = await sClient(e, ['-servername', 'www.other.test']);
    expect(other.stdout).toMatch(/subject=CN ?= ?other\.test/);
    const none = await sClient(e, ['-noservername']);
    expect(none.stdout).toMatch(/subject=CN ?= ?localhost/);
  }, 60_000);

  it('refuses TLSv1.1 and TLSv1 (protocol version alert)', async () => {
    const e = await start();
    for (const flag of ['-tls1_1', '-tls1']) {
      const r = await sClient(e, [flag, '-cipher', 'DEFAULT:@SECLEVEL=0']);
      expect(r.code, flag).not.toBe(0);
      expect(`${r.stdout}${r.stderr}`, flag).toMatch(/alert protocol version|no protocols available|unsupported protocol|wrong version/i);
    }
    const ok = await sClient(e, ['-tls1_2']);
    expect(ok.stdout).toMatch(/Protocol *: TLSv1\.2/);
  }, 60_000);
});

/** The seed deployment and every example file load, and say what their comments claim. */
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { makePki } from '../helpers/pki.js';
import { repoRoot } from '../helpers/spawn.js';

/** The certificate files full.yaml names, made for the test in a directory given as STICKYD_TLS_DIR. */
function exampleTlsFiles(): { env: NodeJS.ProcessEnv; cleanup(): void } {
  const pki = makePki();
  pki.file('site.crt', pki.chained.cert);
  pki.file('site.key', pki.chained.key);
  pki.file('chain.crt', pki.intermediate.cert);
  pki.file('site.ocsp', readFileSync(pki.ocsp(pki.chained)));
  pki.file('other.crt', pki.other.cert);
  pki.file('other.key', pki.other.key);
  pki.file('other-chain.crt', pki.ca.cert);
  pki.file('other.ocsp', readFileSync(pki.ocsp(pki.other)));
  pki.file('ca.crt', pki.ca.cert);
  pki.file('client.pem', pki.client.cert + pki.client.key);
  pki.file('client-chain.crt', pki.ca.cert);
  return { env: { STICKYD_TLS_DIR: pki.dir }, cleanup: () => pki.cleanup() };
}

const seed = path.join(repoRoot, 'config', 'stickyd.yaml');
const examples = path.join(repoRoot, 'config', 'examples');

describe('config/stickyd.yaml (the seed Apache vhost)', () => {
  it('is the Apache setup it replaces', async () => {
    const c = await loadConfig(seed, {});
    expect(c.listen).toEqual([{ address: '0.0.0.0', port: 8051 }]);
    expect(c.server.servername).toBe('localhost');
    expect(c.proxy).toEqual({ preservehost: true, addheaders: true, timeout: 60_000 });
    expect(c.balancers).toHaveLength(1);
    expect(c.balancers[0]).toMatchObject({
      name: 'cluster',
      implicit: false,
      stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' },
      stickysessionsep: '.',
      lbmethod: 'byrequests',
      timeout: 5_000,
      maxattempts: 3,
      forcerecovery: true,
    });
    expect(c.balancers[0]?.members.map((m) => [m.url, m.scheme, m.host, m.port, m.route, m.timeout])).toEqual([
      ['ajp://192.168.55.229', 'ajp', '192.168.55.229', 8009, 'jvm_a', 60_000],
      ['ajp://192.168.55.231', 'ajp', '192.168.55.231', 8009, 'jvm_b', 60_000],
    ]);
    expect(c.proxypass).toEqual([{ path: '/myweb', exclude: false, balancer: 'cluster', backendpath: '/myweb', url: 'balancer://cluster/myweb', nocanon: false }]);
    expect(c.proxypassreverse).toEqual([{ path: '/', balancer: 'cluster', url: '' }]);
    expect(c.admin).toBeNull();
  });

  it('binds where STICKYD_LISTEN_ADDRESS (and STICKYD_LISTEN_PORT) say', async () => {
    const c = await loadConfig(seed, { STICKYD_LISTEN_ADDRESS: '127.0.0.1', STICKYD_LISTEN_PORT: '18051' });
    expect(c.listen).toEqual([{ address: '127.0.0.1', port: 18051 }]);
  });
});

describe('config/examples', () => {
  it('demo.yaml: two local http members behind /, routes jvm_a and jvm_b', async () => {
    const c = await loadConfig(path.join(examples, 'demo.yaml'), {});
    expect(c.listen).toEqual([{ address: '127.0.0.1', port: 8051 }]);
    expect(c.balancers[0]?.members.map((m) => [m.url, m.route])).toEqual([
      ['http://127.0.0.1:8081', 'jvm_a'],
      ['http://127.0.0.1:8082', 'jvm_b'],
    ]);
    expect(c.proxypass[0]).toMatchObject({ path: '/', balancer: 'demo' });
    expect(c.admin).toMatchObject({ address: '127.0.0.1', port: 8052 });
  });

  it('every example file loads', async () => {
    const files = (await readdir(examples)).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['demo.yaml', 'full.yaml']));
    const tls = exampleTlsFiles();
    try {
      for (const f of files) await expect(loadConfig(path.join(examples, f), tls.env), f).resolves.toBeTruthy();
    } finally {
      tls.cleanup();
    }
  });

  it('full.yaml sets every key of the table to a value of its own', async () => {
    const { allKeys } = await import('../../src/config/reference.js');
    const { parse } = await import('yaml');
    const { readFile } = await import('node:fs/promises');
    const doc = parse(await readFile(path.join(examples, 'full.yaml'), 'utf8')) as unknown;
    const written = new Set<string>();
    const walk = (v: unknown, p: string): void => {
      if (Array.isArray(v)) v.forEach((x) => walk(x, `${p}[]`));
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          const key = p === 'balancers' ? `${p}.<name>` : p ? `${p}.${k}` : k;
          written.add(key);
          walk(x, key);
        }
      }
    };
    walk(doc, '');
    const missing = allKeys().map((r) => r.path).filter((k) => !written.has(k));
    expect(missing).toEqual([]);
  });
});

// https:// members whose handshake fails, httpd 2.4.71 (mod_ssl, SSLProxyVerify require) vs
// stickyd, from the same Apache scenario (the importer converts SSLProxy*): a certificate from a
// CA the proxy does not trust and one that names another host both give 500 "Error during SSL
// Handshake with remote server", put the member in error and do not fail over (httpd's scheme
// handler returns 500, apache-semantics §4.1); the next request goes to the other member. A
// member with a good certificate serves.
import https from 'node:https';
import type net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makePki, type Issued, type Pki } from '../helpers/pki.js';
import { APACHE_MODULES } from './harness/apache.js';
import { startBackend, type Backend, type Received } from './harness/backends.js';
import { describeConformance, startPair, type Exchange, type Pair } from './harness/pair.js';

let pki: Pki;
let foreign: Pki;
let pair: Pair;
let plain: Backend;
let tlsBackends: Backend[];

/** An https member in the harness's Backend shape: answers 200 with X-Backend, records requests. */
async function startTlsBackend(name: string, cert: Issued): Promise<Backend> {
  const received: Received[] = [];
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: [], bodyLength: 0, bodySha256: '' });
      res.setHeader('X-Backend', name);
      res.end(`${name} over TLS`);
    });
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name,
    port,
    url: `https://localhost:${port}`,
    received,
    release() {},
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

function seen(e: Exchange) {
  return { step: e.observation.step, status: e.observation.status, servedBy: e.observation.servedBy, env: e.observation.env };
}

describeConformance('conformance: TLS to members', () => {
  beforeAll(async () => {
    pki = makePki();
    foreign = makePki();
    plain = await startBackend('b');
    tlsBackends = await Promise.all([
      startTlsBackend('good', pki.server),
      startTlsBackend('unknownca', foreign.server),
      startTlsBackend('wrongname', pki.other),
    ]);
    const [good, unknownca, wrongname] = tlsBackends.map((x) => x.url);
    pair = await startPair(
      `
LoadModule ssl_module ${APACHE_MODULES}/mod_ssl.so
ServerName front.test
SSLProxyEngine on
SSLProxyVerify require
SSLProxyCACertificateFile ${pki.ca.certFile}
<Proxy balancer://good>
  BalancerMember ${good}
</Proxy>
<Proxy balancer://unknownca>
  BalancerMember ${unknownca}
  BalancerMember ${plain.url}
</Proxy>
<Proxy balancer://wrongname>
  BalancerMember ${wrongname}
  BalancerMember ${plain.url}
</Proxy>
ProxyPass /good balancer://good
ProxyPass /unknownca balancer://unknownca
ProxyPass /wrongname balancer://wrongname
`,
      [plain, ...tlsBackends],
    );
  });
  afterAll(async () => {
    await pair?.stop();
    await plain?.close();
    await Promise.all((tlsBackends ?? []).map((b) => b.close()));
    pki?.cleanup();
    foreign?.cleanup();
  });

  it('a member with a certificate the CA file vouches for, named as the URL says, serves', async () => {
    const x = await pair.exchange([{ label: 'good', path: '/good/x' }, { label: 'again', path: '/good/y' }]);
    expect(x.apache.map((e) => `${e.observation.servedBy ?? '-'} ${e.observation.status}`)).toEqual(['good 200', 'good 200']);
    expect(x.stickyd.map(seen)).toEqual(x.apache.map(seen));
  });

  it.each(['unknownca', 'wrongname'])('%s: 500, the member in error, no failover; the next request goes to the other member', async (balancer) => {
    const x = await pair.exchange([
      { label: 'handshake fails', path: `/${balancer}/x` },
      { label: 'next', path: `/${balancer}/x` },
    ]);
    expect(x.apache.map((e) => `${e.observation.servedBy ?? '-'} ${e.observation.status}`)).toEqual(['- 500', 'b 200']);
    expect(x.stickyd.map(seen)).toEqual(x.apache.map(seen));
    expect(x.stickyd[0]!.body.toString()).toContain('Error during SSL Handshake with remote server');
    expect(x.apache[0]!.body.toString()).toContain('Error during SSL Handshake with remote server');
    const m = await pair.members(balancer);
    expect(m.apache[0]!.status).toBe('Init Err ');
    expect(m.stickyd).toEqual(m.apache);
  });
});

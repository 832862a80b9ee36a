// The building blocks of TLS listeners (src/tls), driven through real TLS handshakes on
// 127.0.0.1: certificate choice by SNI, OCSP stapling, ticket keys and their rotation, reloads.
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCertificate, type LoadedCertificate } from '../../src/tls/certificate.js';
import { ListenerTls, type ListenerTlsSettings } from '../../src/tls/listener.js';
import { hostMatches } from '../../src/tls/names.js';
import { CertificateSelector } from '../../src/tls/sni.js';
import { TicketKeyRotator } from '../../src/tls/tickets.js';
import { makePki, type Issued, type Pki } from '../helpers/pki.js';

let pki: Pki;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki.cleanup());

const servers: tls.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

function loaded(c: Issued, staplingfile: string | null = null): LoadedCertificate {
  const { certificate, issues } = loadCertificate({ certificatefile: c.certFile, certificatekeyfile: c.keyFile, certificatechainfile: null, staplingfile }, { baseDir: pki.dir });
  if (certificate === null) throw new Error(issues.map((i) => i.message).join('; '));
  return certificate;
}

function settings(certificates: LoadedCertificate[]): ListenerTlsSettings {
  return { certificates, protocol: ['TLSv1.2', 'TLSv1.3'], ciphersuite: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES128-GCM-SHA256' };
}

async function serve(edge: ListenerTls): Promise<number> {
  const server = tls.createServer(edge.serverOptions(), (s) => s.end('hello'));
  edge.attach(server);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

interface Handshake {
  subject: string;
  resumed: boolean;
  session: Buffer | undefined;
  ocsp: Buffer | null;
  protocol: string | null;
}

function connect(port: number, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    let ocsp: Buffer | null = null;
    let session: Buffer | undefined;
    const s = tls.connect({ host: '127.0.0.1', port, ca: pki.ca.cert, ...options });
    s.on('OCSPResponse', (r: Buffer) => (ocsp = r));
    s.on('session', (sess: Buffer) => (session = sess));
    s.on('error', reject);
    s.on('data', () => {});
    s.on('end', () => {
      resolve({ subject: String(s.getPeerCertificate().subject?.CN), resumed: s.isSessionReused(), session, ocsp, protocol: s.getProtocol() });
      s.destroy();
    });
  });
}

describe('SNI', () => {
  it('RFC 6125 wildcards: one whole left-most label', () => {
    expect(hostMatches('*.wild.test', 'a.wild.test')).toBe(true);
    expect(hostMatches('*.wild.test', 'wild.test')).toBe(false);
    expect(hostMatches('*.wild.test', 'a.b.wild.test')).toBe(false);
    expect(hostMatches('*.test', 'a.test')).toBe(false);
    expect(hostMatches('w*.wild.test', 'www.wild.test')).toBe(false);
    expect(hostMatches('WWW.Other.Test.', 'www.other.test')).toBe(true);
  });

  it('an exact name beats a wildcard listed before it; no match and no SNI get the first', () => {
    const sel = new CertificateSelector([{ id: 'default', names: ['localhost'] }, { id: 'wild', names: ['*.other.test'] }, { id: 'exact', names: ['www.other.test'] }]);
    expect(sel.select('www.other.test').id).toBe('exact');
    expect(sel.select('api.other.test').id).toBe('wild');
    expect(sel.select('API.OTHER.TEST.').id).toBe('wild');
    expect(sel.select('nothing.test').id).toBe('default');
    expect(sel.select(undefined).id).toBe('default');
    expect(sel.covers('nothing.test')).toBe(false);
  });

  it('a TLS server built from the listener block presents the certificate SNI asks for', async () => {
    const edge = new ListenerTls(settings([loaded(pki.server), loaded(pki.wildcard), loaded(pki.other)]));
    const port = await serve(edge);
    expect((await connect(port, { servername: 'localhost' })).subject).toBe('localhost');
    expect((await connect(port, { servername: 'shop.wild.test' })).subject).toBe('*.wild.test');
    expect((await connect(port, { servername: 'www.other.test' })).subject).toBe('other.test');
    // An unknown name gets the first certificate (which then fails the client's own name check).
    await expect(connect(port, { servername: 'unknown.test' })).rejects.toThrow(/Hostname\/IP does not match/);
    // No SNI (connecting by address): the first certificate, valid for 127.0.0.1.
    expect((await connect(port, {})).subject).toBe('localhost');
  });

  it('never speaks below TLSv1.2', async () => {
    const port = await serve(new ListenerTls(settings([loaded(pki.server)])));
    await expect(connect(port, { servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' })).rejects.toThrow();
    expect((await connect(port, { servername: 'localhost', maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
  });
});

describe('OCSP stapling from a file', () => {
  it('staples the response of the certificate being presented, and none for a certificate without one', async () => {
    const responseFile = pki.ocsp(pki.server);
    const edge = new ListenerTls(settings([loaded(pki.server, responseFile), loaded(pki.other)]));
    const port = await serve(edge);
    const stapled = await connect(port, { servername: 'localhost', requestOCSP: true });
    expect(stapled.ocsp).not.toBeNull();
    expect(stapled.ocsp!.equals(edge.certificateFor('localhost').ocsp!)).toBe(true);
    const none = await connect(port, { servername: 'other.test', requestOCSP: true });
    expect(none.ocsp).toBeNull();
  });
});

describe('session tickets', () => {
  it('a session resumes with the current key; after a rotation the old ticket gets a full handshake', async () => {
    let n = 0;
    const rotator = new TicketKeyRotator({ period: 60_000, random: (size) => Buffer.alloc(size, ++n) });
    const edge = new ListenerTls(settings([loaded(pki.server)]), rotator);
    const port = await serve(edge);
    const opts = { servername: 'localhost', maxVersion: 'TLSv1.2' as const };
    const first = await connect(port, opts);
    expect(first.resumed).toBe(false);
    const second = await connect(port, { ...opts, session: first.session });
    expect(second.resumed).toBe(true);
    const before = rotator.current;
    rotator.rotate();
    expect(rotator.previous!.equals(before)).toBe(true);
    expect(rotator.current.equals(before)).toBe(false);
    const third = await connect(port, { ...opts, session: first.session });
    expect(third.resumed).toBe(false);
    const fourth = await connect(port, { ...opts, session: third.session });
    expect(fourth.resumed).toBe(true);
    edge.close();
  });

  it('sessiontickets: false issues no tickets, so nothing resumes', async () => {
    const edge = new ListenerTls({ ...settings([loaded(pki.server)]), sessiontickets: false }, new TicketKeyRotator());
    const port = await serve(edge);
    const opts = { servername: 'localhost', maxVersion: 'TLSv1.2' as const };
    const first = await connect(port, opts);
    const second = await connect(port, { ...opts, session: first.session });
    expect(second.resumed).toBe(false);
    edge.close();
  });

  it('rotates on its timer and tells its subscribers', async () => {
    const rotator = new TicketKeyRotator({ period: 1000 });
    const seen: Buffer[] = [];
    rotator.subscribe((k) => seen.push(k));
    rotator.start();
    await new Promise((r) => setTimeout(r, 2300));
    rotator.stop();
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(new Set(seen.map((k) => k.toString('hex'))).size).toBe(seen.length);
    expect(seen.every((k) => k.length === 48)).toBe(true);
    expect(() => new TicketKeyRotator({ period: 10 })).toThrow(/at least 1 s/);
  });
});

describe('reload', () => {
  it('update() serves the new certificate to new handshakes', async () => {
    const edge = new ListenerTls(settings([loaded(pki.server)]));
    const port = await serve(edge);
    expect((await connect(port, { servername: 'localhost' })).subject).toBe('localhost');
    edge.update(settings([loaded(pki.other)]));
    expect((await connect(port, { servername: 'other.test' })).subject).toBe('other.test');
  });
});

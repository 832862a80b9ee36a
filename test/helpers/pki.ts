/**
 * Certificates made at test time with the openssl command line, in a temporary directory that
 * `cleanup()` removes: a test CA (root and an intermediate), server certificates with SANs (a
 * wildcard among them), an expired one, one that expires in 10 days, a client certificate for
 * mutual TLS, and OCSP responses for stapling. Nothing here is ever committed; every key is made
 * fresh (EC P-256, which openssl makes in milliseconds).
 *
 *   const pki = makePki();              // beforeAll
 *   pki.server.certFile, pki.server.keyFile, pki.ca.certFile ...
 *   pki.issue('api', { dns: ['api.test'] })   // more, as a test needs them
 *   pki.cleanup();                      // afterAll
 *
 * Certificates are issued with `openssl ca`, which takes explicit start and end dates (OpenSSL
 * 3.0's `x509 -days` cannot make one that expired already) and keeps the index an OCSP responder
 * needs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Issued {
  name: string;
  certFile: string;
  keyFile: string;
  /** PEM of the certificate alone. */
  cert: string;
  /** PEM of the private key (PKCS#8). */
  key: string;
  /** The issuing CA's certificate file (the intermediate's for certificates issued by it). */
  issuerFile: string;
}

export interface IssueOptions {
  /** subjectAltName DNS names. */
  dns?: string[];
  /** subjectAltName IP addresses. */
  ip?: string[];
  /** Subject CN; default the first DNS name, else the certificate's name. */
  cn?: string;
  /** Validity start, relative to now in days (default -1: valid since yesterday). */
  fromDays?: number;
  /** Validity end, relative to now in days (default 30). Negative: expired already. */
  toDays?: number;
  /** Extended key usage: server (default) or client authentication. */
  usage?: 'server' | 'client';
  /** Issue with the intermediate CA instead of the root. */
  viaIntermediate?: boolean;
  /** Make a CA certificate (basicConstraints CA:true). */
  ca?: boolean;
  /** An OCSP responder URL in authorityInfoAccess (never contacted by the tests; scanners want one). */
  ocspUrl?: string;
}

export interface Pki {
  dir: string;
  /** The root CA (trust anchor for the tests). */
  ca: Issued;
  /** An intermediate CA issued by the root. */
  intermediate: Issued;
  /** localhost and 127.0.0.1. */
  server: Issued;
  /** *.wild.test */
  wildcard: Issued;
  /** other.test, www.other.test */
  other: Issued;
  /** localhost, expired yesterday. */
  expired: Issued;
  /** localhost, expires in 10 days. */
  expiring: Issued;
  /** A client certificate (clientAuth) for mutual TLS. */
  client: Issued;
  /** localhost, issued by the intermediate (serve it with the intermediate as chain). */
  chained: Issued;
  issue(name: string, options?: IssueOptions): Issued;
  /** A DER OCSP response for `cert` (status good unless revoked), valid for `days`, signed by its CA. */
  ocsp(cert: Issued, options?: { revoked?: boolean; days?: number }): string;
  /** A file with this text in the PKI directory. */
  file(name: string, text: string | Buffer): string;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** openssl ca's date format, UTC: YYYYMMDDHHMMSSZ. */
function caDate(daysFromNow: number): string {
  const d = new Date(Date.now() + daysFromNow * 86_400_000);
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

export function makePki(): Pki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-pki-'));

  const caConfig = (name: string): string => {
    const caDir = path.join(dir, `ca-${name}`);
    mkdirSync(path.join(caDir, 'new'), { recursive: true });
    writeFileSync(path.join(caDir, 'index.txt'), '');
    writeFileSync(path.join(caDir, 'index.txt.attr'), 'unique_subject = no\n');
    const cnf = path.join(caDir, 'ca.cnf');
    writeFileSync(cnf, [
      '[ ca ]', 'default_ca = this', '[ this ]',
      `database = ${path.join(caDir, 'index.txt')}`,
      `new_certs_dir = ${path.join(caDir, 'new')}`,
      `serial = ${path.join(caDir, 'serial')}`,
      'default_md = sha256', 'policy = any', 'copy_extensions = none', 'unique_subject = no', 'email_in_dn = no',
      '[ any ]', 'commonName = supplied', '',
    ].join('\n'));
    return cnf;
  };

  const newKey = (name: string): string => {
    const keyFile = path.join(dir, `${name}.key`);
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], dir);
    return keyFile;
  };

  const extensions = (name: string, o: IssueOptions): string => {
    const lines = ['[ ext ]', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid'];
    if (o.ca) {
      lines.push('basicConstraints = critical, CA:true', 'keyUsage = critical, keyCertSign, cRLSign');
    } else {
      lines.push('basicConstraints = CA:false', 'keyUsage = critical, digitalSignature, keyEncipherment');
      lines.push(`extendedKeyUsage = ${o.usage === 'client' ? 'clientAuth' : 'serverAuth'}`);
      const san = [...(o.dns ?? []).map((n) => `DNS:${n}`), ...(o.ip ?? []).map((a) => `IP:${a}`)];
      if (san.length) lines.push(`subjectAltName = ${san.join(', ')}`);
      if (o.ocspUrl !== undefined) lines.push(`authorityInfoAccess = OCSP;URI:${o.ocspUrl}`);
    }
    const file = path.join(dir, `${name}.ext`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  };

  const caFiles = new Map<Issued, string>();

  const sign = (name: string, o: IssueOptions, issuer: Issued | null): Issued => {
    const keyFile = newKey(name);
    const certFile = path.join(dir, `${name}.crt`);
    const cn = o.cn ?? o.dns?.[0] ?? name;
    const csr = path.join(dir, `${name}.csr`);
    openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', csr], dir);
    const ext = extensions(name, o);
    const from = caDate(o.fromDays ?? -1);
    const to = caDate(o.toDays ?? 30);
    if (issuer === null) {
      // The root signs itself: openssl ca -selfsign with its own key.
      const cnf = caConfig(name);
      openssl(['ca', '-batch', '-notext', '-selfsign', '-config', cnf, '-keyfile', keyFile, '-in', csr, '-out', certFile,
        '-startdate', from, '-enddate', to, '-extfile', ext, '-extensions', 'ext', '-rand_serial'], dir);
    } else {
      const cnf = caFiles.get(issuer)!;
      openssl(['ca', '-batch', '-notext', '-config', cnf, '-cert', issuer.certFile, '-keyfile', issuer.keyFile, '-in', csr, '-out', certFile,
        '-startdate', from, '-enddate', to, '-extfile', ext, '-extensions', 'ext', '-rand_serial'], dir);
    }
    const issued: Issued = {
      name,
      certFile,
      keyFile,
      cert: readFileSync(certFile, 'utf8'),
      key: readFileSync(keyFile, 'utf8'),
      issuerFile: issuer === null ? certFile : issuer.certFile,
    };
    if (o.ca) caFiles.set(issued, issuer === null ? caConfigOf(name) : caConfig(name));
    return issued;
  };
  const caConfigOf = (name: string): string => path.join(dir, `ca-${name}`, 'ca.cnf');

  const ca = sign('root-ca', { cn: 'stickyd test root CA', ca: true, toDays: 365 }, null);
  const intermediate = sign('intermediate-ca', { cn: 'stickyd test intermediate CA', ca: true, toDays: 365 }, ca);
  const issue = (name: string, o: IssueOptions = {}): Issued => sign(name, o, o.viaIntermediate ? intermediate : ca);

  const pki: Pki = {
    dir,
    ca,
    intermediate,
    server: issue('server', { dns: ['localhost'], ip: ['127.0.0.1'] }),
    wildcard: issue('wildcard', { dns: ['*.wild.test'] }),
    other: issue('other', { dns: ['other.test', 'www.other.test'] }),
    expired: issue('expired', { dns: ['localhost'], ip: ['127.0.0.1'], fromDays: -30, toDays: -1 }),
    expiring: issue('expiring', { dns: ['localhost'], ip: ['127.0.0.1'], toDays: 10 }),
    client: issue('client', { cn: 'stickyd test client', usage: 'client' }),
    chained: issue('chained', { dns: ['localhost'], ip: ['127.0.0.1'], viaIntermediate: true }),
    issue,
    ocsp(cert, options = {}) {
      const issuer = cert.issuerFile === intermediate.certFile ? intermediate : ca;
      const cnf = caFiles.get(issuer)!;
      const index = path.join(path.dirname(cnf), 'index.txt');
      if (options.revoked) openssl(['ca', '-batch', '-config', cnf, '-cert', issuer.certFile, '-keyfile', issuer.keyFile, '-revoke', cert.certFile], dir);
      const out = path.join(dir, `${cert.name}-${options.revoked ? 'revoked' : 'good'}.ocsp`);
      openssl(['ocsp', '-index', index, '-rsigner', issuer.certFile, '-rkey', issuer.keyFile, '-CA', issuer.certFile,
        '-issuer', issuer.certFile, '-cert', cert.certFile, '-ndays', String(options.days ?? 7), '-respout', out], dir);
      return out;
    },
    file(name, text) {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pki;
}

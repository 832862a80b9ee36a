/**
 * A server certificate as mod_ssl takes it (SSLCertificateFile, SSLCertificateKeyFile,
 * SSLCertificateChainFile), loaded and checked the way `stickyd check` reports it:
 *
 * - every file can be read and holds what its key says (PEM certificates, one private key);
 * - the key is not encrypted (Apache would ask for a pass phrase at start; a daemon that
 *   reloads on SIGHUP cannot) and belongs to the first certificate;
 * - the certificates are in order: the server certificate first, then each one's issuer
 *   (certificatefile may hold the chain itself, as it may since httpd 2.4.8; certificatechainfile
 *   is appended). A wrong order makes some clients fail, so it is an error, not a warning;
 * - expiry: an expired certificate (server or chain) is an error, one that expires within
 *   `warnDays` (14) a warning, one not valid yet a warning;
 * - the names it serves (SAN DNS names, else CN) for SNI;
 * - an optional OCSP response file to staple (ocsp.ts).
 *
 * Problems name the key they concern (`certificatekeyfile`, ...) so that the config loader can
 * report them at that key's line.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { certificateNames, serverNames, type CertificateNames } from './names.js';
import { normalizeSerial, ocspProblem, parseOcspResponse } from './ocsp.js';
import { isCertificateBlock, isKeyBlock, pemBlocks, type PemBlock } from './pem.js';

/** The files of one certificate, as the balancer file names them (paths as written). */
export interface CertificateFiles {
  certificatefile: string;
  /** null: the key is in certificatefile. */
  certificatekeyfile: string | null;
  certificatechainfile: string | null;
  /** A DER OCSP response to staple, or null. */
  staplingfile: string | null;
}

export type CertificateFileKey = keyof CertificateFiles;

export interface CertificateIssue {
  /** The key of CertificateFiles the problem concerns. */
  key: CertificateFileKey;
  severity: 'error' | 'warning';
  message: string;
}

/** A loaded, checked certificate: what a SecureContext is made of (plain data, structured-cloneable). */
export interface LoadedCertificate {
  files: CertificateFiles;
  /** PEM: the server certificate, then its chain, in order. */
  cert: string;
  /** PEM of the private key. */
  key: string;
  /** The host names SNI is matched against (lower-cased; wildcards as written). */
  names: string[];
  /** The server certificate's subject, for messages ("CN=www.example.com"). */
  subject: string;
  /** Serial number, hex. */
  serial: string;
  /** End of validity of the server certificate (ms since the epoch). */
  notAfter: number;
  /** The OCSP response to staple (DER), or null. */
  ocsp: Buffer | null;
}

export interface LoadOptions {
  /** Relative paths are resolved against this directory (the balancer file's). */
  baseDir: string;
  /** The wall clock in ms (tests pass a fixed one). */
  now?: number;
  /** Warn when the certificate expires within this many days. Default 14. */
  warnDays?: number;
}

export const EXPIRY_WARNING_DAYS = 14;
const DAY = 86_400_000;

/** A file path as the daemon opens it. */
export function resolvePath(file: string, baseDir: string): string {
  return path.resolve(baseDir, file);
}

/** Read a file for a key, or report why not. */
export function readTlsFile(file: string, baseDir: string, key: CertificateFileKey, issues: CertificateIssue[]): Buffer | null {
  try {
    return readFileSync(resolvePath(file, baseDir));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    issues.push({ key, severity: 'error', message: `cannot read ${file}: ${why}` });
    return null;
  }
}

function oneLine(subject: string): string {
  return subject.split('\n').join(', ');
}

function date(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Parse the CERTIFICATE blocks of a file; a block that does not parse is an error. */
function parseCertificates(blocks: PemBlock[], file: string, key: CertificateFileKey, issues: CertificateIssue[]): X509Certificate[] | null {
  const certs: X509Certificate[] = [];
  let n = 0;
  for (const b of blocks) {
    if (!isCertificateBlock(b)) continue;
    n++;
    try {
      certs.push(new X509Certificate(b.text));
    } catch (e) {
      issues.push({ key, severity: 'error', message: `certificate ${n} in ${file} is not a valid X.509 certificate (${(e as Error).message})` });
      return null;
    }
  }
  return certs;
}

/** The one private key among `blocks`, or null after an issue (none is not an issue here). */
function parseKey(blocks: PemBlock[], file: string, key: CertificateFileKey, issues: CertificateIssue[]): { object: KeyObject; pem: string } | null | undefined {
  const keys = blocks.filter(isKeyBlock);
  if (keys.length === 0) return undefined;
  if (keys.length > 1) {
    issues.push({ key, severity: 'error', message: `${file} holds ${keys.length} private keys; it must hold exactly one` });
    return null;
  }
  const block = keys[0]!;
  if (block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block.text)) {
    issues.push({ key, severity: 'error', message: `the private key in ${file} is encrypted; stickyd needs it unencrypted (it reloads on SIGHUP and cannot ask for a pass phrase): openssl pkey -in ${file} -out new.key` });
    return null;
  }
  try {
    const object = createPrivateKey(block.text);
    return { object, pem: object.export({ type: 'pkcs8', format: 'pem' }) as string };
  } catch (e) {
    issues.push({ key, severity: 'error', message: `the private key in ${file} cannot be read (${(e as Error).message})` });
    return null;
  }
}

/** Load and check one certificate. Returns null when there is an error (every issue is reported). */
export function loadCertificate(files: CertificateFiles, options: LoadOptions): { certificate: LoadedCertificate | null; issues: CertificateIssue[] } {
  const issues: CertificateIssue[] = [];
  const now = options.now ?? Date.now();
  const warnDays = options.warnDays ?? EXPIRY_WARNING_DAYS;
  const { baseDir } = options;

  const certText = readTlsFile(files.certificatefile, baseDir, 'certificatefile', issues);
  if (certText === null) return { certificate: null, issues };
  const certBlocks = pemBlocks(certText.toString('latin1'));
  const own = parseCertificates(certBlocks, files.certificatefile, 'certificatefile', issues);
  if (own === null) return { certificate: null, issues };
  if (own.length === 0) {
    issues.push({ key: 'certificatefile', severity: 'error', message: `${files.certificatefile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` });
    return { certificate: null, issues };
  }

  // The key: its own file, or (SSLCertificateFile since 2.4.8) inside the certificate file.
  let key: { object: KeyObject; pem: string } | null | undefined;
  let keyAt: CertificateFileKey = 'certificatekeyfile';
  if (files.certificatekeyfile !== null) {
    const keyText = readTlsFile(files.certificatekeyfile, baseDir, 'certificatekeyfile', issues);
    if (keyText === null) return { certificate: null, issues };
    key = parseKey(pemBlocks(keyText.toString('latin1')), files.certificatekeyfile, 'certificatekeyfile', issues);
    if (key === undefined) issues.push({ key: 'certificatekeyfile', severity: 'error', message: `${files.certificatekeyfile} holds no PEM private key (-----BEGIN PRIVATE KEY-----)` });
  } else {
    keyAt = 'certificatefile';
    key = parseKey(certBlocks, files.certificatefile, 'certificatefile', issues);
    if (key === undefined) issues.push({ key: 'certificatefile', severity: 'error', message: `${files.certificatefile} holds no private key; name the key file in certificatekeyfile` });
  }

  let chain: X509Certificate[] = [];
  if (files.certificatechainfile !== null) {
    const chainText = readTlsFile(files.certificatechainfile, baseDir, 'certificatechainfile', issues);
    if (chainText !== null) {
      const parsed = parseCertificates(pemBlocks(chainText.toString('latin1')), files.certificatechainfile, 'certificatechainfile', issues);
      if (parsed !== null && parsed.length === 0) {
        issues.push({ key: 'certificatechainfile', severity: 'error', message: `${files.certificatechainfile} holds no PEM certificate` });
      }
      chain = parsed ?? [];
    }
  }
  const all = [...own, ...chain];
  const leaf = all[0]!;
  const fileOf = (i: number): CertificateFileKey => (i < own.length ? 'certificatefile' : 'certificatechainfile');

  if (key) {
    if (!leaf.checkPrivateKey(key.object)) {
      const hint = leaf.ca ? ' (the first certificate is a CA certificate: put the server certificate first)' : '';
      issues.push({ key: keyAt, severity: 'error', message: `the private key does not belong to the certificate ${oneLine(leaf.subject)}${hint}` });
    }
  }

  // Chain order: each certificate is issued (and signed) by the next one.
  for (let i = 0; i + 1 < all.length; i++) {
    const cert = all[i]!;
    const next = all[i + 1]!;
    if (!cert.checkIssued(next) || !cert.verify(next.publicKey)) {
      const issuer = all.findIndex((c, j) => j !== i && cert.checkIssued(c) && cert.verify(c.publicKey));
      const hint = issuer >= 0
        ? `its issuer is certificate ${issuer + 1}: list the server certificate first, then each issuer in order`
        : `none of the certificates given issued it (issuer ${oneLine(cert.issuer)})`;
      issues.push({
        key: fileOf(i + 1),
        severity: 'error',
        message: `the certificates are not in order: certificate ${i + 2} (${oneLine(next.subject)}) did not issue certificate ${i + 1} (${oneLine(cert.subject)}); ${hint}`,
      });
      break;
    }
  }

  // Expiry, of the server certificate and of each chain certificate.
  all.forEach((cert, i) => {
    const notAfter = Date.parse(cert.validTo);
    const notBefore = Date.parse(cert.validFrom);
    const what = i === 0 ? `the certificate ${oneLine(cert.subject)}` : `chain certificate ${i + 1} (${oneLine(cert.subject)})`;
    if (notAfter < now) {
      issues.push({ key: fileOf(i), severity: 'error', message: `${what} expired on ${date(notAfter)}` });
    } else if (notAfter < now + warnDays * DAY) {
      const days = Math.floor((notAfter - now) / DAY);
      issues.push({ key: fileOf(i), severity: 'warning', message: `${what} expires in ${days} day${days === 1 ? '' : 's'} (${date(notAfter)})` });
    }
    if (notBefore > now) issues.push({ key: fileOf(i), severity: 'warning', message: `${what} is not valid before ${new Date(notBefore).toISOString()}` });
  });

  const names: CertificateNames = certificateNames(leaf);
  const sni = serverNames(names);
  if (sni.length === 0 && names.ip.length === 0) {
    issues.push({ key: 'certificatefile', severity: 'warning', message: `the certificate ${oneLine(leaf.subject)} names no host (no subjectAltName, no CN): SNI never selects it` });
  }

  let ocsp: Buffer | null = null;
  if (files.staplingfile !== null) {
    const der = readTlsFile(files.staplingfile, baseDir, 'staplingfile', issues);
    if (der !== null) {
      try {
        const problem = ocspProblem(parseOcspResponse(der), leaf.serialNumber, now);
        if (problem !== null) issues.push({ key: 'staplingfile', severity: 'error', message: problem });
        else ocsp = der;
      } catch (e) {
        issues.push({ key: 'staplingfile', severity: 'error', message: `${files.staplingfile}: ${(e as Error).message}` });
      }
    }
  }

  if (issues.some((x) => x.severity === 'error') || !key) return { certificate: null, issues };
  return {
    certificate: {
      files,
      cert: all.map((c) => c.toString()).join(''),
      key: key.pem,
      names: sni,
      subject: oneLine(leaf.subject),
      serial: normalizeSerial(leaf.serialNumber),
      notAfter: Date.parse(leaf.validTo),
      ocsp,
    },
    issues,
  };
}

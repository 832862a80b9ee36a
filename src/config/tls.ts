/**
 * The TLS keys of the balancer file, resolved: certificate files read and checked (tls/
 * certificate.ts) with every problem at the line of the key that names the file, and the settings
 * towards https:// members merged (proxy.tls, then the balancer's tls).
 *
 * Files are read when the balancer file is loaded — at start, by `stickyd check`, and on every
 * SIGHUP — so a renewed certificate or CA list takes effect with a reload, and a bad one is
 * refused by the reload (the running configuration stays). Relative paths are relative to the
 * balancer file's directory.
 */
import { X509Certificate } from 'node:crypto';
import { EXPIRY_WARNING_DAYS, loadCertificate, readTlsFile, type CertificateFiles, type CertificateIssue } from '../tls/certificate.js';
import { isCertificateBlock, pemBlocks } from '../tls/pem.js';
import { cipherSuiteProblem, type TlsVersion } from '../tls/protocols.js';
import { INVALID, type Invalid } from './kinds.js';
import type { Reader } from './reader.js';
import type { HstsConfig, LoadedCertificate, ListenTlsConfig, MemberTlsConfig } from './types.js';

/** `listen[].tls` (or `admin.tls`, without hsts) as read from the file (schema.ts listenTlsSchema). */
export interface RawListenTls extends CertificateFiles {
  certificates: Array<CertificateFiles | Invalid>;
  protocol: Array<TlsVersion | Invalid>;
  ciphersuite: string;
  sessiontickets: boolean;
  ticketkeyrotation: number;
  hsts?: boolean | HstsConfig | null;
}

const HSTS_DEFAULTS: HstsConfig = { maxage: 63_072_000, includesubdomains: false, preload: false };

/** `proxy.tls` (every key) or a balancer's `tls` (keys left out are undefined). */
export interface RawMemberTls {
  verify?: 'require' | 'none';
  cacertificatefile?: string | null;
  checkpeername?: boolean;
  checkpeerexpire?: boolean;
  machinecertificatefile?: string | null;
  machinecertificatechainfile?: string | null;
  protocol?: Array<TlsVersion | Invalid>;
  ciphersuite?: string | null;
}

function validList<T>(items: Array<T | Invalid>): T[] {
  return items.filter((x): x is T => x !== INVALID);
}

const DAY = 86_400_000;

/** extendedKeyUsage id-kp-clientAuth. */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export class TlsResolver {
  constructor(
    private readonly r: Reader,
    private readonly baseDir: string,
    private readonly now: number = Date.now(),
  ) {}

  /** Report a certificate issue at `at.<key>` (errors as problems, warnings as warnings). */
  private issue(at: string, key: string, x: Pick<CertificateIssue, 'severity' | 'message'>): void {
    const path = `${at}.${key}`;
    if (x.severity === 'error') this.r.reportAt(path, x.message);
    else this.r.warnAt(path, x.message);
  }

  /** The protocol list and cipher suite agree (and a list has no duplicates). */
  private protocols(at: string, protocol: Array<TlsVersion | Invalid>, ciphersuite: string | null): TlsVersion[] {
    const versions = validList(protocol);
    if (ciphersuite !== null && versions.length === protocol.length) {
      const problem = cipherSuiteProblem(ciphersuite, versions);
      if (problem !== null) this.r.reportAt(`${at}.ciphersuite`, problem);
    }
    return [...new Set(versions)];
  }

  /** `listen[i].tls`: every certificate loaded and checked. Null after a problem. */
  listener(at: string, raw: RawListenTls): ListenTlsConfig | null {
    const protocol = this.protocols(at, raw.protocol, raw.ciphersuite);
    const certificates: LoadedCertificate[] = [];
    let ok = true;
    const load = (files: CertificateFiles, where: string): void => {
      const { certificate, issues } = loadCertificate(files, { baseDir: this.baseDir, now: this.now });
      for (const x of issues) this.issue(where, x.key, x);
      if (certificate === null) ok = false;
      else certificates.push(certificate);
    };
    load(raw, at);
    raw.certificates.forEach((c, i) => {
      if (c === INVALID) ok = false;
      else load(c, `${at}.certificates[${i}]`);
    });
    const hsts = raw.hsts === true ? HSTS_DEFAULTS : raw.hsts === false || raw.hsts === undefined ? null : raw.hsts;
    // Browsers' preload lists take a domain only with includeSubDomains and a max-age of a year or more.
    if (hsts?.preload === true && (!hsts.includesubdomains || hsts.maxage < 31_536_000)) {
      this.r.reportAt(`${at}.hsts.preload`, 'preload needs includesubdomains: on and a maxage of at least 31536000 (a year): browsers refuse to preload a policy without them');
    }
    if (!ok) return null;
    return { certificates, protocol, ciphersuite: raw.ciphersuite, sessiontickets: raw.sessiontickets, ticketkeyrotation: raw.ticketkeyrotation, hsts };
  }

  /** A CA list (SSLProxyCACertificateFile): PEM certificates, read and parsed. Null after a problem. */
  private caFile(path: string, file: string): string | null {
    const issues: CertificateIssue[] = [];
    const text = readTlsFile(file, this.baseDir, 'certificatefile', issues);
    if (text === null) {
      for (const x of issues) this.r.reportAt(path, x.message);
      return null;
    }
    const blocks = pemBlocks(text.toString('latin1')).filter(isCertificateBlock);
    if (blocks.length === 0) {
      this.r.reportAt(path, `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
      return null;
    }
    let expired = 0;
    for (const [i, b] of blocks.entries()) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(b.text);
      } catch (e) {
        this.r.reportAt(path, `certificate ${i + 1} in ${file} is not a valid X.509 certificate (${(e as Error).message})`);
        return null;
      }
      const notAfter = Date.parse(cert.validTo);
      if (notAfter < this.now) expired++;
      else if (notAfter < this.now + EXPIRY_WARNING_DAYS * DAY) {
        this.r.warnAt(path, `CA certificate ${cert.subject.split('\n').join(', ')} in ${file} expires in ${Math.floor((notAfter - this.now) / DAY)} days`);
      }
    }
    if (expired === blocks.length) this.r.warnAt(path, `every CA certificate in ${file} has expired: no member certificate can be verified with it`);
    return blocks.map((b) => b.text).join('');
  }

  /**
   * The settings towards https:// members: `base` (proxy.tls, complete) with `over` (a balancer's
   * tls) on top. `at` is where `over` is written (or proxy.tls). Null after a problem.
   */
  memberTls(base: MemberTlsConfig | null, raw: RawMemberTls, at: string): MemberTlsConfig | null {
    const pick = <K extends keyof RawMemberTls>(key: K): RawMemberTls[K] | undefined => raw[key];
    let ok = true;
    const protocolRaw = pick('protocol');
    const ciphersuite = pick('ciphersuite') !== undefined ? pick('ciphersuite')! : base?.ciphersuite ?? null;
    let protocol: TlsVersion[];
    if (protocolRaw !== undefined) protocol = this.protocols(at, protocolRaw, ciphersuite);
    else {
      protocol = base?.protocol ?? ['TLSv1.2', 'TLSv1.3'];
      if (pick('ciphersuite') !== undefined && ciphersuite !== null) {
        const problem = cipherSuiteProblem(ciphersuite, protocol);
        if (problem !== null) this.r.reportAt(`${at}.ciphersuite`, problem);
      }
    }

    let cacertificatefile = base?.cacertificatefile ?? null;
    let ca = base?.ca ?? null;
    const caRaw = pick('cacertificatefile');
    if (caRaw !== undefined) {
      cacertificatefile = caRaw;
      ca = caRaw === null ? null : this.caFile(`${at}.cacertificatefile`, caRaw);
      if (caRaw !== null && ca === null) ok = false;
    }

    let machinecertificatefile = base?.machinecertificatefile ?? null;
    let cert = base?.cert ?? null;
    let key = base?.key ?? null;
    const machineRaw = pick('machinecertificatefile');
    const chainRaw = pick('machinecertificatechainfile');
    if (machineRaw !== undefined || chainRaw !== undefined) {
      machinecertificatefile = machineRaw !== undefined ? machineRaw : machinecertificatefile;
      if (machinecertificatefile === null) {
        if (chainRaw) this.r.reportAt(`${at}.machinecertificatechainfile`, 'a chain without machinecertificatefile has no certificate to go with');
        cert = key = null;
      } else {
        const loaded = this.clientCertificate(at, machinecertificatefile, chainRaw ?? null);
        if (loaded === null) ok = false;
        else ({ cert, key } = loaded);
      }
    }
    if (!ok) return null;
    return {
      verify: pick('verify') ?? base?.verify ?? 'require',
      cacertificatefile,
      ca,
      checkpeername: pick('checkpeername') ?? base?.checkpeername ?? true,
      checkpeerexpire: pick('checkpeerexpire') ?? base?.checkpeerexpire ?? true,
      machinecertificatefile,
      cert,
      key,
      protocol,
      ciphersuite,
    };
  }

  /** SSLProxyMachineCertificateFile: a certificate and its key in one file (as mod_ssl reads it), plus an optional chain. */
  private clientCertificate(at: string, file: string, chain: string | null): { cert: string; key: string } | null {
    const { certificate, issues } = loadCertificate(
      { certificatefile: file, certificatekeyfile: null, certificatechainfile: chain, staplingfile: null },
      { baseDir: this.baseDir, now: this.now },
    );
    for (const x of issues) {
      // A client certificate is not chosen by name: the "names no host" warning does not apply.
      if (/names no host/.test(x.message)) continue;
      const key = x.key === 'certificatechainfile' ? 'machinecertificatechainfile' : 'machinecertificatefile';
      const message = x.message.replace('; name the key file in certificatekeyfile', ': mod_ssl reads the client certificate and its key from one file');
      this.issue(at, key, { severity: x.severity, message });
    }
    if (certificate === null) return null;
    // A member that checks the purpose of a client certificate refuses one without clientAuth.
    const usage = new X509Certificate(certificate.cert).keyUsage;
    if (Array.isArray(usage) && usage.length > 0 && !usage.includes(CLIENT_AUTH)) {
      this.r.warnAt(`${at}.machinecertificatefile`, `the certificate ${certificate.subject} is not for client authentication (its extendedKeyUsage lacks clientAuth): members that check will refuse it`);
    }
    return { cert: certificate.cert, key: certificate.key };
  }
}

/**
 * mod_ssl and mod_http2 directives → the TLS keys of the balancer file:
 *
 * - server side (`listen[].tls`, `listen[].protocols`): SSLEngine, SSLCertificateFile,
 *   SSLCertificateKeyFile, SSLCertificateChainFile, SSLProtocol, SSLCipherSuite,
 *   SSLSessionTickets, Protocols — per server (main or <VirtualHost>), inherited from the main
 *   server as httpd merges them, and attached to the listeners each server answers on;
 * - proxy side (`proxy.tls`, `balancers.<name>.tls`): SSLProxyEngine, SSLProxyVerify,
 *   SSLProxyCACertificateFile, SSLProxyCheckPeerName/CN/Expire, SSLProxyMachineCertificateFile,
 *   SSLProxyMachineCertificateChainFile, SSLProxyProtocol, SSLProxyCipherSuite — per server, or
 *   inside <Proxy balancer://name>.
 *
 * Values are read as mod_ssl reads them (ssl_engine_config.c): SSLProtocol's `+`/`-`/bare words
 * (a bare word replaces what was set before), SSLCipherSuite's optional protocol argument
 * (`SSLCipherSuite TLSv1.3 …` sets the TLSv1.3 suites), SSLProxyVerify's four levels.
 */
import { TLS12_SUITES, TLS13_SUITES } from '../tls/protocols.js';
import type { ApacheDirective } from './parser.js';
import type { ParamValue } from './params.js';
import { ApacheValueError, onOff } from './values.js';

/** What one directive sets: stickyd-side key → value, or why it is not converted. */
export type TlsReading =
  | { kind: 'set'; key: string; value: ParamValue; note?: string }
  | { kind: 'skip'; message: string }
  | { kind: 'silent' };

const VERSIONS: Record<string, string[]> = {
  sslv2: [],
  sslv3: ['SSLv3'],
  tlsv1: ['TLSv1'],
  'tlsv1.1': ['TLSv1.1'],
  'tlsv1.2': ['TLSv1.2'],
  'tlsv1.3': ['TLSv1.3'],
  all: ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
};

/**
 * SSLProtocol / SSLProxyProtocol: mod_ssl's ssl_cmd_protocol_parse. Returns the TLSv1.2+ versions
 * and a note when lower ones were enabled (stickyd never speaks them).
 */
export function parseSslProtocol(words: string[]): { versions: string[]; note: string | null } {
  let set = new Set<string>();
  for (const word of words) {
    const action = word[0] === '+' || word[0] === '-' ? word[0] : '';
    const name = (action ? word.slice(1) : word).toLowerCase();
    const versions = VERSIONS[name];
    if (versions === undefined) throw new ApacheValueError(`SSLProtocol: Illegal protocol '${word}'`);
    if (action === '+') for (const v of versions) set.add(v);
    else if (action === '-') for (const v of versions) set.delete(v);
    else set = new Set(versions);
  }
  const kept = ['TLSv1.2', 'TLSv1.3'].filter((v) => set.has(v));
  const dropped = [...set].filter((v) => !kept.includes(v));
  const note = dropped.length > 0 ? `${dropped.join(', ')} not converted: stickyd never speaks below TLSv1.2` : null;
  if (kept.length === 0) throw new ApacheValueError(`no protocol stickyd speaks is left (${[...set].join(', ') || 'none'}); stickyd speaks TLSv1.2 and TLSv1.3`);
  return { versions: kept, note };
}

/** stickyd's ciphersuite from SSLCipherSuite's two lists (TLSv1.2 and below, TLSv1.3); null when neither was set. */
export function combineCipherSuites(ssl: string | undefined, tls13: string | undefined): string | null {
  if (ssl === undefined && tls13 === undefined) return null;
  return `${tls13 ?? TLS13_SUITES}:${ssl ?? TLS12_SUITES}`;
}

const VERIFY: Record<string, { value: 'require' | 'none'; note?: string }> = {
  none: { value: 'none' },
  require: { value: 'require' },
  optional: { value: 'require', note: 'optional verifies what the member presents, and a member always presents a certificate: converted to require' },
  optional_no_ca: { value: 'none', note: 'optional_no_ca accepts a certificate of any issuer: converted to none (the name and expiry are still checked)' },
};

function one(d: ApacheDirective): string {
  if (d.args.length !== 1) throw new ApacheValueError(`${d.name} takes one argument`);
  return d.args[0] as string;
}

function cipherSuite(d: ApacheDirective, prefix: string): TlsReading {
  const [first, second, ...rest] = d.args;
  if (first === undefined || rest.length > 0) throw new ApacheValueError(`${d.name} takes [protocol] cipher-spec`);
  if (second === undefined) return { kind: 'set', key: `${prefix}ciphersuite.ssl`, value: first };
  if (/^tlsv1\.3$/i.test(first)) return { kind: 'set', key: `${prefix}ciphersuite.tls13`, value: second };
  if (/^ssl$/i.test(first)) return { kind: 'set', key: `${prefix}ciphersuite.ssl`, value: second };
  throw new ApacheValueError(`protocol '${first}' not supported (SSL or TLSv1.3)`);
}

/** Read one mod_ssl / mod_http2 directive (its name lower-cased in `lower`). */
export function readTlsDirective(d: ApacheDirective, lower: string): TlsReading {
  switch (lower) {
    case 'sslengine': {
      const v = one(d).toLowerCase();
      if (v === 'optional') return { kind: 'skip', message: 'SSLEngine optional (TLS upgrade within HTTP/1.1, RFC 2817) is not supported' };
      if (v === 'addr') return { kind: 'set', key: 'sslengine', value: true };
      return { kind: 'set', key: 'sslengine', value: onOff(v, 'SSLEngine must be On, Off, Optional or addr') };
    }
    case 'sslcertificatefile':
      return { kind: 'set', key: 'certificatefile', value: one(d) };
    case 'sslcertificatekeyfile':
      return { kind: 'set', key: 'certificatekeyfile', value: one(d) };
    case 'sslcertificatechainfile':
      return { kind: 'set', key: 'certificatechainfile', value: one(d) };
    case 'sslprotocol': {
      const { versions, note } = parseSslProtocol(d.args);
      return note ? { kind: 'set', key: 'protocol', value: versions, note } : { kind: 'set', key: 'protocol', value: versions };
    }
    case 'sslciphersuite':
      return cipherSuite(d, '');
    case 'sslsessiontickets':
      return { kind: 'set', key: 'sessiontickets', value: onOff(one(d), 'SSLSessionTickets must be On or Off') };
    case 'protocols': {
      const known = d.args.map((p) => p.toLowerCase()).filter((p) => p === 'h2' || p === 'h2c' || p === 'http/1.1');
      const unknown = d.args.filter((p) => !['h2', 'h2c', 'http/1.1'].includes(p.toLowerCase()));
      if (known.length === 0) throw new ApacheValueError('Protocols names no protocol stickyd speaks (h2, h2c, http/1.1)');
      return unknown.length > 0
        ? { kind: 'set', key: 'protocols', value: known, note: `${unknown.join(', ')} not converted: stickyd speaks h2, h2c and http/1.1` }
        : { kind: 'set', key: 'protocols', value: known };
    }
    case 'sslproxyengine':
      return { kind: 'set', key: 'proxy.engine', value: onOff(one(d), 'SSLProxyEngine must be On or Off') };
    case 'sslproxyverify': {
      const level = VERIFY[one(d).toLowerCase()];
      if (level === undefined) throw new ApacheValueError('SSLProxyVerify must be none, optional, require or optional_no_ca');
      return level.note ? { kind: 'set', key: 'proxy.verify', value: level.value, note: level.note } : { kind: 'set', key: 'proxy.verify', value: level.value };
    }
    case 'sslproxycacertificatefile':
      return { kind: 'set', key: 'proxy.cacertificatefile', value: one(d) };
    case 'sslproxycheckpeername':
      return { kind: 'set', key: 'proxy.checkpeername', value: onOff(one(d), 'SSLProxyCheckPeerName must be On or Off') };
    case 'sslproxycheckpeercn':
      return { kind: 'set', key: 'proxy.checkpeercn', value: onOff(one(d), 'SSLProxyCheckPeerCN must be On or Off') };
    case 'sslproxycheckpeerexpire':
      return { kind: 'set', key: 'proxy.checkpeerexpire', value: onOff(one(d), 'SSLProxyCheckPeerExpire must be On or Off') };
    case 'sslproxymachinecertificatefile':
      return { kind: 'set', key: 'proxy.machinecertificatefile', value: one(d) };
    case 'sslproxymachinecertificatechainfile':
      return { kind: 'set', key: 'proxy.machinecertificatechainfile', value: one(d) };
    case 'sslproxyprotocol': {
      const { versions, note } = parseSslProtocol(d.args);
      return note ? { kind: 'set', key: 'proxy.protocol', value: versions, note } : { kind: 'set', key: 'proxy.protocol', value: versions };
    }
    case 'sslproxyciphersuite':
      return cipherSuite(d, 'proxy.');
    case 'sslhonorcipherorder':
      // stickyd always prefers its own order.
      return /^on$/i.test(d.args[0] ?? '') ? { kind: 'silent' } : { kind: 'skip', message: 'stickyd always prefers its own cipher order (SSLHonorCipherOrder on)' };
    case 'sslcompression':
      return /^off$/i.test(d.args[0] ?? '') ? { kind: 'silent' } : { kind: 'skip', message: 'TLS compression is never enabled (CRIME)' };
    case 'sslusestapling':
      if (/^off$/i.test(d.args[0] ?? '')) return { kind: 'silent' };
      return { kind: 'skip', message: 'stickyd staples an OCSP response from a file instead of fetching one: set listen[].tls.staplingfile (openssl ocsp … -respout) and reload with SIGHUP' };
    case 'sslproxycacertificatepath':
    case 'sslcacertificatepath':
      return { kind: 'skip', message: 'a hashed CA directory is not supported: put the CA certificates in one PEM file' };
    case 'sslpassphrasedialog':
      return { kind: 'skip', message: 'stickyd needs unencrypted keys (it reloads on SIGHUP and cannot ask for a pass phrase)' };
  }
  if (lower.startsWith('sslsessioncache') || lower.startsWith('sslstapling')) {
    return { kind: 'skip', message: lower.startsWith('sslstapling') ? 'stickyd staples an OCSP response file (listen[].tls.staplingfile)' : 'stickyd resumes TLS sessions with tickets (listen[].tls.sessiontickets); there is no session cache' };
  }
  if (lower === 'sslverifyclient' || lower === 'sslverifydepth' || lower === 'sslcacertificatefile' || lower === 'sslcarevocationfile') {
    return { kind: 'skip', message: 'client certificate authentication on the listener is not supported' };
  }
  if (lower === 'sslrandomseed' || lower === 'sslcryptodevice') return { kind: 'silent' };
  return { kind: 'skip', message: 'no stickyd equivalent' };
}

/** The directives this module reads (the converter hands them over). */
export function isTlsDirective(lower: string): boolean {
  return lower.startsWith('ssl') || lower === 'protocols';
}

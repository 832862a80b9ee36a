/**
 * TLS protocol versions and cipher suites (SSLProtocol / SSLCipherSuite, and SSLProxyProtocol /
 * SSLProxyCipherSuite for members).
 *
 * stickyd speaks TLSv1.2 and TLSv1.3 only, on both sides: every version below is broken or
 * deprecated (RFC 8996), and node's OpenSSL refuses them at its default security level anyway.
 * node takes a version *range* (minVersion..maxVersion), so a list must not have gaps — with two
 * versions it cannot.
 *
 * The default cipher suite is Mozilla's "intermediate" set without the finite-field DHE suites:
 * the TLSv1.3 suites, then ECDHE with AES-GCM or ChaCha20-Poly1305 for TLSv1.2. Every suite has
 * forward secrecy and an AEAD cipher; testssl.sh rates it without a HIGH or CRITICAL finding.
 */
import tls from 'node:tls';

export const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** The versions refused with a reason (SSLProtocol accepts them; stickyd never speaks them). */
export const REFUSED_VERSIONS: Record<string, string> = {
  sslv2: 'SSLv2 is broken and never spoken by stickyd (the lowest is TLSv1.2)',
  sslv3: 'SSLv3 is broken and never spoken by stickyd (the lowest is TLSv1.2)',
  tlsv1: 'TLSv1 is deprecated (RFC 8996) and never spoken by stickyd (the lowest is TLSv1.2)',
  'tlsv1.0': 'TLSv1 is deprecated (RFC 8996) and never spoken by stickyd (the lowest is TLSv1.2)',
  'tlsv1.1': 'TLSv1.1 is deprecated (RFC 8996) and never spoken by stickyd (the lowest is TLSv1.2)',
};

export const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
export const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The listeners' default `ciphersuite`. */
export const DEFAULT_CIPHERSUITE = `${TLS13_SUITES}:${TLS12_SUITES}`;

/** node's minVersion/maxVersion for a list of versions (the config loader has checked it). */
export function versionRange(versions: readonly TlsVersion[]): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  const sorted = [...new Set(versions)].sort();
  return { minVersion: sorted[0] ?? 'TLSv1.2', maxVersion: sorted[sorted.length - 1] ?? 'TLSv1.3' };
}

/** A TLSv1.3 suite name (node hands these to SSL_CTX_set_ciphersuites, the rest to the TLSv1.2 cipher list). */
function isTls13Suite(token: string): boolean {
  return /^TLS_/.test(token);
}

/**
 * Why `ciphersuite` cannot be used with `versions`, or null. Each plain name is tried on its own,
 * because OpenSSL silently drops names it does not know as long as one is left (a typo would cut
 * the list without a word); a version without any suite could never be negotiated.
 */
export function cipherSuiteProblem(ciphersuite: string, versions: readonly TlsVersion[]): string | null {
  const tokens = ciphersuite.split(/[:,\s]+/).filter(Boolean);
  if (tokens.length === 0) return 'must name at least one cipher suite';
  for (const token of tokens) {
    if (/^[!+-]/.test(token) || /^@/.test(token)) continue;
    try {
      tls.createSecureContext({ ciphers: token, minVersion: 'TLSv1.2' });
    } catch {
      return `no cipher suite is called "${token}" (OpenSSL names, e.g. ECDHE-RSA-AES128-GCM-SHA256, or TLSv1.3 suites such as TLS_AES_128_GCM_SHA256)`;
    }
  }
  const plain = tokens.filter((t) => !/^[!+-@]/.test(t));
  if (versions.includes('TLSv1.3') && !plain.some(isTls13Suite)) {
    return `names no TLSv1.3 suite (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256) while protocol includes TLSv1.3`;
  }
  if (versions.includes('TLSv1.2') && !plain.some((t) => !isTls13Suite(t))) {
    return 'names no TLSv1.2 cipher (e.g. ECDHE-RSA-AES128-GCM-SHA256) while protocol includes TLSv1.2';
  }
  return null;
}

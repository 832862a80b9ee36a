/**
 * The names a certificate serves and how a requested host name (SNI) matches them, as
 * RFC 6125 §6.4 says and browsers do:
 *
 * - the DNS names of subjectAltName count; the subject CN only when the certificate has no DNS
 *   name at all (RFC 6125 §6.4.4, the legacy case);
 * - comparison ignores case and a trailing dot;
 * - a wildcard is only the complete left-most label, `*.example.com`, and stands for exactly one
 *   label: it matches `a.example.com`, not `example.com` nor `a.b.example.com`. Partial-label
 *   wildcards (`w*.example.com`) are forbidden for public certificates (CA/Browser Forum) and do
 *   not match here, and neither does a wildcard directly above a top-level domain (`*.com`).
 */
import type { X509Certificate } from 'node:crypto';

export interface CertificateNames {
  /** subjectAltName DNS names, lower-cased, as written (wildcards kept). */
  dns: string[];
  /** subjectAltName IP addresses. */
  ip: string[];
  /** The subject's CN, or null. */
  cn: string | null;
}

/**
 * node writes subjectAltName as `DNS:a, DNS:b, IP Address:1.2.3.4`, quoting an entry as a JSON
 * string when it holds a comma or quote (`DNS:"a, b"`).
 */
function sanEntries(san: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (!san) return out;
  const entry = /\s*([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/gy;
  for (let m = entry.exec(san); m !== null && m[0] !== ''; m = entry.exec(san)) {
    const raw = m[2] as string;
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    out.push([(m[1] as string).trim(), value.trim()]);
  }
  return out;
}

function subjectCn(subject: string): string | null {
  for (const line of subject.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return null;
}

export function certificateNames(cert: X509Certificate): CertificateNames {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const [type, value] of sanEntries(cert.subjectAltName)) {
    if (type === 'DNS') dns.push(normalizeHost(value));
    else if (type === 'IP Address') ip.push(value);
  }
  return { dns, ip, cn: subjectCn(cert.subject) };
}

/** The host names SNI is matched against: the DNS SANs, else the CN (RFC 6125 §6.4.4). */
export function serverNames(names: CertificateNames): string[] {
  if (names.dns.length > 0) return names.dns;
  return names.cn !== null && names.cn !== '' ? [normalizeHost(names.cn)] : [];
}

/** Lower case, without a trailing dot. */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/** The part a `*.` wildcard must be followed by, or null when `name` is not a usable wildcard. */
export function wildcardBase(name: string): string | null {
  if (!name.startsWith('*.')) return null;
  const base = name.slice(2);
  // At least two labels after the wildcard (`*.com` is never a match), and no second wildcard.
  if (!base.includes('.') || base.includes('*') || base.startsWith('.') || base.endsWith('.')) return null;
  return base;
}

/** Does `pattern` (a certificate name) cover `host` (normalized)? RFC 6125 §6.4.3. */
export function hostMatches(pattern: string, host: string): boolean {
  const p = normalizeHost(pattern);
  if (!p.includes('*')) return p === host;
  const base = wildcardBase(p);
  if (base === null) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === base;
}

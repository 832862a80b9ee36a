/**
 * Which certificate a TLS listener presents for a requested host name (SNI): mod_ssl picks the
 * name-based virtual host whose ServerName/ServerAlias matches; stickyd has no virtual hosts, so
 * it matches the certificates' own names (SAN DNS names, names.ts).
 *
 * - An exact name wins over a wildcard, whatever the order of the certificates; among equals the
 *   first listed wins.
 * - No SNI (a client connecting by IP address) or no match: the first certificate, as mod_ssl
 *   falls back to the first virtual host of the address.
 *
 * Lookups are two map reads, so the selector can run for every handshake.
 */
import { hostMatches, normalizeHost, wildcardBase } from './names.js';

export interface Named {
  /** Lower-cased host names, wildcards as written (`*.example.com`). */
  readonly names: readonly string[];
}

export class CertificateSelector<T extends Named> {
  private readonly exact = new Map<string, T>();
  /** `example.com` → the entry with `*.example.com`. */
  private readonly wildcards = new Map<string, T>();

  constructor(private readonly entries: readonly T[]) {
    if (entries.length === 0) throw new Error('a TLS listener needs at least one certificate');
    for (const entry of entries) {
      for (const name of entry.names) {
        const base = wildcardBase(name);
        if (base !== null) {
          if (!this.wildcards.has(base)) this.wildcards.set(base, entry);
        } else if (!name.includes('*') && !this.exact.has(name)) {
          this.exact.set(name, entry);
        }
      }
    }
  }

  /** The first certificate: for clients without SNI or with a name no certificate has. */
  get default(): T {
    return this.entries[0]!;
  }

  /** The certificate for `servername` (SNI), or the default one. */
  select(servername: string | null | undefined): T {
    if (!servername) return this.default;
    const host = normalizeHost(servername);
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    const dot = host.indexOf('.');
    if (dot > 0) {
      const wild = this.wildcards.get(host.slice(dot + 1));
      if (wild !== undefined && wild.names.some((n) => hostMatches(n, host))) return wild;
    }
    return this.default;
  }

  /** Whether some certificate has a name for `servername` (for logs: "no certificate names x, the default answered"). */
  covers(servername: string): boolean {
    const host = normalizeHost(servername);
    return this.entries.some((e) => e.names.some((n) => hostMatches(n, host)));
  }
}

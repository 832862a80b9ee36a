/**
 * The TLS side of one listener, as a building block for the listeners (`listen[].tls`): the
 * SecureContext of each certificate, the choice by SNI (sni.ts), OCSP stapling from files
 * (ocsp.ts), session ticket keys from a rotator (tickets.ts), and reloads.
 *
 *   const edge = new ListenerTls(config.listen[0].tls, rotator);
 *   const server = https.createServer(edge.serverOptions(), handler);   // or tls / http2
 *   edge.attach(server);            // stapling, ticket rotation, certificate reloads
 *   edge.update(next.listen[0].tls) // SIGHUP: new certificates for new handshakes
 *
 * Every context gets the same protocol range, cipher suite (with the server's order preferred,
 * SSLHonorCipherOrder on) and ticket key, so a session resumes whichever certificate SNI chose.
 */
import { constants } from 'node:crypto';
import tls from 'node:tls';
import type { LoadedCertificate } from './certificate.js';
import { versionRange, type TlsVersion } from './protocols.js';
import { CertificateSelector } from './sni.js';
import type { TicketKeySource } from './tickets.js';

/** What a TLS listener is made of (the config loader's ListenTlsConfig has this shape). */
export interface ListenerTlsSettings {
  /** The certificates in order; the first is the default (no SNI, or no name matches). */
  certificates: readonly LoadedCertificate[];
  protocol: readonly TlsVersion[];
  ciphersuite: string;
  /** SSLSessionTickets; false: no tickets at all (every new connection makes a full handshake). Default true. */
  sessiontickets?: boolean;
}

interface Entry {
  readonly names: readonly string[];
  readonly certificate: LoadedCertificate;
  context: tls.SecureContext;
  /** DER of the server certificate, to find the OCSP response node asks for. */
  readonly der: Buffer;
}

function derOf(pem: string): Buffer {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(pem);
  return Buffer.from(m ? (m[1] as string).replace(/\s+/g, '') : '', 'base64');
}

export class ListenerTls {
  private settings: ListenerTlsSettings;
  private entries: Entry[] = [];
  private selector!: CertificateSelector<Entry>;
  private readonly servers = new Set<tls.Server>();
  private unsubscribe: (() => void) | null = null;

  constructor(settings: ListenerTlsSettings, private readonly tickets: TicketKeySource | null = null) {
    this.settings = settings;
    this.build();
    if (tickets !== null) {
      // Every rotation: new contexts carrying the new key, and the servers' own contexts too
      // (subscribe also calls back at once, with the key build() just used).
      let first = true;
      this.unsubscribe = tickets.subscribe((current) => {
        if (first) {
          first = false;
          return;
        }
        this.build();
        for (const s of this.servers) s.setTicketKeys(current);
      });
    }
  }

  private options(c: LoadedCertificate): tls.SecureContextOptions {
    const { minVersion, maxVersion } = versionRange(this.settings.protocol);
    const o: tls.SecureContextOptions = {
      key: c.key,
      cert: c.cert,
      minVersion,
      maxVersion,
      ciphers: this.settings.ciphersuite,
      honorCipherOrder: true,
      // A renegotiation the client starts (TLSv1.2) is refused, as mod_ssl and nginx refuse it:
      // each one costs the server a full handshake (CVE-2011-1473), and node's own limit lets
      // three per connection through. TLSv1.3 has no renegotiation.
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
    };
    if (this.settings.sessiontickets === false) {
      o.secureOptions! |= constants.SSL_OP_NO_TICKET;
    } else if (this.tickets !== null) {
      o.ticketKeys = this.tickets.current;
      // A ticket is worth nothing after its key is gone: say so to the client (lifetime hint).
      o.sessionTimeout = Math.max(1, Math.floor((this.tickets.period * 2) / 1000));
    }
    return o;
  }

  private build(): void {
    this.entries = this.settings.certificates.map((c) => ({ names: c.names, certificate: c, context: tls.createSecureContext(this.options(c)), der: derOf(c.cert) }));
    this.selector = new CertificateSelector(this.entries);
  }

  /** Options for tls.createServer / https.createServer / http2.createSecureServer. */
  serverOptions(): tls.TlsOptions {
    return { ...this.options(this.settings.certificates[0]!), SNICallback: this.sniCallback };
  }

  /** node's SNICallback: the context of the certificate whose names match. */
  readonly sniCallback = (servername: string, callback: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    callback(null, this.selector.select(servername).context);
  };

  /** The certificate a client asking for `servername` gets (for tests and logs). */
  certificateFor(servername: string | null): LoadedCertificate {
    return this.selector.select(servername).certificate;
  }

  /** The OCSP response to staple for the certificate node is presenting (DER), or null. */
  ocspResponse(certificate: Buffer): Buffer | null {
    for (const e of this.entries) if (e.der.equals(certificate)) return e.certificate.ocsp;
    return null;
  }

  private readonly onOcspRequest = (certificate: Buffer, _issuer: Buffer, callback: (err: Error | null, resp: Buffer | null) => void): void => {
    callback(null, this.ocspResponse(certificate));
  };

  /** Staple OCSP responses on `server`, install the ticket key and keep them current. Returns a detach function. */
  attach(server: tls.Server): () => void {
    this.servers.add(server);
    if (this.settings.certificates.some((c) => c.ocsp !== null)) server.on('OCSPRequest', this.onOcspRequest);
    if (this.tickets !== null) server.setTicketKeys(this.tickets.current);
    return () => {
      this.servers.delete(server);
      server.off('OCSPRequest', this.onOcspRequest);
    };
  }

  /**
   * New certificates (a SIGHUP reload that loaded them without error): new handshakes use them,
   * established connections keep theirs.
   */
  update(settings: ListenerTlsSettings): void {
    const hadOcsp = this.settings.certificates.some((c) => c.ocsp !== null);
    this.settings = settings;
    this.build();
    for (const s of this.servers) {
      s.setSecureContext(this.serverOptions());
      if (this.tickets !== null) s.setTicketKeys(this.tickets.current);
      const hasOcsp = settings.certificates.some((c) => c.ocsp !== null);
      if (hasOcsp && !hadOcsp) s.on('OCSPRequest', this.onOcspRequest);
      if (!hasOcsp && hadOcsp) s.off('OCSPRequest', this.onOcspRequest);
    }
  }

  /** Stop following the ticket rotator. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const s of [...this.servers]) s.off('OCSPRequest', this.onOcspRequest);
    this.servers.clear();
  }
}

/**
 * TLS towards an https:// member, with mod_ssl's SSLProxy* semantics (checked against httpd
 * 2.4.71):
 *
 * - `verify: require` (SSLProxyVerify require): the chain must verify against the CA list
 *   (`cacertificatefile`, else node's built-in public CAs) — OpenSSL's verification, which also
 *   refuses an expired certificate whatever checkpeerexpire says, as it does in httpd.
 * - `checkpeername` (SSLProxyCheckPeerName, on by default in httpd too): the certificate must name
 *   the host the member is reached by — the SNI name: the host of the member URL, or the client's
 *   Host with `preservehost` (httpd's "proxy-request-hostname"); for an IP address, an IP SAN.
 *   httpd checks it even with `SSLProxyVerify none`, and so does stickyd.
 * - `checkpeerexpire` (SSLProxyCheckPeerExpire): outside its validity the certificate is refused;
 *   this matters with verify none (with require OpenSSL already refused it).
 * - SNI: the host name (never an IP address, RFC 6066), set by the HTTP client per request.
 * - `machinecertificatefile`: the client certificate for members that ask for one (mutual TLS).
 *
 * A handshake that fails any of these is a failed *connection*: httpd answers 500 "Error during
 * SSL Handshake with remote server" and puts the member in error without failover (its scheme
 * handler returns 500, apache-semantics §4.1, P:1474-1485); the connector reports kind 'tls' for that.
 */
import tls from 'node:tls';
import type { MemberTlsConfig } from '../config/types.js';
import { versionRange } from './protocols.js';

/** The settings of an https:// member that has none of its own (added at run time): verification on, node's CAs. */
export const DEFAULT_MEMBER_TLS: MemberTlsConfig = {
  verify: 'require',
  cacertificatefile: null,
  ca: null,
  checkpeername: true,
  checkpeerexpire: true,
  machinecertificatefile: null,
  cert: null,
  key: null,
  protocol: ['TLSv1.2', 'TLSv1.3'],
  ciphersuite: null,
};

/** tls.connect options for a member (servername and host are the connector's). */
export function memberTlsOptions(t: MemberTlsConfig): tls.ConnectionOptions {
  const { minVersion, maxVersion } = versionRange(t.protocol);
  const o: tls.ConnectionOptions = { minVersion, maxVersion, rejectUnauthorized: t.verify === 'require' };
  if (t.ca !== null) o.ca = t.ca;
  if (t.cert !== null && t.key !== null) {
    o.cert = t.cert;
    o.key = t.key;
  }
  if (t.ciphersuite !== null) o.ciphers = t.ciphersuite;
  // With verify none node skips the name check itself; peerProblem() makes it.
  if (!t.checkpeername) o.checkServerIdentity = () => undefined;
  return o;
}

/** An error that says the TLS handshake with a member failed (the connector reports it as kind 'tls'). */
export class MemberTlsError extends Error {
  override name = 'MemberTlsError';
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * What OpenSSL's verification did not check but mod_ssl does, after a handshake that node accepted:
 * with verify none, the name (checkpeername) and the validity (checkpeerexpire). `name` is the
 * SNI name, or the address when there is none. A resumed session was checked when it began.
 */
export function peerProblem(t: MemberTlsConfig, socket: tls.TLSSocket, name: string, now = Date.now()): MemberTlsError | null {
  if (t.verify === 'require' || socket.isSessionReused()) return null;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return new MemberTlsError('the member presented no certificate', 'ERR_TLS_NO_PEER_CERTIFICATE');
  if (t.checkpeername) {
    const err = tls.checkServerIdentity(name, cert);
    if (err !== undefined) return new MemberTlsError(err.message, (err as NodeJS.ErrnoException).code ?? 'ERR_TLS_CERT_ALTNAME_INVALID', { cause: err });
  }
  if (t.checkpeerexpire) {
    const from = Date.parse(cert.valid_from);
    const to = Date.parse(cert.valid_to);
    if (to < now) return new MemberTlsError(`the member's certificate expired on ${new Date(to).toISOString()}`, 'CERT_HAS_EXPIRED');
    if (from > now) return new MemberTlsError(`the member's certificate is not valid before ${new Date(from).toISOString()}`, 'CERT_NOT_YET_VALID');
  }
  return null;
}

/**
 * How an HTTP member's connections are opened: a TCP connection (and for an https:// member the
 * TLS handshake and the certificate checks of SSLProxy*, tls/member.ts) within
 * `connectiontimeout`, which may be given in milliseconds (apache-semantics §7.2).
 *
 * A failure before the TCP connection stands is a connect failure (or 'dns' when the name does
 * not resolve); one after it, during or right after the handshake, is a MemberTlsError (kind
 * 'tls'), as httpd's "Error during SSL Handshake with remote server".
 *
 * TLS sessions are kept per server name and offered again when a new connection opens, so a pool
 * that opens connections now and then resumes instead of a full handshake each time.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { MemberTlsConfig } from '../../config/types.js';
import { hostWithoutPort } from '../../proxy/headers.js';
import { MemberTlsError, memberTlsOptions, peerProblem } from '../../tls/member.js';

/** TLS sessions kept, one per server name (a member normally has one or two names). */
const MAX_SESSIONS = 100;
/** SO_KEEPALIVE's first probe after this idle time (member `keepalive`). */
const KEEPALIVE_DELAY_MS = 60_000;

export type Connected = (err: Error | null, socket: net.Socket | null) => void;

/** A failure after the TCP connection was made: the TLS handshake's (or the checks after it). */
function handshakeFailure(err: Error & { code?: string }): MemberTlsError {
  return err instanceof MemberTlsError ? err : new MemberTlsError(err.message, err.code ?? 'ERR_TLS_HANDSHAKE', { cause: err });
}

/**
 * The SNI name for a request: the host of its Host header (the member's, or the client's with
 * preservehost), else the member's host; none when that is an address (SNI carries names only).
 */
export function serverName(hostHeader: string, memberHost: string): string {
  const fromHeader = hostWithoutPort(hostHeader);
  if (fromHeader !== '' && net.isIP(fromHeader) === 0) return fromHeader;
  return net.isIP(memberHost) === 0 ? memberHost : '';
}

export class MemberDialer {
  private readonly tlsOptions: tls.ConnectionOptions | null;
  private readonly sessions = new Map<string, Buffer>();

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeout: number,
    private readonly keepAlive: boolean,
    private readonly tlsConfig: MemberTlsConfig | null,
  ) {
    this.tlsOptions = tlsConfig === null ? null : memberTlsOptions(tlsConfig);
  }

  /**
   * Open a connection; `done` is told once, with the connected socket or the error. The socket is
   * returned at once so that the caller can destroy it when the request is given up meanwhile.
   */
  dial(servername: string, done: Connected): net.Socket {
    let settled = false;
    let tcpConnected = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', finish);
      if (err !== null) {
        socket.destroy();
        done(this.tlsConfig !== null && tcpConnected ? handshakeFailure(err) : err, null);
        return;
      }
      done(null, socket);
    };
    const socket = this.open(servername);
    const timer = setTimeout(() => {
      finish(
        tcpConnected
          ? handshakeFailure(Object.assign(new Error(`the TLS handshake did not complete within ${this.timeout} ms`), { code: 'ETIMEDOUT' }))
          : Object.assign(new Error(`connect timed out after ${this.timeout} ms`), { code: 'ETIMEDOUT' }),
      );
    }, this.timeout);
    socket.on('error', finish);
    // Destroyed by the caller meanwhile (the request was given up): over, quietly.
    socket.once('close', () => finish(Object.assign(new Error('the connection was closed while it opened'), { code: 'ECONNABORTED' })));
    socket.setNoDelay(true);
    if (this.keepAlive) socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    if (this.tlsConfig === null) {
      socket.once('connect', () => finish(null));
      return socket;
    }
    const tlsConfig = this.tlsConfig;
    socket.once('connect', () => (tcpConnected = true));
    socket.once('secureConnect', () => {
      finish(peerProblem(tlsConfig, socket as tls.TLSSocket, servername || this.host));
    });
    return socket;
  }

  private open(servername: string): net.Socket {
    if (this.tlsOptions === null) return net.connect({ host: this.host, port: this.port });
    const key = servername || this.host;
    const socket = tls.connect({
      ...this.tlsOptions,
      host: this.host,
      port: this.port,
      ...(servername !== '' ? { servername } : {}),
      ...(this.sessions.has(key) ? { session: this.sessions.get(key)! } : {}),
      ALPNProtocols: ['http/1.1'],
    });
    socket.on('session', (session: Buffer) => {
      if (!this.sessions.has(key) && this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(key, session);
    });
    return socket;
  }
}

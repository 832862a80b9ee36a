/**
 * How an HTTP member's connections are opened: undici's connector with our own connect timer, and
 * for https:// members the certificate checks of SSLProxy* (tls/member.ts) once the handshake is
 * done.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { buildConnector } from 'undici';
import type { MemberTlsConfig } from '../../config/types.js';
import { MemberTlsError, memberTlsOptions, peerProblem } from '../../tls/member.js';

/** A failure after the TCP connection was made: the TLS handshake's (or the checks after it). */
function handshakeFailure(err: Error & { code?: string }): MemberTlsError {
  return err instanceof MemberTlsError ? err : new MemberTlsError(err.message, err.code ?? 'ERR_TLS_HANDSHAKE', { cause: err });
}

/**
 * undici's connector with our own connect timer: undici's runs on its coarse timer wheel (about a
 * second of resolution), and `connectiontimeout` may be given in milliseconds (apache-semantics §7.2). For an
 * https:// member the timer covers the TLS handshake too, and a failure once the TCP connection
 * stands is a MemberTlsError (kind 'tls'), not a connect failure.
 */
export function preciseConnector(timeout: number, keepAlive: boolean, tls: MemberTlsConfig | null): buildConnector.connector {
  const connect = buildConnector({ timeout: 0, keepAlive, ...(tls !== null ? memberTlsOptions(tls) : {}) });
  return (options, callback) => {
    let done = false;
    let tcpConnected = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      socket?.destroy();
      callback(
        tcpConnected
          ? handshakeFailure(Object.assign(new Error(`the TLS handshake did not complete within ${timeout} ms`), { code: 'ETIMEDOUT' }))
          : Object.assign(new Error(`connect timed out after ${timeout} ms`), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
        null,
      );
    }, timeout);
    // undici's connector returns the socket it creates (its type says void).
    const socket = connect(options, (err, s) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err !== null) {
        callback(tls !== null && tcpConnected ? handshakeFailure(err) : err, null);
        return;
      }
      if (tls !== null) {
        const hostname = options.hostname.startsWith('[') ? options.hostname.slice(1, -1) : options.hostname;
        const problem = peerProblem(tls, s as TLSSocket, options.servername || hostname);
        if (problem !== null) {
          (s as Socket).destroy();
          callback(problem, null);
          return;
        }
      }
      callback(null, s as Socket);
    }) as unknown as Socket | undefined;
    if (tls !== null) socket?.once('connect', () => (tcpConnected = true));
  };
}


/**
 * An https:// member for tests: node's https server on 127.0.0.1 that records what each request
 * and TLS connection brought (SNI name, client certificate, TLS version, session reuse). Close
 * every backend with `closeHttpsBackends()` (afterEach).
 */
import https from 'node:https';
import type net from 'node:net';
import type tls from 'node:tls';

export interface HttpsSeen {
  url: string;
  host: string | undefined;
  /** The SNI name the client sent (false: none). */
  servername: string | false;
  /** CN of the client certificate, or null. */
  clientCn: string | null;
  protocol: string | null;
  /** Index of the TLS connection (per backend). */
  connection: number;
  resumed: boolean;
}

export interface HttpsBackend {
  name: string;
  port: number;
  /** https://127.0.0.1:port */
  url: string;
  seen: HttpsSeen[];
  /** TLS connections completed. */
  connections: number;
  server: https.Server;
  close(): Promise<void>;
}

const open = new Set<HttpsBackend>();

export async function closeHttpsBackends(): Promise<void> {
  for (const b of [...open]) await b.close().catch(() => {});
}

/**
 * Answers `name` (or what `handler` writes). `options` are https.createServer's: key, cert, ca,
 * requestCert, minVersion ...
 */
export async function startHttpsBackend(
  name: string,
  options: https.ServerOptions,
  handler?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
): Promise<HttpsBackend> {
  const sockets = new Set<net.Socket>();
  const index = new WeakMap<tls.TLSSocket, number>();
  const server = https.createServer(options);
  const b: HttpsBackend = {
    name,
    port: 0,
    url: '',
    seen: [],
    connections: 0,
    server,
    async close() {
      open.delete(b);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: tls.TLSSocket) => {
    index.set(s, b.connections++);
  });
  server.on('tlsClientError', () => {});
  server.on('request', (req, res) => {
    const s = req.socket as tls.TLSSocket;
    const peer = s.getPeerCertificate();
    b.seen.push({
      url: req.url ?? '',
      host: req.headers.host,
      servername: (s as tls.TLSSocket & { servername?: string | false }).servername ?? false,
      clientCn: peer && peer.subject ? (peer.subject.CN as string | undefined) ?? null : null,
      protocol: s.getProtocol(),
      connection: index.get(s) ?? -1,
      resumed: s.isSessionReused(),
    });
    req.resume();
    req.on('end', () => {
      if (handler) handler(req, res);
      else res.end(name);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  b.port = (server.address() as net.AddressInfo).port;
  b.url = `https://127.0.0.1:${b.port}`;
  open.add(b);
  return b;
}

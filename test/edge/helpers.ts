/**
 * Fixtures for the edge tests: a daemon (in this process, or worker threads) on a YAML text whose
 * `PORT0`, `PORT1`... become free ports on 127.0.0.1, and clients over TLS, HTTP/1.1 and HTTP/2
 * that trust the test CA (test/helpers/pki.ts). `edgeCleanup()` stops what was started here and
 * the backends of test/proxy/helpers.ts.
 */
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { AccessRecord } from '../../src/log.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { freePorts } from '../helpers/ports.js';
import { cleanup } from '../proxy/helpers.js';

const closers: Array<() => Promise<void>> = [];

export async function edgeCleanup(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  await cleanup();
}

export interface Edge {
  daemon: Daemon;
  ports: number[];
  config: Config;
  records: AccessRecord[];
  logLines: string[];
}

/**
 * A daemon on `yaml`; PORT0..PORTn are replaced by free ports. One worker (this thread) unless the
 * text says `workers:`.
 */
export async function startEdge(yaml: string, options: { accessLog?: boolean } = {}): Promise<Edge> {
  const count = (yaml.match(/PORT\d/g) ?? []).reduce((n, p) => Math.max(n, Number(p.slice(4)) + 1), 0);
  const ports = await freePorts(Math.max(count, 1));
  const text = yaml.replace(/PORT(\d)/g, (_m, i: string) => String(ports[Number(i)]));
  const withServer = /^server:/m.test(text) ? text : `${text}\nserver: { servername: proxy.test }\n`;
  const config = parseConfig(withServer, '/tmp/edge-test.yaml', {});
  if (!/\bworkers:/.test(yaml)) config.server.workers = 1;
  const { logger, lines: logLines } = memoryLogger();
  const daemon = await startDaemon(config, { logger, accessLogger: options.accessLog === true ? undefined : null });
  const records: AccessRecord[] = [];
  daemon.onRequest((r) => records.push(r));
  closers.push(() => daemon.stop());
  return { daemon, ports, config, records, logLines };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The certificate the server presented (CN), the TLS version and whether the session was resumed. */
  subject?: string;
  protocol?: string | null;
  resumed?: boolean;
  session?: Buffer;
  alpn?: string | false | null;
}

export interface HttpsOptions {
  ca: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  servername?: string;
  session?: Buffer;
  maxVersion?: tls.SecureVersion;
  minVersion?: tls.SecureVersion;
  agent?: https.Agent | false;
}

/** One HTTPS (HTTP/1.1) request to 127.0.0.1:port, SNI `servername` (default localhost). */
export function httpsRequest(port: number, path: string, o: HttpsOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const req = https.request({
      host: '127.0.0.1',
      port,
      path,
      method: o.method ?? 'GET',
      headers: o.headers,
      ca: o.ca,
      servername: o.servername ?? 'localhost',
      agent: o.agent ?? false,
      ...(o.session ? { session: o.session } : {}),
      ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
      ...(o.minVersion ? { minVersion: o.minVersion } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      const socket = res.socket as tls.TLSSocket;
      const facts = { subject: String(socket.getPeerCertificate().subject?.CN), protocol: socket.getProtocol(), resumed: socket.isSessionReused(), alpn: socket.alpnProtocol };
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), ...facts, ...(session ? { session } : {}) }));
      res.on('error', reject);
    });
    req.on('socket', (s) => s.on('session', (sess: Buffer) => (session = sess)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** An HTTP/2 client session over TLS (ALPN h2) to 127.0.0.1:port, or h2c with `plain`. */
export function h2Connect(port: number, o: { ca?: string; servername?: string; plain?: boolean; settings?: http2.Settings } = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const authority = o.plain ? `http://127.0.0.1:${port}` : `https://${o.servername ?? 'localhost'}:${port}`;
    const session = http2.connect(authority, {
      ...(o.plain ? {} : { ca: o.ca, servername: o.servername ?? 'localhost', createConnection: () => tls.connect({ host: '127.0.0.1', port, ca: o.ca, servername: o.servername ?? 'localhost', ALPNProtocols: ['h2'] }) }),
      ...(o.settings ? { settings: o.settings } : {}),
    });
    session.once('connect', () => {
      session.off('error', reject);
      session.on('error', () => {});
      resolve(session);
    });
    session.once('error', reject);
    closers.push(async () => {
      if (!session.destroyed) session.destroy();
    });
  });
}

export interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** One request on an HTTP/2 session. `headers` may repeat a field (array values). */
export function h2Request(session: http2.ClientHttp2Session, path: string, o: { method?: string; headers?: http2.OutgoingHttpHeaders; body?: string | Buffer; authority?: string } = {}): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': o.method ?? 'GET', ':path': path, ...(o.authority ? { ':authority': o.authority } : {}), ...o.headers }, { endStream: o.body === undefined });
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      headers = h;
      status = Number(h[':status']);
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks).toString() }));
    stream.on('error', reject);
    if (o.body !== undefined) stream.end(o.body);
  });
}

/** Raw bytes to 127.0.0.1:port; resolves with everything the server sent until it closed. */
export function rawExchange(port: number, bytes: string | Buffer, o: { timeoutMs?: number } = {}): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const s = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${o.timeoutMs ?? 5000} ms; got ${Buffer.concat(chunks).toString()}`));
    }, o.timeoutMs ?? 5000);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfterMs: performance.now() - started });
    });
    if (bytes.length > 0) s.write(bytes);
  });
}

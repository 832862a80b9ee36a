/**
 * Fixtures of the admin and health-check tests: the daemon in-process with its operations (admin
 * listener, health checks), small node:http backends on 127.0.0.1 that can die and come back, and
 * an HTTP client. Everything is closed by `cleanup()` (call it from afterEach).
 */
import http from 'node:http';
import type net from 'node:net';
import { Balancer } from '../../src/balancer/balancer.js';
import type { Operations } from '../../src/admin/operations.js';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { AccessRecord } from '../../src/log.js';
import { patience, PATIENCE_MS } from '../helpers/patience.js';
import { freePorts } from '../helpers/ports.js';
import { memoryLogger } from '../helpers/memory-logger.js';

const closers: Array<() => Promise<void>> = [];

export async function cleanup(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
}

/** A config from YAML without `listen:` (one is added on the given or a dummy port). */
export function configOf(yaml: string, port = 1): Config {
  return parseConfig(`listen: [{ address: 127.0.0.1, port: ${port} }]\nserver: { servername: proxy.test, workers: 1 }\n${yaml}`, 'test.yaml', {});
}

/** The balancer `name` built from YAML (pure tests). */
export function balancerOf(yaml: string, name = 'c1'): Balancer {
  const config = configOf(yaml);
  return new Balancer(config.balancers.find((b) => b.name === name)!);
}

export interface Backend {
  name: string;
  port: number;
  url: string;
  /** Requests received (method and URL), in order. */
  received: Array<{ method: string; url: string; cookie: string | undefined }>;
  /** Requests being handled right now, and the most at once. */
  inFlight: number;
  maxInFlight: number;
  /** Stop listening and cut open connections (the member dies). */
  stop(): Promise<void>;
  /** Listen again on the same port (the member comes back). */
  start(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, b: Backend) => void;

/**
 * A backend like a Tomcat node: answers JSON {backend, session}; a request without a JSESSIONID
 * cookie gets a new session `<n>.<route>` in Set-Cookie.
 */
export function sessionHandler(route: string): Handler {
  let n = 0;
  return (req, res, b) => {
    const cookie = req.headers.cookie;
    const existing = /JSESSIONID=([^;,\s]+)/.exec(cookie ?? '')?.[1];
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    let session = existing;
    if (session === undefined) {
      session = `s${++n}x${b.port}.${route}`;
      headers['Set-Cookie'] = `JSESSIONID=${session}; Path=/`;
    }
    res.writeHead(200, headers);
    res.end(JSON.stringify({ backend: b.name, session }));
  };
}

export const okHandler: Handler = (_req, res, b) => {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ backend: b.name }));
};

export async function startBackend(name: string, handler: Handler = okHandler): Promise<Backend> {
  let server: http.Server | null = null;
  const sockets = new Set<net.Socket>();
  const b: Backend = {
    name,
    port: 0,
    url: '',
    received: [],
    inFlight: 0,
    maxInFlight: 0,
    async start() {
      const s = http.createServer((req, res) => {
        b.received.push({ method: req.method ?? '', url: req.url ?? '', cookie: req.headers.cookie });
        b.inFlight++;
        b.maxInFlight = Math.max(b.maxInFlight, b.inFlight);
        res.once('close', () => b.inFlight--);
        handler(req, res, b);
      });
      s.on('connection', (sock: net.Socket) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(b.port, '127.0.0.1', () => resolve());
      });
      b.port = (s.address() as net.AddressInfo).port;
      b.url = `http://127.0.0.1:${b.port}`;
      server = s;
    },
    async stop() {
      const s = server;
      server = null;
      if (s === null) return;
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await b.start();
  closers.push(() => b.stop());
  return b;
}

export interface Stack {
  daemon: Daemon;
  ops: Operations;
  config: Config;
  proxyUrl: string;
  /** http://127.0.0.1:<admin port> (when admin is configured). */
  adminUrl: string;
  records: AccessRecord[];
  logLines: string[];
  /** Reload the daemon on new YAML (its operations follow). */
  reload(yaml: string): Promise<void>;
}

/**
 * The daemon in-process (with its operations: health checks, admin listener) on YAML without
 * `listen:`; `ADMIN_PORT` in the text is replaced by a free port (so `admin: { port: ADMIN_PORT }`
 * works).
 */
export async function startStack(yaml: string): Promise<Stack> {
  const [port, adminPort] = (await freePorts(2)) as [number, number];
  const text = (y: string) => y.replaceAll('ADMIN_PORT', String(adminPort));
  const config = configOf(text(yaml), port);
  const { logger, lines: logLines } = memoryLogger();
  const daemon = await startDaemon(config, { logger, accessLogger: null });
  closers.push(() => daemon.stop());
  const ops = daemon.operations;
  const records: AccessRecord[] = [];
  daemon.onRequest((r) => records.push(r));
  return {
    daemon,
    ops,
    config,
    proxyUrl: `http://127.0.0.1:${port}`,
    adminUrl: ops.admin ? `http://127.0.0.1:${ops.admin.port}` : '',
    records,
    logLines,
    async reload(next: string) {
      await daemon.reload(configOf(text(next), port));
    },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with node:http, no keep-alive. `json` sends a JSON body with its content type. */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; json?: unknown; token?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] ??= 'application/json';
  }
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** JSON of a reply. */
export function json<T = Record<string, unknown>>(r: Reply): T {
  return JSON.parse(r.body) as T;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` every 20 ms until it returns true, or fails with `what` after `timeoutMs` or
 * PATIENCE_MS, whichever is longer (test/helpers/patience.ts).
 */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = PATIENCE_MS): Promise<void> {
  timeoutMs = patience(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(20);
  }
}

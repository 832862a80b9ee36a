/**
 * Test fixtures for the request path: small node:http backends that record what they received, an
 * in-process daemon on a YAML text, and raw-socket helpers. Everything listens on 127.0.0.1 and is
 * closed by `cleanup()` (call it from afterEach).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { freePort, refusedPort } from '../helpers/ports.js';
import { memoryLogger } from '../helpers/memory-logger.js';

const closers: Array<() => Promise<void>> = [];

/** Close every backend, daemon and socket the fixtures made. */
export async function cleanup(): Promise<void> {
  const all = closers.splice(0).reverse();
  for (const close of all) await close().catch(() => {});
}

export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  /** Index of the TCP connection (per backend) the request came on. */
  connection: number;
}

export interface Backend {
  name: string;
  port: number;
  url: string;
  /** Requests that reached the handler, complete with body. */
  received: Received[];
  /** TCP connections accepted. */
  connections: number;
  server: http.Server;
  close(): Promise<void>;
}

export type BackendHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, backend: Backend) => void;

/** Answers 200 with JSON {backend, url, method, bodyLength}. */
export const echo: BackendHandler = (req, res, body, b) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ backend: b.name, url: req.url, method: req.method, bodyLength: body.length, headers: req.headers }));
};

/** A node:http backend on 127.0.0.1 (a fixed port when given: to restart a member in place). */
export async function startBackend(name: string, handler: BackendHandler = echo, port = 0): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const b: Backend = {
    name,
    port: 0,
    url: '',
    received: [],
    connections: 0,
    server: http.createServer(),
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => b.server.close(() => resolve()));
    },
  };
  const connIndex = new WeakMap<net.Socket, number>();
  b.server.on('connection', (s: net.Socket) => {
    connIndex.set(s, b.connections++);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  b.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      b.received.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body, connection: connIndex.get(req.socket) ?? -1 });
      handler(req, res, body, b);
    });
  });
  await new Promise<void>((resolve) => b.server.listen(port, '127.0.0.1', resolve));
  b.port = (b.server.address() as net.AddressInfo).port;
  b.url = `http://127.0.0.1:${b.port}`;
  closers.push(() => b.close());
  return b;
}

/** A TCP server with a custom connection handler (garbage, resets, silence). Counts connections. */
export async function startRawBackend(onConnection: (socket: net.Socket) => void): Promise<{ port: number; url: string; connections: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    r.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const r = {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  closers.push(() => r.close());
  return r;
}

/** A port where connections are refused, reserved until cleanup (see refusedPort). */
export async function deadPort(): Promise<number> {
  const { port, release } = await refusedPort();
  closers.push(async () => release());
  return port;
}

/**
 * A port on 127.0.0.1 where a connect never completes: a listener (python3, which can listen
 * without accepting) whose accept queue is full, so the kernel drops further SYNs. This is the
 * "blackholed address on loopback" of apache-semantics §9.7 for connect timeouts.
 */
export async function blackholePort(): Promise<number> {
  const py = spawn('python3', ['-c', 'import socket,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const fill: net.Socket[] = [];
  closers.push(async () => {
    for (const s of fill) s.destroy();
    if (py.exitCode === null) py.kill('SIGKILL');
  });
  const port = Number(await new Promise<string>((resolve, reject) => {
    py.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    py.once('error', reject);
  }));
  // Fill the accept queue; connects beyond it hang.
  for (let i = 0; i < 3; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    fill.push(s);
    await sleep(30);
  }
  return port;
}

export interface Proxy {
  daemon: Daemon;
  port: number;
  url: string;
  config: Config;
  /** Access records seen so far. */
  records: Array<import('../../src/log.js').AccessRecord>;
  /** Log lines the daemon wrote (its own messages). */
  logLines: string[];
}

/**
 * Start an in-process daemon on a YAML text. `LISTEN` in the text is replaced by a listen entry on
 * a free port; the text needs no `listen:` of its own.
 */
export async function startProxy(yaml: string): Promise<Proxy> {
  const port = await freePort();
  const server = /^server:/m.test(yaml) ? '' : 'server: { servername: proxy.test }\n';
  const text = `listen: [{ address: 127.0.0.1, port: ${port} }]\n${server}${yaml}`;
  const config = parseConfig(text, 'test.yaml', {});
  // These tests watch one thread's daemon (its counters, records, balancers); a test about worker
  // threads says `workers:` itself.
  if (!/\bworkers:/.test(yaml)) config.server.workers = 1;
  const { logger, lines: logLines } = memoryLogger();
  const daemon = await startDaemon(config, { logger, accessLogger: null });
  const records: Proxy['records'] = [];
  daemon.onRequest((r) => records.push(r));
  closers.push(() => daemon.stop());
  return { daemon, port, url: `http://127.0.0.1:${port}`, config, records, logLines };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** One HTTP request with node:http (no keep-alive unless an agent is given). */
export function request(
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders | string[]; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers as http.OutgoingHttpHeaders, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Write raw bytes to the proxy and collect everything it answers until it closes (or `waitMs`). */
export function rawExchange(port: number, data: string | Buffer, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', done);
    s.on('error', done);
    s.write(data);
  });
}

/** A raw client connection, added to `opened` (for the test to destroy): what it received so far, and a promise of its end. */
export function rawClient(port: number, opened: net.Socket[]): { socket: net.Socket; received: () => string; closed: Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  opened.push(socket);
  let out = '';
  socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, received: () => out, closed };
}

/** A keep-alive agent with one socket, closed by cleanup(). */
export function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  closers.push(async () => agent.destroy());
  return agent;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Parse a JSON body of the `echo` backend. */
export function echoed(reply: Reply): { backend: string; url: string; method: string; bodyLength: number; headers: http.IncomingHttpHeaders } {
  return JSON.parse(reply.body) as ReturnType<typeof echoed>;
}

/** Member runtime state, as the balancer-manager would show it. */
export function memberState(proxy: Proxy, balancer: string, url: string) {
  const m = proxy.daemon.balancers.get(balancer)!.member(url)!;
  return { usable: m.usable, status: m.status, elected: m.elected, busy: m.busy, retries: m.retries, errorTime: m.errorTime, transferred: m.transferred, read: m.read };
}

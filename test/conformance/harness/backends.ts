/**
 * The members both fronts (Apache and stickyd) balance over: small node:http servers on 127.0.0.1
 * that answer with their own name and record what they received. Both fronts share the same
 * backends, so a member URL (BALANCER_WORKER_NAME) is the same string on both sides.
 *
 * What a backend answers depends only on the request path, so a scenario can ask for a status, a
 * body size or response headers without a backend per case:
 *
 *   .../status/<code>   that status, body "<name> says <code>"
 *   .../bytes/<n>       200 with a body of n bytes (bytraffic)
 *   .../reverse         Location / Content-Location / Set-Cookie headers to be rewritten (§8)
 *   .../hop             hop-by-hop response headers the proxy must strip (§8)
 *   .../hold/<key>      no answer until the test calls `release(key)` (a busy member, a timeout)
 *   anything else       200, JSON {backend, method, url, bodyLength}
 *
 * Every answer carries `X-Backend: <name>`, which is how a test tells which member served it.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { refusedPort } from '../../helpers/ports.js';

export interface Received {
  method: string;
  url: string;
  /** Header names lower-cased; repeated headers in arrival order. */
  headers: Array<[string, string]>;
  bodyLength: number;
  /** sha256 of the body: a replayed body must arrive byte for byte. */
  bodySha256: string;
}

export interface Backend {
  name: string;
  port: number;
  /** `http://127.0.0.1:<port>`: what httpd calls the worker name. */
  url: string;
  received: Received[];
  /** Answer the requests held under `key` (every held request without a key). */
  release(key?: string): void;
  close(): Promise<void>;
}

function respond(b: Backend, req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, hold: (key: string, go: () => void) => void): void {
  const path = req.url ?? '/';
  res.setHeader('X-Backend', b.name);
  const held = /\/hold\/(\w+)/.exec(path);
  if (held) {
    hold(held[1]!, () => {
      if (!res.destroyed) res.end(`${b.name} released`);
    });
    return;
  }
  const status = /\/status\/(\d{3})(?:[/?]|$)/.exec(path);
  if (status) {
    res.statusCode = Number(status[1]);
    res.setHeader('Content-Type', 'text/plain');
    res.end(`${b.name} says ${status[1]}`);
    return;
  }
  const bytes = /\/bytes\/(\d+)(?:[/?]|$)/.exec(path);
  if (bytes) {
    res.setHeader('Content-Type', 'application/octet-stream');
    res.end(Buffer.alloc(Number(bytes[1]), 0x61));
    return;
  }
  if (/\/reverse(?:[/?]|$)/.test(path)) {
    // The §8 examples: own URL with a path and query, a bare own URL, a local path, a foreign
    // host, and upper-case scheme and host (the member URL is matched case-insensitively).
    const which = /[?&]loc=(\w+)/.exec(path)?.[1] ?? 'own';
    const own = b.url;
    const locations: Record<string, string> = {
      own: `${own}/bar?q=1`,
      bare: own,
      upper: `HTTP://127.0.0.1:${b.port}/upper`,
      local: '/local',
      foreign: 'http://elsewhere.test:8080/x',
    };
    res.statusCode = 302;
    res.setHeader('Location', locations[which] ?? own);
    res.setHeader('Content-Location', `${own}/content`);
    res.setHeader('Set-Cookie', [
      'A=1; Path=/app/sub; HttpOnly',
      'B=2; path=/application',
      'C=3; Path=/other',
      'D=4; Domain=backend.local; Path=/app',
      'E=5; domain=sub.backend.local',
    ]);
    res.end(`${b.name} redirects`);
    return;
  }
  if (/\/hop(?:[/?]|$)/.test(path)) {
    res.setHeader('Keep-Alive', 'timeout=5');
    res.setHeader('Proxy-Authenticate', 'Basic realm="x"');
    res.setHeader('Trailer', 'X-Checksum');
    res.setHeader('Upgrade', 'h2c');
    res.setHeader('Connection', 'X-Resp-Hop');
    res.setHeader('X-Resp-Hop', 'listed in Connection');
    res.setHeader('X-Resp-Kept', 'end to end');
    res.setHeader('X-Resp-Multi', ['one', 'two']);
    res.setHeader('Content-Type', 'text/plain');
    res.end('hop');
    return;
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ backend: b.name, method: req.method, url: path, bodyLength: body.length }));
}

/** A backend on 127.0.0.1 (on a port the kernel picks), closed by its `close()`. */
export function startBackend(name: string): Promise<Backend> {
  return startBackendOn(name, 0);
}

/** A backend on a given port: one started again where a closed one was (a member that comes back). */
export async function startBackendOn(name: string, port: number): Promise<Backend> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer();
  const held: Array<{ key: string; go: () => void }> = [];
  const b: Backend = {
    name,
    port: 0,
    url: '',
    received: [],
    release(key) {
      for (const h of held.filter((x) => key === undefined || x.key === key)) {
        held.splice(held.indexOf(h), 1);
        h.go();
      }
    },
    async close() {
      b.release();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
      b.received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers,
        bodyLength: body.length,
        bodySha256: createHash('sha256').update(body).digest('hex'),
      });
      respond(b, req, res, body, (key, go) => held.push({ key, go }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  b.port = (server.address() as net.AddressInfo).port;
  b.url = `http://127.0.0.1:${b.port}`;
  return b;
}

/**
 * A member URL where nothing listens: every connect is refused, which is httpd's "503 from the
 * scheme handler" (apache-semantics §4.1) that puts the member in error and fails over. The kernel does not
 * hand a port it just gave out to the next bind, so it stays free for the test.
 */
export async function deadMemberUrl(): Promise<string> {
  // Reserved for the rest of this test process (refusedPort), so no parallel test can take it.
  return `http://127.0.0.1:${(await refusedPort()).port}`;
}

/**
 * A member that accepts the connection, reads the request head and closes without answering
 * (apache-semantics §4.1, §9.9). Counts the requests it swallowed.
 */
export async function startClosingBackend(): Promise<{ url: string; requests: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let head = '';
    s.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        r.requests++;
        s.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r = {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return r;
}

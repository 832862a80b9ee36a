/**
 * The floor under stickyd's figures: the smallest sticky proxy that can be written on the same
 * stack (node:http server, one undici Pool per member, `pool.dispatch` with a handler that streams
 * straight into the client response). It routes like the other targets (JSESSIONID route suffix,
 * else round robin) and adds X-Forwarded-For, and does nothing else: no balancer state, no
 * retries, no error pages, no access log. What stickyd costs beyond this is stickyd's own code.
 *
 *   node bench/lib/minimal-proxy.ts PORT ROUTE=MEMBER_PORT [ROUTE=MEMBER_PORT ...]   (through tsx)
 */
import http from 'node:http';
import { Pool } from 'undici';

const port = Number(process.argv[2]);
const members = process.argv.slice(3).map((spec) => {
  const [route, memberPort] = spec.split('=') as [string, string];
  return { route, pool: new Pool(`http://127.0.0.1:${memberPort}`, { connections: 128, pipelining: 1 }) };
});
const byRoute = new Map(members.map((m) => [m.route, m]));
let next = 0;

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

function pick(cookie: string | undefined): (typeof members)[number] {
  const i = cookie === undefined ? -1 : cookie.indexOf('JSESSIONID=');
  if (i !== -1) {
    const end = cookie!.indexOf(';', i);
    const value = cookie!.slice(i + 11, end === -1 ? undefined : end);
    const dot = value.indexOf('.');
    const m = dot === -1 ? undefined : byRoute.get(value.slice(dot + 1));
    if (m) return m;
  }
  next = (next + 1) % members.length;
  return members[next]!;
}

const server = http.createServer((req, res) => {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  }
  headers.push('X-Forwarded-For', req.socket.remoteAddress ?? '');
  // The client went away before its response was complete (wrk does at the end of every run, with
  // up to 50 requests in flight): abort the member request, as stickyd does (src/proxy/handler.ts).
  // Without it, onData's res.write() returns false on the destroyed response, undici pauses that
  // member connection until 'drain', which a destroyed response never emits: the connection stays
  // taken until undici's 300 s body timeout, and then the next queued request whose client is gone
  // takes it again. Once a pool's 128 are taken, every request to that member waits.
  let abort: ((err: Error) => void) | null = null;
  res.on('close', () => {
    if (!res.writableFinished) abort?.(new Error('the client closed its connection'));
  });
  pick(req.headers.cookie).pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers }, {
    onConnect(abortRequest: (err: Error) => void) {
      // A request that waited in the pool's queue may find its client already gone.
      if (res.destroyed) abortRequest(new Error('the client closed its connection'));
      else abort = abortRequest;
    },
    onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string) {
      res.on('drain', resume);
      const out: string[] = [];
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!.toString('latin1');
        if (!HOP.has(name.toLowerCase())) out.push(name, rawHeaders[i + 1]!.toString('latin1'));
      }
      res.writeHead(status, statusText, out);
      return true;
    },
    onData(chunk: Buffer) {
      return res.write(chunk);
    },
    onComplete() {
      res.end();
    },
    onError() {
      if (res.destroyed) return;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  } as never);
});
server.keepAliveTimeout = 300_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));

/**
 * bench/lib/minimal-proxy.ts on undici's newer handler API (onRequestStart, onResponseStart with a
 * controller, ...), the only one undici 8 speaks natively (its legacy onHeaders handlers go
 * through a wrapper), with the undici module named by UNDICI_MODULE (default: the project's). It
 * answers issue 9 §3's "measure undici 8 against 7": instructions per request under callgrind,
 *
 *   npm install --prefix /tmp/u8 undici@8
 *   UNDICI_MODULE=/tmp/u8/node_modules/undici/index.js \
 *     node --conditions=stickyd-source --import tsx bench/instructions.ts --target minimal \
 *     --minimal bench/lib/minimal-proxy-undici8.ts
 *
 * against bench/instructions.ts --target minimal (undici 7, legacy handlers, its native API).
 * Under undici 7 this variant forwards no member headers (undici 7's controller has no
 * rawHeaders): compare it there only with that in mind.
 */
import http from 'node:http';
const { Pool } = (await import(process.env.UNDICI_MODULE ?? 'undici')) as typeof import('undici');

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
  // The client went away first: abort the member request (bench/lib/minimal-proxy.ts says why).
  let abort: ((reason: Error) => void) | null = null;
  res.on('close', () => {
    if (!res.writableFinished) abort?.(new Error('the client closed its connection'));
  });
  pick(req.headers.cookie).pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers }, {
    onRequestStart(controller: { abort(reason: Error): void }) {
      if (res.destroyed) controller.abort(new Error('the client closed its connection'));
      else abort = (reason) => controller.abort(reason);
    },
    onResponseStart(controller: { rawHeaders?: Buffer[]; pause(): void; resume(): void }, status: number, _headers: unknown, statusText: string) {
      res.on('drain', () => controller.resume());
      const rawHeaders = controller.rawHeaders ?? [];
      const out: string[] = [];
      for (let i = 0; i < rawHeaders.length; i += 2) {
        const name = rawHeaders[i]!.toString('latin1');
        if (!HOP.has(name.toLowerCase())) out.push(name, rawHeaders[i + 1]!.toString('latin1'));
      }
      res.writeHead(status, statusText, out);
    },
    onResponseData(controller: { pause(): void }, chunk: Buffer) {
      if (!res.write(chunk)) controller.pause();
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError() {
      if (res.destroyed) return;
      if (!res.headersSent) res.writeHead(502);
      res.end();
    },
  } as never);
});
server.keepAliveTimeout = 300_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));

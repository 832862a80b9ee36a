/**
 * What an access log line costs on the request path, per format: formatting a record (json,
 * common, combined, combined with BALANCER_* variables and %D, one that reads response headers and
 * mod_logio's byte counts), and formatting plus encoding it into the batch that goes to the sink
 * (what AccessLog.emit does for every request). Prints CPU ns per line; asserts nothing.
 *
 *   node --conditions=stickyd-source --import tsx bench/access-log.ts [--quick]
 *
 * The record's context is a real one: node's request and response objects of one request served
 * on 127.0.0.1 with a browser's headers, kept after the response.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessLog, type AccessRecord } from '../src/log.js';
import { accessFormatter } from '../src/log/access-format.js';
import { LineBatcher } from '../src/log/batch.js';

const quick = process.argv.includes('--quick');
const ITERATIONS = quick ? 50_000 : 300_000;
const ROUNDS = quick ? 3 : 7;

const FORMATS: Array<[string, string]> = [
  ['json', 'json'],
  ['common', 'common'],
  ['combined', 'combined'],
  ['combined + BALANCER_* + %D', '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %{BALANCER_WORKER_ROUTE}e %{BALANCER_SESSION_ROUTE}e %{BALANCER_ROUTE_CHANGED}e %D'],
  ['response headers + %I %O', '%h %t "%r" %>s %{Content-Type}o %{Set-Cookie}o %X %k %I %O'],
];

/** One real request: its IncomingMessage and ServerResponse, after the response finished. */
async function realExchange(): Promise<{ req: http.IncomingMessage; res: http.ServerResponse }> {
  let captured: { req: http.IncomingMessage; res: http.ServerResponse } | null = null;
  const server = http.createServer((req, res) => {
    captured = { req, res };
    res.writeHead(200, 'OK', ['Content-Type', 'text/html; charset=utf-8', 'Set-Cookie', 'JSESSIONID=5D88FB8A45AADCACD960227FBFEC19B0.jvm_a; Path=/; HttpOnly', 'Content-Length', '143']);
    res.end('x'.repeat(143));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve, reject) => {
    http.get({
      host: '127.0.0.1', port, path: '/myweb/cart/items?page=2&sort=price', agent: false,
      headers: {
        'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
        'Accept-Language': 'en-US,en;q=0.9',
        Referer: 'http://shop.example.com/myweb/cart',
        Cookie: 'JSESSIONID=5D88FB8A45AADCACD960227FBFEC19B0.jvm_a; theme=dark',
      },
    }, (r) => {
      r.resume();
      r.on('end', resolve);
    }).on('error', reject);
  });
  server.close();
  return captured!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * CPU ns per call of fn, median of ROUNDS rounds of ITERATIONS calls (after a warm-up round). CPU
 * time, not wall time: on a shared machine the wall clock also counts the time other processes
 * had the core.
 */
function measure(fn: (i: number) => void): number {
  for (let i = 0; i < ITERATIONS; i++) fn(i);
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < ITERATIONS; i++) fn(i);
    const t = process.cpuUsage(t0);
    rounds.push(((t.user + t.system) * 1000) / ITERATIONS);
  }
  return median(rounds);
}

const { req, res } = await realExchange();
const startMs = Date.now();
const record: AccessRecord = {
  time: new Date(startMs).toISOString(), client: '127.0.0.1', method: 'GET', url: '/myweb/cart/items?page=2&sort=price', status: 200,
  bytes: 143, duration: 1.873, balancer: 'balancer://cluster', member: 'http://127.0.0.1:8080', memberRoute: 'jvm_a',
  sessionRoute: 'jvm_a', stickyName: 'JSESSIONID', routeChanged: false, attempts: 1,
  context: {
    req, res, startMs, keepalives: 3, implicit: false,
    client: { remoteAddress: '127.0.0.1', remotePort: 51234, localAddress: '127.0.0.1', localPort: 8051, secure: false, serverName: 'shop.example.com' },
  },
};

console.log(`access log lines: ${ITERATIONS} per round, median of ${ROUNDS} rounds, node ${process.version}`);
console.log('');
console.log('| format | bytes | CPU ns/line: format | CPU ns/line: format + batch (AccessLog.emit) |');
console.log('| :-- | --: | --: | --: |');
let sink = 0;
for (const [name, spec] of FORMATS) {
  const format = accessFormatter(spec);
  const bytes = Buffer.byteLength(format(record));
  // Vary the record a little so nothing is folded away; keep what the line holds.
  const formatOnly = measure((i) => {
    record.bytes = 143 + (i & 7);
    sink += format(record).length;
  });
  const batcher = new LineBatcher((lines) => {
    sink += lines.length;
  });
  const log = new AccessLog({ format: spec, file: null }, batcher);
  const emitted = measure((i) => {
    record.bytes = 143 + (i & 7);
    log.emit(record);
  });
  batcher.handOver();
  console.log(`| ${name} | ${bytes} | ${formatOnly.toFixed(0)} | ${emitted.toFixed(0)} |`);
}
console.log('');
console.log(`(checksum ${sink % 1000})`);

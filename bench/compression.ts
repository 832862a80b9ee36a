/**
 * What response compression costs and gains, to choose its default levels. Prints figures,
 * asserts nothing.
 *
 *   node --conditions=stickyd-source --import tsx bench/compression.ts [--quick]
 *
 * 1. Each coding and level on a generated corpus that looks like what a Tomcat application serves
 *    (seeded, so every run compresses the same bytes): HTML pages (a layout around tables and
 *    lists of varying text), JSON API responses (arrays of records), CSS and JavaScript; 2 KB to
 *    600 KB each, about 5 MB in all. Per coding and level: MB of input per CPU second (the
 *    synchronous zlib calls; CPU time rather than wall time, so a busy machine does not skew it),
 *    and the ratio (compressed / original) of the whole corpus and of its HTML and JSON parts.
 * 2. The same through encoder.ts's streams with the flush stickyd makes after every member chunk,
 *    chunks of 16 KiB (a TLS record), 64 KiB (a plain socket read) and whole documents, at the
 *    default levels: what the flushes cost in ratio and CPU.
 * 3. Through the daemon: one stickyd process (in-process here) in front of a node backend serving
 *    the corpus, a keep-alive client fetching every document with Accept-Encoding for each
 *    chosen coding and none: MB/s of original bytes delivered and bytes on the wire.
 * Bounded: each measurement runs for about 1 s (--quick: 0.3 s).
 */
import http from 'node:http';
import type net from 'node:net';
import zlib from 'node:zlib';
import { parseConfig } from '../src/config/index.js';
import { compressionSchema } from '../src/config/schema.js';
import { defaultsOf } from '../src/config/kinds.js';
import { createCompressor } from '../src/proxy/compression/encoder.js';
import { startDaemon } from '../src/daemon.js';
import { createLogger } from '../src/log.js';
import { freePort } from '../test/helpers/ports.js';

const quick = process.argv.includes('--quick');
const BUDGET_MS = quick ? 300 : 1000;

// ---------------------------------------------------------------------------------------------
// The corpus

/** mulberry32: a small seeded PRNG, so the corpus is the same on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = prng(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const WORDS = 'order customer account session cluster member route invoice product shipping balance report status pending active closed payment address region catalogue search result page total amount quantity price discount delivery warehouse stock supplier contract ticket review rating comment'.split(' ');
const NAMES = 'Ada Grace Alan Barbara Edsger Donald Ken Dennis Linus Margaret Radia Tim Vint Bjarne Guido'.split(' ');
const sentence = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const id = (): string => Math.floor(rnd() * 1e9).toString(36);

function htmlPage(rows: number): string {
  const head = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${sentence(4)}</title><link rel="stylesheet" href="/static/app.css"><script src="/static/app.js" defer></script></head><body><header class="site-header"><nav class="main-nav"><ul>${WORDS.slice(0, 8).map((w) => `<li class="nav-item"><a href="/${w}" class="nav-link">${w}</a></li>`).join('')}</ul></nav></header><main class="content"><h1>${sentence(5)}</h1>`;
  const body = Array.from({ length: rows }, () => `<tr class="row ${pick(['odd', 'even'])}" data-id="${id()}"><td class="col-name"><a href="/customer/${id()}">${pick(NAMES)} ${pick(NAMES)}</a></td><td class="col-status"><span class="badge badge-${pick(['ok', 'warn', 'err'])}">${pick(WORDS)}</span></td><td class="col-amount">${(rnd() * 10000).toFixed(2)}</td><td class="col-note">${sentence(3 + Math.floor(rnd() * 8))}</td></tr>`).join('\n');
  return `${head}<table class="data-table"><thead><tr><th>Name</th><th>Status</th><th>Amount</th><th>Note</th></tr></thead><tbody>\n${body}\n</tbody></table><p class="footnote">${sentence(30)}</p></main><footer class="site-footer">© stickyd demo · ${sentence(6)}</footer></body></html>`;
}

function jsonDoc(records: number): string {
  return JSON.stringify({
    page: 1,
    total: records,
    items: Array.from({ length: records }, () => ({
      id: id(),
      name: `${pick(NAMES)} ${pick(NAMES)}`,
      email: `${pick(NAMES).toLowerCase()}.${id()}@example.com`,
      status: pick(['active', 'pending', 'closed']),
      balance: Math.round(rnd() * 1e6) / 100,
      tags: Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => pick(WORDS)),
      created: new Date(1.6e12 + rnd() * 1e11).toISOString(),
      address: { street: `${Math.floor(rnd() * 999)} ${pick(WORDS)} street`, city: pick(NAMES), zip: String(10000 + Math.floor(rnd() * 89999)) },
    })),
  });
}

function cssDoc(rules: number): string {
  return Array.from({ length: rules }, () => `.${pick(WORDS)}-${pick(WORDS)} { margin: ${Math.floor(rnd() * 20)}px ${Math.floor(rnd() * 20)}px; color: #${Math.floor(rnd() * 0xffffff).toString(16).padStart(6, '0')}; display: ${pick(['flex', 'block', 'grid', 'inline-block'])}; }`).join('\n');
}

function jsDoc(functions: number): string {
  return Array.from({ length: functions }, () => `function ${pick(WORDS)}_${id()}(${pick(WORDS)}, ${pick(WORDS)}) {\n  const ${pick(WORDS)} = document.querySelector('.${pick(WORDS)}');\n  if (!${pick(WORDS)}) return ${Math.floor(rnd() * 100)};\n  return fetch('/api/${pick(WORDS)}/' + ${pick(WORDS)}).then((r) => r.json()).then((d) => d.items.map((x) => x.${pick(WORDS)}));\n}`).join('\n');
}

interface Doc {
  kind: 'html' | 'json' | 'css' | 'js';
  body: Buffer;
}

function corpus(): Doc[] {
  const docs: Doc[] = [];
  for (const rows of [20, 60, 150, 400, 1000, 2000]) for (let i = 0; i < 3; i++) docs.push({ kind: 'html', body: Buffer.from(htmlPage(rows)) });
  for (const n of [10, 50, 200, 800, 1500]) for (let i = 0; i < 3; i++) docs.push({ kind: 'json', body: Buffer.from(jsonDoc(n)) });
  for (const n of [100, 1000]) docs.push({ kind: 'css', body: Buffer.from(cssDoc(n)) });
  for (const n of [50, 500]) docs.push({ kind: 'js', body: Buffer.from(jsDoc(n)) });
  return docs;
}

// ---------------------------------------------------------------------------------------------
// Single-core throughput of each coding and level

type Coder = (b: Buffer) => Buffer;
const zstdCompressSync = (zlib as unknown as { zstdCompressSync?: (b: Buffer, o: object) => Buffer }).zstdCompressSync;
const ZSTD_LEVEL = (zlib.constants as Record<string, number>).ZSTD_c_compressionLevel;

function coder(coding: string, level: number): Coder | null {
  switch (coding) {
    case 'gzip':
      return (b) => zlib.gzipSync(b, { level });
    case 'br':
      return (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level, [zlib.constants.BROTLI_PARAM_LGWIN]: 18, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } });
    case 'zstd':
      return zstdCompressSync && ZSTD_LEVEL !== undefined ? (b) => zstdCompressSync(b, { params: { [ZSTD_LEVEL]: level } }) : null;
  }
  return null;
}

/**
 * Compress chunk by chunk with a flush after each, through the same streams and options as
 * encoder.ts (so this includes the thread-pool hop of every write, as in the daemon).
 */
function flushedCoder(coding: 'gzip' | 'br' | 'zstd', level: number, chunk: number): AsyncCoder | null {
  if (coding === 'zstd' && typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress !== 'function') return null;
  const settings = { algorithms: [coding], types: [], minlength: 0, gziplevel: level, brotliquality: level, zstdlevel: level };
  return (b) =>
    new Promise((resolve, reject) => {
      const stream = createCompressor(coding, settings, b.length);
      let size = 0;
      stream.on('data', (c: Buffer) => (size += c.length));
      stream.on('end', () => resolve(size));
      stream.on('error', reject);
      for (let at = 0; at < b.length; at += chunk) stream.write(b.subarray(at, Math.min(b.length, at + chunk)));
      stream.end();
    });
}

type AsyncCoder = (b: Buffer) => Promise<number>;

async function measureAsync(docs: Doc[], code: AsyncCoder): Promise<{ mbps: number; ratio: number }> {
  const inBytes = docs.reduce((n, d) => n + d.body.length, 0);
  let outBytes = 0;
  for (const d of docs) outBytes += await code(d.body);
  let rounds = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - start < BUDGET_MS) {
    for (const d of docs) await code(d.body);
    rounds++;
  }
  return { mbps: (inBytes * rounds) / cpuSeconds(cpu) / 1e6, ratio: outBytes / inBytes };
}

/** CPU seconds (user + system, every thread of the process) since `since`: steady on a shared machine, unlike wall time. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

interface Measure {
  mbps: number;
  ratio: number;
  byKind: Record<string, number>;
}

function measure(docs: Doc[], code: Coder): Measure {
  const inBytes = docs.reduce((n, d) => n + d.body.length, 0);
  const outByKind: Record<string, [number, number]> = {};
  let outBytes = 0;
  for (const d of docs) {
    const n = code(d.body).length;
    outBytes += n;
    const k = (outByKind[d.kind] ??= [0, 0]);
    k[0] += d.body.length;
    k[1] += n;
  }
  let rounds = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - start < BUDGET_MS) {
    for (const d of docs) code(d.body);
    rounds++;
  }
  return {
    mbps: (inBytes * rounds) / cpuSeconds(cpu) / 1e6,
    ratio: outBytes / inBytes,
    byKind: Object.fromEntries(Object.entries(outByKind).map(([k, [i, o]]) => [k, o / i])),
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

function defaultCompressionLevels(): { gziplevel: number; brotliquality: number; zstdlevel: number } {
  return defaultsOf(compressionSchema)() as { gziplevel: number; brotliquality: number; zstdlevel: number };
}

// ---------------------------------------------------------------------------------------------
// Through the daemon

async function throughDaemon(docs: Doc[], codings: string[]): Promise<void> {
  const backend = http.createServer((req, res) => {
    const d = docs[Number((req.url ?? '/0').slice(1)) % docs.length]!;
    const type = d.kind === 'html' ? 'text/html; charset=utf-8' : d.kind === 'json' ? 'application/json' : d.kind === 'css' ? 'text/css' : 'application/javascript';
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': d.body.length });
    res.end(d.body);
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const backendPort = (backend.address() as net.AddressInfo).port;
  const port = await freePort();
  const config = parseConfig(
    `listen: [{ address: 127.0.0.1, port: ${port} }]\nlog: { access: false, level: warn }\ncompression: { algorithms: [br, zstd, gzip] }\nbalancers:\n  c:\n    members: [{ url: "http://127.0.0.1:${backendPort}" }]\nproxypass:\n  - { path: /, url: balancer://c/ }\n`,
    'bench.yaml',
    {},
  );
  const daemon = await startDaemon(config, { logger: createLogger(config.log), accessLogger: null });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const inBytes = docs.reduce((n, d) => n + d.body.length, 0);
  console.log('\n3. Through stickyd (in this process, with the backend and the client: wall-clock MB/s; 4 keep-alive connections, every document in turn)\n');
  console.log('| Accept-Encoding | MB/s of original content | bytes on the wire |');
  console.log('| :-- | --: | --: |');
  for (const ae of [...codings, 'none']) {
    let delivered = 0;
    let wire = 0;
    const start = performance.now();
    while (performance.now() - start < BUDGET_MS * 3) {
      await Promise.all(
        docs.map(
          (_d, i) =>
            new Promise<void>((resolve, reject) => {
              const req = http.get({ host: '127.0.0.1', port, path: `/${i}`, agent, headers: ae === 'none' ? {} : { 'Accept-Encoding': ae } }, (res) => {
                res.on('data', (c: Buffer) => (wire += c.length));
                res.on('end', resolve);
              });
              req.on('error', reject);
            }),
        ),
      );
      delivered += inBytes;
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(`| ${ae} | ${(delivered / seconds / 1e6).toFixed(1)} | ${pct(wire / delivered)} |`);
  }
  agent.destroy();
  await daemon.stop();
  await new Promise<void>((r) => backend.close(() => r()));
}

async function main(): Promise<void> {
  const docs = corpus();
  const total = docs.reduce((n, d) => n + d.body.length, 0);
  console.log(`stickyd compression bench — node ${process.version}, zlib ${process.versions.zlib}, brotli ${process.versions.brotli}, zstd ${process.versions.zstd ?? 'n/a'}`);
  console.log(`corpus: ${docs.length} documents, ${(total / 1e6).toFixed(2)} MB (${['html', 'json', 'css', 'js'].map((k) => `${k} ${(docs.filter((d) => d.kind === k).reduce((n, d) => n + d.body.length, 0) / 1e6).toFixed(2)} MB`).join(', ')})\n`);

  console.log('1. Whole documents, synchronous (MB of input per CPU second; ratio = compressed / original, lower is better)\n');
  console.log('| coding | level | MB/s | ratio | html | json |');
  console.log('| :-- | --: | --: | --: | --: | --: |');
  const grid: Array<[string, number[]]> = [['gzip', [1, 4, 6, 9]], ['br', [1, 4, 5, 6]], ['zstd', [1, 3, 6]]];
  for (const [coding, levels] of grid) {
    for (const level of levels) {
      const c = coder(coding, level);
      if (c === null) continue;
      const m = measure(docs, c);
      console.log(`| ${coding} | ${level} | ${m.mbps.toFixed(1)} | ${pct(m.ratio)} | ${pct(m.byKind.html!)} | ${pct(m.byKind.json!)} |`);
    }
  }

  console.log('\n2. Streamed as stickyd does it (encoder.ts streams, a flush after every chunk), at the default levels\n');
  console.log('| coding | level | chunk | MB/s | ratio |');
  console.log('| :-- | --: | --: | --: | --: |');
  const defaults = defaultCompressionLevels();
  for (const [coding, level] of [['gzip', defaults.gziplevel], ['br', defaults.brotliquality], ['zstd', defaults.zstdlevel]] as const) {
    for (const chunk of [16 * 1024, 64 * 1024, 1 << 30]) {
      const c = flushedCoder(coding, level, chunk);
      if (c === null) continue;
      const m = await measureAsync(docs, c);
      console.log(`| ${coding} | ${level} | ${chunk === 1 << 30 ? 'whole document' : `${chunk / 1024} KiB`} | ${m.mbps.toFixed(1)} | ${pct(m.ratio)} |`);
    }
  }

  await throughDaemon(docs, ['br', 'zstd', 'gzip']);
}

await main();

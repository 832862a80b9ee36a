/**
 * stickyd in front of one real Tomcat 10.1, over AJP/1.3 versus HTTP: requests/s and latency
 * p50/p99 with autocannon (50 connections, 10 s per target after a 2 s warm-up), plus Tomcat's
 * HTTP connector without a proxy as the baseline. Prints a table; asserts nothing.
 *
 *   node --conditions=stickyd-source --import tsx bench/ajp.ts [--quick] [--connections N] [--seconds N]
 *
 * Needs Debian's tomcat10 (/usr/share/tomcat10) and a JDK. The node runs without a <Cluster>, so
 * no multicast and no network namespace; everything listens on 127.0.0.1. On a 2-core machine
 * the client, stickyd and Tomcat share the cores: compare the rows, not the absolute numbers.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePorts, waitForPort } from '../test/helpers/ports.js';
import { repoRoot, spawnStickyd, stopAll } from '../test/helpers/spawn.js';
import { createBase, STARTED, startNode, tomcatInstalled, type TomcatNode } from '../test/tomcat/harness.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const quick = process.argv.includes('--quick');
const connections = arg('connections', 50);
const seconds = arg('seconds', quick ? 3 : 10);
const warmup = quick ? 1 : 2;

interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

/** Runs the autocannon CLI (no TypeScript types ship with it) and parses its JSON result. */
function autocannon(url: string, duration: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const bin = path.join(repoRoot, 'node_modules/autocannon/autocannon.js');
    const child = spawn(process.execPath, [bin, '-c', String(connections), '-d', String(duration), '-j', url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out) as Result);
      } catch {
        reject(new Error(`autocannon exited ${code}: ${err.slice(-500)}`));
      }
    });
  });
}

async function main(): Promise<void> {
  if (!tomcatInstalled()) {
    console.error('bench/ajp: tomcat10 is not installed (apt-get install tomcat10); nothing to measure');
    process.exitCode = 1;
    return;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-bench-ajp-'));
  let tomcat: TomcatNode | null = null;
  try {
    const [httpPort, ajpPort, proxyPort] = await freePorts(3);
    const cfg = {
      jvmRoute: 'jvm_a', httpPort: httpPort!, ajpPort: ajpPort!, ajpSecret: 'bench-secret', receiverPort: 0,
      mcastAddress: '228.0.0.4', mcastPort: 45564, channelSendOptions: 8, contextPath: '/myweb', cluster: false,
    };
    tomcat = startNode(await createBase(dir, cfg), cfg);
    await tomcat.waitFor(STARTED, 90_000);

    const file = path.join(dir, 'bench.yaml');
    await writeFile(file, [
      `listen: [{ address: 127.0.0.1, port: ${proxyPort} }]`,
      'log: { level: warn, access: false }',
      // Unlimited keep-alive requests: autocannon does not honour Connection: close, and node:http
      // answers 503 to requests past maxRequestsPerSocket on such a connection (reported).
      'server: { maxkeepaliverequests: 0 }',
      'balancers:',
      '  ajp:',
      `    members: [{ url: "ajp://127.0.0.1:${ajpPort}", route: jvm_a, secret: bench-secret }]`,
      '  http:',
      `    members: [{ url: "http://127.0.0.1:${httpPort}", route: jvm_a }]`,
      'proxypass:',
      '  - { path: /ajp, url: balancer://ajp/myweb }',
      '  - { path: /http, url: balancer://http/myweb }',
      '',
    ].join('\n'));
    const proxy = spawnStickyd(['-c', file]);
    await waitForPort(proxyPort!, 20_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${proxy.output()}`);
    });

    const targets: Array<[string, string]> = [
      ['Tomcat HTTP, no proxy', `http://127.0.0.1:${httpPort}/myweb/hello.jsp`],
      ['stickyd → Tomcat over HTTP', `http://127.0.0.1:${proxyPort}/http/hello.jsp`],
      ['stickyd → Tomcat over AJP', `http://127.0.0.1:${proxyPort}/ajp/hello.jsp`],
    ];
    for (const [name, url] of targets) {
      const res = await fetch(url);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${name}: GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    }
    const rows: string[][] = [];
    for (const [name, url] of targets) {
      await autocannon(url, warmup);
      const r = await autocannon(url, seconds);
      const bad = r.errors + r.timeouts + r.non2xx;
      rows.push([name, r.requests.average.toFixed(0), `${r.latency.p50} ms`, `${r.latency.p99} ms`, String(bad)]);
      console.error(`  ${name}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, failed ${bad}`);
    }
    const head = ['target', 'req/s', 'p50', 'p99', 'failed'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`\nAJP vs HTTP through stickyd: ${connections} connections, ${seconds} s per target, GET /myweb/hello.jsp (Tomcat 10.1, 127.0.0.1, ${os.cpus().length} cores)\n`);
    console.log(line(head));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) console.log(line(r));
  } finally {
    await stopAll();
    await tomcat?.kill9();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

/**
 * `npm run bench -- edge`: what TLS and HTTP/2 on a listener cost in stickyd (issue 10 §6). Prints a
 * Markdown report on stdout (progress on stderr); asserts nothing.
 *
 *   npm run bench -- edge [--quick] [--source]
 *
 * stickyd (compiled as `npm run bench` compiles it; --source: src/ through tsx) with a TLS
 * listener offering h2 and http/1.1 (the default protocols, cipher suite and session tickets; an
 * EC P-256 certificate made by openssl for this run) in front of a node:http backend answering a
 * small body, with server.workers 1, then 2. Then, as yardsticks configured the same, nginx (one
 * worker), HAProxy (one thread) and Apache httpd -X with mod_ssl and mod_http2 (issue 10's targets
 * on one core: at least 0.8× nginx's handshakes per second, h2 requests per second at least
 * Apache mod_http2's). Each is measured with:
 *
 * - full handshakes/s: `openssl s_time -new -www /` (a new TCP connection with a full TLS 1.3
 *   handshake and one HTTP/1.0 request each), 4 clients at once;
 * - resumed handshakes/s: `openssl s_time -reuse -www /` (the same, each connection resuming the
 *   first one's session with its ticket), 4 clients at once;
 * - requests/s over h2: `h2load` (nghttp2-client), 10 connections × 5 streams;
 * - requests/s over HTTP/1.1 on TLS: `h2load --h1`, 50 keep-alive connections (the same 50
 *   requests in flight).
 *
 * Beside each rate, the CPU the server used (all its threads and processes) per handshake or
 * request: on a shared machine the rate moves with other people's load, the CPU per operation
 * much less.
 *
 * Layout on 2+ cores: the server under test on CPU 0 (stickyd with one worker, nginx, HAProxy,
 * Apache), the clients and the backend on CPU 1; stickyd with two workers is not pinned (each
 * thread needs a core, and there are only two here), so it shares the cores with the clients and
 * the backend. Every server listens on 127.0.0.1, every process is stopped by PID at the end (also
 * on failure or Ctrl-C), every run is bounded in time (about 4.5 minutes in all; --quick about 2).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makePki, type Pki } from '../test/helpers/pki.js';
import { freePorts, waitForPort } from '../test/helpers/ports.js';
import { repoRoot } from '../test/helpers/spawn.js';
import { commandExists, ProcessGroup, type BenchProcess } from './lib/processes.js';
import { HAPROXY } from './lib/haproxy.js';
import { NGINX, startNginx } from './lib/nginx.js';
import { cpuSeconds } from './lib/proc-stats.js';
import { buildStickyd, type StickydBuild } from './lib/stickyd.js';

const log = (msg: string) => console.error(`bench:edge: ${msg}`);

const quick = process.argv.includes('--quick');
const fromSource = process.argv.includes('--source');
/** Seconds of each handshake run, and of each request run after its warm-up. */
const HANDSHAKE_SECONDS = quick ? 2 : 5;
const REQUEST_SECONDS = quick ? 3 : 8;
const WARMUP_SECONDS = quick ? 1 : 2;
const HANDSHAKE_CLIENTS = 4;

const H2LOAD = '/usr/bin/h2load';
const OPENSSL = '/usr/bin/openssl';

interface Figure {
  what: string;
  target: string;
  /** Operations per second, over the run's wall time. */
  rate: number;
  /** Operations counted (handshakes or requests that succeeded). */
  count: number;
  /** What went wrong, if anything did (failed requests, a client that exited badly). */
  failed: string;
  /** stickyd's CPU (all threads) per operation, microseconds. */
  cpuMicros: number;
  /** stickyd's CPU during the run, in cores. */
  cores: number;
}

/** Runs a command to its end (bounded by `timeoutS`), with its output. */
function run(cmd: string, args: string[], cpu: number | null, timeoutS: number): Promise<{ code: number | null; out: string }> {
  const [file, argv] = cpu === null ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
  return new Promise((resolve) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, out: err.message });
    });
  });
}

function config(port: number, backendPort: number, pki: Pki, workers: number): string {
  return `listen:
  - address: 127.0.0.1
    port: ${port}
    protocols: [h2, http/1.1]
    tls:
      certificatefile: ${pki.server.certFile}
      certificatekeyfile: ${pki.server.keyFile}
server:
  servername: localhost
  maxkeepaliverequests: 0
  workers: ${workers}
log:
  level: warn
  access: false
balancers:
  cluster:
    members:
      - url: http://127.0.0.1:${backendPort}
        route: a
proxypass:
  - path: /
    url: balancer://cluster/
`;
}

/** nginx as the same TLS front: one worker, the same certificate, protocols and member, no access log. */
function nginxTlsConfig(prefix: string, port: number, backendPort: number, pki: Pki): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${path.join(prefix, `${t}_temp`)};`).join('\n');
  return `worker_processes 1;
daemon off;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
${temp}
  upstream cluster {
    server 127.0.0.1:${backendPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${pki.server.certFile};
    ssl_certificate_key ${pki.server.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_tickets on;
    location / {
      proxy_pass http://cluster;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
    }
  }
}
`;
}

/** HAProxy as the same TLS front: one thread, the same certificate (HAProxy reads it with its key from one file), protocols and member. */
function haproxyTlsConfig(port: number, backendPort: number, pemFile: string): string {
  return `global
  nbthread 1
  maxconn 4096
  ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
  mode http
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s

frontend fe
  bind 127.0.0.1:${port} ssl crt ${pemFile} alpn h2,http/1.1
  http-request set-header X-Forwarded-Proto https
  default_backend member

backend member
  server a 127.0.0.1:${backendPort}
`;
}

const APACHE = '/usr/sbin/apache2';
const APACHE_MODULES = '/usr/lib/apache2/modules';

/**
 * Apache httpd with mod_ssl and mod_http2 as the same TLS front: `-X` (one process; the event
 * MPM's threads), the same certificate, protocols and member, tickets and a session cache, no
 * access log. Run as root it serves as nobody, so its directory is world-readable (nothing secret:
 * the key is read before the privileges are dropped).
 */
function apacheTlsConfig(dir: string, port: number, backendPort: number, pki: Pki): string {
  const modules: Array<[string, string]> = [
    ['mpm_event_module', 'mod_mpm_event.so'], ['authz_core_module', 'mod_authz_core.so'], ['socache_shmcb_module', 'mod_socache_shmcb.so'],
    ['ssl_module', 'mod_ssl.so'], ['http2_module', 'mod_http2.so'], ['proxy_module', 'mod_proxy.so'], ['proxy_http_module', 'mod_proxy_http.so'],
    ['headers_module', 'mod_headers.so'],
  ];
  return [
    `ServerRoot ${dir}`,
    `PidFile ${path.join(dir, 'httpd.pid')}`,
    `DefaultRuntimeDir ${dir}`,
    `ErrorLog ${path.join(dir, 'error.log')}`,
    'LogLevel warn',
    'ServerName localhost',
    ...modules.map(([id, file]) => `LoadModule ${id} ${path.join(APACHE_MODULES, file)}`),
    ...(process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : []),
    `Listen 127.0.0.1:${port}`,
    'KeepAlive On',
    'MaxKeepAliveRequests 0',
    'Protocols h2 http/1.1',
    `SSLSessionCache shmcb:${path.join(dir, 'ssl_scache')}(512000)`,
    'SSLEngine on',
    `SSLCertificateFile ${pki.server.certFile}`,
    `SSLCertificateKeyFile ${pki.server.keyFile}`,
    'SSLProtocol -all +TLSv1.2 +TLSv1.3',
    `ProxyPass / http://127.0.0.1:${backendPort}/`,
    'RequestHeader set X-Forwarded-Proto https',
    '',
  ].join('\n');
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]!.replace(/^nginx version: /, '').trim();
}

class EdgeBench {
  readonly group = new ProcessGroup();
  readonly cores = os.availableParallelism();
  readonly figures: Figure[] = [];
  /** CPU 0 for the server under test, CPU 1 for the clients and the backend. */
  readonly pinned = this.cores >= 2 && commandExists('/usr/bin/taskset');
  nginxVersion = '';

  constructor(readonly dir: string, readonly pki: Pki, readonly build: StickydBuild) {}

  /** stickyd's CPU seconds and the wall clock around `fn`. */
  private async measure<T>(proc: BenchProcess, fn: () => Promise<T>): Promise<{ result: T; seconds: number; cpu: number }> {
    const cpu0 = cpuSeconds(proc.pid);
    const t0 = performance.now();
    const result = await fn();
    return { result, seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(proc.pid) - cpu0 };
  }

  /** `openssl s_time` clients at once; each prints "N connections in T real seconds". */
  async handshakes(proc: BenchProcess, port: number, target: string, reuse: boolean, cpu: number | null): Promise<void> {
    // `-www /`: each connection sends one request and reads the answer, which is also when a TLS 1.3
    // client receives the session ticket that -reuse resumes with (it comes after the handshake).
    const args = ['s_time', '-connect', `127.0.0.1:${port}`, reuse ? '-reuse' : '-new', '-www', '/', '-time', String(HANDSHAKE_SECONDS)];
    const m = await this.measure(proc, () => Promise.all(Array.from({ length: HANDSHAKE_CLIENTS }, () => run(OPENSSL, args, cpu, HANDSHAKE_SECONDS + 30))));
    let count = 0;
    const problems: string[] = [];
    for (const r of m.result) {
      // The first line counts the connections made (the second repeats them against whole seconds).
      const made = /(\d+) connections in [\d.]+s;/.exec(r.out);
      if (r.code !== 0 || made === null) problems.push(`s_time exited ${r.code}: ${r.out.trim().split('\n').slice(-2).join(' ')}`);
      if (made !== null) count += Number(made[1]);
      // -reuse: a client whose sessions were not resumed says so ("*" per new session, "r" per reused).
      if (reuse && /[*]{5,}/.test(r.out)) problems.push('sessions not resumed');
    }
    this.add(reuse ? 'resumed handshakes/s' : 'full handshakes/s', target, count, m, problems.join('; '));
  }

  /** h2load for REQUEST_SECONDS after WARMUP_SECONDS; `h1`: HTTP/1.1 over TLS instead of h2. */
  async requests(proc: BenchProcess, port: number, target: string, h1: boolean, cpu: number | null): Promise<void> {
    const shape = h1 ? ['--h1', '-c', '50', '-m', '1'] : ['-c', '10', '-m', '5'];
    const args = [...shape, '-t', '1', '-D', String(REQUEST_SECONDS), '--warm-up-time', String(WARMUP_SECONDS), `https://127.0.0.1:${port}/`];
    // The CPU is read over the whole run, warm-up included; the rate is h2load's own (after the warm-up).
    const m = await this.measure(proc, () => run(H2LOAD, args, cpu, WARMUP_SECONDS + REQUEST_SECONDS + 30));
    const out = m.result.out;
    const rate = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out);
    const counts = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
    const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
    const problems: string[] = [];
    if (m.result.code !== 0 || rate === null || counts === null) problems.push(`h2load exited ${m.result.code}: ${out.trim().split('\n').slice(-3).join(' ')}`);
    if (counts !== null && (Number(counts[5]) > 0 || Number(counts[6]) > 0)) problems.push(`${counts[5]} failed, ${counts[6]} errored`);
    if (codes === null || Number(codes[2]) + Number(codes[3]) + Number(codes[4]) > 0) problems.push(codes?.[0] ?? 'no status codes');
    if (!h1 && !/Application protocol: h2/.test(out)) problems.push('h2 was not negotiated');
    const done = Number(counts?.[4] ?? 0);
    const perSecond = Number(rate?.[1] ?? 0);
    // CPU per request: over the whole run, so divided by what the whole run served (warm-up at the same rate).
    const served = perSecond * m.seconds;
    this.figures.push({
      what: h1 ? 'HTTP/1.1 over TLS req/s' : 'h2 req/s',
      target,
      rate: perSecond,
      count: done,
      failed: problems.join('; '),
      cpuMicros: served > 0 ? (m.cpu / served) * 1e6 : 0,
      cores: m.cpu / m.seconds,
    });
  }

  private add(what: string, target: string, count: number, m: { seconds: number; cpu: number }, failed: string): void {
    this.figures.push({ what, target, rate: count / m.seconds, count, failed, cpuMicros: count > 0 ? (m.cpu / count) * 1e6 : 0, cores: m.cpu / m.seconds });
  }

  /** Every measurement against one target listening on `port`. */
  private async measureTarget(proc: BenchProcess, port: number, label: string, clientCpu: number | null): Promise<void> {
    await waitForPort(port, 30_000);
    // Requests through it first, so that the member connections and the JIT are warm.
    await run(H2LOAD, ['-n', '200', '-c', '2', `https://127.0.0.1:${port}/`], clientCpu, 30);
    log(`${label}: full handshakes`);
    await this.handshakes(proc, port, label, false, clientCpu);
    log(`${label}: resumed handshakes`);
    await this.handshakes(proc, port, label, true, clientCpu);
    log(`${label}: h2`);
    await this.requests(proc, port, label, false, clientCpu);
    log(`${label}: HTTP/1.1 over TLS`);
    await this.requests(proc, port, label, true, clientCpu);
    await this.group.stop(proc);
  }

  async stickyd(workers: number, backendPort: number): Promise<void> {
    const [port] = await freePorts(1);
    const file = path.join(this.dir, `stickyd-${workers}.yaml`);
    await writeFile(file, config(port!, backendPort, this.pki, workers));
    const pin = this.pinned && workers === 1;
    const proc = this.group.start(`stickyd-w${workers}`, process.execPath, [...this.build.nodeArgs, '-c', file], {
      cpu: pin ? 0 : null,
      logFile: path.join(this.dir, `stickyd-${workers}.log`),
    });
    await this.measureTarget(proc, port!, `stickyd, workers ${workers}`, pin ? 1 : null);
  }

  /** nginx with one worker, configured the same (TLS 1.2/1.3, tickets, h2 and http/1.1, no access log). */
  async nginx(backendPort: number): Promise<void> {
    const [port] = await freePorts(1);
    const prefix = path.join(this.dir, 'nginx');
    const proc = await startNginx(this.group, 'nginx', prefix, nginxTlsConfig(prefix, port!, backendPort, this.pki), this.pinned ? 0 : null);
    this.nginxVersion = version(NGINX, ['-v']);
    await this.measureTarget(proc, port!, this.nginxVersion, this.pinned ? 1 : null);
  }

  /** HAProxy with one thread. */
  async haproxy(backendPort: number): Promise<void> {
    const [port] = await freePorts(1);
    const pem = path.join(this.dir, 'haproxy.pem');
    await writeFile(pem, this.pki.server.cert + this.pki.server.key, { mode: 0o600 });
    const file = path.join(this.dir, 'haproxy.cfg');
    await writeFile(file, haproxyTlsConfig(port!, backendPort, pem));
    const proc = this.group.start('haproxy', HAPROXY, ['-db', '-f', file], { cpu: this.pinned ? 0 : null, logFile: path.join(this.dir, 'haproxy.log') });
    await this.measureTarget(proc, port!, `HAProxy ${version(HAPROXY, ['-v']).replace(/^HAProxy version (\S+).*/, '$1')}`, this.pinned ? 1 : null);
  }

  /** Apache httpd -X with mod_ssl and mod_http2. */
  async apache(backendPort: number): Promise<void> {
    const [port] = await freePorts(1);
    const dir = path.join(this.dir, 'apache');
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
    const conf = path.join(dir, 'httpd.conf');
    await writeFile(conf, apacheTlsConfig(dir, port!, backendPort, this.pki));
    const proc = this.group.start('apache', APACHE, ['-X', '-d', dir, '-f', conf], { cpu: this.pinned ? 0 : null, logFile: path.join(dir, 'stderr.log') });
    const label = `Apache ${version(APACHE, ['-v']).replace(/^Server version: Apache\/(\S+).*/, '$1')} (mod_http2)`;
    await this.measureTarget(proc, port!, label, this.pinned ? 1 : null);
  }

  report(build: string): string {
    const lines = [
      '## stickyd: TLS and HTTP/2 on a listener',
      '',
      `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${this.cores} cores; node ${process.version}; stickyd ${build}; ${HANDSHAKE_CLIENTS} s_time clients × ${HANDSHAKE_SECONDS} s, h2load ${REQUEST_SECONDS} s after ${WARMUP_SECONDS} s warm-up.`,
      'stickyd with 1 worker, nginx (1 worker), HAProxy (1 thread) and Apache (-X): the server on CPU 0, clients and backend on CPU 1. stickyd with 2 workers: nothing pinned (everything shares the cores).',
      '',
      '| measure | server | per second | server CPU per op | server CPU (cores) | count | problems |',
      '| :-- | :-- | --: | --: | --: | --: | :-- |',
    ];
    const order = [...new Set(this.figures.map((f) => f.what))];
    for (const f of [...this.figures].sort((a, b) => order.indexOf(a.what) - order.indexOf(b.what))) {
      lines.push(`| ${f.what} | ${f.target} | ${Math.round(f.rate).toLocaleString('en-US')} | ${f.cpuMicros.toFixed(0)} µs | ${f.cores.toFixed(2)} | ${f.count.toLocaleString('en-US')} | ${f.failed || 'none'} |`);
    }
    return lines.join('\n');
  }
}

async function main(): Promise<void> {
  for (const cmd of [H2LOAD, OPENSSL]) {
    if (!commandExists(cmd)) throw new Error(`${cmd} is missing (apt-get install nghttp2-client openssl)`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-bench-edge-'));
  const pki = makePki();
  log('building stickyd');
  const build = await buildStickyd(repoRoot, fromSource);
  const bench = new EdgeBench(dir, pki, build);
  const stop = async () => {
    await bench.group.stopAll();
    pki.cleanup();
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    bench.group.killAllNow();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const [backendPort] = await freePorts(1);
    bench.group.start('backend', process.execPath, ['--import', 'tsx', path.join(repoRoot, 'bench/lib/node-backend.ts'), `${backendPort}:a`], { cpu: bench.pinned ? 1 : null, cwd: repoRoot });
    await waitForPort(backendPort!, 30_000);
    for (const workers of [1, 2]) await bench.stickyd(workers, backendPort!);
    if (commandExists(NGINX)) await bench.nginx(backendPort!);
    else log(`${NGINX} is missing: no comparison with nginx (apt-get install nginx)`);
    if (commandExists(HAPROXY)) await bench.haproxy(backendPort!);
    else log(`${HAPROXY} is missing: no comparison with HAProxy (apt-get install haproxy)`);
    if (commandExists(APACHE)) await bench.apache(backendPort!);
    else log(`${APACHE} is missing: no comparison with Apache (apt-get install apache2-bin)`);
    console.log(bench.report(build.description));
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Real Apache httpd (Debian's apache2) as a process on 127.0.0.1, for the differential tests.
 *
 * Each start gets its own directory: ServerRoot, PidFile, ErrorLog, DefaultRuntimeDir (slotmem
 * and mutex files) all live there, so parallel test files never share anything. httpd runs with
 * `-X` (one process, the event MPM's threads): the balancer's shared memory then has exactly one
 * writer and a request sequence gives the same state on every run.
 *
 * Running as root (CI), httpd refuses to serve unless it drops privileges, so the worker runs as
 * `nobody` and the directory is made world-readable; nothing secret is in it.
 *
 * The BALANCER_* variables of apache-semantics §2.7 come back as response headers through mod_headers; an
 * unset variable shows as `(null)` (mod_headers' rendering), a defined but empty one as "". The
 * values are wrapped in brackets so that an empty value survives as a header.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { waitForPort } from '../../helpers/ports.js';

export const APACHE_BIN = process.env.STICKYD_APACHE_BIN ?? '/usr/sbin/apache2';
export const APACHE_MODULES = process.env.STICKYD_APACHE_MODULES ?? '/usr/lib/apache2/modules';

/** The modules a scenario may need; all are in Debian's apache2-bin package. */
const MODULES: Array<[string, string]> = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['headers_module', 'mod_headers.so'],
  ['reqtimeout_module', 'mod_reqtimeout.so'],
  ['slotmem_shm_module', 'mod_slotmem_shm.so'],
  ['proxy_module', 'mod_proxy.so'],
  ['proxy_http_module', 'mod_proxy_http.so'],
  ['proxy_balancer_module', 'mod_proxy_balancer.so'],
  ['lbmethod_byrequests_module', 'mod_lbmethod_byrequests.so'],
  ['lbmethod_bybusyness_module', 'mod_lbmethod_bybusyness.so'],
  ['lbmethod_bytraffic_module', 'mod_lbmethod_bytraffic.so'],
];

/** The six variables of apache-semantics §2.7, in the order the tests show them. */
export const BALANCER_VARS = [
  'BALANCER_NAME',
  'BALANCER_WORKER_NAME',
  'BALANCER_WORKER_ROUTE',
  'BALANCER_SESSION_STICKY',
  'BALANCER_SESSION_ROUTE',
  'BALANCER_ROUTE_CHANGED',
] as const;
export type BalancerVar = (typeof BALANCER_VARS)[number];

/** The response header that carries a BALANCER_* variable (X-Env-Balancer-Name, ...). */
export function envHeader(v: BalancerVar): string {
  return `X-Env-${v.split('_').map((w) => w[0] + w.slice(1).toLowerCase()).join('-')}`;
}

/** Why the conformance suite cannot run here, or null when it can. */
export function apacheMissing(): string | null {
  try {
    accessSync(APACHE_BIN, constants.X_OK);
    accessSync(path.join(APACHE_MODULES, 'mod_proxy_balancer.so'), constants.R_OK);
    return null;
  } catch (err) {
    return `${(err as Error).message} (install Debian's apache2-bin, or set STICKYD_APACHE_BIN / STICKYD_APACHE_MODULES)`;
  }
}

/**
 * The Apache-only part of the configuration: process, modules, logging, the env-variable headers
 * and the balancer-manager. The scenario itself (Listen aside) is a separate file that the
 * stickyd side imports too.
 */
function scaffold(dir: string, port: number): string {
  const runAs = process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : [];
  return [
    `ServerRoot ${dir}`,
    `PidFile ${path.join(dir, 'httpd.pid')}`,
    `DefaultRuntimeDir ${dir}`,
    `ErrorLog ${path.join(dir, 'error.log')}`,
    'LogLevel warn',
    ...MODULES.map(([id, file]) => `LoadModule ${id} ${path.join(APACHE_MODULES, file)}`),
    ...runAs,
    `Listen 127.0.0.1:${port}`,
    // Debian's apache2.conf is not read: these are httpd's compiled-in defaults made explicit.
    'Timeout 60',
    'KeepAlive On',
    ...BALANCER_VARS.map((v) => `Header always set ${envHeader(v)} "[%{${v}}e]"`),
    '<Location /balancer-manager>',
    '  SetHandler balancer-manager',
    '</Location>',
  ].join('\n');
}

/**
 * httpd children still running. If the test process exits without stopping them (a crash, an
 * interrupted run), they are killed on the way out: httpd -X does not notice its parent is gone.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

export interface ApacheServer {
  port: number;
  url: string;
  pid: number;
  /** httpd's error log so far (for failure messages). */
  errorLog(): string;
  /** The manager's XML (apache-semantics §6): needs a Referer naming the host, else the page is HTML. */
  managerXml(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Start httpd on 127.0.0.1:port with the scenario file included after the scaffold. `dir` must be
 * a directory of this start alone. Resolves once httpd accepts connections.
 */
export async function startApache(dir: string, port: number, scenarioFile: string): Promise<ApacheServer> {
  const conf = path.join(dir, 'httpd.conf');
  writeFileSync(conf, `${scaffold(dir, port)}\nInclude ${scenarioFile}\n`);
  const errorLog = (): string => {
    try {
      return readFileSync(path.join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const child: ChildProcess = spawn(APACHE_BIN, ['-X', '-d', dir, '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    running.delete(child);
    resolve();
  }));
  let gone = false;
  const markGone = (): void => {
    gone = true;
  };
  exited.then(markGone, markGone);
  const stop = async (): Promise<void> => {
    if (gone || child.pid === undefined) return;
    // SIGTERM lets httpd remove its shared memory; SIGKILL only if it hangs.
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      if (!gone && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await Promise.race([
      waitForPort(port, 60_000), // a deadline for what must happen (test/helpers/patience.ts), not a speed
      exited.then(() => {
        throw new Error(`httpd exited at startup:\n${output}\n${errorLog()}`);
      }),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    pid: child.pid ?? -1,
    errorLog,
    stop,
    managerXml: () =>
      new Promise((resolve, reject) => {
        const req = http.get(`${url}/balancer-manager?xml=1`, { agent: false, headers: { Referer: `http://127.0.0.1/balancer-manager` } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
      }),
  };
}

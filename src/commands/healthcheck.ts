/**
 * `stickyd healthcheck [-c FILE]`: is the daemon of this balancer file alive? For the Dockerfile's
 * HEALTHCHECK and other supervisors: with an `admin:` listener, `GET /healthz` on it must answer
 * 200; without one, a TCP connection to the first `listen` entry must open. Exit 0 or 1, within
 * 2 seconds in any case. A wildcard address (0.0.0.0, ::) is reached on the loopback address.
 * An admin listener with `tls` is reached over HTTPS and must present one of the certificates
 * the file names (pinned: whatever CA issued it, and whatever name it has for the address).
 *
 * It runs every 10 s in a container, so it is kept cheap: bin/stickyd.js starts it through
 * src/healthcheck-main.ts, which loads this file and the configuration loader only, not the
 * whole command line (about 5× less CPU per check; README "Docker").
 */
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { ListenTlsConfig } from '../config/types.js';
import type { CommandModule } from 'yargs';
import { configOption, loadConfigOrReport } from './options.js';

/** The whole check is bounded by this. */
export const HEALTHCHECK_TIMEOUT_MS = 2000;

/** Where to connect for an address a server binds: wildcards mean "this machine". */
export function reachable(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '::1';
  return address;
}

/** The SHA-256 fingerprints (node's colon form) of the certificates an admin listener may present. */
function pins(tls: ListenTlsConfig): Set<string> {
  return new Set(tls.certificates.map((c) => new X509Certificate(c.cert).fingerprint256));
}

function getHealthz(host: string, port: number, deadline: AbortSignal, tls: ListenTlsConfig | null): Promise<string | null> {
  return new Promise((resolve) => {
    const options = { host, port, path: '/healthz', agent: false, signal: deadline };
    const get = tls ? https.get({ ...options, rejectUnauthorized: false, servername: undefined }, check) : http.get(options, check);
    function check(res: http.IncomingMessage): void {
      if (tls) {
        const presented = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        if (!pins(tls).has(presented)) {
          res.destroy();
          resolve(`the admin listener presented a certificate (SHA-256 ${presented}) that admin.tls does not name (was it renewed without a reload?)`);
          return;
        }
      }
      res.resume();
      res.once('end', () => resolve(res.statusCode === 200 ? null : `GET /healthz answered ${res.statusCode}`));
      res.once('error', (err) => resolve(err.message));
    }
    get.once('error', (err) => resolve(deadline.aborted ? `no answer within ${HEALTHCHECK_TIMEOUT_MS} ms` : err.message));
  });
}

function connect(host: string, port: number, deadline: AbortSignal): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (problem: string | null): void => {
      deadline.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(problem);
    };
    const onAbort = (): void => done(`no connection within ${HEALTHCHECK_TIMEOUT_MS} ms`);
    deadline.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.message));
  });
}

/**
 * The config file of `healthcheck [-c FILE | --config FILE | --config=FILE]` (undefined: none
 * given), or null for any other arguments, which the full command line handles.
 */
export function plainHealthcheckArgs(args: readonly string[]): string | null | undefined {
  if (args[0] !== 'healthcheck') return null;
  if (args.length === 1) return undefined;
  if (args.length === 2 && args[1]!.startsWith('--config=')) return args[1]!.slice('--config='.length);
  if (args.length === 3 && (args[1] === '-c' || args[1] === '--config')) return args[2]!;
  return null;
}

/** Check the daemon of `file`; prints the verdict and sets the exit code (0 healthy, 1 not). */
export async function healthcheck(file: string): Promise<void> {
  {
    const config = await loadConfigOrReport(file);
    if (config === null) return;
    const deadline = AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS);
    let target: string;
    let problem: string | null;
    if (config.admin !== null) {
      const host = reachable(config.admin.address);
      target = `${config.admin.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.admin.port}/healthz`;
      problem = await getHealthz(host, config.admin.port, deadline, config.admin.tls ?? null);
    } else {
      const first = config.listen[0]!;
      const host = reachable(first.address);
      target = `${host.includes(':') ? `[${host}]` : host}:${first.port}`;
      problem = await connect(host, first.port, deadline);
    }
    if (problem === null) {
      console.log(`healthy: ${target}`);
    } else {
      console.error(`unhealthy: ${target}: ${problem}`);
      process.exitCode = 1;
    }
  }
}

export const command: CommandModule = {
  command: 'healthcheck',
  describe: 'Exit 0 when the daemon of this file is alive (admin /healthz, else its first listener accepts)',
  builder: (y) => y.option('config', configOption),
  handler: (argv) => healthcheck(String(argv.config)),
};

/**
 * Apache httpd 2.4 as a competitor: Debian's apache2 with our own configuration (none of
 * /etc/apache2 is read), the event MPM with ONE serving process (StartServers 1, ServerLimit 1,
 * 64 threads: more than the load generator's 50 connections), in the foreground
 * (`-DFOREGROUND`) so that the process we start is the parent we stop by PID; its child is
 * measured with it (the CPU meter sums the process tree).
 *
 * The balancer is stickyd's own file in httpd's words: `stickysession=JSESSIONID|jsessionid`,
 * byrequests, two members with `route=`, keep-alive connections to them (mod_proxy's default
 * pool), ProxyAddHeaders on (X-Forwarded-For/-Host/-Server, as stickyd adds them). No access log
 * (the references run without one), client keep-alive without a request limit, as the others.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Member } from './nginx.js';
import type { BenchProcess, ProcessGroup } from './processes.js';

export const APACHE = process.env.STICKYD_APACHE_BIN ?? '/usr/sbin/apache2';
const MODULES_DIR = process.env.STICKYD_APACHE_MODULES ?? '/usr/lib/apache2/modules';

const MODULES: Array<[string, string]> = [
  ['mpm_event_module', 'mod_mpm_event.so'],
  ['authz_core_module', 'mod_authz_core.so'],
  ['slotmem_shm_module', 'mod_slotmem_shm.so'],
  ['proxy_module', 'mod_proxy.so'],
  ['proxy_http_module', 'mod_proxy_http.so'],
  ['proxy_balancer_module', 'mod_proxy_balancer.so'],
  ['lbmethod_byrequests_module', 'mod_lbmethod_byrequests.so'],
];

export function apacheConfig(dir: string, port: number, members: Member[]): string {
  // As root, httpd serves only after dropping privileges (the directory is world-readable).
  const runAs = process.getuid?.() === 0 ? ['User nobody', 'Group nogroup'] : [];
  return [
    `ServerRoot ${dir}`,
    `PidFile ${path.join(dir, 'httpd.pid')}`,
    `DefaultRuntimeDir ${dir}`,
    `ErrorLog ${path.join(dir, 'error.log')}`,
    'LogLevel warn',
    ...MODULES.map(([id, file]) => `LoadModule ${id} ${path.join(MODULES_DIR, file)}`),
    ...runAs,
    `Listen 127.0.0.1:${port}`,
    'ServerName localhost',
    'StartServers 1',
    'ServerLimit 1',
    'ThreadLimit 64',
    'ThreadsPerChild 64',
    'MaxRequestWorkers 64',
    'MinSpareThreads 1',
    'MaxSpareThreads 64',
    'KeepAlive On',
    'MaxKeepAliveRequests 0',
    'KeepAliveTimeout 300',
    '<Proxy balancer://cluster>',
    ...members.map((m) => `  BalancerMember http://127.0.0.1:${m.port} route=${m.route}`),
    '  ProxySet stickysession=JSESSIONID|jsessionid lbmethod=byrequests',
    '</Proxy>',
    'ProxyPass / balancer://cluster/',
    '',
  ].join('\n');
}

export async function startApache(group: ProcessGroup, dir: string, port: number, members: Member[], cpu: number | null): Promise<BenchProcess> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const conf = path.join(dir, 'httpd.conf');
  await writeFile(conf, apacheConfig(dir, port, members));
  return group.start('apache', APACHE, ['-DFOREGROUND', '-d', dir, '-f', conf], { cpu, logFile: path.join(dir, 'apache.log'), session: true });
}

/**
 * HAProxy as a competitor: one thread (`nbthread 1`), in the foreground (`-db`) so the process we
 * start is the one we stop by PID, config in the benchmark's temp directory.
 *
 * Equivalent to stickyd's `balancers.cluster` with `stickysession: JSESSIONID`: round robin for
 * requests without a session; `use-server` sends a request whose JSESSIONID cookie ends in
 * `.<route>` to that member; connections to the members are kept alive and shared between client
 * connections (`http-reuse always`, as stickyd's per-member pool does); X-Forwarded-For/-Host/
 * -Server are added as stickyd adds them. HAProxy logs nothing without a `log` target, which is
 * its default.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Member } from './nginx.js';
import type { BenchProcess, ProcessGroup } from './processes.js';

export const HAPROXY = '/usr/sbin/haproxy';

export function haproxyConfig(port: number, members: Member[]): string {
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s

frontend fe
  bind 127.0.0.1:${port}
  http-request set-header X-Forwarded-Host %[req.hdr(host)]
  http-request set-header X-Forwarded-Server localhost
  default_backend cluster

backend cluster
  balance roundrobin
${members.map((m) => `  use-server ${m.route} if { req.cook(JSESSIONID) -m end .${m.route} }`).join('\n')}
${members.map((m) => `  server ${m.route} 127.0.0.1:${m.port}`).join('\n')}
`;
}

export async function startHaproxy(group: ProcessGroup, dir: string, port: number, members: Member[], cpu: number | null): Promise<BenchProcess> {
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, haproxyConfig(port, members));
  return group.start('haproxy', HAPROXY, ['-db', '-f', file], { cpu, logFile: path.join(dir, 'haproxy.log'), session: true });
}

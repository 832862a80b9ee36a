/**
 * nginx in two roles, each a private instance in its own temp directory (`-p` prefix, pid file,
 * logs and temp paths there; `daemon off` so the process we start is the master we stop by PID;
 * `-e` so that not even the startup error log touches /var/log):
 * - the backend: one worker answering a fixed small body on two ports, one per member route;
 * - a competitor: one worker balancing over the two backends like stickyd does.
 *
 * The balancer is equivalent to stickyd's `balancers.cluster` with `stickysession: JSESSIONID`:
 * keep-alive connections to both members, round robin for requests without a session, and a
 * request whose JSESSIONID ends in `.jvm_a` / `.jvm_b` (the route after the first dot, apache-semantics §2)
 * goes to that member. It adds the X-Forwarded-For/-Host/-Server headers stickyd adds
 * (ProxyAddHeaders). Its access log is off, as for every proxy the benchmark compares (stickyd
 * runs once more with its access log on).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchProcess, ProcessGroup } from './processes.js';

export const NGINX = '/usr/sbin/nginx';

export interface Member {
  port: number;
  route: string;
}

/** Paths every nginx instance needs outside /var: temp directories for buffered bodies. */
function commonHttp(prefix: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `  ${t}_temp_path ${path.join(prefix, `${t}_temp`)};`)
    .join('\n');
}

function mainBlock(prefix: string): string {
  return `worker_processes 1;
daemon off;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
`;
}

/** The body a member answers with: it names its route, which is how the routing check works. */
export function memberBody(route: string): string {
  return `hello from ${route}\n`;
}

export function backendConfig(prefix: string, members: Member[]): string {
  const servers = members.map((m) => `  server {
    listen 127.0.0.1:${m.port};
    location / {
      default_type text/plain;
      return 200 ${JSON.stringify(memberBody(m.route))};
    }
  }`).join('\n');
  return `${mainBlock(prefix)}http {
  access_log off;
  # Proxies keep their connections for the whole run: no forced reconnects.
  keepalive_requests 10000000;
  keepalive_timeout 300s;
${commonHttp(prefix)}
${servers}
}
`;
}

export function balancerConfig(prefix: string, port: number, members: Member[]): string {
  const upstream = (name: string, ms: Member[]) =>
    `  upstream ${name} {\n${ms.map((m) => `    server 127.0.0.1:${m.port};`).join('\n')}\n    keepalive 64;\n  }`;
  // $cookie_JSESSIONID is the value of the JSESSIONID cookie; the route is what follows the first dot.
  const routes = members.map((m) => `    "~^[^.]*\\.${m.route.replace(/[^A-Za-z0-9_-]/g, '')}$" ${m.route};`).join('\n');
  return `${mainBlock(prefix)}http {
  access_log off;
  keepalive_requests 10000000;
${commonHttp(prefix)}
${upstream('cluster', members)}
${members.map((m) => upstream(m.route, [m])).join('\n')}
  map $cookie_JSESSIONID $member {
${routes}
    default cluster;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://$member;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header X-Forwarded-Server localhost;
    }
  }
}
`;
}

/** Start nginx on a config text; the prefix directory is created and readable by its worker. */
/** `session`: a proxy under test gets a session of its own (StartOptions.session); a backend does not. */
export async function startNginx(group: ProcessGroup, name: string, prefix: string, config: string, cpu: number | null, session = false): Promise<BenchProcess> {
  await mkdir(prefix, { recursive: true });
  // The worker runs as nobody when started as root: it must be able to enter the prefix.
  await chmod(prefix, 0o755);
  const file = path.join(prefix, 'nginx.conf');
  await writeFile(file, config);
  return group.start(name, NGINX, ['-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', file], {
    cpu,
    logFile: path.join(prefix, 'stderr.log'),
    session,
  });
}

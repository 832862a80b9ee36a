/**
 * The alternative backend: a tight node:http server answering a fixed small body on two ports in
 * one process (one event loop, like the nginx backend's one worker). The benchmark measures it
 * against the nginx backend and uses whichever serves more requests per second.
 *
 *   node --import tsx bench/lib/node-backend.ts PORT:ROUTE [PORT:ROUTE ...]
 */
import http from 'node:http';
import { memberBody } from './nginx.js';

for (const spec of process.argv.slice(2)) {
  const [port, route] = spec.split(':');
  const body = Buffer.from(memberBody(route ?? ''));
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
    res.end(body);
  });
  // Proxies keep their member connections for the whole run.
  server.keepAliveTimeout = 300_000;
  server.listen(Number(port), '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));

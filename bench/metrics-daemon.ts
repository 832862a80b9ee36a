/**
 * The daemon for bench/metrics.ts, in a process of its own: one balancer of one member (the
 * backend port in argv[2]), access log off, and with `--metrics` the metrics observer subscribed
 * exactly as the admin listener subscribes it. Prints "listening <port>" when ready; SIGTERM stops.
 * SIGUSR2 toggles the observer (prints "metrics on" / "metrics off"), so one process, with the same
 * JIT state and heap, can be measured both ways in alternating windows.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { Metrics } from '../src/admin/metrics.js';
import { parseConfig } from '../src/config/index.js';
import { startDaemon } from '../src/daemon.js';
import { freePort } from '../test/helpers/ports.js';

const backendPort = Number(process.argv[2]);
const withMetrics = process.argv.includes('--metrics');
const port = await freePort();
const config = parseConfig(
  `listen: [{ address: 127.0.0.1, port: ${port} }]
log: { access: false, level: warn }
server: { maxkeepaliverequests: 0 }
balancers:
  c1:
    stickysession: JSESSIONID
    members:
      - { url: http://127.0.0.1:${backendPort}, route: a }
proxypass:
  - { path: /, url: balancer://c1/ }
`,
  'bench.yaml',
  {},
);
const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
const daemon = await startDaemon(config, { logger, accessLogger: null });
const metrics = new Metrics(daemon);
let unsubscribe: (() => void) | null = withMetrics ? daemon.onRequest(metrics.observe) : null;
process.on('SIGUSR2', () => {
  if (unsubscribe === null) unsubscribe = daemon.onRequest(metrics.observe);
  else {
    unsubscribe();
    unsubscribe = null;
  }
  console.log(`metrics ${unsubscribe === null ? 'off' : 'on'}`);
});
console.log(`listening ${port}`);
process.once('SIGTERM', () => {
  daemon.stop().then(() => process.exit(0), () => process.exit(1));
});

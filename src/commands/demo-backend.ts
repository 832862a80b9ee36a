/**
 * `stickyd demo-backend`: one demo node, the cluster test page replicating through stickyd/cluster
 * (what `stickyd demo` starts twice; docker-compose.yml runs it as the two backends).
 *
 * A node that cannot listen (its HTTP port or its replication port is taken) says so in one line
 * and exits 1. Started by `stickyd demo`, it has an IPC channel to the demo: it reports `ready`
 * over it, and when the channel closes — the demo stopped, or was killed, even with -9 — the
 * node stops too, so no demo node outlives its demo.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { CommandModule } from 'yargs';
import { startDemoBackend } from '../demo/backend.js';
import type { DemoNodeMessage } from '../demo/node-process.js';
import { startProblem } from './listen-problem.js';
import { parsePort } from './usage.js';

/** The cluster library's log lines, readable next to the demo's own: `[jvm_a] cluster member jvm_b left`. */
function readableLog(route: string): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        try {
          const r = JSON.parse(line) as { msg?: string; err?: { message?: string } };
          process.stderr.write(`[${route}] ${r.msg ?? ''}${r.err?.message ? `: ${r.err.message}` : ''}\n`);
        } catch {
          process.stderr.write(`[${route}] ${line}\n`);
        }
      }
      done();
    },
  });
}

export const command: CommandModule = {
  command: 'demo-backend',
  describe: 'Run one demo node (the cluster test page, replicating through stickyd/cluster)',
  builder: (y) =>
    y
      .option('route', { type: 'string', demandOption: true, requiresArg: true, describe: 'jvmRoute: the suffix of session ids and the member route' })
      .option('address', { type: 'string', default: '127.0.0.1', requiresArg: true, describe: 'HTTP listen address' })
      .option('port', { type: 'string', demandOption: true, requiresArg: true, describe: 'HTTP port', coerce: (v: unknown) => parsePort('port', v) })
      .option('cluster-address', { type: 'string', requiresArg: true, describe: 'Replication receiver address (default: --address)' })
      .option('cluster-port', { type: 'string', demandOption: true, requiresArg: true, describe: 'Replication receiver port', coerce: (v: unknown) => parsePort('cluster-port', v) })
      .option('members', { type: 'string', default: '', describe: 'The other nodes\' receivers: host:port,host:port' })
      .option('dns', { type: 'string', requiresArg: true, describe: 'DNS membership instead of --members: a name whose A/AAAA records are the nodes (receivers on --cluster-port); needs a secret' })
      .option('dns-servers', { type: 'string', requiresArg: true, describe: 'DNS servers for --dns, ip[:port],… (default: the system\'s)' })
      .option('secret', { type: 'string', default: process.env.CLUSTER_SECRET ?? '', describe: 'Cluster secret (env CLUSTER_SECRET)' }),
  async handler(argv) {
    const route = String(argv.route);
    const say = (line: string): void => void process.stdout.write(`[${route}] ${line}\n`);
    // Started by `stickyd demo`: leave with it, however it ends (its end closes the channel).
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
      if (process.connected) process.once('disconnect', () => resolve());
    });
    const logger = pino({ level: 'warn', base: { node: route } }, readableLog(route));
    let backend;
    try {
      backend = await startDemoBackend({
        route,
        address: String(argv.address),
        port: argv.port as number,
        ...(argv['cluster-address'] ? { clusterAddress: String(argv['cluster-address']) } : {}),
        clusterPort: argv['cluster-port'] as number,
        members: String(argv.members).split(',').map((s) => s.trim()).filter(Boolean),
        ...(argv.dns ? { dns: String(argv.dns) } : {}),
        ...(argv['dns-servers'] ? { dnsServers: String(argv['dns-servers']).split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        ...(argv.secret ? { secret: String(argv.secret) } : {}),
        logger,
        announce: say,
      });
    } catch (err) {
      process.stderr.write(`[${route}] cannot start: ${startProblem(err)}\n`);
      process.exit(1);
    }
    say(`ready on ${backend.url}`);
    if (process.connected) process.send!({ type: 'ready', url: backend.url } satisfies DemoNodeMessage, (err: Error | null) => void err);
    await stopped;
    await backend.stop();
    process.exit(0);
  },
};

/**
 * `stickyd demo-backend`: one demo node, the cluster test page replicating through stickyd/cluster
 * (what `stickyd demo` starts twice; docker-compose.yml runs it as the two backends).
 */
import pino from 'pino';
import type { CommandModule } from 'yargs';
import { startDemoBackend } from '../demo/backend.js';

export const command: CommandModule = {
  command: 'demo-backend',
  describe: 'Run one demo node (the cluster test page, replicating through stickyd/cluster)',
  builder: (y) =>
    y
      .option('route', { type: 'string', demandOption: true, describe: 'jvmRoute: the suffix of session ids and the member route' })
      .option('address', { type: 'string', default: '127.0.0.1', describe: 'HTTP listen address' })
      .option('port', { type: 'number', demandOption: true, describe: 'HTTP port' })
      .option('cluster-address', { type: 'string', describe: 'Replication receiver address (default: --address)' })
      .option('cluster-port', { type: 'number', demandOption: true, describe: 'Replication receiver port' })
      .option('members', { type: 'string', default: '', describe: 'The other nodes\' receivers: host:port,host:port' })
      .option('dns', { type: 'string', describe: 'DNS membership instead of --members: a name whose A/AAAA records are the nodes (receivers on --cluster-port); needs a secret' })
      .option('dns-servers', { type: 'string', describe: 'DNS servers for --dns, ip[:port],… (default: the system\'s)' })
      .option('secret', { type: 'string', default: process.env.CLUSTER_SECRET ?? '', describe: 'Cluster secret (env CLUSTER_SECRET)' }),
  async handler(argv) {
    const route = String(argv.route);
    const logger = pino({ level: 'warn', base: { node: route } });
    const backend = await startDemoBackend({
      route,
      address: String(argv.address),
      port: Number(argv.port),
      ...(argv['cluster-address'] ? { clusterAddress: String(argv['cluster-address']) } : {}),
      clusterPort: Number(argv['cluster-port']),
      members: String(argv.members).split(',').map((s) => s.trim()).filter(Boolean),
      ...(argv.dns ? { dns: String(argv.dns) } : {}),
      ...(argv['dns-servers'] ? { dnsServers: String(argv['dns-servers']).split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(argv.secret ? { secret: String(argv.secret) } : {}),
      logger,
      announce: (line: string) => process.stdout.write(`[${route}] ${line}\n`),
    });
    process.stdout.write(`[${route}] ready on ${backend.url}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await backend.stop();
    process.exit(0);
  },
};

/**
 * `stickyd demo`: stickyd on 127.0.0.1:8051 (config/examples/demo.yaml) in front of two demo
 * nodes that embed stickyd/cluster and replicate their sessions to each other, so a user can watch
 * stickiness, kill a node, and see the session survive with its id renamed to the other route.
 * A node that dies is started again after a few seconds and receives the cluster's state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import type { Config } from '../config/types.js';
import { listenerUrl, startDaemon } from '../daemon.js';
import { createLogger, flushLogs } from '../log.js';
import { loadConfigOrReport } from './options.js';

const DEMO_CONFIG = fileURLToPath(new URL('../../config/examples/demo.yaml', import.meta.url));
const RESTART_DELAY_MS = 5000;

interface DemoNode {
  route: string;
  port: number;
  clusterPort: number;
  child: ChildProcess | null;
}

/** The demo nodes are the members of the config's first balancer: route and port from each member. */
function demoNodes(config: Config, clusterBasePort: number): DemoNode[] {
  const balancer = config.balancers.find((b) => !b.implicit);
  if (!balancer) throw new Error(`${config.file}: the demo needs a balancer`);
  return balancer.members.map((m, i) => {
    if (m.scheme !== 'http' || !['127.0.0.1', 'localhost'].includes(m.host)) {
      throw new Error(`${config.file}: demo members must be http://127.0.0.1:PORT (got ${m.url})`);
    }
    return { route: m.route, port: m.port, clusterPort: clusterBasePort + i + 1, child: null };
  });
}

/** Resolves once 127.0.0.1:port accepts connections (a demo node listens only after its state transfer). */
async function reachable(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(true)).once('error', () => resolve(false));
      s.unref();
      setTimeout(() => s.destroy(), 500).unref();
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function startNode(node: DemoNode, all: DemoNode[], say: (line: string) => void, onExit: () => void): void {
  const members = all.filter((n) => n !== node).map((n) => `127.0.0.1:${n.clusterPort}`);
  // Same node binary and loader flags as this process (tsx in development, plain node for dist/).
  const child = spawn(
    process.execPath,
    [...process.execArgv, process.argv[1]!, 'demo-backend', '--route', node.route, '--port', String(node.port),
      '--cluster-port', String(node.clusterPort), '--members', members.join(',')],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  node.child = child;
  child.once('exit', (code, signal) => {
    node.child = null;
    say(`node ${node.route} (pid ${child.pid}) exited (${signal ?? `code ${code}`})`);
    onExit();
  });
}

export const command: CommandModule = {
  command: 'demo',
  describe: 'Run stickyd on 127.0.0.1:8051 in front of two replicating demo nodes',
  builder: (y) =>
    y
      .option('config', { alias: 'c', type: 'string', default: DEMO_CONFIG, describe: 'The demo balancer file' })
      .option('cluster-base-port', { type: 'number', default: 4000, describe: 'Demo node n replicates on this port + n' }),
  async handler(argv) {
    const config = await loadConfigOrReport(String(argv.config));
    if (config === null) return;
    const say = (line: string): void => void process.stdout.write(`[demo] ${line}\n`);
    const nodes = demoNodes(config, Number(argv['cluster-base-port']));
    let stopping = false;
    const restart = (node: DemoNode) => () => {
      if (stopping) return;
      say(`starting ${node.route} again in ${RESTART_DELAY_MS / 1000} s: it will fetch the sessions from the other node`);
      setTimeout(() => {
        if (stopping) return;
        startNode(node, nodes, say, restart(node));
        say(`node ${node.route} is pid ${node.child?.pid}`);
      }, RESTART_DELAY_MS).unref();
    };
    for (const node of nodes) startNode(node, nodes, say, restart(node));

    const logger = createLogger(config.log);
    const daemon = await startDaemon(config, { logger });
    for (const n of nodes) if (!(await reachable(n.port, 15_000))) say(`node ${n.route} is not answering on port ${n.port} yet`);
    const proxy = `${listenerUrl(daemon.addresses[0]!)}/`;
    const lines = [
      'stickyd demo is running:',
      `  proxy             ${proxy}   (open it in a browser and reload)`,
      ...(config.admin ? [`  balancer-manager  http://${config.admin.address}:${config.admin.port}/balancer-manager`] : []),
      ...nodes.map((n) => `  node ${n.route}        http://127.0.0.1:${n.port}/   pid ${n.child?.pid}`),
      'Try:',
      `  curl -s -b /tmp/stickyd-demo.jar -c /tmp/stickyd-demo.jar '${proxy}?format=json'   (again: same node, hits grow)`,
      `  kill -9 ${nodes[0]?.child?.pid}   (then the same curl: node ${nodes[1]?.route} answers, same hits, id renamed to .${nodes[1]?.route})`,
      'Ctrl-C stops everything.',
    ];
    say(lines.join('\n       '));

    await new Promise<void>((resolve) => {
      const stop = (): void => {
        stopping = true;
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    say('stopping');
    const exits = nodes.map((n) => (n.child ? new Promise((r) => n.child!.once('exit', r)) : Promise.resolve()));
    for (const n of nodes) n.child?.kill('SIGTERM');
    await Promise.all([daemon.stop(), ...exits]);
    await flushLogs(logger);
    process.exit(0);
  },
};

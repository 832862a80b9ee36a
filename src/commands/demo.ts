/**
 * `stickyd demo`: stickyd on 127.0.0.1:8051 (config/examples/demo.yaml) in front of two demo
 * nodes that embed stickyd/cluster and replicate their sessions to each other, so a user can watch
 * stickiness, kill a node, and see the session survive with its id renamed to the other route.
 * A node that dies is started again after a few seconds and receives the cluster's state.
 *
 * Robust to what a user does by accident: every port (proxy, admin, nodes, replication) is checked
 * before anything starts, and a taken one is one message and exit 1; the nodes stop with the demo
 * however it ends, kill -9 included (node-process.ts); a node that cannot start stops the demo.
 *
 * Ports: --port, --admin-port and --node-ports fill the variables demo.yaml reads (PORT_VARIABLES)
 * (the environment may set them too); --cluster-base-port N puts the replication on N+1, N+2.
 */
import { fileURLToPath } from 'node:url';
import type { CommandModule } from 'yargs';
import type { Config } from '../config/types.js';
import { listenerUrl, startDaemon, type Daemon } from '../daemon.js';
import { DemoNodeProcess, type DemoNodeSpec } from '../demo/node-process.js';
import { hostPort, portProblems, type PortUse } from '../demo/ports.js';
import { createLogger, flushLogs } from '../log.js';
import { startProblem } from './listen-problem.js';
import { loadConfigOrReport } from './options.js';
import { parsePort } from './usage.js';

const DEMO_CONFIG = fileURLToPath(new URL('../../config/examples/demo.yaml', import.meta.url));
const RESTART_DELAY_MS = 5000;

/** The variables config/examples/demo.yaml reads its ports from. */
const PORT_VARIABLES = {
  port: 'STICKYD_DEMO_PORT',
  admin: 'STICKYD_DEMO_ADMIN_PORT',
  nodes: ['STICKYD_DEMO_NODE_A_PORT', 'STICKYD_DEMO_NODE_B_PORT'],
} as const;

/** `--node-ports 9081,9082`: one port per demo node. */
function nodePorts(value: unknown): number[] {
  const words = String(value).split(',').map((w) => w.trim());
  if (words.length !== PORT_VARIABLES.nodes.length) throw new Error(`--node-ports takes ${PORT_VARIABLES.nodes.length} ports, comma-separated, e.g. 9081,9082 (got "${String(value)}")`);
  return words.map((w) => parsePort('node-ports', w));
}

/** The demo nodes are the members of the config's first balancer: route and port from each member. */
function demoNodes(config: Config, clusterBasePort: number): DemoNodeSpec[] {
  const balancer = config.balancers.find((b) => !b.implicit);
  if (!balancer) throw new Error(`${config.file}: the demo needs a balancer`);
  const specs = balancer.members.map((m, i) => {
    if (m.scheme !== 'http' || !['127.0.0.1', 'localhost'].includes(m.host)) {
      throw new Error(`${config.file}: demo members must be http://127.0.0.1:PORT (got ${m.url})`);
    }
    return { route: m.route, port: m.port, clusterPort: clusterBasePort + i + 1, peers: [] as string[] };
  });
  for (const s of specs) s.peers = specs.filter((o) => o !== s).map((o) => `127.0.0.1:${o.clusterPort}`);
  return specs;
}

/** Every port the demo is about to use, with what for. */
function portsOf(config: Config, nodes: DemoNodeSpec[]): PortUse[] {
  return [
    ...config.listen.map((l) => ({ address: l.address, port: l.port, what: 'the proxy' })),
    ...(config.admin ? [{ address: config.admin.address, port: config.admin.port, what: 'the balancer-manager' }] : []),
    ...nodes.flatMap((n) => [
      { address: '127.0.0.1', port: n.port, what: `node ${n.route}` },
      { address: '127.0.0.1', port: n.clusterPort, what: `node ${n.route}'s replication` },
    ]),
  ];
}

export const command: CommandModule = {
  command: 'demo',
  describe: 'Run stickyd on 127.0.0.1:8051 in front of two replicating demo nodes',
  builder: (y) =>
    y
      .option('config', { alias: 'c', type: 'string', default: DEMO_CONFIG, requiresArg: true, describe: 'The demo balancer file' })
      .option('port', { type: 'string', requiresArg: true, describe: `The proxy's port (sets ${PORT_VARIABLES.port}; default 8051)`, coerce: (v: unknown) => parsePort('port', v) })
      .option('admin-port', { type: 'string', requiresArg: true, describe: `The balancer-manager's port (sets ${PORT_VARIABLES.admin}; default 8052)`, coerce: (v: unknown) => parsePort('admin-port', v) })
      .option('node-ports', { type: 'string', requiresArg: true, describe: `The two nodes' HTTP ports, A,B (sets ${PORT_VARIABLES.nodes.join(', ')}; default 8081,8082)`, coerce: nodePorts })
      .option('cluster-base-port', { type: 'string', default: '4000', requiresArg: true, describe: 'Demo node n replicates on this port + n', coerce: (v: unknown) => clusterBasePort(v) }),
  async handler(argv) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (argv.port !== undefined) env[PORT_VARIABLES.port] = String(argv.port);
    if (argv['admin-port'] !== undefined) env[PORT_VARIABLES.admin] = String(argv['admin-port']);
    (argv['node-ports'] as number[] | undefined)?.forEach((p, i) => (env[PORT_VARIABLES.nodes[i]!] = String(p)));
    const config = await loadConfigOrReport(String(argv.config), env);
    if (config === null) return;
    const say = (line: string): void => void process.stdout.write(`[demo] ${line}\n`);
    const fail = (line: string): void => {
      process.stderr.write(`stickyd demo: ${line}\n`);
      process.exitCode = 1;
    };

    let specs: DemoNodeSpec[];
    try {
      specs = demoNodes(config, argv['cluster-base-port'] as number);
    } catch (err) {
      return fail((err as Error).message);
    }
    // Everything is checked before anything starts: a second demo is refused whole.
    const problems = await portProblems(portsOf(config, specs));
    if (problems.length > 0) {
      return fail(
        `cannot start: ${problems.length === 1 ? 'a port it needs is' : 'ports it needs are'} not free:\n` +
          problems.map((p) => `  ${p}\n`).join('') +
          'Is another demo running? Stop it (Ctrl-C), or give the demo other ports, e.g.\n' +
          '  stickyd demo --port 9051 --admin-port 9052 --node-ports 9081,9082 --cluster-base-port 5000',
      );
    }

    let stopping = false;
    const stopRequested = new Promise<void>((resolve) => {
      const stop = (): void => {
        stopping = true;
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    const nodes = specs.map((s) => new DemoNodeProcess(s));
    const urls = new Map<DemoNodeProcess, string>();
    let daemon: Daemon | null = null;
    const logger = createLogger(config.log);
    const shutdown = async (code: number): Promise<never> => {
      stopping = true;
      await Promise.all([...nodes.map((n) => n.stop()), daemon?.stop()]);
      await flushLogs(logger);
      process.exit(code);
    };

    const onExit = (node: DemoNodeProcess) => (pid: number, how: string): void => {
      if (stopping) return;
      say(`node ${node.spec.route} (pid ${pid}) exited (${how}); starting it again in ${RESTART_DELAY_MS / 1000} s: it will fetch the sessions from the other node`);
      setTimeout(() => void restart(node), RESTART_DELAY_MS).unref();
    };
    const restart = async (node: DemoNodeProcess): Promise<void> => {
      if (stopping) return;
      try {
        await node.start(onExit(node));
        say(`node ${node.spec.route} is back: pid ${node.pid}, with the cluster's sessions`);
      } catch (err) {
        if (stopping) return;
        say(`${(err as Error).message}; trying again in ${RESTART_DELAY_MS / 1000} s`);
        setTimeout(() => void restart(node), RESTART_DELAY_MS).unref();
      }
    };

    const started = await Promise.allSettled(nodes.map(async (n) => urls.set(n, await n.start(onExit(n)))));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      fail(`${(failed.reason as Error).message}; stopping the demo`);
      return shutdown(1);
    }
    if (stopping) return shutdown(0);
    try {
      daemon = await startDaemon(config, { logger });
    } catch (err) {
      fail(`cannot start: ${startProblem(err)}`);
      return shutdown(1);
    }

    const proxy = `${listenerUrl(daemon.addresses[0]!)}/`;
    const [first, second] = nodes;
    const lines = [
      'stickyd demo is running:',
      `  proxy             ${proxy}   (open it in a browser and reload)`,
      ...(config.admin ? [`  balancer-manager  http://${hostPort(config.admin.address, config.admin.port)}/balancer-manager`] : []),
      ...nodes.map((n) => `  node ${n.spec.route}        ${urls.get(n)}   pid ${n.pid}`),
      'Try:',
      `  curl -s -b /tmp/stickyd-demo.jar -c /tmp/stickyd-demo.jar '${proxy}?format=json'   (again: same node, hits grow)`,
      ...(first && second
        ? [`  kill -9 ${first.pid}   (then the same curl: node ${second.spec.route} answers, same hits, id renamed to .${second.spec.route})`]
        : []),
      'Ctrl-C stops everything.',
    ];
    say(lines.join('\n       '));

    await stopRequested;
    say('stopping');
    return shutdown(0);
  },
};

/** The replication base port: the demo's nodes listen on base + 1 and base + 2, which must be ports too. */
function clusterBasePort(v: unknown): number {
  const base = parsePort('cluster-base-port', v);
  if (base + 2 > 65535) throw new Error(`--cluster-base-port must leave room for the two nodes (base + 1, base + 2 ≤ 65535; got ${base})`);
  return base;
}

/**
 * One demo node as a child process of `stickyd demo` (`stickyd demo-backend …`), with an IPC
 * channel between the two. The node reports `ready` over it once it listens (after its state
 * transfer), and stops when the channel closes: Node.js has no PR_SET_PDEATHSIG, but a channel
 * closes whenever its other end goes away — a graceful stop, a crash, or kill -9 of the demo — on
 * every platform. So no demo node outlives its demo.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** What a demo node tells `stickyd demo` over the IPC channel. */
export interface DemoNodeMessage {
  type: 'ready';
  url: string;
}

export interface DemoNodeSpec {
  route: string;
  /** The node's HTTP port on 127.0.0.1 (the balancer member's). */
  port: number;
  /** Its replication receiver on 127.0.0.1. */
  clusterPort: number;
  /** The other nodes' receivers, "127.0.0.1:port". */
  peers: string[];
}

/** How a node process ended: its exit code, or the signal that ended it. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : `exit code ${code}`;
}

export class DemoNodeProcess {
  private child: ChildProcess | null = null;
  /** stop() was called: the end of the process is no news. */
  private stopping = false;

  constructor(readonly spec: DemoNodeSpec) {}

  /** The running process's id, or null when none runs. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /**
   * Start the node. Resolves with its URL once it is ready; rejects with why it ended before.
   * `onExit` is called when a node that was ready ends (not when stop() ended it).
   */
  start(onExit: (pid: number, how: string) => void): Promise<string> {
    const { route, port, clusterPort, peers } = this.spec;
    // The same node binary and loader flags as this process (tsx in development, plain node for dist/).
    const child = spawn(
      process.execPath,
      [...process.execArgv, process.argv[1]!, 'demo-backend', '--route', route, '--port', String(port),
        '--cluster-port', String(clusterPort), '--members', peers.join(',')],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    this.child = child;
    return new Promise((resolve, reject) => {
      let ready = false;
      child.on('message', (m: DemoNodeMessage) => {
        if (m?.type !== 'ready' || ready) return;
        ready = true;
        resolve(m.url);
      });
      child.once('error', (err) => {
        if (!ready) reject(new Error(`node ${route} could not be started: ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        const how = describeExit(code, signal);
        if (!ready) reject(new Error(`node ${route} ended before it was ready (${how})`));
        else if (!this.stopping) onExit(child.pid!, how);
      });
    });
  }

  /** SIGTERM (a node stops gracefully, announcing its leave), SIGKILL after graceMs; resolves once it is gone. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

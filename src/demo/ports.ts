/**
 * The demo checks every port it needs before it starts anything: a second demo (or any server on
 * one of its ports) is then one clear message instead of half a demo whose nodes outlive it.
 */
import net from 'node:net';

export interface PortUse {
  address: string;
  port: number;
  /** What the demo wants the port for: "the proxy", "node jvm_a", "node jvm_a's replication". */
  what: string;
}

/** `address:port`, IPv6 in brackets. */
export function hostPort(address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** Why a port cannot be had right now, or null when it can (it is bound for a moment and released). */
function tryBind(address: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE' ? 'in use' : err.code === 'EACCES' || err.code === 'EPERM' ? 'not allowed (a port below 1024 needs root)' : err.code === 'EADDRNOTAVAIL' ? 'not an address of this machine' : err.message);
    });
    server.listen({ host: address, port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/**
 * The problems with a set of ports, one line each: ports the demo would use twice, and ports it
 * cannot bind. Empty when all can be had.
 */
export async function portProblems(uses: readonly PortUse[]): Promise<string[]> {
  const problems: string[] = [];
  const byPort = new Map<number, PortUse>();
  for (const u of uses) {
    const other = byPort.get(u.port);
    if (other !== undefined) {
      problems.push(`port ${u.port} is wanted twice: for ${other.what} and for ${u.what}`);
      continue;
    }
    byPort.set(u.port, u);
  }
  for (const u of byPort.values()) {
    const why = await tryBind(u.address, u.port);
    if (why !== null) problems.push(`${hostPort(u.address, u.port)} (${u.what}) is ${why}`);
  }
  return problems;
}

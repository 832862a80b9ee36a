/**
 * Why a server could not start, as one sentence a user can act on (the daemon's `run`, the demo
 * and its nodes share it): a listen() failure names the address and what to do about it.
 */
export function startProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.syscall === 'listen' || e.syscall === 'bind') {
    const where = e.address === undefined ? '' : ` ${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}`;
    switch (e.code) {
      case 'EADDRINUSE':
        return `cannot listen on${where}: the address is already in use (is another stickyd or server running there?)`;
      case 'EACCES':
      case 'EPERM':
        return `cannot listen on${where}: permission denied (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability)`;
      case 'EADDRNOTAVAIL':
        return `cannot listen on${where}: this machine has no such address`;
      default:
        return `cannot listen on${where}: ${e.message}`;
    }
  }
  return e instanceof Error ? e.message : String(err);
}

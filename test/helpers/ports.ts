import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Several distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A port on 127.0.0.1 where every connect is refused, reserved for as long as the test needs it.
 * A port that was merely free a moment ago can be taken by another test running in parallel, and
 * a listener there that never answers turns "connection refused" into a hang until the proxy's
 * timeout. So the port is held by a TCP socket that is bound but not listening (the kernel answers
 * SYNs to it with RST, and nobody else can bind it). Node cannot bind without listening, so python3
 * holds it; it exits when `release()` is called or when this process goes away (its stdin closes).
 */
export async function refusedPort(): Promise<{ port: number; release(): void }> {
  const { spawn } = await import('node:child_process');
  const script = 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()';
  const py = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    py.once('error', reject);
    py.once('exit', (code) => reject(new Error(`python3 exited (${code}) before reserving a port`)));
    py.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  py.stdout!.destroy();
  py.unref();
  (py.stdin as unknown as { unref?: () => void }).unref?.();
  return { port, release: () => py.kill('SIGKILL') };
}

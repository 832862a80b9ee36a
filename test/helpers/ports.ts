/**
 * Ports for tests, without races.
 *
 * 1. Where the thing under test can listen on port 0 and say which port it got, tests do that: the
 *    kernel picks a port nobody has, in the same call that binds it: a node server in the test
 *    (`server.address()`), an in-process daemon given a Config whose listen port is 0 (it reports
 *    `daemon.addresses`, also with worker threads; test/workers/helpers.ts). stickyd's configuration
 *    file asks for a port from 1, so a daemon started from a file gets a port from freePort().
 *
 * 2. `freePort()` / `freePorts(n)` are for a port that must be known before the program that listens
 *    on it starts: a spawned daemon's configuration file, httpd, Tomcat, redis, a cluster peer named
 *    in another's static member list. A port that was merely free a moment ago is not enough: until
 *    the program binds it (a second or more, for a JVM), another test file (vitest runs two at once),
 *    a second `npm test` on the machine, or just an outgoing connection (the kernel takes a client's
 *    local port from the same range) can take it, and the program fails with EADDRINUSE.
 *
 *    So the port stays reserved for as long as this test process lives. A helper process holds a
 *    socket bound to 127.0.0.1:port with SO_REUSEADDR that never listens (python3: Node cannot bind a
 *    TCP socket without listening). Linux then
 *    - never hands that port to anyone's bind(0) nor to an outgoing connection, in any process: no
 *      other freePort() caller, in this run or a concurrent one, and no client socket can get it;
 *    - still lets the program the test starts bind and listen on it, since servers set SO_REUSEADDR
 *      too (node, httpd, Tomcat, redis all do), and a bound socket that does not listen is no
 *      conflict for them;
 *    - still refuses a second listener while one listens (tests of "address in use" work as before).
 *    A test may stop its server and start another on the same port (a restarted node keeps its
 *    port). The reservations end when this process exits (the holder's stdin closes) or on
 *    `releasePorts()`. Without python3 (README: the tests need it), freePort() falls back to a port
 *    that was free a moment ago, and says so once.
 *
 * This was chosen over retrying on EADDRINUSE (every kind of child would need its own detection and
 * restart) and over a lock-file registry under /tmp (it would not stop outgoing connections from
 * taking the port, and needs stale-lock cleanup after killed runs); the kernel already is the one
 * registry every process on the machine shares.
 *
 * 3. `refusedPort()`: a port where connections are refused, reserved against everyone (below).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

/** The reservation holder: reads a count per line on stdin, binds that many ports, prints them. */
const HOLDER = `
import socket, sys
held = []
for line in sys.stdin:
    ports = []
    for _ in range(int(line)):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        held.append(s)
        ports.append(str(s.getsockname()[1]))
    print(" ".join(ports), flush=True)
`;

interface Holder {
  child: ChildProcess;
  /** Answers still to come, in request order. */
  waiting: Array<{ resolve(ports: number[]): void; reject(err: Error): void }>;
}

let holder: Holder | null = null;
let holderFailed = false;
/** Requests are sent one at a time, so that a reply is the answer to the request before it. */
let queue: Promise<unknown> = Promise.resolve();

function startHolder(): Holder {
  const child = spawn('python3', ['-u', '-c', HOLDER], { stdio: ['pipe', 'pipe', 'pipe'] });
  const h: Holder = { child, waiting: [] };
  let buffered = '';
  let stderr = '';
  const idle = () => {
    // Not a reason for this process to stay alive: the holder goes when this process does.
    child.unref();
    (child.stdout as net.Socket | null)?.unref();
    (child.stderr as net.Socket | null)?.unref();
    (child.stdin as unknown as net.Socket | null)?.unref();
  };
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      h.waiting.shift()?.resolve(line === '' ? [] : line.split(' ').map(Number));
    }
    if (h.waiting.length === 0) idle();
  });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const fail = (err: Error) => {
    if (holder === h) holder = null;
    for (const w of h.waiting.splice(0)) w.reject(err);
  };
  child.once('error', fail);
  child.once('exit', (code, signal) => fail(new Error(`the port holder (python3) exited (${code ?? signal}): ${stderr.trim()}`)));
  child.stdin!.on('error', () => {}); // the holder gone: reported through 'exit'
  idle();
  return h;
}

function reserve(n: number): Promise<number[]> {
  const asked = queue.then(() => {
    holder ??= startHolder();
    const h = holder;
    return new Promise<number[]>((resolve, reject) => {
      h.waiting.push({ resolve, reject });
      h.child.ref();
      (h.child.stdout as net.Socket).ref();
      h.child.stdin!.write(`${n}\n`);
    });
  });
  queue = asked.catch(() => {});
  return asked;
}

/** A port that was free a moment ago (the kernel picks it), not reserved: the fallback without python3. */
function probedPort(): Promise<number> {
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

/** `n` distinct ports on 127.0.0.1, reserved for this process's lifetime (see the top of this file). */
export async function freePorts(n: number): Promise<number[]> {
  if (n <= 0) return [];
  if (!holderFailed) {
    try {
      return await reserve(n);
    } catch (err) {
      holderFailed = true;
      console.warn(`test/helpers/ports.ts: cannot reserve ports (${(err as Error).message}); falling back to ports that were free a moment ago, which parallel tests can take`);
    }
  }
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await probedPort());
  return [...ports];
}

/** One port on 127.0.0.1, reserved for this process's lifetime (see the top of this file). */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** End every reservation of this process now (the holder exits; later calls start a new one). */
export function releasePorts(): void {
  const h = holder;
  holder = null;
  if (h !== null && h.child.exitCode === null) h.child.kill('SIGKILL');
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
 * SYNs to it with RST, and nobody else can bind it: no SO_REUSEADDR here, unlike freePort()). Node
 * cannot bind without listening, so python3 holds it; it exits when `release()` is called or when
 * this process goes away (its stdin closes).
 */
export async function refusedPort(): Promise<{ port: number; release(): void }> {
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

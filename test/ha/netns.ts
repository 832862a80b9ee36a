/**
 * A small network made of Linux network namespaces, for tests that need real hosts with their
 * own addresses (VRRP multicast, a virtual address moving between hosts). Root only.
 *
 * Every namespace is named `stickyd-ha-<pid>-<random>-<role>`: unique per run, and the PID says
 * whose it is. `removeStale()` deletes the namespaces of runs whose process is gone (a run that
 * was killed before its afterAll), after killing what still runs inside them — processes such a
 * run started there. `destroy()` does the same for this run's namespaces.
 *
 * A "switch" namespace holds one Linux bridge per segment; each host namespace gets a veth pair
 * per segment, `ethN` on the host side and the other end enslaved to the segment's bridge. The
 * pairs are created inside the namespaces (`ip -n SWITCH link add … peer … netns HOST`), so no
 * interface ever appears in the machine's own namespace, and multicast sent on them (VRRP) can
 * reach only the test's hosts.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const NETNS_PREFIX = 'stickyd-ha-';

/** Why this machine cannot build such a network, or null when it can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces and keepalived need root (CI runs as root)';
  for (const bin of ['ip', 'curl']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} is not installed (apt-get install ${bin === 'ip' ? 'iproute2' : bin})`;
    }
  }
  return null;
}

/** Runs a command to completion; a failure names the command and carries its stderr. */
export function run(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function listNamespaces(): string[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0]!)
    .filter((name) => name.startsWith(NETNS_PREFIX));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILL every process inside the namespace, then delete it. */
function killAndDelete(ns: string): void {
  // A process leaving between the listing and the kill is fine; so is a namespace already gone.
  for (let round = 0; round < 3; round++) {
    let pids: number[] = [];
    try {
      pids = run('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean).map(Number);
    } catch {
      break;
    }
    if (pids.length === 0) break;
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
    }
    execFileSync('sleep', ['0.1']);
  }
  try { run('ip', ['netns', 'delete', ns]); } catch { /* gone already */ }
}

/** Is this a name `Lab` gives (`stickyd-ha-<pid>-<6 hex>…`) of a run whose process is gone? */
function staleName(name: string): boolean {
  const m = /^stickyd-ha-(\d+)-[0-9a-f]{6}(?:-|$)/.exec(name);
  if (!m) return false; // not one of ours
  const pid = Number(m[1]);
  return pid !== process.pid && !alive(pid);
}

/**
 * Deletes what earlier runs left when their process died before cleaning up: their namespaces
 * (killing what still runs inside) and their temporary directories (`tmpDir()`). Returns the
 * names of the namespaces.
 */
export function removeStale(): string[] {
  const stale = listNamespaces().filter(staleName);
  for (const ns of stale) killAndDelete(ns);
  for (const entry of readdirSync(os.tmpdir())) {
    if (entry.startsWith(NETNS_PREFIX) && staleName(entry)) rmSync(path.join(os.tmpdir(), entry), { recursive: true, force: true });
  }
  return stale;
}

export interface Link {
  /** The segment (a bridge in the switch namespace). */
  segment: string;
  /** The host's address on it, with its prefix length: "192.0.2.11/24". */
  address: string;
}

export class Lab {
  readonly id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly created: string[] = [];
  private readonly switchNs: string;
  private ports = 0;

  constructor(segments: string[]) {
    this.switchNs = this.add('switch');
    for (const segment of segments) {
      run('ip', ['-n', this.switchNs, 'link', 'add', segment, 'type', 'bridge']);
      run('ip', ['-n', this.switchNs, 'link', 'set', segment, 'up']);
    }
  }

  /** A temporary directory named like the namespaces, so that `removeStale()` finds it too. */
  tmpDir(): string {
    const dir = path.join(os.tmpdir(), `${NETNS_PREFIX}${this.id}`);
    mkdirSync(dir, { mode: 0o700 });
    return dir;
  }

  /** The namespace name of a host. */
  ns(role: string): string {
    return `${NETNS_PREFIX}${this.id}-${role}`;
  }

  private add(role: string): string {
    const ns = this.ns(role);
    run('ip', ['netns', 'add', ns]);
    this.created.push(ns);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A host with one interface per link: eth0, eth1, … in the order given. */
  addHost(role: string, links: Link[]): void {
    const ns = this.add(role);
    links.forEach((link, i) => {
      const ifname = `eth${i}`;
      const port = `p${this.ports++}`; // the switch side; names are per namespace, so short ones do
      run('ip', ['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns]);
      run('ip', ['-n', this.switchNs, 'link', 'set', port, 'master', link.segment, 'up']);
      run('ip', ['-n', ns, 'addr', 'add', link.address, 'dev', ifname]);
      run('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
    });
  }

  /** The IPv4 addresses on a host's interface. */
  addresses(role: string, ifname: string): string[] {
    return run('ip', ['-n', this.ns(role), '-4', '-o', 'addr', 'show', 'dev', ifname])
      .split('\n')
      .map((line) => /\sinet\s+([\d.]+)\//.exec(line)?.[1])
      .filter((a): a is string => a !== undefined);
  }

  /** Runs a command inside a host and resolves with its stdout (rejects with stderr on failure). */
  async exec(role: string, argv: string[], timeoutMs = 20_000): Promise<string> {
    try {
      const { stdout } = await execFileAsync('ip', ['netns', 'exec', this.ns(role), ...argv], { encoding: 'utf8', timeout: timeoutMs });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`[${role}] ${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  /**
   * Starts a long-running process inside a host. `ip netns exec` execs the command in place, so
   * the child's PID is the command's own: kill -9 by that PID kills the command itself.
   */
  spawn(role: string, argv: string[], env: Record<string, string> = {}): HostProcess {
    return new HostProcess(role, spawn('ip', ['netns', 'exec', this.ns(role), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    }));
  }

  /** Kills everything still running in this run's namespaces and deletes them. */
  destroy(): void {
    for (const ns of this.created.splice(0).reverse()) killAndDelete(ns);
  }

  /** True when `ip netns list` shows none of this run's namespaces (for the cleanup check). */
  gone(): boolean {
    return listNamespaces().every((name) => !name.startsWith(`${NETNS_PREFIX}${this.id}-`));
  }
}

/** A process inside a host namespace: its output, waiting for a line, its exit, signals by PID. */
export class HostProcess {
  readonly pid: number;
  readonly exited: Promise<number | string>;
  private out = '';
  private done = false;

  constructor(readonly role: string, child: ReturnType<typeof spawn>) {
    this.pid = child.pid ?? -1;
    child.stdout?.on('data', (d: Buffer) => { this.out += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { this.out += d.toString(); });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, sig) => {
        this.done = true;
        resolve(code ?? sig ?? 'unknown');
      });
      child.once('error', (err) => { // `ip` could not be started at all
        this.out += `${err.message}\n`;
        this.done = true;
        resolve('error');
      });
    });
  }

  output(): string {
    return this.out;
  }

  running(): boolean {
    return !this.done;
  }

  /** Resolves with the first output line matching re; rejects when the process exits or after timeoutMs. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.out.split('\n').find((l) => re.test(l));
      if (line !== undefined) return line;
      if (this.done) throw new Error(`[${this.role}] exited before printing ${re}; output:\n${this.out}`);
      if (Date.now() > deadline) throw new Error(`[${this.role}] no ${re} within ${timeoutMs} ms; output:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.done && this.pid > 0) {
      try { process.kill(this.pid, sig); } catch { /* gone already */ }
    }
  }
}

/**
 * Fixtures of the worker-thread tests: a daemon with server.workers: N in this process (its
 * threads load src/ through tsx), and client connections pinned to one worker. The kernel spreads
 * new connections over the workers' SO_REUSEPORT sockets by a hash, so a test that needs a request
 * on a given worker opens keep-alive connections until one is served there (the access record
 * names the worker), then sends its requests on that connection.
 */
import http from 'node:http';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import type { AccessRecord } from '../../src/log.js';
import type { SupervisedDaemon } from '../../src/workers/supervised.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { request, sleep, type Reply } from '../proxy/helpers.js';

const closers: Array<() => Promise<void>> = [];

export async function cleanupWorkers(): Promise<void> {
  for (const close of closers.splice(0).reverse()) await close().catch(() => {});
}

export interface WorkersProxy {
  daemon: Daemon;
  supervised: SupervisedDaemon;
  port: number;
  url: string;
  config: Config;
  /** Access records of every worker (posted to this thread). */
  records: AccessRecord[];
  /** The daemon's own lines, the workers' included (they come through this thread). */
  logLines: string[];
  /** The worker a request to `path` was served by (waits for its record). */
  workerOf(path: string): Promise<number>;
}

/**
 * A daemon with `workers` worker threads on a YAML text (`listen:` and `server:` are added; a
 * `server:` line in the text is not allowed, give `server` instead).
 */
export async function startWorkers(yaml: string, options: { workers?: number; server?: string } = {}): Promise<WorkersProxy> {
  const server = `server: { servername: proxy.test, workers: ${options.workers ?? 2}${options.server ? `, ${options.server}` : ''} }\n`;
  const config = parseConfig(`listen: [{ address: 127.0.0.1, port: 1 }]\n${server}${yaml}`, 'workers.yaml', {});
  // Port 0: the kernel picks the port, every worker listens on it, the daemon says which it is
  // (test/workers/port-zero.test.ts). The file's key table wants 1-65535, hence the placeholder.
  config.listen[0]!.port = 0;
  const { logger, lines: logLines } = memoryLogger();
  const daemon = await startDaemon(config, { logger, accessLogger: null });
  closers.push(() => daemon.stop());
  const port = daemon.addresses[0]!.port;
  const records: AccessRecord[] = [];
  daemon.onRequest((r) => records.push(r));
  const url = `http://127.0.0.1:${port}`;
  return {
    daemon,
    supervised: daemon as SupervisedDaemon,
    port,
    url,
    config,
    records,
    logLines,
    async workerOf(path) {
      for (let i = 0; i < 500; i++) {
        const r = records.find((x) => x.url === path);
        if (r !== undefined) return r.worker ?? 0;
        await sleep(10);
      }
      throw new Error(`no access record for ${path}`);
    },
  };
}

let probes = 0;

/**
 * A keep-alive agent with one connection, served by worker `id`: new connections are opened (and
 * the others closed) until a probe request on one is served there. `workerOf` says which worker
 * served a request path.
 */
export async function agentOnWorker(url: string, id: number, workerOf: (path: string) => Promise<number>, probePath = '/probe'): Promise<http.Agent> {
  for (let attempt = 0; attempt < 60; attempt++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const path = `${probePath}-${++probes}`;
    await request(`${url}${path}`, { agent });
    if ((await workerOf(path)) === id) {
      closers.push(async () => agent.destroy());
      return agent;
    }
    agent.destroy();
  }
  throw new Error(`no connection reached worker ${id} in 60 tries`);
}

/** `n` requests on `agent`, one after the other. */
export async function requests(url: string, agent: http.Agent, n: number): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await request(url, { agent }));
  return out;
}

/** A metric's value in a /metrics text (the first series matching `labels`, or the unlabelled one). */
export function metric(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (labels === '' ? !rest.startsWith(' ') : !(rest.startsWith('{') && rest.includes(labels))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

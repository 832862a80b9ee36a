// server.workers: 2 with `port: 0`: the kernel picks one port for the address and every worker
// listens on it (the main thread resolves 0 before the workers start; each worker binding 0 on its
// own would get a port of its own, and the daemon would report only the first one's). The
// configuration file's key table asks for a port from 1; a program that embeds the daemon
// (`startDaemon`, src/index.ts) can give 0, as these tests do.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon.js';
import type { Config } from '../../src/config/types.js';
import type { AccessRecord } from '../../src/log.js';
import type { SupervisedDaemon } from '../../src/workers/supervised.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { cleanup, echoed, request, sleep, startBackend } from '../proxy/helpers.js';
import { agentOnWorker } from './helpers.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => {});
  await cleanup();
});

/** The configuration of `yaml` with every listen port replaced by 0. */
function portZero(yaml: string): Config {
  const config = parseConfig(yaml, 'workers.yaml', {});
  for (const l of config.listen) l.port = 0;
  return config;
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('port 0 with worker threads', { timeout: 120_000 }, () => {
  it('every worker serves on the one port the daemon reports; a reload and a restarted worker keep it', async () => {
    const backend = await startBackend('a');
    const yaml = (extra: string) => `listen: [{ address: 127.0.0.1, port: 1 }]
server: { servername: proxy.test, workers: 2 }
balancers:
  c1:
    members:
      - { url: ${backend.url} }
proxypass:
  - { path: /app, url: balancer://c1/app }
${extra}`;
    const { logger, lines } = memoryLogger();
    const daemon = (await startDaemon(portZero(yaml('')), { logger, accessLogger: null })) as SupervisedDaemon;
    stops.push(() => daemon.stop());
    const records: AccessRecord[] = [];
    daemon.onRequest((r) => records.push(r));
    const workerOf = async (path: string): Promise<number> => {
      await until(`the access record of ${path}`, () => records.some((r) => r.url === path));
      return records.find((r) => r.url === path)!.worker ?? 0;
    };

    expect(daemon.addresses).toHaveLength(1);
    const { address, port } = daemon.addresses[0]!;
    expect(address).toBe('127.0.0.1');
    expect(port).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${port}`;
    // Connections to that port reach both workers: both listen there.
    for (const id of [1, 2]) {
      const agent = await agentOnWorker(url, id, workerOf, `/app/probe-${id}`);
      expect(echoed(await request(`${url}/app/on-${id}`, { agent })).backend).toBe('a');
      agent.destroy();
    }

    // A reload of the same listen entry keeps the port (nothing reopened); a worker started again
    // listens on it too.
    await daemon.reload(portZero(yaml('# reloaded\n')));
    expect(daemon.addresses).toEqual([{ address: '127.0.0.1', port }]);
    expect(lines.filter((l) => l.includes('stopped listening') || l.includes('listening on'))).toEqual([]);
    await daemon.supervisor.worker(1)!.terminate();
    await until('worker 1 started again', () => lines.some((l) => l.includes('worker 1 started again')));
    const again = await agentOnWorker(url, 1, workerOf, '/app/probe-again');
    expect(echoed(await request(`${url}/app/again`, { agent: again })).backend).toBe('a');
    again.destroy();
  });

  it('a listen entry with port 0 added by a reload gets a port of its own that both workers serve', async () => {
    const backend = await startBackend('a');
    const yaml = (listen: string) => `listen: [${listen}]
server: { servername: proxy.test, workers: 2 }
balancers:
  c1:
    members:
      - { url: ${backend.url} }
proxypass:
  - { path: /app, url: balancer://c1/app }
`;
    const { logger, lines } = memoryLogger();
    const daemon = (await startDaemon(portZero(yaml('{ address: 127.0.0.1, port: 1 }')), { logger, accessLogger: null })) as SupervisedDaemon;
    stops.push(() => daemon.stop());
    const first = daemon.addresses[0]!.port;
    await daemon.reload(portZero(yaml('{ address: 127.0.0.1, port: 1 }, { address: 127.0.0.2, port: 2 }')));
    expect(daemon.addresses).toHaveLength(2);
    expect(daemon.addresses[0]).toEqual({ address: '127.0.0.1', port: first });
    const added = daemon.addresses[1]!;
    expect(added.address).toBe('127.0.0.2');
    expect(added.port).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes('listening on'))).toEqual([expect.stringContaining(`stickyd listening on http://127.0.0.2:${added.port}`)]);
    // Both workers answer on the added address: a handful of fresh connections each get a 200, and
    // between them reach both workers.
    const records: AccessRecord[] = [];
    daemon.onRequest((r) => records.push(r));
    const seen = new Set<number>();
    for (let i = 0; i < 60 && seen.size < 2; i++) {
      expect((await request(`http://127.0.0.2:${added.port}/app/n${i}`)).status).toBe(200);
      await until(`the record of /app/n${i}`, () => records.some((r) => r.url === `/app/n${i}`));
      seen.add(records.find((r) => r.url === `/app/n${i}`)!.worker ?? 0);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([1, 2]);

    // Removed again: the message names the port it had.
    await daemon.reload(portZero(yaml('{ address: 127.0.0.1, port: 1 }')));
    expect(daemon.addresses).toEqual([{ address: '127.0.0.1', port: first }]);
    expect(lines.some((l) => l.includes(`stickyd stopped listening on http://127.0.0.2:${added.port}`))).toBe(true);
  });
});

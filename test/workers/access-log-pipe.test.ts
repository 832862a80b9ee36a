// server.workers: 2 — the access log when stdout is a pipe and both workers write at once: each
// worker's lines reach stdout through the main thread, which writes whole batches, so every line
// arrives whole, once, and never interleaved with another.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { spawnStickyd, stopAll } from '../helpers/spawn.js';
import { cleanup, startBackend } from '../proxy/helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
  await cleanup();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** GET on a new connection each time (so the kernel spreads them over the workers); resolves with the status. */
function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    }).on('error', reject);
  });
}

describe('access log through a pipe with two workers', { timeout: 180_000 }, () => {
  it('many concurrent requests on both workers: one whole line each, none torn or interleaved', async () => {
    const backend = await startBackend('a');
    const port = await freePort();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-pipe-'));
    dirs.push(dir);
    const file = path.join(dir, 'stickyd.yaml');
    await writeFile(file, `listen: [{ address: 127.0.0.1, port: ${port} }]
server: { servername: proxy.test, workers: 2 }
log: { level: info, access: true }
balancers:
  c1:
    members: [{ url: ${backend.url} }]
proxypass:
  - { path: /, url: balancer://c1/ }
`);
    const p = spawnStickyd(['-c', file]);
    // Read the pipe as bytes: a chunk boundary may fall anywhere, also inside a line.
    const chunks: Buffer[] = [];
    p.child.stdout!.on('data', (d: Buffer) => chunks.push(d));
    await p.waitFor(/stickyd listening on/, 60_000);

    // Lines of ~1.2 KB: 1200 of them are ~1.4 MB, many times the pipe's buffer, in 64 KB batches.
    const total = 1200;
    const pad = 'x'.repeat(1100);
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        expect(await get(`http://127.0.0.1:${port}/r/${i}?${pad}`)).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 40 }, client));
    p.signal('SIGTERM');
    expect(await p.exited).toBe(0);

    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { type?: string; url?: string; worker?: number; status?: number });
    const access = parsed.filter((r) => r.type === 'access');
    expect(access).toHaveLength(total);
    const seen = new Set(access.map((r) => r.url));
    expect(seen.size).toBe(total);
    for (let i = 0; i < total; i++) expect(seen.has(`/r/${i}?${pad}`)).toBe(true);
    expect(new Set(access.map((r) => r.worker))).toEqual(new Set([1, 2]));
    expect(access.every((r) => r.status === 200)).toBe(true);
    expect(parsed.at(-1)).toMatchObject({ msg: 'stickyd stopped' });
  });
});

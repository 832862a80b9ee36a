/**
 * `stickyd demo` as the README tells a new user to try it: a session sticks to one node, that node
 * is killed, the other node answers with the same session (hits continue, id renamed to its route),
 * the killed node is started again and fetches the state, Ctrl-C stops everything.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, freePorts } from '../helpers/ports.js';
import { repoRoot, spawnStickyd, stopAll } from '../helpers/spawn.js';

interface Page { node: string; sessionId: string; originalSessionId: string | null; creationTime: string; hits: number }

/** A cluster base port whose next two ports are free too (the demo nodes replicate on base+1, base+2). */
async function clusterBase(): Promise<number> {
  for (;;) {
    const base = await freePort();
    const taken = await Promise.all([base + 1, base + 2].map(async (p) => {
      const probe = await import('node:net');
      return new Promise<boolean>((resolve) => {
        const srv = probe.createServer().once('error', () => resolve(true));
        srv.listen(p, '127.0.0.1', () => srv.close(() => resolve(false)));
      });
    }));
    if (!taken.includes(true)) return base;
  }
}

describe('stickyd demo', () => {
  afterAll(stopAll);

  it('shows stickiness, failover with the session intact, and the node coming back', async () => {
    const [proxyPort, a, b] = await freePorts(3);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stickyd-demo-'));
    const yaml = fs.readFileSync(path.join(repoRoot, 'config/examples/demo.yaml'), 'utf8')
      .replace('port: 8051', `port: ${proxyPort}`)
      .replace('127.0.0.1:8081', `127.0.0.1:${a}`)
      .replace('127.0.0.1:8082', `127.0.0.1:${b}`)
      .replace(/\nadmin:\n[\s\S]*?\n\n/, '\n'); // no admin listener: its fixed port may be taken
    const config = path.join(dir, 'demo.yaml');
    fs.writeFileSync(config, yaml.replace(/retry: 5s/g, 'retry: 1s'));

    const demo = spawnStickyd(['demo', '-c', config, '--cluster-base-port', String(await clusterBase())]);
    const banner = await demo.waitFor(/kill -9 \d+/, 30_000);
    const victimPid = Number(/kill -9 (\d+)/.exec(banner)![1]);

    let cookie = '';
    const get = async (): Promise<{ page: Page; setCookie: string | null }> => {
      const res = await fetch(`http://127.0.0.1:${proxyPort}/?format=json`, { headers: cookie ? { cookie } : {} });
      const setCookie = res.headers.get('set-cookie');
      if (setCookie) cookie = setCookie.split(';')[0]!;
      return { page: (await res.json()) as Page, setCookie };
    };

    // byrequests: the first new session goes to the first member (ties go to the earlier one).
    const first = await get();
    expect(first.page).toMatchObject({ node: 'jvm_a', hits: 1 });
    expect(first.page.sessionId).toMatch(/^[0-9A-F]{32}\.jvm_a$/);
    const second = await get();
    expect(second.page).toMatchObject({ node: first.page.node, sessionId: first.page.sessionId, hits: 2 });

    // The banner's `kill -9` names jvm_a, the node holding our session.
    const hex = first.page.sessionId.split('.')[0];
    process.kill(victimPid, 'SIGKILL');
    await demo.waitFor(/node jvm_a \(pid \d+\) exited/);

    const after = await get();
    expect(after.page.hits).toBe(3);
    expect(after.page.creationTime).toBe(first.page.creationTime);
    // The session moved: jvm_b renamed it to its own route and told the client.
    expect(after.page).toMatchObject({ node: 'jvm_b', sessionId: `${hex}.jvm_b`, originalSessionId: `${hex}.jvm_a` });
    expect(after.setCookie).toMatch(new RegExp(`^JSESSIONID=${hex}\\.jvm_b; Path=/; HttpOnly`));

    // The killed node comes back and receives the cluster's state; the demo keeps serving.
    await demo.waitFor(/node jvm_a is pid \d+/, 15_000);
    await demo.waitFor(/\[jvm_a\] ready on/, 20_000);
    expect((await get()).page.hits).toBe(4);

    demo.signal('SIGINT');
    expect(await demo.exited).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 90_000);
});

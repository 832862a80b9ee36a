/**
 * `stickyd demo` as the README tells a new user to try it: a session sticks to one node, that node
 * is killed, the other node answers with the same session (hits continue, id renamed to its route),
 * the killed node is started again and fetches the state, Ctrl-C stops everything. And what a user
 * does by accident: a second demo while one runs (refused whole, nothing started), kill -9 of the
 * demo (its nodes go with it).
 *
 * Every demo here runs on free ports given as options (never 8051/8081/…, so a user's own demo
 * does not disturb the tests), and every process it started is gone after each test, also when
 * the test fails: the demo by stopAll, its nodes by the PIDs its banner printed.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/ports.js';
import { spawnStickyd, stopAll, type Proc } from '../helpers/spawn.js';
import { alive, demoPorts, killStragglers, nodePids, waitGone, type DemoPorts } from './helpers.js';

interface Page { node: string; sessionId: string; originalSessionId: string | null; creationTime: string; hits: number }

const demos: Proc[] = [];
afterEach(async () => {
  const pids = demos.splice(0).flatMap((d) => nodePids(d.output()));
  await stopAll();
  await killStragglers(pids);
});

function startDemo(p: DemoPorts, extra: string[] = []): Proc {
  const demo = spawnStickyd(['demo', ...p.args, ...extra]);
  demos.push(demo);
  return demo;
}

describe('stickyd demo', () => {
  it('shows stickiness, failover with the session intact, and the node coming back', async () => {
    const p = await demoPorts();
    const demo = startDemo(p);
    await demo.waitFor(/Ctrl-C stops everything/, 60_000);
    const banner = demo.output();
    expect(banner).not.toMatch(/undefined/);
    expect(banner).toContain(`proxy             http://127.0.0.1:${p.proxy}/`);
    expect(banner).toContain(`balancer-manager  http://127.0.0.1:${p.admin}/balancer-manager`);
    const [pidA, pidB] = nodePids(banner);
    expect(banner).toContain(`node jvm_a        http://127.0.0.1:${p.nodes[0]}/   pid ${pidA}`);
    expect(banner).toContain(`node jvm_b        http://127.0.0.1:${p.nodes[1]}/   pid ${pidB}`);
    const victimPid = Number(/kill -9 (\d+)/.exec(banner)![1]);
    expect(victimPid).toBe(pidA);

    let cookie = '';
    const get = async (): Promise<{ page: Page; setCookie: string | null }> => {
      const res = await fetch(`http://127.0.0.1:${p.proxy}/?format=json`, { headers: cookie ? { cookie } : {} });
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
    await demo.waitFor(new RegExp(`node jvm_a \\(pid ${victimPid}\\) exited \\(killed by SIGKILL\\); starting it again in 5 s`), 30_000);

    const after = await get();
    expect(after.page.hits).toBe(3);
    expect(after.page.creationTime).toBe(first.page.creationTime);
    // The session moved: jvm_b renamed it to its own route and told the client.
    expect(after.page).toMatchObject({ node: 'jvm_b', sessionId: `${hex}.jvm_b`, originalSessionId: `${hex}.jvm_a` });
    expect(after.setCookie).toMatch(new RegExp(`^JSESSIONID=${hex}\\.jvm_b; Path=/; HttpOnly`));

    // The killed node comes back and receives the cluster's state; the demo keeps serving.
    const back = await demo.waitFor(/node jvm_a is back: pid \d+, with the cluster's sessions/, 60_000);
    const newPid = Number(/pid (\d+)/.exec(back)![1]);
    expect(newPid).not.toBe(victimPid);
    expect(alive(newPid)).toBe(true);
    expect((await get()).page.hits).toBe(4);

    demo.signal('SIGINT');
    expect(await demo.exited).toBe(0);
    await waitGone([newPid, pidB!], 20_000);
  }, 180_000);

  it('refuses to start, starting nothing, when a port it needs is taken, and names every taken port', async () => {
    const p = await demoPorts();
    // Something else holds node jvm_b's port and the admin port.
    const holders = await Promise.all([p.nodes[1]!, p.admin].map((port) => new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(port, '127.0.0.1', () => resolve(s));
    })));
    try {
      const demo = startDemo(p);
      expect(await demo.exited).toBe(1);
      expect(demo.output()).toBe(
        'stickyd demo: cannot start: ports it needs are not free:\n' +
          `  127.0.0.1:${p.admin} (the balancer-manager) is in use\n` +
          `  127.0.0.1:${p.nodes[1]} (node jvm_b) is in use\n` +
          'Is another demo running? Stop it (Ctrl-C), or give the demo other ports, e.g.\n' +
          '  stickyd demo --port 9051 --admin-port 9052 --node-ports 9081,9082 --cluster-base-port 5000\n',
      );
      // Nothing was started: the proxy's and jvm_a's ports are still free.
      for (const port of [p.proxy, p.nodes[0]!, p.clusterBase + 1]) {
        await new Promise<void>((resolve, reject) => {
          const s = net.createServer().once('error', reject);
          s.listen(port, '127.0.0.1', () => s.close(() => resolve()));
        });
      }
    } finally {
      for (const s of holders) s.close();
    }
  }, 60_000);

  it('a second demo on the same ports is refused while the first runs on', async () => {
    const p = await demoPorts();
    const firstDemo = startDemo(p);
    await firstDemo.waitFor(/Ctrl-C stops everything/, 60_000);
    const secondDemo = startDemo(p);
    expect(await secondDemo.exited).toBe(1);
    expect(secondDemo.output()).toMatch(/^stickyd demo: cannot start: ports it needs are not free:\n/);
    expect(secondDemo.output().match(/is in use/g)).toHaveLength(6);
    // The first one still serves.
    expect((await fetch(`http://127.0.0.1:${p.proxy}/?format=json`)).status).toBe(200);
  }, 120_000);

  it('its nodes die with it when the demo is killed with -9', async () => {
    const p = await demoPorts();
    const demo = startDemo(p);
    await demo.waitFor(/Ctrl-C stops everything/, 60_000);
    const pids = nodePids(demo.output());
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    demo.signal('SIGKILL');
    expect(await demo.exited).toBe('SIGKILL');
    // The nodes notice that their channel to the demo closed and stop on their own.
    await waitGone(pids, 20_000);
    for (const port of p.nodes) await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }, 120_000);

  it('refuses wrong options with its usage and one line, exit 1', async () => {
    const [port] = await freePorts(1);
    const demo = spawnStickyd(['demo', '--node-ports', `${port}`]);
    expect(await demo.exited).toBe(1);
    expect(demo.output()).toMatch(/^stickyd demo\n/);
    expect(demo.output()).toMatch(new RegExp(`\\nstickyd demo: --node-ports takes 2 ports, comma-separated, e\\.g\\. 9081,9082 \\(got "${port}"\\)\\n$`));
  }, 60_000);
});

describe('stickyd demo-backend', () => {
  it('exits 1 with one line when its HTTP port or its replication port is taken', async () => {
    const [taken, free1, free2] = await freePorts(3);
    const holder = await new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(taken, '127.0.0.1', () => resolve(s));
    });
    try {
      const http = spawnStickyd(['demo-backend', '--route', 'jvm_x', '--port', String(taken), '--cluster-port', String(free1)]);
      expect(await http.exited).toBe(1);
      expect(http.output()).toContain(`[jvm_x] cannot start: cannot listen on 127.0.0.1:${taken}: the address is already in use (is another stickyd or server running there?)\n`);
      const cluster = spawnStickyd(['demo-backend', '--route', 'jvm_y', '--port', String(free2), '--cluster-port', String(taken)]);
      expect(await cluster.exited).toBe(1);
      expect(cluster.output()).toContain(`[jvm_y] cannot start: cluster receiver 127.0.0.1:${taken} is already in use: pick another receiver.port\n`);
      expect(cluster.output()).not.toMatch(/"stack"|at .*\.ts:\d+/);
    } finally {
      holder.close();
    }
  }, 60_000);
});

// daemon.reload(): member state, member connections and client connections survive; listeners are
// added and removed; connection settings that change give a member a new connector.
import http from 'node:http';
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { statusText } from '../../src/balancer/flags.js';
import { parseConfig } from '../../src/config/index.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { freePort } from '../helpers/ports.js';
import { cleanup, echoed, keepAliveAgent, request, startBackend } from '../proxy/helpers.js';

const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.stop();
  await cleanup();
});

function config(ports: number[], members: string, extra = '') {
  const listen = ports.map((p) => `{ address: 127.0.0.1, port: ${p} }`).join(', ');
  return parseConfig(
    `listen: [${listen}]\nserver: { servername: proxy.test, workers: 1 }\nbalancers:\n  c1:\n    failonstatus: [500]\n${extra}    members:\n${members}\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`,
    'reload.yaml', {},
  );
}

async function start(c: ReturnType<typeof config>): Promise<Daemon> {
  const d = await startDaemon(c, { logger: pino({ level: 'silent' }), accessLogger: null });
  daemons.push(d);
  return d;
}

describe('reload', () => {
  it('keeps member error state and counters, pooled member connections, and open client connections', async () => {
    const bad = await startBackend('bad', (_r, res) => {
      res.statusCode = 500;
      res.end('bad');
    });
    const good = await startBackend('good');
    const port = await freePort();
    const members = `      - { url: ${bad.url} }\n      - { url: ${good.url} }`;
    const d = await start(config([port], members));
    const agent = keepAliveAgent();
    const sockets = new Set<net.Socket>();
    agent.on('free', (s: net.Socket) => sockets.add(s));
    const url = `http://127.0.0.1:${port}/`;
    expect((await request(url, { agent: undefined })).status).toBe(500);
    expect(echoed(await request(url, { agent })).backend).toBe('good');
    const electedBefore = d.balancers.get('c1')!.member(good.url)!.elected;

    await d.reload(config([port], members, '    lbmethod: byrequests\n'));

    expect(statusText(d.balancers.get('c1')!.member(bad.url)!.status)).toBe('Init Err ');
    expect(d.balancers.get('c1')!.member(good.url)!.elected).toBe(electedBefore);
    for (let i = 0; i < 3; i++) expect(echoed(await request(url, { agent })).backend).toBe('good');
    // The same client connection and the same member connection carried everything.
    expect(sockets.size).toBe(1);
    expect(good.connections).toBe(1);
    expect(bad.received).toHaveLength(1);
  });

  it('changed connection settings give the member a new connector; unchanged ones keep theirs', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const d = await start(config([port], `      - { url: ${a.url}, timeout: 5s }`));
    const url = `http://127.0.0.1:${port}/`;
    await request(url);
    await d.reload(config([port], `      - { url: ${a.url}, timeout: 5s, route: renamed }`));
    await request(url);
    expect(a.connections).toBe(1);
    await d.reload(config([port], `      - { url: ${a.url}, timeout: 6s }`));
    await request(url);
    expect(a.connections).toBe(2);
  });

  it('adds and removes listeners; a removed listener stops accepting but finishes its open connection', async () => {
    const slow = await startBackend('slow', (_r, res) => setTimeout(() => res.end('done'), 300));
    const [p1, p2] = [await freePort(), await freePort()];
    const d = await start(config([p1], `      - { url: ${slow.url} }`));
    const inFlight = request(`http://127.0.0.1:${p1}/`);
    await new Promise((r) => setTimeout(r, 50));
    await d.reload(config([p2], `      - { url: ${slow.url} }`));
    expect(d.addresses).toEqual([{ address: '127.0.0.1', port: p2 }]);
    expect((await inFlight).body).toBe('done');
    expect((await request(`http://127.0.0.1:${p2}/`)).body).toBe('done');
    const refused = await new Promise<string>((resolve) => {
      http.get(`http://127.0.0.1:${p1}/`, { agent: false }, () => resolve('answered')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });
});

// The access log (pino JSON lines) and the in-process request observers.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon.js';
import { freePort } from '../helpers/ports.js';
import { cleanup, request, sleep, startBackend } from './helpers.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await cleanup();
});

async function daemonWithLog(access: boolean) {
  const backend = await startBackend('a');
  const port = await freePort();
  const config = parseConfig(
    `listen: [{ address: 127.0.0.1, port: ${port} }]\nserver: { servername: proxy.test }\nlog: { level: info, access: ${access} }\n` +
    `balancers:\n  c1:\n    stickysession: JSESSIONID\n    members: [{ url: ${backend.url}, route: r1 }]\nproxypass:\n  - { path: /app, url: balancer://c1/app }\n`,
    'log.yaml', {},
  );
  const lines: string[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { lines.push(...c.toString().split('\n').filter(Boolean)); cb(); } });
  const logger = pino({ level: 'info' }, sink);
  const daemon = await startDaemon(config, { logger });
  stops.push(() => daemon.stop());
  return { daemon, backend, lines, url: `http://127.0.0.1:${port}` };
}

describe('access log', () => {
  it('writes one JSON line per request with the BALANCER_* fields', async () => {
    const { lines, url, backend } = await daemonWithLog(true);
    await request(`${url}/app/page?x=1`, { headers: { Cookie: 'JSESSIONID=s1.r1' } });
    await request(`${url}/nowhere`);
    await sleep(50);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.type === 'access');
    expect(records).toHaveLength(2);
    const [hit, miss] = records;
    expect(hit).toMatchObject({
      client: '127.0.0.1', method: 'GET', url: '/app/page?x=1', status: 200, balancer: 'balancer://c1', member: backend.url,
      memberRoute: 'r1', sessionRoute: 'r1', stickyName: 'JSESSIONID', routeChanged: false, attempts: 1,
    });
    expect(hit!.bytes).toBeGreaterThan(0);
    expect(typeof hit!.duration).toBe('number');
    expect(new Date(hit!.time as string).toISOString()).toBe(hit!.time);
    expect(miss).toMatchObject({ url: '/nowhere', status: 404, balancer: null, member: null, attempts: 0 });
  });

  it('log.access off: no lines, but observers still get every record; unsubscribing stops them', async () => {
    const { daemon, lines, url } = await daemonWithLog(false);
    const seen: number[] = [];
    const stop = daemon.onRequest((r) => seen.push(r.status ?? 0));
    await request(`${url}/app/`);
    await sleep(20);
    stop();
    await request(`${url}/app/`);
    await sleep(20);
    expect(seen).toEqual([200]);
    expect(lines.filter((l) => l.includes('"type":"access"'))).toEqual([]);
  });

  it('an observer that throws does not disturb the request path', async () => {
    const { daemon, url } = await daemonWithLog(false);
    daemon.onRequest(() => {
      throw new Error('observer bug');
    });
    expect((await request(`${url}/app/`)).status).toBe(200);
    expect((await request(`${url}/app/`)).status).toBe(200);
  });
});

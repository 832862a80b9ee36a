// The admin listener's life with the daemon: started with it, moved/added/removed by reloads,
// a taken port failing the start, everything closed by stop.
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/daemon.js';
import { freePort, freePorts } from '../helpers/ports.js';
import { cleanup, configOf, request, startBackend, startStack } from './fixtures.js';

afterEach(cleanup);

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

const quiet = () => pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() }));

describe('the admin listener follows reloads', () => {
  it('is added, moved and removed by reloads, while the proxy keeps serving', async () => {
    const a = await startBackend('a');
    const [p1, p2] = (await freePorts(2)) as [number, number];
    const body = (admin: string) => `${admin}
balancers:
  c1:
    members:
      - { url: ${a.url} }
proxypass:
  - { path: /, url: balancer://c1/ }
`;
    const s = await startStack(body(''));
    expect(s.ops.admin).toBeNull();
    await s.reload(body(`admin: { port: ${p1} }`));
    expect(s.ops.admin).toEqual({ address: '127.0.0.1', port: p1 });
    expect((await request(`http://127.0.0.1:${p1}/healthz`)).status).toBe(200);
    await s.reload(body(`admin: { port: ${p2} }`));
    expect(await refused(p1)).toBe(true);
    expect((await request(`http://127.0.0.1:${p2}/healthz`)).status).toBe(200);
    await s.reload(body(''));
    expect(await refused(p2)).toBe(true);
    expect(s.ops.admin).toBeNull();
    expect((await request(`${s.proxyUrl}/`)).status).toBe(200);
    expect(s.logLines.some((l) => l.includes(`admin listener on http://127.0.0.1:${p2}`))).toBe(true);
  });

  it('a reload to a taken admin port is logged; the old admin listener and the proxy keep running', async () => {
    const a = await startBackend('a');
    const blocker = net.createServer();
    const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
    try {
      const body = (admin: string) => `${admin}\nbalancers:\n  c1:\n    members:\n      - { url: ${a.url} }\nproxypass:\n  - { path: /, url: balancer://c1/ }\n`;
      const s = await startStack(body('admin: { port: ADMIN_PORT }'));
      const before = s.ops.admin;
      await s.reload(body(`admin: { port: ${taken} }`));
      expect(s.ops.admin).toEqual(before);
      expect(s.logLines.some((l) => l.includes('"level":50') && l.includes(`admin listener: listen EADDRINUSE`) && l.includes(`the admin listener stays on 127.0.0.1:${before!.port}`))).toBe(true);
      expect((await request(`${s.adminUrl}/readyz`)).status).toBe(200);
      expect((await request(`${s.proxyUrl}/`)).status).toBe(200);
    } finally {
      blocker.close();
    }
  });
});

describe('start and stop', () => {
  it('a taken admin port fails the start and leaves nothing listening', async () => {
    const blocker = net.createServer();
    const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
    const port = await freePort();
    try {
      const config = configOf(`admin: { port: ${taken} }\nbalancers:\n  c1:\n    members:\n      - { url: http://127.0.0.1:9 }\n`, port);
      await expect(startDaemon(config, { logger: quiet(), accessLogger: null })).rejects.toThrow(/EADDRINUSE/);
      expect(await refused(port)).toBe(true);
    } finally {
      blocker.close();
    }
  });

  it('stop closes the admin listener and ends health checks', async () => {
    const a = await startBackend('a');
    const adminPort = await freePort();
    const port = await freePort();
    const config = configOf(`admin: { port: ${adminPort} }
balancers:
  c1:
    members:
      - { url: ${a.url}, hcmethod: GET, hcinterval: 20ms }
`, port);
    const daemon = await startDaemon(config, { logger: quiet(), accessLogger: null });
    expect((await request(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
    await daemon.stop();
    expect(await refused(adminPort)).toBe(true);
    const checks = a.received.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(a.received.length).toBe(checks);
  });
});

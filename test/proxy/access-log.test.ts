// The access log (pino JSON lines) and the in-process request observers.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { startDaemon } from '../../src/daemon.js';
import { accessLine, type AccessRecord } from '../../src/log.js';
import { eventually } from '../helpers/patience.js';
import { freePort } from '../helpers/ports.js';
import { cleanup, rawExchange, request, sleep, startBackend } from './helpers.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await cleanup();
});

async function daemonWithLog(access: boolean) {
  const backend = await startBackend('a');
  const port = await freePort();
  const config = parseConfig(
    `listen: [{ address: 127.0.0.1, port: ${port} }]\nserver: { servername: proxy.test, workers: 1 }\nlog: { level: info, access: ${access} }\n` +
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
    // A second observer that stays: once it has the second record, the first would have had it.
    const all: number[] = [];
    daemon.onRequest((r) => all.push(r.status ?? 0));
    await request(`${url}/app/`);
    await eventually('the first record', () => seen.length === 1);
    stop();
    await request(`${url}/app/`);
    await eventually('the second record', () => all.length === 2);
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

/** What pino wrote for a record on the access logger before accessLine replaced it on the hot path. */
function pinoLine(record: AccessRecord): string {
  let out = '';
  const logger = pino({ level: 'info', base: { type: 'access' }, timestamp: false }, { write(s: string) { out += s; } });
  logger.info(record);
  return out;
}

function record(over: Partial<AccessRecord> = {}): AccessRecord {
  return {
    time: '2026-01-02T03:04:05.678Z', client: '127.0.0.1', method: 'GET', url: '/app/page?x=1', status: 200, bytes: 123,
    duration: 0.457, balancer: 'balancer://c1', member: 'http://127.0.0.1:8080', memberRoute: 'r1', sessionRoute: 'r1',
    stickyName: 'JSESSIONID', routeChanged: false, attempts: 1, ...over,
  };
}

describe('accessLine (the hand-written access log line)', () => {
  // Strings as node hands them over (latin1: every code unit 0..255) and as config may give them.
  const strings = [
    '', 'plain', '"quoted"', 'back\\slash', 'tab\there', 'nl\nand\rcr', '\u0000nul\u001fus', '\u007fdel', 'caf\u00e9 \u00ff\u0080',
    '/a?b=%22&c=<script>', 'x'.repeat(99) + '"', 'y'.repeat(150) + '\\' + '\u0001', 'unicode \u2028\u2029 \u4e2d\u6587 \ud83d\ude00',
  ];

  it('is byte for byte what pino wrote, for every field and escaping case', () => {
    const cases: AccessRecord[] = [
      record(),
      record({ status: null, balancer: null, member: null, memberRoute: null, sessionRoute: null, stickyName: null, attempts: 0, bytes: 0 }),
      record({ routeChanged: true, memberRoute: '', duration: 12345.678, bytes: 2 ** 40 }),
      record({ failures: [{ member: 'http://127.0.0.1:1', kind: 'connect' }, { member: 'ajp://h:8009', kind: 'ping' }], attempts: 3 }),
      record({ duration: Number.NaN, bytes: Number.POSITIVE_INFINITY }),
      ...strings.flatMap((s) => [record({ url: s }), record({ client: s, method: s, member: s, sessionRoute: s, stickyName: s, balancer: s, memberRoute: s, time: s })]),
    ];
    for (const r of cases) expect(accessLine(r)).toBe(pinoLine(r));
  });

  it('stays valid JSON where pino did not: a lone surrogate is escaped, not written as broken UTF-16', () => {
    const r = record({ url: '/x\ud800y', member: 'm\udfff' });
    const line = accessLine(r);
    expect(line).toContain('\\ud800');
    expect(line.endsWith('}\n')).toBe(true);
    expect(JSON.parse(line)).toMatchObject({ url: '/x\ud800y', member: 'm\udfff' });
    // Once encoded as UTF-8 (what the log file gets) it still reads back to the same record.
    expect(JSON.parse(Buffer.from(line, 'utf8').toString('utf8'))).toMatchObject({ url: '/x\ud800y', member: 'm\udfff' });
  });

  it('a request target with quotes and backslashes gives a parseable line with the URL exactly as sent', async () => {
    const { lines, url } = await daemonWithLog(true);
    const target = '/app/q?a="b"&c=\\d&e=%00';
    await rawExchange(Number(new URL(url).port), `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 2000);
    await sleep(50);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.type === 'access');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ url: target, status: 200 });
  });
});

// The dashboard's timeline from state transitions, without sockets: the watcher looks at real
// members' scoreboard slots and reports going into error, a failed retry, recovery, health checks,
// flags changed behind its back, worker restarts and refused reloads; a change someone recorded
// (the manager, the API, a reload) is not reported twice.
import { describe, expect, it } from 'vitest';
import type { AdminTarget } from '../../src/admin/context.js';
import { describeChange, EventLog, EVENTS_KEPT, StateWatcher } from '../../src/admin/dashboard/events.js';
import { Balancer } from '../../src/balancer/balancer.js';
import { Flag } from '../../src/balancer/flags.js';
import type { ReloadRecord, ReloadStatus } from '../../src/config/reloader.js';
import { ProxyCounters } from '../../src/proxy/counters.js';
import { configOf } from './fixtures.js';

const A = 'http://127.0.0.1:8081';
const B = 'http://127.0.0.1:8082';

function world(members = `      - { url: ${A}, route: a, retry: 30s }\n      - { url: ${B}, route: b }\n`) {
  const config = configOf(`balancers:\n  c1:\n    members:\n${members}`);
  const balancers = new Map([['c1', new Balancer(config.balancers[0]!)]]);
  const workers = { count: 2, restarts: 0 };
  let last: ReloadRecord = { time: '2025-01-01T00:00:00.000Z', trigger: 'start', successful: true, errors: [] };
  const target: AdminTarget = {
    config,
    balancers,
    counters: new ProxyCounters(),
    onRequest: () => () => {},
    workers,
    reloads: {
      status: (): ReloadStatus => ({ file: 'x.yaml', last, lastSuccess: last.time }),
      reload: () => Promise.reject(new Error('not here')),
    },
  };
  const log = new EventLog();
  // The members' times here are on the clock the checks pass: no conversion.
  const watcher = new StateWatcher(target, log, (t) => t);
  const member = (url: string) => balancers.get('c1')!.members.find((m) => m.name === url)!;
  return { target, balancers, workers, log, watcher, member, setLast: (r: ReloadRecord) => (last = r) };
}

describe('the timeline', () => {
  it('reports a member going into error, a failed retry, and its recovery, at the times they happened', () => {
    const w = world();
    const a = w.member(A);
    expect(w.watcher.check(1000)).toBe(false);
    a.status |= Flag.IN_ERROR;
    a.errorTime = 900;
    expect(w.watcher.check(1000)).toBe(true);
    a.errorTime = 31_000; // retry() cleared E, the attempt failed, E again
    w.watcher.check(31_100);
    // The spell in error began at the first failure: the page's "in error for" counts from there.
    expect(w.watcher.errorSince('c1', A)).toBe(900);
    expect(w.watcher.errorSince('c1', B)).toBeNull();
    a.status &= ~Flag.IN_ERROR;
    w.watcher.check(62_000);
    expect(w.watcher.check(62_250)).toBe(false);
    expect(w.log.since(0).map((e) => [e.kind, e.level, e.time, e.route, e.text])).toEqual([
      ['error', 'bad', 900, 'a', 'out of service (E); the first request after its retry (30 s) tries it again'],
      ['error-again', 'bad', 31_000, 'a', 'the retry failed: out of service again; the first request after its retry (30 s) tries it again'],
      ['recovered', 'good', 62_000, 'a', 'back in service after 61 s in error'],
    ]);
  });

  it('reports health checks, and flags changed behind its back; a change someone recorded is adopted', () => {
    const w = world();
    const [a, b] = [w.member(A), w.member(B)];
    a.status |= Flag.HC_FAIL;
    b.status |= Flag.DRAIN | Flag.DISABLED;
    w.watcher.check(5);
    a.status &= ~Flag.HC_FAIL;
    w.watcher.check(6);
    // The manager drained a and said so: the watcher takes it as seen.
    a.status |= Flag.DRAIN;
    w.watcher.adopt('c1', A);
    w.watcher.check(7);
    expect(w.log.since(0).map((e) => [e.kind, e.route, e.text])).toEqual([
      ['hcfail', 'a', 'failed its health checks: out of service (C)'],
      ['changed', 'b', '+N (draining), +D (disabled)'],
      ['hcpass', 'a', 'passes its health checks again'],
    ]);
  });

  it('keeps an error that happened between two looks even when a change was adopted in between', () => {
    const w = world();
    const a = w.member(A);
    a.status |= Flag.IN_ERROR | Flag.DRAIN;
    a.errorTime = 10;
    w.watcher.adopt('c1', A);
    w.watcher.check(20);
    expect(w.log.since(0).map((e) => e.kind)).toEqual(['error']);
  });

  it('says what a reload changed, reports worker restarts and refused reloads', () => {
    const w = world();
    const old = w.balancers.get('c1')!;
    // The new configuration: b removed, c added, a disabled by the file.
    const config = configOf(`balancers:\n  c1:\n    members:\n      - { url: ${A}, route: a, status: +D }\n      - { url: http://127.0.0.1:8083, route: c }\n`);
    w.balancers.set('c1', new Balancer(config.balancers[0]!, old));
    (w.target as { config: unknown }).config = config;
    expect(w.watcher.reloadChanges()).toEqual(['c1: a +D (disabled); added c; removed http://127.0.0.1:8082']);
    expect(w.watcher.check(1)).toBe(false);

    w.workers.restarts = 2;
    w.setLast({ time: '2025-01-01T00:01:00.000Z', trigger: 'SIGHUP', successful: false, errors: ['x.yaml:3:5: loadfactor: expected a number', 'x.yaml:9:1: y: unknown key'] });
    w.watcher.check(2);
    w.setLast({ time: '2025-01-01T00:02:00.000Z', trigger: 'api', successful: true, errors: [] });
    w.watcher.check(3);
    expect(w.log.since(0).map((e) => [e.kind, e.level, e.text])).toEqual([
      ['worker-restart', 'bad', '2 worker threads died and were started again (2 restarts since the start; see the daemon log)'],
      ['reload-failed', 'bad', 'reload (SIGHUP) refused, the running configuration stays: x.yaml:3:5: loadfactor: expected a number (and 1 more)'],
    ]);
  });

  it('keeps the last EVENTS_KEPT events, numbered', () => {
    const log = new EventLog();
    for (let i = 0; i < EVENTS_KEPT + 10; i++) log.record({ level: 'info', kind: 'changed', balancer: null, member: null, route: null, text: String(i) });
    const all = log.since(0);
    expect(all).toHaveLength(EVENTS_KEPT);
    expect(all[0]!.seq).toBe(11);
    expect(log.since(EVENTS_KEPT + 8).map((e) => e.text)).toEqual([String(EVENTS_KEPT + 8), String(EVENTS_KEPT + 9)]);
    expect(describeChange('-N')).toBe('-N (no longer draining)');
    expect(describeChange('loadfactor 1.00 → 2.00')).toBe('loadfactor 1.00 → 2.00');
  });
});

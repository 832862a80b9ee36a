// /readyz's decision, without sockets: could the next request be served by some member (apache-semantics §4.3, §4.4)?
import { describe, expect, it } from 'vitest';
import { Flag, applyStatus } from '../../src/balancer/flags.js';
import { couldServe, readiness } from '../../src/admin/readiness.js';
import { balancerOf } from './fixtures.js';

const NOW = 1_000_000;

function balancer(statuses: string[], opts: { forcerecovery?: boolean; retry?: string } = {}) {
  const members = statuses.map((_s, i) => `      - { url: http://127.0.0.1:${8081 + i}${opts.retry ? `, retry: ${opts.retry}` : ''} }`).join('\n');
  const b = balancerOf(`balancers:\n  c1:\n    forcerecovery: ${opts.forcerecovery ?? true}\n    members:\n${members}\n`);
  b.members.forEach((m, i) => {
    m.status = applyStatus(statuses[i]!, Flag.INITIALIZED);
    m.errorTime = NOW - 1000; // put in error a second ago
  });
  return b;
}

describe('couldServe', () => {
  it.each<[string[], { forcerecovery?: boolean; retry?: string }, boolean]>([
    [[''], {}, true],
    [['+D', ''], {}, true],
    [['+D', '+S'], {}, false],
    [['+C', '+C'], {}, false],
    [['+N'], {}, true], // draining is usable: its sticky sessions are served
    // In error, retry (60 s) not due: forcerecovery would still try them all.
    [['+E', '+E'], { forcerecovery: true }, true],
    [['+E', '+E'], { forcerecovery: false }, false],
    // One in error (not due), one disabled: force_recovery does not run (not every member has E).
    [['+E', '+D'], {}, false],
    // Retry due (500 ms < 1 s since the error): the next request's retry() takes it out of error.
    [['+E', '+D'], { retry: '500ms' }, true],
    // I: retried at once.
    [['+EI', '+D'], {}, true],
    // S is never retried out of E.
    [['+ES', '+D'], { retry: '500ms' }, false],
    // E and C: clearing E alone would not make it usable.
    [['+EC', '+D'], { retry: '500ms' }, false],
  ])('%j %j → %s', (statuses, opts, expected) => {
    expect(couldServe(balancer(statuses, opts), NOW)).toBe(expected);
  });
});

describe('readiness', () => {
  it('lists each balancer that cannot serve, with its members\' states', () => {
    const good = balancer(['']);
    const bad = balancer(['+D', '+C']);
    const target = { balancers: new Map([['good', good], ['bad', bad]]) };
    const r = readiness(target as never, NOW);
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual(['balancer://c1: no usable member (http://127.0.0.1:8081 Init Dis, http://127.0.0.1:8082 Init HcFl)']);
  });
});

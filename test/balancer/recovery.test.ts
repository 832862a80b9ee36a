// Errors, retry, forcerecovery, maxattempts and post_request (§4.1, §4.3-§4.6).
import { describe, expect, it } from 'vitest';
import { Balancer } from '../../src/balancer/balancer.js';
import { Flag, statusText } from '../../src/balancer/flags.js';
import { connectSucceeded, markInError, postRequest, preRequest } from '../../src/balancer/select.js';
import { request } from './attempts.js';
import { NO_SESSION, T0, balancerConfig, expectMember, letter, memberConfig, picks } from './fixtures.js';

function members(specs: string[], overrides: Parameters<typeof balancerConfig>[1] = {}): Balancer {
  return new Balancer(
    balancerConfig(
      specs.map((spec) => {
        const [name, status = ''] = spec.split(':');
        return memberConfig(name!, { status, retry: 2_000 });
      }),
      overrides,
    ),
  );
}

describe('retry() (§4.3)', () => {
  it('retries only when now > error_time + retry (strictly)', () => {
    const b = members(['a', 'b']);
    const a = b.members[0]!;
    markInError(a, T0);
    b.members[1]!.lbstatus = 1_000_000; // b keeps winning, so only retry() decides a's state
    expect(picks(b, 1, NO_SESSION, T0 + 2_000)).toBe('b');
    expect(statusText(a.status)).toBe('Init Err ');
    expect(picks(b, 1, NO_SESSION, T0 + 2_000.001)).toBe('b');
    expect(statusText(a.status)).toBe('Init Ok ');
    expect(a.retries).toBe(1);
  });

  it('retry=0: tried again at the next selection that comes later than the error', () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { retry: 0 }), memberConfig('b')]));
    const a = b.members[0]!;
    markInError(a, T0);
    expect(picks(b, 1, NO_SESSION, T0)).toBe('b');
    expect(picks(b, 1, NO_SESSION, T0 + 0.001)).toBe('a');
  });

  it('S is never retried out of E by the scan', () => {
    const b = members(['a:SE', 'b']);
    expect(picks(b, 3, NO_SESSION, T0 + 3_600_000)).toBe('bbb');
    expect(statusText(b.members[0]!.status)).toBe('Init Stop Err ');
  });

  it('I: never put in error, and a configured E is cleared at once', () => {
    const b = members(['a:IE', 'b']);
    b.members[0]!.errorTime = T0; // even a fresh error
    expect(picks(b, 1, NO_SESSION, T0)).toBe('a');
    expect(statusText(b.members[0]!.status)).toBe('Init Ign Ok ');
    markInError(b.members[0]!, T0);
    expect(statusText(b.members[0]!.status)).toBe('Init Ign Ok ');
  });

  it('status=+E in the file is cleared at the first selection (error_time is 0)', () => {
    const b = members(['a:+E', 'b']);
    expect(statusText(b.members[0]!.status)).toBe('Init Err ');
    expect(picks(b, 1, NO_SESSION, T0)).toBe('a');
    expect(b.members[0]!.retries).toBe(1);
  });

  it('markInError stamps error_time; a successful connect resets error_time and retries', () => {
    const b = members(['a', 'b']);
    const a = b.members[0]!;
    markInError(a, T0 + 5);
    expect([a.errorTime, a.has(Flag.IN_ERROR)]).toEqual([T0 + 5, true]);
    a.retries = 3;
    connectSucceeded(a);
    expect([a.errorTime, a.retries]).toEqual([0, 0]);
  });
});

describe('implicit balancer (a direct worker)', () => {
  it('carries I: a failed connect does not put it in error, and every request tries it', () => {
    const b = new Balancer(balancerConfig([memberConfig('a')], { implicit: true, forcerecovery: false, failonstatus: [500] }));
    expect(statusText(b.members[0]!.status)).toBe('Init Ign Ok ');
    expect(request(b, new Set(['a']), NO_SESSION, T0)).toMatchObject({ status: 503, connects: 'a' });
    expect(request(b, new Set(), NO_SESSION, T0 + 1)).toMatchObject({ status: 200, connects: 'a' });
    expect(statusText(b.members[0]!.status)).toBe('Init Ign Ok ');
  });
});

describe('forcerecovery (§4.4)', () => {
  it('all members in E: all are taken out of error at the start of the attempt (retries++ each)', () => {
    const b = members(['a', 'b']);
    for (const m of b.members) markInError(m, T0);
    expect(picks(b, 1, NO_SESSION, T0 + 1)).toBe('a');
    expect(b.members.map((m) => [statusText(m.status), m.retries])).toEqual([
      ['Init Ok ', 1],
      ['Init Ok ', 1],
    ]);
  });

  it('forcerecovery Off: immediate 503, nothing counted', () => {
    const b = members(['a', 'b'], { forcerecovery: false });
    for (const m of b.members) markInError(m, T0);
    expect(preRequest(b, NO_SESSION, T0 + 1)).toEqual({ kind: 'unavailable', wait: null });
    expect(b.members.map((m) => [m.elected, m.busy, m.retries])).toEqual([[0, 0, 0], [0, 0, 0]]);
  });

  it('looks at E only: a disabled member without E counts as fine, so nothing is forced', () => {
    const b = members(['a:D', 'b']);
    markInError(b.members[1]!, T0);
    expect(preRequest(b, NO_SESSION, T0 + 1)).toEqual({ kind: 'unavailable', wait: null });
    expect(b.members[1]!.has(Flag.IN_ERROR)).toBe(true);
  });

  it('retries members in order and stops at the first that recovers', () => {
    const b = members(['a', 'b', 'c']);
    const [a, bm, c] = b.members as [typeof b.members[0], typeof b.members[0], typeof b.members[0]];
    markInError(a!, T0);
    markInError(bm!, T0 - 10_000); // elapsed
    markInError(c!, T0 - 10_000); // elapsed too, but never reached by force_recovery
    c!.status |= Flag.DRAIN; // and the scan skips draining members, so c keeps E
    expect(picks(b, 1, NO_SESSION, T0 + 1)).toBe('b');
    expect([a!.retries, bm!.retries, c!.retries]).toEqual([0, 1, 0]);
    expect(c!.has(Flag.IN_ERROR)).toBe(true);
  });

  it('forces stopped members out of E too (only the scan honours S)', () => {
    const b = members(['a:SE', 'b:E']);
    b.members[1]!.errorTime = T0;
    expect(picks(b, 1, NO_SESSION, T0 + 1)).toBe('b');
    expect(statusText(b.members[0]!.status)).toBe('Init Stop ');
  });

  it('single member: every request tries it again even while it is in E (retries=1, elected=2 after 2 requests)', () => {
    const b = members(['a']);
    const dead = new Set(['a']);
    expect(request(b, dead, NO_SESSION, T0)).toMatchObject({ status: 503, connects: 'a' });
    expect(request(b, dead, NO_SESSION, T0 + 1)).toMatchObject({ status: 503, connects: 'a' });
    expect([b.members[0]!.elected, b.members[0]!.retries, statusText(b.members[0]!.status)]).toEqual([2, 1, 'Init Err ']);
  });
});

describe('maxattempts (§4.5)', () => {
  it.each<[string, number, number | null, number, boolean]>([
    ['1 member, default', 1, null, 0, false],
    ['2 members, default', 2, null, 1, true],
    ['4 members, default (every member counts)', 4, null, 3, true],
    ['1 member, explicit 1', 1, 1, 1, true],
    ['3 members, explicit 0', 3, 0, 0, true],
  ])('%s → maxattempts %#', (_label, count, explicit, value, set) => {
    const specs = ['a', 'b:H', 'c:R', 'd:D'].slice(0, count);
    const b = members(specs, { maxattempts: explicit });
    expect([b.maxAttempts, b.maxAttemptsSet]).toEqual([value, set]);
  });

  it.each<[string, string[], number | null, string, number]>([
    // [case, members, maxattempts, connects, status]
    ['single dead member, default: no retry', ['a'], null, 'a', 503],
    ['single dead member, maxattempts=1: connected twice (forcerecovery revives it)', ['a'], 1, 'aa', 503],
    ['two dead members, default 1: two connects, then 503', ['a', 'b'], null, 'ab', 503],
    ['two dead members, maxattempts=0: no failover', ['a', 'b'], 0, 'a', 503],
    // a, b, c fail in turn; forcerecovery revives all three; byrequests' credit then picks c, b, a.
    ['three dead members, maxattempts=5: six connects, forcerecovery makes it go round', ['a', 'b', 'c'], 5, 'abccba', 503],
  ])('%s', (_label, specs, maxattempts, connects, status) => {
    const b = members(specs, { maxattempts });
    const dead = new Set(specs);
    expect(request(b, dead, NO_SESSION, T0)).toMatchObject({ connects, status });
  });

  it('two dead members: the next request starts again at 2 connects thanks to forcerecovery', () => {
    const b = members(['a', 'b']);
    const dead = new Set(['a', 'b']);
    expect(request(b, dead, NO_SESSION, T0).connects).toBe('ab');
    expect(request(b, dead, NO_SESSION, T0 + 1).connects).toBe('ba'); // b has the byrequests credit now
  });

  it('first member dead: the second answers', () => {
    const b = members(['a', 'b', 'c']);
    expect(request(b, new Set(['a']), NO_SESSION, T0)).toMatchObject({ status: 200, connects: 'ab' });
    expect(statusText(b.members[0]!.status)).toBe('Init Err ');
    expect(b.members.map((m) => m.busy)).toEqual([0, 0, 0]);
  });

  it('an I member that is dead: one connect, 503, and it stays usable', () => {
    const b = members(['a:I', 'b']);
    expect(request(b, new Set(['a']), NO_SESSION, T0)).toMatchObject({ status: 503, connects: 'a' });
    expect(statusText(b.members[0]!.status)).toBe('Init Ign Ok ');
  });
});

describe('post_request (§4.1, B:638-695)', () => {
  function after(status: number | null, timedOut: boolean, overrides: Parameters<typeof balancerConfig>[1], memberStatus = ''): string {
    const b = new Balancer(balancerConfig([memberConfig('a', { status: memberStatus }), memberConfig('b')], overrides));
    const { member } = expectMember(preRequest(b, NO_SESSION, T0));
    postRequest(b, member, { status, timedOut }, T0 + 7);
    return `${letter(member)} ${statusText(member.status)}${member.errorTime}`;
  }

  it.each<[string, number | null, boolean, Parameters<typeof balancerConfig>[1], string, string]>([
    ['status in failonstatus', 500, false, { failonstatus: [500, 503] }, '', `a Init Err ${T0 + 7}`],
    ['status not in failonstatus', 404, false, { failonstatus: [500, 503] }, '', 'a Init Ok 0'],
    ['failonstatus, member with I', 500, false, { failonstatus: [500] }, 'I', 'a Init Ign Ok 0'],
    ['a proxy-generated 502 in failonstatus', 502, false, { failonstatus: [502] }, '', `a Init Err ${T0 + 7}`],
    ['no status (client gone)', null, false, { failonstatus: [500] }, '', 'a Init Ok 0'],
    ['read timeout with failontimeout', 502, true, { failontimeout: true }, '', `a Init Err ${T0 + 7}`],
    ['read timeout without failontimeout', 502, true, {}, '', 'a Init Ok 0'],
    ['failontimeout but no timeout', 502, false, { failontimeout: true }, '', 'a Init Ok 0'],
    ['failontimeout, member with I', 502, true, { failontimeout: true }, 'I', 'a Init Ign Ok 0'],
  ])('%s', (_label, status, timedOut, overrides, memberStatus, expected) => {
    expect(after(status, timedOut, overrides, memberStatus)).toBe(expected);
  });

  it('later requests skip a member failonstatus put in error', () => {
    const b = members(['a', 'b'], { failonstatus: [500] });
    const { member } = expectMember(preRequest(b, NO_SESSION, T0));
    postRequest(b, member, { status: 500, timedOut: false }, T0);
    expect(picks(b, 3, NO_SESSION, T0 + 1)).toBe('bbb');
  });
});

// The balancer state shared by worker threads (src/balancer/scoreboard.ts): httpd's scoreboard.
// Real threads run the decisions on one state; each test states what a single process would do.
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { Balancer } from '../../src/balancer/balancer.js';
import { Flag, statusText } from '../../src/balancer/flags.js';
import { Scoreboard } from '../../src/balancer/scoreboard.js';
import { markInError, preRequest, releaseMember } from '../../src/balancer/select.js';
import { ask, startTsThread, stopThreads } from '../helpers/threads.js';
import { T0, balancerConfig, letter, memberConfig, picks, weighted } from './fixtures.js';

afterEach(stopThreads);

const PICKER = new URL('./fixtures/picker.ts', import.meta.url);

/** A thread (worker id `thread`) attached to balancer `b`. */
function picker(b: Balancer, thread: number): Worker {
  return startTsThread(PICKER, { handle: b.board.handle, thread, config: b.config, placement: b.placement });
}

function exited(w: Worker): Promise<number> {
  return new Promise((resolve) => w.once('exit', resolve));
}

describe('two threads, one balancer state', () => {
  it('byrequests: picks alternating between threads give the order one process gives (c b a c b c for 1,2,3)', async () => {
    const expected = picks(weighted([1, 2, 3]), 12);
    expect(expected).toBe('cbacbccbacbc');
    const b = weighted([1, 2, 3]);
    const [one, two] = [picker(b, 1), picker(b, 2)];
    let order = '';
    for (let i = 0; i < 12; i++) order += await ask<string>(i % 2 === 0 ? one : two, { cmd: 'pick', now: T0 });
    expect(order).toBe(expected);
    // The main thread's view shows the totals of both threads.
    expect(b.members.map((m) => m.elected)).toEqual([2, 4, 6]);
    expect(b.members.map((m) => m.lbstatus)).toEqual([0, 0, 0]);
  });

  it('concurrent picks from two threads and this one keep the books exact (the pick and its accounting are one step)', async () => {
    const b = weighted([1, 2, 3]);
    const [one, two] = [picker(b, 1), picker(b, 2)];
    await Promise.all([ask(one, { cmd: 'members' }), ask(two, { cmd: 'members' })]);
    // Any serial order of 6n byrequests picks elects 1n, 2n, 3n and brings every lbstatus back
    // to 0; a lost update (two picks interleaving) breaks both.
    const both = Promise.all([ask(one, { cmd: 'picks', n: 30_000, now: T0 }), ask(two, { cmd: 'picks', n: 30_000, now: T0 })]);
    expect(picks(b, 6000)).toHaveLength(6000);
    await both;
    expect(b.members.map((m) => m.elected)).toEqual([11_000, 22_000, 33_000]);
    expect(b.members.map((m) => m.lbstatus)).toEqual([0, 0, 0]);
    expect(b.members.map((m) => m.busy)).toEqual([0, 0, 0]);
  });

  it('a member put in error by one thread is skipped by the other until its retry', async () => {
    const b = new Balancer(balancerConfig([memberConfig('a', { retry: 10_000 }), memberConfig('b')]));
    const [one, two] = [picker(b, 1), picker(b, 2)];
    await ask(one, { cmd: 'error', member: b.members[0]!.name, now: T0 });
    expect(statusText(b.members[0]!.status)).toBe('Init Err ');
    let order = '';
    for (let i = 0; i < 4; i++) order += await ask<string>(two, { cmd: 'pick', now: T0 + 9_000 });
    expect(order).toBe('bbbb');
    expect(await ask(two, { cmd: 'pick', now: T0 + 10_001 })).toBe('a'); // retried, and a's turn
    expect(b.members[0]!.retries).toBe(1);
    expect(statusText(b.members[0]!.status)).toBe('Init Ok ');
  });

  it('balancer-manager changes made in this thread apply to the other threads at their next pick', async () => {
    const b = weighted([1, 1], { growth: 1 });
    const w = picker(b, 1);
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('a');
    b.members[0]!.transferred = 1000;
    b.setLbmethod('bytraffic');
    // The other thread runs the new method's reset (need_reset): traffic counts start at 0, a tie goes to a.
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('a');
    expect(b.members[0]!.transferred).toBe(0);
    b.members[0]!.transferred = 1000; // a has carried more traffic: bytraffic picks b
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('b');
    b.setStickysession('JSESSIONID');
    b.members[0]!.setRoute('r1');
    expect(await ask(w, { cmd: 'pick', now: T0, cookie: 'JSESSIONID=x.r1' })).toBe('a');
    b.members[0]!.setFlag('D', 1);
    expect(await ask(w, { cmd: 'pick', now: T0, cookie: 'JSESSIONID=x.r1' })).toBe('b');

    // An added member starts disabled; the other thread takes it in at its next pick (httpd's
    // sync of the balancer at pre_request), and uses it once enabled.
    const added = b.addMember(memberConfig('m'));
    expect(await ask(w, { cmd: 'members' })).toBe('a! b');
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('b');
    expect(await ask(w, { cmd: 'members' })).toBe('a! b m!');
    added.setFlag('D', 0);
    b.members[1]!.setFlag('S', 1);
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('m');
  });
});

describe('a thread that dies', () => {
  it('leaves busy counts that reclaim() gives back; the other threads\' counts stay', async () => {
    const b = weighted([1, 1]);
    const [dying, living] = [picker(b, 1), picker(b, 2)];
    expect(await ask(living, { cmd: 'pick', now: T0, hold: true })).toBe('a');
    const gone = exited(dying);
    dying.postMessage({ id: 0, cmd: 'hold-and-exit', n: 3, now: T0 });
    await gone;
    expect(b.members.map((m) => m.busy)).toEqual([2, 2]);
    expect(b.board.reclaim(1)).toEqual({ busy: 3, locks: 0 });
    expect(b.members.map((m) => m.busy)).toEqual([1, 0]);
    await ask(living, { cmd: 'release' });
    expect(b.members.map((m) => m.busy)).toEqual([0, 0]);
  });

  it('while holding the balancer lock: reclaim() releases it and this thread picks at once', async () => {
    const b = weighted([1, 1]);
    const w = picker(b, 3);
    const gone = exited(w);
    w.postMessage({ id: 0, cmd: 'lock-and-exit' });
    await gone;
    expect(b.board.reclaim(3)).toEqual({ busy: 0, locks: 1 });
    const started = performance.now();
    expect(picks(b, 2)).toBe('ab');
    // A lock left held would make the picks wait 5 s for a lock steal (scoreboard.ts LOCK_STEAL_MS);
    // the bound only catches that, whatever the machine's load.
    expect(performance.now() - started).toBeLessThan(4000);
  });
});

describe('slots across reloads (the main thread allocates)', () => {
  it('a reload keeps the slots of surviving members; new members get new slots; threads attach to the new placement', async () => {
    const old = new Balancer(balancerConfig([memberConfig('a'), memberConfig('b')]));
    const w = picker(old, 1);
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('a');
    const next = new Balancer(balancerConfig([memberConfig('b'), memberConfig('c')]), old);
    expect(next.members[0]!.slot).toBe(old.members[1]!.slot);
    expect(next.members[1]!.slot).not.toBe(old.members[0]!.slot);
    expect(await ask(w, { cmd: 'reload', config: next.config, placement: next.placement })).toEqual(next.placement.slots);
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('b');
    expect(next.members.map((m) => m.elected)).toEqual([1, 0]);
  });

  it('a removed member\'s slot is reused only once no thread holds a request on it; its old view goes stale', async () => {
    const board = Scoreboard.create();
    const old = new Balancer(balancerConfig([memberConfig('a'), memberConfig('x')]), undefined, board);
    const w = picker(old, 1);
    await ask(w, { cmd: 'pick', now: T0, hold: true }); // a
    expect(await ask(w, { cmd: 'pick', now: T0, hold: true })).toBe('x');
    const x = old.members[1]!;
    const without = new Balancer(balancerConfig([memberConfig('a')]), old);
    // x is held by a request in flight: a new member does not get its slot.
    const withY = new Balancer(balancerConfig([memberConfig('a'), memberConfig('y')]), without);
    expect(withY.members[1]!.slot).not.toBe(x.slot);
    expect(x.stale).toBe(false);
    await ask(w, { cmd: 'release' });
    const withZ = new Balancer(balancerConfig([memberConfig('a'), memberConfig('y'), memberConfig('z')]), withY);
    expect(withZ.members[2]!.slot).toBe(x.slot);
    expect(withZ.members[2]!.elected).toBe(0);
    // The old view sees nothing of the new occupant and is never usable.
    expect(x.stale).toBe(true);
    expect(x.usable).toBe(false);
    expect(x.has(Flag.IN_SHUTDOWN)).toBe(true);
  });

  it('the scoreboard grows when the slots run out, and a thread attached before reaches the new slots', async () => {
    const b = weighted([1], { growth: 100 });
    const w = picker(b, 1);
    const before = b.board.capacity;
    for (let i = 0; i < 100; i++) b.addMember(memberConfig(`m${i}`));
    expect(b.board.capacity).toBeGreaterThan(before);
    const last = b.members[100]!;
    last.setFlag('D', 0);
    b.members[0]!.setFlag('D', 1);
    expect(await ask(w, { cmd: 'pick', now: T0 })).toBe('m99');
  });
});

describe('one thread', () => {
  it('the busy a request took is released on the member\'s slot whatever view releases it', () => {
    const b = weighted([1, 1]);
    const sel = preRequest(b, { url: '/', cookie: undefined }, T0);
    if (sel.kind !== 'member') throw new Error('no member');
    expect(b.board.heldBy(sel.member.slot)).toBe(1);
    const next = new Balancer(b.config, b);
    releaseMember(next.member(sel.member.name)!);
    expect(b.board.heldBy(sel.member.slot)).toBe(0);
    expect(sel.member.busy).toBe(0);
  });

  it('markInError and the manager take the lock: calling one while holding it is a bug, not a deadlock', () => {
    const b = weighted([1, 1]);
    b.lock();
    try {
      expect(() => markInError(b.members[0]!, T0)).toThrow(/taken twice/);
    } finally {
      b.unlock();
    }
    expect(letter(b.members[0]!)).toBe('a');
  });
});

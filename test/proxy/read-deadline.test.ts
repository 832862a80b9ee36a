// The RequestReadTimeout clock (request-read-timeout.ts) on its own, with fake timers, and how the
// request body drives it (body-replay.ts): bytes extend it by 1 s per MinRate bytes up to the
// maximum, and it stands still while nothing reads the client (the member is not taking the body),
// so that only the client's own slowness can cut it off.
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BodyReplay, type ReadClock } from '../../src/proxy/body-replay.js';
import { ReadDeadline } from '../../src/proxy/request-read-timeout.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function deadline(timeout: number, max: number, minrate: number) {
  let expired = 0;
  const d = new ReadDeadline({ timeout, max, minrate }, () => expired++);
  return { d, expired: () => expired };
}

describe('ReadDeadline (one RequestReadTimeout stage)', () => {
  it('expires after the initial timeout when nothing arrives', () => {
    const { d, expired } = deadline(20_000, 40_000, 500);
    d.start();
    vi.advanceTimersByTime(19_999);
    expect(expired()).toBe(0);
    vi.advanceTimersByTime(2);
    expect(expired()).toBe(1);
  });

  it('start(false) (the header stage in a read): armed at the end of the read, with the bytes of that read and the maximum', () => {
    const { d, expired } = deadline(1_000, 3_000, 500);
    d.start(false);
    d.received(250); // +0.5 s
    d.ensureArmed();
    vi.advanceTimersByTime(1_499);
    expect(expired()).toBe(0);
    vi.advanceTimersByTime(2);
    expect(expired()).toBe(1);

    const capped = deadline(1_000, 3_000, 500);
    capped.d.start(false);
    capped.d.received(5_000); // +10 s, but at most 3 s from the start
    capped.d.ensureArmed();
    vi.advanceTimersByTime(2_999);
    expect(capped.expired()).toBe(0);
    vi.advanceTimersByTime(2);
    expect(capped.expired()).toBe(1);

    // Over within the read (the whole header block came): no timer, nothing fires.
    const whole = deadline(1_000, 0, 500);
    whole.d.start(false);
    whole.d.stop();
    whole.d.ensureArmed();
    vi.advanceTimersByTime(10_000);
    expect(whole.expired()).toBe(0);
  });

  it('each MinRate bytes buy a second, up to the maximum', () => {
    const { d, expired } = deadline(20_000, 40_000, 500);
    d.start();
    vi.advanceTimersByTime(10_000);
    d.received(5_000); // +10 s: deadline at 30 s
    vi.advanceTimersByTime(19_990);
    expect(expired()).toBe(0);
    d.received(50_000); // +100 s, but the maximum is 40 s from the start
    vi.advanceTimersByTime(10_000);
    expect(expired()).toBe(0);
    vi.advanceTimersByTime(20);
    expect(expired()).toBe(1);
  });

  it('without a maximum the extensions have no bound', () => {
    const { d, expired } = deadline(20_000, 0, 500);
    d.start();
    for (let i = 0; i < 60; i++) {
      vi.advanceTimersByTime(1_000);
      d.received(500); // exactly MinRate
    }
    expect(expired()).toBe(0);
  });

  it('stands still while paused, and goes on with what was left', () => {
    const { d, expired } = deadline(1_000, 0, 500);
    d.start();
    vi.advanceTimersByTime(600);
    d.pause();
    vi.advanceTimersByTime(60_000);
    expect(expired()).toBe(0);
    d.resume();
    vi.advanceTimersByTime(399);
    expect(expired()).toBe(0);
    vi.advanceTimersByTime(2);
    expect(expired()).toBe(1);
  });

  it('timeout 0 turns the stage off; stop() ends it', () => {
    const off = deadline(0, 0, 0);
    off.d.start();
    vi.advanceTimersByTime(1e9);
    expect(off.expired()).toBe(0);
    const stopped = deadline(1_000, 0, 0);
    stopped.d.start();
    stopped.d.stop();
    vi.advanceTimersByTime(10_000);
    expect(stopped.expired()).toBe(0);
  });
});

describe('BodyReplay drives the body clock', () => {
  function clock(): ReadClock & { log: string[] } {
    const log: string[] = [];
    return { log, received: (n) => log.push(`+${n}`), pause: () => log.push('pause'), resume: () => log.push('resume'), stop: () => log.push('stop') };
  }

  it('counts the bytes, pauses while the attempt does not read, resumes when it does, stops at the end', async () => {
    vi.useRealTimers();
    const source = new PassThrough();
    const c = clock();
    const replay = new BodyReplay(source, 1024 * 1024, c);
    source.write(Buffer.alloc(100));
    await replay.prefetch(50);
    expect(c.log).toEqual(['resume', '+100', 'pause']);
    c.log.length = 0;
    // An attempt whose consumer takes nothing: once its buffer is full the client is not read,
    // and the clock stands still.
    const body = replay.attempt();
    let reading = false;
    const taken: Buffer[] = [];
    body.on('readable', () => {
      if (!reading) return;
      for (let chunk = body.read() as Buffer | null; chunk !== null; chunk = body.read() as Buffer | null) taken.push(chunk);
    });
    // More than the attempt stream buffers (its highWaterMark, 64 KiB).
    for (let i = 0; i < 100; i++) source.write(Buffer.alloc(1024));
    await new Promise((r) => setTimeout(r, 30));
    expect(c.log).toContain('resume');
    expect(c.log.at(-1)).toBe('pause');
    const counted = c.log.filter((e) => e.startsWith('+')).length;
    expect(counted).toBeLessThan(100);
    await new Promise((r) => setTimeout(r, 30));
    expect(c.log.filter((e) => e.startsWith('+')).length).toBe(counted);
    // The consumer takes again: the clock runs again, and stops when the body ends.
    reading = true;
    body.emit('readable');
    await new Promise((r) => setTimeout(r, 30));
    source.end();
    await new Promise((r) => setTimeout(r, 30));
    expect(c.log.filter((e) => e.startsWith('+')).length).toBe(100);
    expect(c.log.filter((e) => e === 'resume').length).toBeGreaterThan(1);
    expect(c.log.at(-1)).toBe('stop');
    expect(Buffer.concat(taken).length).toBe(100 + 100 * 1024);
  });
});

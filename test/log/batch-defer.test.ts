// Lines deferred to the batch's hand-over (LineBatcher.defer): the JSON access line is encoded
// when the batch goes to its sink, not on the request path. What must hold: nothing is encoded
// before the hand-over, every way a batch is handed over (timer, flush, redirect, a full batch)
// writes the deferred lines first, lines keep the order of the calls that made them, a bug in an
// encoder loses its own line only, and what waits is bounded.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessLog } from '../../src/log.js';
import { accessFormat } from '../../src/log/access-format.js';
import { BATCH_MS, LineBatcher, type LineEncoder } from '../../src/log/batch.js';
import type { AccessRecord } from '../../src/log/record.js';

afterEach(() => {
  vi.useRealTimers();
});

/** A batcher whose batches are kept as text, and an encoder that counts its calls. */
function setup(): { b: LineBatcher; out: string[]; calls: () => number; enc: LineEncoder<string> } {
  const out: string[] = [];
  const b = new LineBatcher((lines) => out.push(lines.toString('utf8')));
  let n = 0;
  const enc: LineEncoder<string> = (item, batch) => {
    n++;
    if (item === 'bug') throw new Error('formatting bug');
    batch.write(`${item}\n`);
  };
  return { b, out, calls: () => n, enc };
}

describe('LineBatcher.defer', () => {
  it('encodes nothing before the hand-over, then every deferred line in order', () => {
    const { b, out, calls, enc } = setup();
    b.defer('a', enc);
    b.defer('b', enc);
    expect(calls()).toBe(0);
    expect(out).toEqual([]);
    b.handOver();
    expect(calls()).toBe(2);
    expect(out).toEqual(['a\nb\n']);
  });

  it('keeps the order of the calls when lines are written other ways meanwhile', () => {
    const { b, out, enc } = setup();
    b.defer('1', enc);
    b.write('two\n');
    b.defer('3', enc);
    const room = b.room(8);
    const at = b.end;
    room.write('four\n', at, 'latin1');
    b.commit(at + 5);
    b.defer('5', enc);
    b.writeBytes(Buffer.from('six\n'));
    b.defer('7', enc);
    b.handOver();
    expect(out.join('')).toBe('1\ntwo\n3\nfour\n5\nsix\n7\n');
  });

  it('writes what waits for one encoder before an item of another', () => {
    const { b, out, enc } = setup();
    const upper: LineEncoder<string> = (item, batch) => batch.write(`${item.toUpperCase()}\n`);
    b.defer('a', enc);
    b.defer('b', upper);
    b.defer('c', enc);
    b.handOver();
    expect(out.join('')).toBe('a\nB\nc\n');
  });

  it('a bug in the encoder loses that line only, and the hand-over goes on', () => {
    const { b, out, enc } = setup();
    b.defer('a', enc);
    b.defer('bug', enc);
    b.defer('c', enc);
    expect(() => b.handOver()).not.toThrow();
    expect(out.join('')).toBe('a\nc\n');
  });

  it('hands the deferred lines over by itself within BATCH_MS', () => {
    vi.useFakeTimers();
    const { b, out, enc } = setup();
    b.defer('a', enc);
    vi.advanceTimersByTime(BATCH_MS - 1);
    expect(out).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(out).toEqual(['a\n']);
    // Nothing is left waiting, and no timer runs for an empty batch.
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives what waits to the old consumer when redirected (a reload changed the file)', () => {
    const { b, out, enc } = setup();
    b.defer('old', enc);
    const next: string[] = [];
    b.redirect((lines) => next.push(lines.toString('utf8')));
    b.defer('new', enc);
    b.handOver();
    expect(out).toEqual(['old\n']);
    expect(next).toEqual(['new\n']);
  });

  it('encodes at once when 512 lines wait, so what they keep alive is bounded', () => {
    const { b, out, calls, enc } = setup();
    for (let i = 0; i < 511; i++) b.defer(`${i}`, enc);
    expect(calls()).toBe(0);
    b.defer('511', enc);
    expect(calls()).toBe(512);
    // Encoded, not yet handed over: still one batch, written at its time.
    expect(out).toEqual([]);
    b.handOver();
    expect(out.join('').split('\n').length - 1).toBe(512);
  });
});

describe('AccessLog on a batcher', () => {
  const record: AccessRecord = {
    time: '2026-12-08T01:02:03.456Z', client: '127.0.0.1', method: 'GET', url: '/cart?id=7', status: 200, bytes: 17,
    duration: 0.412, balancer: 'balancer://cluster', member: 'http://127.0.0.1:8081', memberRoute: 'jvm_a',
    sessionRoute: 'jvm_a', stickyName: 'JSESSIONID', routeChanged: false, attempts: 1,
  };

  it('json: the line is written at the hand-over, byte for byte the string path\'s', () => {
    const out: Buffer[] = [];
    const b = new LineBatcher((lines) => out.push(Buffer.from(lines)));
    const seen: AccessRecord[] = [];
    const log = new AccessLog({ format: 'json', file: null }, b);
    log.subscribe((r) => seen.push(r));
    log.emit(record);
    // Observers get the record at once; the line waits for the batch.
    expect(seen).toEqual([record]);
    expect(out).toEqual([]);
    b.handOver();
    expect(Buffer.concat(out).toString('utf8')).toBe(accessFormat('json').line(record));
  });

  it('a LogFormat line is written at once (it may read what changes on the connection)', () => {
    let encoded = 0;
    const b = new LineBatcher(() => {});
    const commit = b.commit.bind(b);
    b.commit = (end: number) => {
      encoded++;
      commit(end);
    };
    new AccessLog({ format: 'common', file: null }, b).emit(record);
    expect(encoded).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/index.js';

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5', 1_500],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['0', 0],
    ['0ms', 0],
    ['0.0004', 0],
    [' 7s ', 7_000],
    [5, 5_000],
    [0.25, 250],
    [60, 60_000],
  ] as const)('%j is %i ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', '5 s', '5sec', '5S', 's', '1e3', '5d', '1..2', 'ms5', 'five'])('refuses %j', (input) => {
    expect(() => parseDuration(input)).toThrow(/expected a duration such as 500ms, 5s, 2m, 1h or a number of seconds/);
  });

  it('returns negative values to the caller, who reports the range', () => {
    expect(parseDuration('-1')).toBe(-1000);
    expect(parseDuration(-2)).toBe(-2000);
  });

  it('can insist on a unit where a bare number would be ambiguous', () => {
    expect(parseDuration('250ms', true)).toBe(250);
    expect(() => parseDuration('250', true)).toThrow('give a unit, e.g. 250ms or 250s');
    expect(() => parseDuration(250, true)).toThrow('give a unit, e.g. 250ms or 250s');
  });

  it('formats defaults exactly', () => {
    expect([0, 1, 1500, 4000, 60_000, 300_000, 3_600_000, 7_200_000].map(formatDuration)).toEqual(['0s', '1ms', '1500ms', '4s', '60s', '300s', '1h', '2h']);
  });
});

// server.requestreadtimeout: mod_reqtimeout's RequestReadTimeout in Apache's own syntax, with
// Apache's defaults and Apache's checks, reported at the value with the key's path.
import { describe, expect, it } from 'vitest';
import { brief, parse, problems } from './util.js';

const file = (stages: string): string => `listen:\n  - port: 8051\nserver:\n  requestreadtimeout:\n${stages}`;

describe('server.requestreadtimeout (RequestReadTimeout)', () => {
  it('defaults to mod_reqtimeout\'s: header=20-40,MinRate=500 body=20,MinRate=500 (and handshake=10, where httpd has 0)', () => {
    expect(parse('listen:\n  - port: 8051\n').server.requestreadtimeout).toEqual({
      handshake: { timeout: 10_000, max: 0, minrate: 0 },
      header: { timeout: 20_000, max: 40_000, minrate: 500 },
      body: { timeout: 20_000, max: 0, minrate: 500 },
    });
  });

  it.each([
    ['10-30,MinRate=1000', { timeout: 10_000, max: 30_000, minrate: 1000 }],
    ['"10 - 30, minrate = 1000"', { timeout: 10_000, max: 30_000, minrate: 1000 }],
    ['20,MinRate=500', { timeout: 20_000, max: 0, minrate: 500 }],
    ['5', { timeout: 5_000, max: 0, minrate: 0 }],
    ['0', { timeout: 0, max: 0, minrate: 0 }],
    ['300ms-2s,MinRate=100', { timeout: 300, max: 2_000, minrate: 100 }],
    ['1.5', { timeout: 1_500, max: 0, minrate: 0 }],
  ])('header: %s', (value, stage) => {
    const c = parse(file(`    header: ${value}\n`));
    expect(c.server.requestreadtimeout.header).toEqual(stage);
    // The stage not given keeps its default.
    expect(c.server.requestreadtimeout.body).toEqual({ timeout: 20_000, max: 0, minrate: 500 });
  });

  it.each([
    ['20-40', 'a timeout range (20-40) needs MinRate, e.g. 20-40,MinRate=500'],
    ['40-20,MinRate=500', 'the maximum timeout must be larger than the initial timeout (got 40-20,MinRate=500)'],
    ['20-20,MinRate=500', 'the maximum timeout must be larger than the initial timeout (got 20-20,MinRate=500)'],
    ['20,MinRate=0', 'MinRate must be larger than 0'],
    ['20,MinRate=fast', 'MinRate must be a whole number of bytes per second (got "fast")'],
    ['0,MinRate=500', 'a timeout of 0 turns the stage off; leave out the range and MinRate (got 0,MinRate=500)'],
    ['soon', 'the timeout: expected a duration such as 500ms, 5s, 2m, 1h or a number of seconds (got "soon")'],
    ['"-5"', 'expected Apache\'s RequestReadTimeout syntax, timeout[-maxtimeout][,MinRate=rate], e.g. 20-40,MinRate=500 or 20,MinRate=500 or 0 (off) (got "-5")'],
    ['[20]', 'expected Apache\'s RequestReadTimeout syntax, timeout[-maxtimeout][,MinRate=rate], e.g. 20-40,MinRate=500 or 20,MinRate=500 or 0 (off) (got a list)'],
  ])('body: %s is refused', (value, message) => {
    expect(brief(problems(file(`    body: ${value}\n`)))).toEqual([`5:11 server.requestreadtimeout.body: ${message}`]);
  });

  it('the retired requestheadertimeout says what replaced it', () => {
    expect(brief(problems('listen:\n  - port: 8051\nserver:\n  requestheadertimeout: 10s\n'))).toEqual([
      '4:3 server.requestheadertimeout: server.requestheadertimeout was replaced by server.requestreadtimeout.header, in Apache\'s RequestReadTimeout syntax (e.g. header: 20-40,MinRate=500, or header: 20 for a fixed 20 s)',
    ]);
  });
});

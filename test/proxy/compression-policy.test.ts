// The decisions of response compression without sockets: Accept-Encoding negotiation
// (RFC 9110 §12.5.3) and which responses are compressed and how their head changes. The same rules over
// real sockets are in compression.test.ts.
import { describe, expect, it } from 'vitest';
import type { CompressionConfig } from '../../src/config/types.js';
import { applyPolicy, chooseEncoding, parseAcceptEncoding, requestFacts, type ResponseHead } from '../../src/proxy/compression/index.js';
import { mergeVary } from '../../src/proxy/compression/policy.js';

const SETTINGS: CompressionConfig = {
  algorithms: ['br', 'gzip'],
  types: ['text/html', 'application/json', 'text/*'],
  minlength: 100,
  gziplevel: 4,
  brotliquality: 4,
  zstdlevel: 3,
};

describe('Accept-Encoding negotiation', () => {
  it.each([
    // header                                 offered               chosen
    ['gzip', ['br', 'gzip'], 'gzip'],
    ['gzip, br', ['br', 'gzip'], 'br'], // equal q: the server's order
    ['gzip, br', ['gzip', 'br'], 'gzip'],
    ['br;q=0.5, gzip', ['br', 'gzip'], 'gzip'], // higher q wins over the server's order
    ['br;q=0, gzip;q=0.1', ['br', 'gzip'], 'gzip'], // q=0 refuses
    ['br;q=0, gzip;q=0', ['br', 'gzip'], null],
    ['*', ['br', 'gzip'], 'br'], // * covers codings not named
    ['gzip;q=0.2, *;q=0.5', ['br', 'gzip'], 'br'],
    ['*;q=0', ['br', 'gzip'], null],
    ['x-gzip', ['br', 'gzip'], 'gzip'], // RFC 9110 §8.4.1.3
    ['GZIP;Q=0.5', ['br', 'gzip'], 'gzip'], // case-insensitive
    ['identity', ['br', 'gzip'], null],
    ['', ['br', 'gzip'], null], // empty: identity only
    ['gzip;q=0.5', ['br', 'gzip'], 'gzip'], // an implicit identity has no weight: compress
    ['gzip;q=0.5, identity;q=0.8', ['br', 'gzip'], null], // the client prefers identity
    ['gzip;q=0.8, identity;q=0.8', ['br', 'gzip'], 'gzip'], // a tie goes to compression
    ['gzip;q=1.5, br', ['br', 'gzip'], 'br'], // an invalid q ignores that entry only
    ['gzip;q=abc', ['br', 'gzip'], null],
    ['gzip;q=0.1234', ['br', 'gzip'], null], // at most three decimals
    ['deflate, compress', ['br', 'gzip'], null], // nothing we offer
    ['zstd, br, gzip', ['zstd', 'br', 'gzip'], 'zstd'],
    ['gzip, gzip;q=0', ['br', 'gzip'], 'gzip'], // the first entry for a coding counts
  ])('%j with %j → %s', (header, offered, chosen) => {
    expect(chooseEncoding(header, offered as never)).toBe(chosen);
  });

  it('no Accept-Encoding header: no coding (as mod_deflate and nginx)', () => {
    expect(chooseEncoding(null, ['gzip'])).toBeNull();
  });

  it('parses weights and parameters', () => {
    expect([...parseAcceptEncoding(' gzip ; q=0.3 ,br;level=4, *;q=0')]).toEqual([['gzip', 0.3], ['br', 1], ['*', 0]]);
  });
});

/** A head whose headers are written as pairs; the policy reads and edits the flat list. */
function head(status: number, headers: Array<[string, string]>): ResponseHead {
  return { status, headers: headers.flat() };
}

/** A flat header list as pairs, to compare. */
function pairs(flat: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

const GET = requestFacts('GET', ['Accept-Encoding', 'gzip, br']);

describe('which responses are compressed, and their head', () => {
  it('a listed type: Content-Encoding, Vary, no Content-Length, Accept-Ranges or Content-MD5, a weak ETag', () => {
    const h = head(200, [['Content-Type', 'text/html; charset=utf-8'], ['Content-Length', '5000'], ['ETag', '"v1"'], ['Accept-Ranges', 'bytes'], ['Content-MD5', 'x']]);
    expect(applyPolicy(SETTINGS, GET, h)).toEqual({ kind: 'compress', coding: 'br', length: 5000 });
    expect(pairs(h.headers)).toEqual([['Content-Type', 'text/html; charset=utf-8'], ['ETag', 'W/"v1"'], ['Vary', 'Accept-Encoding'], ['Content-Encoding', 'br']]);
  });

  it('a weak ETag stays as it is', () => {
    const h = head(200, [['Content-Type', 'text/html'], ['ETag', 'W/"v1"']]);
    applyPolicy(SETTINGS, GET, h);
    expect(pairs(h.headers)).toContainEqual(['ETag', 'W/"v1"']);
  });

  it('a type matched by type/*, and the media type is compared without its parameters, in any case', () => {
    expect(applyPolicy(SETTINGS, GET, head(200, [['content-type', 'Text/CSS;charset=x']])).kind).toBe('compress');
    expect(applyPolicy(SETTINGS, GET, head(200, [['content-type', 'application/json']])).kind).toBe('compress');
  });

  it.each([
    ['not a listed type', 200, [['Content-Type', 'image/png']]],
    ['no Content-Type', 200, []],
    ['already encoded', 200, [['Content-Type', 'text/html'], ['Content-Encoding', 'gzip']]],
    ['Content-Encoding identity is still an encoding the member chose', 200, [['Content-Type', 'text/html'], ['Content-Encoding', 'identity']]],
    ['Cache-Control: no-transform', 200, [['Content-Type', 'text/html'], ['Cache-Control', 'public, No-Transform']]],
    ['shorter than minlength', 200, [['Content-Type', 'text/html'], ['Content-Length', '99']]],
    ['an empty body', 200, [['Content-Type', 'text/html'], ['Content-Length', '0']]],
    ['204', 204, [['Content-Type', 'text/html']]],
    ['206', 206, [['Content-Type', 'text/html'], ['Content-Range', 'bytes 0-9/100']]],
    ['a Content-Range on a 200', 200, [['Content-Type', 'text/html'], ['Content-Range', 'bytes 0-9/100']]],
    ['1xx', 103, [['Content-Type', 'text/html']]],
  ])('%s: untouched, no Vary', (_what, status, headers) => {
    const h = head(status as number, (headers as Array<[string, string]>).map((x) => [...x] as [string, string]));
    const before = JSON.stringify(h.headers);
    expect(applyPolicy(SETTINGS, GET, h)).toEqual({ kind: 'pass' });
    expect(JSON.stringify(h.headers)).toBe(before);
  });

  it('no length known (chunked): compressed whatever minlength says', () => {
    expect(applyPolicy(SETTINGS, GET, head(200, [['Content-Type', 'text/html']])).kind).toBe('compress');
  });

  it.each([
    ['HEAD', requestFacts('HEAD', ['Accept-Encoding', 'gzip'])],
    ['a Range request', requestFacts('GET', ['Accept-Encoding', 'gzip', 'Range', 'bytes=0-1'])],
    ['no Accept-Encoding', requestFacts('GET', [])],
    ['only identity accepted', requestFacts('GET', ['accept-encoding', 'identity'])],
  ])('%s: not compressed, but Vary says the representation depends on Accept-Encoding', (_what, facts) => {
    const h = head(200, [['Content-Type', 'text/html'], ['Content-Length', '5000'], ['ETag', '"v1"']]);
    expect(applyPolicy(SETTINGS, facts, h)).toEqual({ kind: 'vary' });
    expect(pairs(h.headers)).toEqual([['Content-Type', 'text/html'], ['Content-Length', '5000'], ['ETag', '"v1"'], ['Vary', 'Accept-Encoding']]);
  });

  it('repeated Accept-Encoding headers are read together', () => {
    expect(applyPolicy(SETTINGS, requestFacts('GET', ['Accept-Encoding', 'br;q=0', 'accept-encoding', 'gzip']), head(200, [['Content-Type', 'text/html']]))).toMatchObject({ coding: 'gzip' });
  });

  it('a 304 to If-None-Match with the weak form carries the weak ETag back (the client holds the compressed 200)', () => {
    const h = head(304, [['ETag', '"v1"']]);
    expect(applyPolicy(SETTINGS, requestFacts('GET', ['Accept-Encoding', 'gzip', 'If-None-Match', '"other", W/"v1"']), h)).toEqual({ kind: 'pass' });
    expect(pairs(h.headers)).toEqual([['ETag', 'W/"v1"'], ['Vary', 'Accept-Encoding']]);
    const strong = head(304, [['ETag', '"v1"']]);
    applyPolicy(SETTINGS, requestFacts('GET', ['If-None-Match', '"v1"']), strong);
    expect(pairs(strong.headers)).toEqual([['ETag', '"v1"']]);
  });

  it('compression off for the rule: nothing changes', () => {
    const h = head(200, [['Content-Type', 'text/html']]);
    expect(applyPolicy(undefined, GET, h)).toEqual({ kind: 'pass' });
    expect(pairs(h.headers)).toEqual([['Content-Type', 'text/html']]);
  });
});

describe('Vary merging', () => {
  it.each([
    [[], [['Vary', 'Accept-Encoding']]],
    [[['Vary', 'Cookie']], [['Vary', 'Cookie, Accept-Encoding']]],
    [[['vary', 'Cookie'], ['Vary', 'Origin']], [['vary', 'Cookie'], ['Vary', 'Origin, Accept-Encoding']]],
    [[['Vary', 'accept-encoding']], [['Vary', 'accept-encoding']]],
    [[['Vary', 'Origin'], ['Vary', 'Accept-Encoding']], [['Vary', 'Origin'], ['Vary', 'Accept-Encoding']]],
    [[['Vary', '*']], [['Vary', '*']]],
  ])('%j → %j', (before, after) => {
    const headers = (before as Array<[string, string]>).flat();
    mergeVary(headers);
    expect(pairs(headers)).toEqual(after);
  });
});

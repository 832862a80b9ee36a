// Access lines encoded straight into the batch Buffer (src/log/ascii.ts, AccessFormat.writeTo)
// must be byte for byte the UTF-8 of the string each format writes (AccessFormat.line, the path
// every line took before, and the one writeTo falls back to). Compared over many generated
// records, plain and unusual (escapes, lone surrogates, non-ASCII, null status, NaN duration,
// workers, failures), for every named format and for LogFormat strings that use every directive.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { accessFormat, NAMED_FORMATS } from '../../src/log/access-format.js';
import { NO, putAscii, putJsonString, putNumber } from '../../src/log/ascii.js';
import { LineBatcher } from '../../src/log/batch.js';
import { encodeAccessLine } from '../../src/log/json-line.js';
import type { AccessRecord } from '../../src/log/record.js';
import { isoTime } from '../../src/proxy/exchange.js';

const TZ = process.env.TZ;
afterEach(() => {
  if (TZ === undefined) delete process.env.TZ;
  else process.env.TZ = TZ;
});

/** A deterministic generator (mulberry32), so that a failure can be reproduced. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLAIN = 'abcxyzABCXYZ0129/?&=.-_~%:;, ';
// What takes the string path somewhere: JSON or log escapes, DEL, latin1 (as node's parser gives
// bytes ≥ 0x80), a BMP character, a surrogate pair, lone surrogates.
const UNUSUAL = ['"', '\\', '\n', '\r', '\t', '\x01', '\x1f', '\x7f', '\xe9', '\xff', '\u20ac', '\ud83d\ude00', '\ud800', '\udc00'];

function text(rnd: () => number, unusual: boolean, max = 12): string {
  let s = '';
  const n = Math.floor(rnd() * max);
  for (let i = 0; i < n; i++) s += unusual && rnd() < 0.15 ? UNUSUAL[Math.floor(rnd() * UNUSUAL.length)]! : PLAIN[Math.floor(rnd() * PLAIN.length)]!;
  return s;
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

const NUMBERS = [0, -0, 1, 7, 10, 99, 100, 1234, 65535, 1e9, 2 ** 53 - 1, 2 ** 53, 1e21, 1e22, -1, -12.5, 0.1 + 0.2, 1 / 3, 1e-7, 0.001, 1.005, Number.NaN, Infinity, -Infinity];

/** Record number `seed`; `unusual` mixes in what needs escapes or is not ASCII. With `context`: request and response heads, a socket's byte counts. */
function record(seed: number, unusual: boolean, context: boolean): AccessRecord {
  const rnd = random(seed);
  const nullable = (): string | null => (rnd() < 0.2 ? null : text(rnd, unusual));
  const duration = rnd() < 0.1 ? pick(rnd, NUMBERS) : Math.round(rnd() * 10 ** Math.floor(rnd() * 8) * 1000) / 1000;
  const r: AccessRecord = {
    time: new Date(1_796_624_786_316 + Math.floor(rnd() * 1e9)).toISOString(),
    client: pick(rnd, ['127.0.0.1', '::1', '::ffff:10.1.2.3', text(rnd, unusual)]),
    method: pick(rnd, ['GET', 'POST', text(rnd, unusual, 6)]),
    url: pick(rnd, ['/', '/app/a%20b/../c?q=1', `/${text(rnd, unusual, 40)}?${text(rnd, unusual)}`, 'http://u:pw@h/x', '*']),
    status: rnd() < 0.15 ? null : pick(rnd, [200, 204, 304, 400, 404, 500, 502, 503, 0, -1]),
    bytes: rnd() < 0.1 ? pick(rnd, NUMBERS) : Math.floor(rnd() * 10 ** Math.floor(rnd() * 9)),
    duration,
    balancer: rnd() < 0.2 ? null : `balancer://${text(rnd, unusual)}`,
    member: nullable(),
    memberRoute: nullable(),
    sessionRoute: nullable(),
    stickyName: nullable(),
    routeChanged: rnd() < 0.3,
    attempts: rnd() < 0.05 ? pick(rnd, NUMBERS) : Math.floor(rnd() * 4),
  };
  if (rnd() < 0.3) r.worker = rnd() < 0.1 ? pick(rnd, NUMBERS) : 1 + Math.floor(rnd() * 8);
  if (rnd() < 0.2) r.failures = [{ member: text(rnd, unusual), kind: 'connect' }, { member: 'http://127.0.0.1:1', kind: 'timeout' }];
  if (context) {
    const header = (): string => text(rnd, unusual, 30);
    const req = {
      rawHeaders: ['Host', pick(rnd, ['shop.example.com:8080', 'Shop.Example.COM.', '[::1]:80', '']), 'User-Agent', header(), 'Referer', header(), 'Cookie', `JSESSIONID=${header()}; theme=dark`, 'X-Dup', 'a', 'x-dup', header()],
      rawTrailers: rnd() < 0.5 ? ['X-T', header()] : [],
      httpVersion: pick(rnd, ['1.1', '1.0']),
      // A new socket each time: mod_logio's counts are the whole connection's (io.ts-like marks are per socket).
      socket: { bytesRead: Math.floor(rnd() * 1e6), bytesWritten: Math.floor(rnd() * 1e6) },
    };
    const res = rnd() < 0.1
      ? null
      : {
          _header: `HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=${header()}\r\nSet-Cookie: a=${header()}\r\nSet-Cookie: b=2\r\nConnection: ${pick(rnd, ['keep-alive', 'close'])}\r\n\r\n`,
          shouldKeepAlive: rnd() < 0.8,
          writableFinished: rnd() < 0.9,
        };
    r.context = {
      req: req as unknown as IncomingMessage,
      res: res as unknown as ServerResponse | null,
      startMs: Date.parse(r.time),
      keepalives: Math.floor(rnd() * 5),
      client: { remoteAddress: r.client, remotePort: 51234, localAddress: '::ffff:127.0.0.1', localPort: 8051, secure: false, serverName: pick(rnd, ['shop.example.com', 'h:8443', text(rnd, unusual)]) },
      implicit: rnd() < 0.2,
    };
  }
  return r;
}

/** Every directive mod_log_config knows, with arguments and conditions. */
const EVERY_DIRECTIVE = [
  '%% %a %{c}a %A %b %B %{JSESSIONID}C %D %{BALANCER_NAME}e %{BALANCER_WORKER_NAME}e %{BALANCER_WORKER_ROUTE}e',
  '%{BALANCER_SESSION_STICKY}e %{BALANCER_SESSION_ROUTE}e %{BALANCER_ROUTE_CHANGED}e %{HOME}e %f %h %{c}h %H',
  '%{User-agent}i %{referer}i %{X-Dup}i %{Host}i %I %k %l %L %m %{note}n %{Content-Type}o %{Set-Cookie}o %{Connection}o',
  '%{Date}o %O %p %{canonical}p %{local}p %{remote}p %{bogus}p %P %{pid}P %{tid}P %{hextid}P %{bogus}P %q %r %R %s',
  '%>s %<s %S %t %{end}t %{%Y-%m-%d %H:%M:%S %z %a}t %{sec}t %{msec}t %{usec}t %{msec_frac}t %{end:usec_frac}t %T',
  '%{ms}T %{us}T %{bogus}T %u %U %v %V %X %{X-T}^ti %{X-T}^to %400,500s %!200,304{Referer}i "%{Referer}i"',
].join(' | ');

const FORMATS = [
  'json',
  ...Object.keys(NAMED_FORMATS),
  NAMED_FORMATS.combined!,
  EVERY_DIRECTIVE,
  // Literals that are not ASCII (configuration text), and an argument written as it is.
  'caf\u00e9 %h \u2192 %{\u00e9t\u00e9}p\\t%s\\n',
  '\\\\%h\\q "%r"',
];

interface Written {
  /** The batches handed over. */
  batches: Buffer[];
  bytes: Buffer;
  /** Lines that went the string way (LineBatcher.write). */
  strings: number;
}

/** What writeTo puts in batches for `records`. */
function written(spec: string, records: AccessRecord[]): Written {
  const batches: Buffer[] = [];
  const b = new LineBatcher((lines) => batches.push(Buffer.from(lines)));
  let strings = 0;
  const write = b.write.bind(b);
  b.write = (line: string) => {
    strings++;
    write(line);
  };
  for (const r of records) accessFormat(spec).writeTo(r, b);
  b.handOver();
  return { batches, bytes: Buffer.concat(batches), strings };
}

/** The lines the string path writes for the same records (fresh ones: %I %O mark the socket). */
function reference(spec: string, make: () => AccessRecord[]): Buffer {
  return Buffer.from(make().map((r) => accessFormat(spec).line(r)).join(''), 'utf8');
}

describe('access lines written straight into the batch', () => {
  it.each(FORMATS)('are the string path\'s bytes, record for record: %s', (spec) => {
    process.env.TZ = 'Europe/Berlin';
    for (const [unusual, context] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const make = (): AccessRecord[] => Array.from({ length: 400 }, (_, i) => record(i * 7919 + (unusual ? 1 : 0) + (context ? 2 : 0), unusual, context));
      const got = written(spec, make());
      expect(got.bytes.toString('latin1'), `unusual ${unusual}, context ${context}`).toBe(reference(spec, make).toString('latin1'));
    }
  });

  it('take the string path only for what is not plain ASCII', () => {
    const plain = Array.from({ length: 200 }, (_, i) => record(i, false, true));
    expect(written('json', plain).strings).toBe(0);
    expect(written('combined', plain).strings).toBe(0);
    const odd = { ...plain[0]!, url: '/a"b' };
    expect(written('json', [odd]).strings).toBe(1);
    // A LogFormat escapes the quote itself: still plain ASCII.
    expect(written('combined', [odd]).strings).toBe(0);
    expect(written('caf\u00e9 %h', [odd]).strings).toBe(0);
    // Bytes from the network that a LogFormat escapes are escaped in place; text above 0xff
    // (only configuration text can hold it) takes the string path.
    expect(written('combined', [{ ...odd, url: '/caf\u00e9\n\x7f' }]).strings).toBe(0);
    expect(written('combined', [{ ...odd, method: '\u20ac' }]).strings).toBe(1);
    expect(written('%{\u00e9}p', [odd]).strings).toBe(1);
  });

  it('a line that does not fit in what is left of the batch starts the next one, in order', () => {
    const records = Array.from({ length: 3000 }, (_, i) => record(i, i % 10 === 0, false));
    for (let i = 0; i < records.length; i += 97) records[i]!.url = `/${'x'.repeat(5000 + i)}`;
    const { batches, bytes } = written('json', records);
    expect(batches.length).toBeGreaterThan(3);
    expect(bytes.toString('latin1')).toBe(reference('json', () => records).toString('latin1'));
    // Whole lines in every batch.
    for (const batch of batches) expect(batch[batch.length - 1]).toBe(0x0a);
  });
});

describe('ASCII writers (ascii.ts)', () => {
  it('putNumber writes what String writes', () => {
    const rnd = random(42);
    const values = [...NUMBERS, 5e-324, Number.MAX_VALUE, 123456789.123, 999999999.999, 1e9 - 0.001, 0.5, 12.704, 1.873];
    for (let i = 0; i < 200_000; i++) {
      const scale = 10 ** Math.floor(rnd() * 12);
      values.push(Math.round(rnd() * scale * 1000) / 1000, Math.floor(rnd() * scale), rnd() * scale, -rnd() * scale);
    }
    const into = Buffer.alloc(64);
    const wrong: string[] = [];
    for (const n of values) {
      const got = into.toString('latin1', 3, putNumber(n, into, 3));
      if (got !== String(n)) wrong.push(`${String(n)} written ${got}`);
    }
    expect(wrong).toEqual([]);
  });

  it('give up (NO) for what they cannot write as it is, and where there is no room', () => {
    const into = Buffer.alloc(8);
    expect(putAscii('abc', into, 5)).toBe(8);
    expect(putAscii('abcd', into, 5)).toBe(NO);
    expect(putAscii('\u00e9', into, 0)).toBe(NO);
    expect(putAscii('a', into, NO)).toBe(NO);
    expect(putJsonString('abcdef', into, 0)).toBe(8);
    expect(into.toString('latin1')).toBe('"abcdef"');
    expect(putJsonString('abcdefg', into, 0)).toBe(NO);
    for (const c of ['"', '\\', '\n', '\x1f', '\x80', '\ud800']) expect(putJsonString(`a${c}`, into, 0), JSON.stringify(c)).toBe(NO);
    expect(putJsonString('a\x7f', into, 0)).toBe(4);
    expect(putNumber(123456789, into, 0)).toBe(NO);
    expect(putNumber(1.5, into, 6)).toBe(NO);
    expect(putNumber(Number.NaN, into, 0)).toBe(3);
  });

  it('encodeAccessLine gives up when the line does not fit, leaving nothing to commit', () => {
    const r = record(1, false, false);
    expect(encodeAccessLine(r, Buffer.alloc(4096), 0)).toBeGreaterThan(0);
    expect(encodeAccessLine(r, Buffer.alloc(60), 0)).toBe(NO);
  });
});

describe('the record\'s time (proxy/exchange.ts)', () => {
  it('is toISOString\'s text, across milliseconds, seconds, days and years', () => {
    const starts = [0, 1_796_624_786_316, Date.parse('2026-12-31T23:59:59.990Z'), Date.parse('1969-12-31T23:59:59.995Z'), Date.parse('+010000-01-01T00:00:00.000Z') - 5];
    const wrong: string[] = [];
    for (const start of starts) {
      for (let i = 0; i < 2500; i += 1 + (i % 3)) {
        const ms = start + i;
        const want = new Date(ms).toISOString();
        if (isoTime(ms) !== want) wrong.push(`${ms}: ${isoTime(ms)} for ${want}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

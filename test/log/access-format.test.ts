// log.access.format compiled from Apache LogFormat strings (src/log/access-format.ts): the parser's
// rules and messages, conditions, escaping and times, on records without a connection. What a
// served request logs, header by header, is compared with httpd in
// test/conformance/access-log.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { accessFormatProblem, accessFormatter, compileLogFormat, NAMED_FORMATS } from '../../src/log/access-format.js';
import { escapeLogItem } from '../../src/log/escape.js';
import { accessLine } from '../../src/log/json-line.js';
import type { AccessRecord } from '../../src/log/record.js';
import { clfTime, strftime } from '../../src/log/time.js';

const TZ = process.env.TZ;
afterEach(() => {
  if (TZ === undefined) delete process.env.TZ;
  else process.env.TZ = TZ;
});

function record(over: Partial<AccessRecord> = {}): AccessRecord {
  return {
    time: '2026-12-07T06:26:26.316Z', client: '127.0.0.1', method: 'GET', url: '/app/a%20b/../c?q=1', status: 200, bytes: 11,
    duration: 12.704, balancer: 'balancer://c', member: 'http://127.0.0.1:8080', memberRoute: 'a', sessionRoute: 'a',
    stickyName: 'JSESSIONID', routeChanged: false, attempts: 1, ...over,
  };
}

const line = (format: string, r: AccessRecord = record()) => compileLogFormat(format)(r);

describe('LogFormat parsing (mod_log_config parse_log_item)', () => {
  it('refuses an unknown directive and a directive cut off, as httpd refuses to start', () => {
    expect(accessFormatProblem('%h %Z')).toBe('unrecognized LogFormat directive %Z (at character 4)');
    expect(accessFormatProblem('%h %{User-Agent')).toMatch(/ends inside the directive that starts at character 4/);
    expect(accessFormatProblem('%400')).toMatch(/ends inside the directive/);
    expect(accessFormatProblem('%^FB')).toBe('unrecognized LogFormat directive %^ (at character 1)');
    expect(accessFormatProblem('comon')).toBe('must be json, common, combined or an Apache LogFormat string with % directives (got "comon")');
    expect(accessFormatProblem('constructor')).not.toBeNull();
    for (const ok of ['json', 'common', 'combined', NAMED_FORMATS.combined!, '%%', '%{Referer}^ti %{X}^to']) expect(accessFormatProblem(ok)).toBeNull();
  });

  it('is a configuration error naming file, line, column and key', () => {
    const yaml = 'listen: [{ port: 8080 }]\nlog:\n  access: { format: "%h %Z" }\n';
    expect(() => parseConfig(yaml, 'stickyd.yaml', {})).toThrow('stickyd.yaml:3:21: log.access.format: unrecognized LogFormat directive %Z (at character 4)');
  });

  it('reads literal text with httpd\'s backslash escapes and ends each line with a newline', () => {
    expect(line('a\\tb\\nc\\\\d\\xe %% f')).toBe('a\tb\nc\\d\\xe % f\n');
    expect(line('end\\')).toBe('end\\\n');
  });

  it('applies status conditions, negated with !, and ignores < > and commas', () => {
    const f = '%400,500s|%!200,304s|%<s|%>s|%,,s';
    expect(line(f, record({ status: 500 }))).toBe('500|500|500|500|500\n');
    expect(line(f, record({ status: 200 }))).toBe('-|-|200|200|200\n');
    expect(line(f, record({ status: 404 }))).toBe('-|404|404|404|404\n');
    expect(line('%s %b %B', record({ status: null, bytes: 0 }))).toBe('- - 0\n');
  });

  it('writes arguments it does not know for %T, %p and %P as httpd does, and times in the units asked', () => {
    expect(line('%{bogus}T %{bogus}p %{bogus}P')).toBe('bogus bogus bogus\n');
    expect(line('%T %{s}T %{MS}T %{us}T %D', record({ duration: 2345.6789 }))).toBe('2 2 2345 2345679 2345679\n');
  });

  it('gives the BALANCER_* variables of apache-semantics §2.7, names without case, empty when defined empty, - when unset', () => {
    const f = '%{BALANCER_NAME}e|%{balancer_worker_name}e|%{BALANCER_WORKER_ROUTE}e|%{BALANCER_SESSION_STICKY}e|%{BALANCER_SESSION_ROUTE}e|%{BALANCER_ROUTE_CHANGED}e|%{HOME}e';
    expect(line(f)).toBe('balancer://c|http://127.0.0.1:8080|a|JSESSIONID|a|-|-\n');
    expect(line(f, record({ memberRoute: '', sessionRoute: null, stickyName: null, routeChanged: true }))).toBe('balancer://c|http://127.0.0.1:8080||-|-|1|-\n');
    // No member chosen (503 before any): none is set, not even BALANCER_NAME.
    expect(line(f, record({ member: null, memberRoute: null, sessionRoute: null, stickyName: null }))).toBe('-|-|-|-|-|-|-\n');
  });

  it('writes the request line, path and query, escaped; what needs the connection is - without one', () => {
    const r = record({ method: 'GET', url: '/app/x%20y/../z?a="b"' });
    expect(line('%r|%U|%q|%m|%H|%v|%V|%k|%I|%{Host}i|%{x}C|%u|%l|%f|%{n}n|%L', r)).toBe('GET /app/x%20y/../z?a=\\"b\\" HTTP/1.1|/app/z|?a=\\"b\\"|GET|-|-|-|-|-|-|-|-|-|-|-|-\n');
    expect(line('%r', record({ url: 'http://u:pw@h/x' }))).toBe('GET http://u:XXXXXXXX@h/x HTTP/1.1\n');
    expect(line('%U', record({ url: '/a/%zz/b?x' }))).toBe('/a/%zz/b\n');
  });

  it('json is the JSON record, common and combined are httpd\'s documented formats', () => {
    expect(accessFormatter('json')(record())).toBe(accessLine(record()));
    process.env.TZ = 'UTC';
    expect(accessFormatter('common')(record())).toBe('127.0.0.1 - - [07/Dec/2026:06:26:26 +0000] "GET /app/a%20b/../c?q=1 HTTP/1.1" 200 11\n');
    expect(accessFormatter('combined')(record({ client: '::ffff:10.1.2.3' }))).toBe('10.1.2.3 - - [07/Dec/2026:06:26:26 +0000] "GET /app/a%20b/../c?q=1 HTTP/1.1" 200 11 "-" "-"\n');
  });
});

describe('escaping (ap_escape_logitem)', () => {
  it('escapes every byte httpd escapes, and only those', () => {
    for (let c = 0; c < 256; c++) {
      const ch = String.fromCharCode(c);
      const special: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\' };
      const expected = special[c] ?? (c < 0x20 || c >= 0x7f ? `\\x${c.toString(16).padStart(2, '0')}` : ch);
      expect(escapeLogItem(`a${ch}b`), `byte ${c}`).toBe(`a${expected}b`);
    }
  });

  it('escapes text from the configuration as the bytes of its UTF-8 encoding', () => {
    expect(escapeLogItem('caf\u00e9 \u4e2d \ud83d\ude00')).toBe('caf\\xe9 \\xe4\\xb8\\xad \\xf0\\x9f\\x98\\x80');
    const plain = 'nothing to escape';
    expect(escapeLogItem(plain)).toBe(plain);
  });
});

describe('times', () => {
  it('%t is the common log format in local time, with the zone\'s offset', () => {
    process.env.TZ = 'America/Los_Angeles';
    expect(clfTime(Date.parse('2026-01-15T12:00:00Z'))).toBe('[15/Jan/2026:04:00:00 -0800]');
    expect(clfTime(Date.parse('2026-07-15T12:00:00Z'))).toBe('[15/Jul/2026:05:00:00 -0700]');
    // (One formatted second is cached, as in httpd: another zone needs another second here.)
    process.env.TZ = 'Asia/Kolkata';
    expect(clfTime(Date.parse('2026-07-15T12:00:01Z'))).toBe('[15/Jul/2026:17:30:01 +0530]');
  });

  it('strftime conversions are glibc\'s in the C locale (as httpd 2.4.71 wrote them on this date)', () => {
    process.env.TZ = 'UTC';
    const d = new Date(Date.parse('2026-12-07T06:26:26.316Z'));
    // httpd: %{%Z %z %c %x %X %j %e %p %s %%}t → "UTC +0000 Mon Dec  7 06:26:26 2026 12/07/26 06:26:26 341  7 AM 1796624786 %"
    expect(strftime('%Z %z %c %x %X %j %e %p %s %%', d)).toBe('UTC +0000 Mon Dec  7 06:26:26 2026 12/07/26 06:26:26 341  7 AM 1796624786 %');
    expect(strftime('%F %T %a %A %b %B %y %C %D %R %r %I %l %k %u %w %U %W %V %G %g %-d %_m %n %t %Q', d)).toBe('2026-12-07 06:26:26 Mon Monday Dec December 26 20 12/07/26 06:26 06:26:26 AM 06  6  6 1 1 49 49 50 2026 26 7 12 \n \t %Q');
    expect(strftime('%V %G', new Date(Date.parse('2027-01-01T12:00:00Z')))).toBe('53 2026');
  });

  it('%{…}t takes begin: and end:, sec, msec, usec and their fractions', () => {
    process.env.TZ = 'UTC';
    const r = record({ duration: 1500 });
    expect(line('%{sec}t %{msec}t %{usec}t %{msec_frac}t %{usec_frac}t', r)).toBe('1796624786 1796624786316 1796624786316000 316 316000\n');
    expect(line('%{end:sec}t %{end:msec_frac}t %{end}t %{begin:%H:%M:%S}t %{end:%H:%M:%S}t', r)).toBe('1796624787 816 [07/Dec/2026:06:26:27 +0000] 06:26:26 06:26:27\n');
    // A prefix without ":" is skipped for the keywords but stays in a strftime format (httpd).
    expect(line('%{endmsec}t %{beginx%Y}t', r)).toBe('1796624786316 beginx2026\n');
  });
});

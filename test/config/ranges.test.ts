/**
 * Every key's accepted and refused values at the edges of its range (apache-semantics §7), through the whole
 * loader: a key is written into an otherwise valid file and the typed value or the problem is read
 * back. Refusals must name the key's path and the position of the value.
 */
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import { MINIMAL, brief, parse, problems } from './util.js';

type Where = 'listen' | 'server' | 'proxy' | 'balancer' | 'member' | 'routecookie' | 'admin' | 'log' | 'rule';

/** A valid file with `key: value` added in the given place, and the path that key has. */
function fileWith(where: Where, key: string, value: string): { text: string; path: string; line: number } {
  const head = 'listen:\n  - address: 127.0.0.1\n';
  const lines: Record<Where, string[]> = {
    listen: key === 'port' ? ['listen:', '  - address: 127.0.0.1', `    port: ${value}`] : ['listen:', `  - ${key}: ${value}`, '    port: 8051'],
    server: [...head.trimEnd().split('\n'), `    port: 8051`, `server:`, `  ${key}: ${value}`],
    proxy: [...head.trimEnd().split('\n'), `    port: 8051`, `proxy:`, `  ${key}: ${value}`],
    admin: [...head.trimEnd().split('\n'), `    port: 8051`, `admin:`, `  ${key}: ${value}`],
    log: [...head.trimEnd().split('\n'), `    port: 8051`, `log:`, `  ${key}: ${value}`],
    balancer: [...head.trimEnd().split('\n'), `    port: 8051`, `balancers:`, `  b:`, `    ${key}: ${value}`],
    routecookie: [...head.trimEnd().split('\n'), `    port: 8051`, `balancers:`, `  b:`, `    routecookie:`, `      name: ROUTEID`, `      ${key}: ${value}`],
    // ping applies to ajp:// members only (it is refused on http:// members: tested below).
    member: [...head.trimEnd().split('\n'), `    port: 8051`, `balancers:`, `  b:`, `    members:`, `      - url: ${key === 'ping' ? 'ajp://127.0.0.1:8009' : 'http://127.0.0.1:8081'}`, `        ${key}: ${value}`],
    rule: [...head.trimEnd().split('\n'), `    port: 8051`, `proxypass:`, `  - path: /`, `    ${key}: ${value}`],
  };
  const body = lines[where];
  const line = body.findLastIndex((l) => l.trimStart().startsWith(`${key}:`) || l.trimStart().startsWith(`- ${key}:`)) + 1;
  const rest: string[] = [];
  if (where === 'balancer' || where === 'routecookie') rest.push('    members:', '      - url: http://127.0.0.1:8081');
  if (where === 'rule' && key !== 'url') rest.push('    url: http://127.0.0.1:8081');
  const prefix: Record<Where, string> = {
    listen: 'listen[0]',
    server: 'server',
    proxy: 'proxy',
    admin: 'admin',
    log: 'log',
    balancer: 'balancers.b',
    routecookie: 'balancers.b.routecookie',
    member: 'balancers.b.members[0]',
    rule: 'proxypass[0]',
  };
  return { text: `${[...body, ...rest].join('\n')}\n`, path: `${prefix[where]}.${key}`, line };
}

function valueOf(c: Config, where: Where, key: string): unknown {
  const b = c.balancers[0];
  const pick: Record<Where, unknown> = {
    listen: c.listen[0],
    server: c.server,
    proxy: c.proxy,
    admin: c.admin,
    log: c.log,
    balancer: b,
    routecookie: b?.routecookie,
    member: b?.members[0],
    rule: c.proxypass[0],
  };
  return (pick[where] as Record<string, unknown>)[key];
}

const LONG63 = 'r'.repeat(63);
const LONG64 = 'r'.repeat(64);

/** [where, key, YAML value, typed value] that must be accepted. */
const accepted: Array<[Where, string, string, unknown]> = [
  ['listen', 'port', '1', 1],
  ['listen', 'port', '65535', 65535],
  ['listen', 'address', '"::"', '::'],
  ['listen', 'address', '::1', '::1'],
  ['listen', 'address', '10.1.2.3', '10.1.2.3'],
  ['server', 'servername', 'www.example.com', 'www.example.com'],
  ['server', 'maxheadersize', '1024', 1024],
  ['server', 'maxheadersize', '1048576', 1048576],
  ['server', 'requesttimeout', '0.001', 1],
  ['server', 'keepalivetimeout', '1.5', 1500],
  ['server', 'maxkeepaliverequests', '0', 0],
  ['server', 'gracefultimeout', '0', 0],
  ['server', 'gracefultimeout', '596h', 596 * 3_600_000],
  ['proxy', 'timeout', '1ms', 1],
  ['proxy', 'timeout', '2m', 120_000],
  ['proxy', 'preservehost', 'On', true],
  ['proxy', 'preservehost', 'oN', true],
  ['proxy', 'preservehost', 'true', true],
  ['proxy', 'addheaders', 'OFF', false],
  ['proxy', 'addheaders', 'false', false],
  ['proxy', 'addheaders', 'False', false],
  ['balancer', 'stickysession', 'JSESSIONID', { cookie: 'JSESSIONID', param: 'JSESSIONID' }],
  ['balancer', 'stickysession', 'JSESSIONID|jsessionid', { cookie: 'JSESSIONID', param: 'jsessionid' }],
  ['balancer', 'stickysession', `${'c'.repeat(31)}|${'p'.repeat(31)}`, { cookie: 'c'.repeat(31), param: 'p'.repeat(31) }],
  ['balancer', 'stickysession', '""', null],
  ['balancer', 'stickysessionsep', '"!"', '!'],
  ['balancer', 'stickysessionsep', '"_"', '_'],
  ['balancer', 'stickysessionsep', 'Off', null],
  ['balancer', 'stickysessionsep', 'off', null],
  ['balancer', 'stickysessionsep', 'false', null],
  ['balancer', 'scolonpathdelim', 'On', true],
  ['balancer', 'lbmethod', 'byrequests', 'byrequests'],
  ['balancer', 'lbmethod', 'bybusyness', 'bybusyness'],
  ['balancer', 'lbmethod', 'bytraffic', 'bytraffic'],
  ['balancer', 'maxattempts', '0', 0],
  ['balancer', 'maxattempts', '10', 10],
  ['balancer', 'nofailover', 'On', true],
  ['balancer', 'timeout', '1ms', 1],
  ['balancer', 'timeout', '5', 5_000],
  ['balancer', 'failonstatus', '[100, 599]', [100, 599]],
  ['balancer', 'failonstatus', '"500,503"', [500, 503]],
  ['balancer', 'failonstatus', '"500 503"', [500, 503]],
  ['balancer', 'failonstatus', '"500, 503"', [500, 503]],
  ['balancer', 'failonstatus', '503', [503]],
  ['balancer', 'failonstatus', '[]', []],
  ['balancer', 'failontimeout', 'On', true],
  ['balancer', 'forcerecovery', 'Off', false],
  ['balancer', 'nonce', 'None', ''],
  ['balancer', 'nonce', 'none', ''],
  ['balancer', 'nonce', 'abc', 'abc'],
  ['balancer', 'nonce', 'n'.repeat(36), 'n'.repeat(36)],
  ['balancer', 'growth', '0', 0],
  ['balancer', 'growth', '100', 100],
  ['routecookie', 'path', '/app', '/app'],
  ['routecookie', 'domain', 'example.com', 'example.com'],
  ['routecookie', 'secure', 'On', true],
  ['routecookie', 'httponly', 'Off', false],
  ['member', 'route', LONG63, LONG63],
  ['member', 'route', '"1"', '1'],
  ['member', 'route', 'é'.repeat(31), 'é'.repeat(31)],
  ['member', 'loadfactor', '1', 1],
  ['member', 'loadfactor', '100', 100],
  ['member', 'loadfactor', '2.25', 2.25],
  ['member', 'loadfactor', '100.005', 100.005], // trunc(10000.5) = 10000: Apache accepts it too
  ['member', 'lbset', '0', 0],
  ['member', 'lbset', '99', 99],
  ['member', 'status', '+H', '+H'],
  ['member', 'status', '-E', '-E'],
  ['member', 'status', 'D', 'D'],
  ['member', 'status', 'S-E', 'S-E'],
  ['member', 'status', '-DS', '-DS'],
  ['member', 'status', '+i+n+r+c', '+i+n+r+c'],
  ['member', 'retry', '0', 0],
  ['member', 'retry', '2', 2_000],
  ['member', 'timeout', '1ms', 1],
  ['member', 'connectiontimeout', '1ms', 1],
  ['member', 'max', '1', 1],
  ['member', 'ttl', '1ms', 1],
  ['member', 'disablereuse', 'On', true],
  ['member', 'acquire', '1ms', 1],
  ['member', 'acquire', '3s', 3_000],
  ['member', 'keepalive', 'On', true],
  ['member', 'ping', '1ms', 1],
  ['member', 'ping', '1', 1_000],
  ['member', 'hcmethod', 'GET', 'GET'],
  ['member', 'hcmethod', 'options', 'OPTIONS'],
  ['member', 'hcmethod', 'tcp', 'TCP'],
  ['member', 'hcmethod', 'none', 'None'],
  ['member', 'hcuri', '/health', '/health'],
  ['member', 'hcinterval', '1ms', 1],
  ['member', 'hcpasses', '1', 1],
  ['member', 'hcfails', '1', 1],
  ['member', 'hcexpr', '"%{REQUEST_STATUS} == 200"', '%{REQUEST_STATUS} == 200'],
  ['admin', 'port', '1', 1],
  ['admin', 'port', '65535', 65535],
  ['admin', 'readonly', 'On', true],
  ['admin', 'token', 's3cret-s3cret-16', 's3cret-s3cret-16'],
  ['admin', 'allowedhosts', '[Admin.Example.COM, 10.0.0.5, "::1", "[fe80::1]", localhost., "*"]', ['admin.example.com', '10.0.0.5', '[::1]', '[fe80::1]', 'localhost', '*']],
  ['log', 'level', 'trace', 'trace'],
  ['log', 'level', 'silent', 'silent'],
  ['log', 'access', 'Off', false],
];

/**
 * [where, key, YAML value, the exact message, for a list: [index of the refused item, its column
 * offset from the start of the value]].
 */
const refused: Array<[Where, string, string, string, [number, number]?]> = [
  ['listen', 'port', '0', 'must be between 1 and 65535 (got 0)'],
  ['listen', 'port', '65536', 'must be between 1 and 65535 (got 65536)'],
  ['listen', 'port', '80.5', 'must be a whole number (got 80.5)'],
  ['listen', 'port', 'http', 'expected an integer (got "http")'],
  ['listen', 'address', 'localhost', 'must be an IP address such as 0.0.0.0, 127.0.0.1 or :: (got "localhost")'],
  ['server', 'servername', '""', 'must not be empty'],
  ['server', 'servername', '42', 'expected text (got 42; quote it to make it text: "42")'],
  ['server', 'maxheadersize', '1023', 'must be between 1024 and 1048576 (got 1023)'],
  ['server', 'maxheadersize', '1048577', 'must be between 1024 and 1048576 (got 1048577)'],
  ['server', 'requesttimeout', '0.0004', 'must be at least 1ms (got 0.0004s)'],
  ['server', 'keepalivetimeout', '0ms', 'must be at least 1ms (got 0ms)'],
  ['server', 'maxkeepaliverequests', '-1', 'must be at least 0 (got -1)'],
  ['server', 'gracefultimeout', '-1', 'must be at least 0 (got -1s)'],
  ['server', 'gracefultimeout', '597h', 'must be at most 2147483647ms (about 24 days; got 597h)'],
  ['server', 'gracefultimeout', '5 s', 'expected a duration such as 500ms, 5s, 2m, 1h or a number of seconds (got "5 s")'],
  ['server', 'gracefultimeout', 'true', 'expected a duration such as 500ms, 5s, 2m, 1h or a number of seconds (got true)'],
  ['proxy', 'timeout', '0', 'must be at least 1ms (got 0s)'],
  ['proxy', 'preservehost', 'yes', 'expected true/false or On/Off (got "yes")'],
  ['proxy', 'preservehost', '1', 'expected true/false or On/Off (got 1)'],
  ['proxy', 'addheaders', '[On]', 'expected true/false or On/Off (got a list)'],
  ['balancer', 'stickysession', LONG64, 'must be shorter than 64 characters (got 64)'],
  ['balancer', 'stickysession', `${'c'.repeat(32)}|${'p'.repeat(31)}`, 'must be shorter than 64 characters (got 64)'],
  ['balancer', 'stickysession', '"JSESSIONID|"', 'expected COOKIE|PARAM with both names present (got "JSESSIONID|")'],
  ['balancer', 'stickysession', '"a b"', '"a b" is not a valid cookie or parameter name'],
  ['balancer', 'stickysessionsep', 'ab', 'must be one character or Off (got "ab")'],
  ['balancer', 'stickysessionsep', '""', 'must be one character or Off (got "")'],
  ['balancer', 'stickysessionsep', 'true', 'must be one character or Off (got true)'],
  ['balancer', 'scolonpathdelim', 'maybe', 'expected true/false or On/Off (got "maybe")'],
  ['balancer', 'lbmethod', 'heartbeat', 'lbmethod heartbeat is not supported (it needs mod_heartmonitor); use byrequests, bybusyness or bytraffic'],
  ['balancer', 'lbmethod', 'byrequest', 'must be one of byrequests, bybusyness, bytraffic (got "byrequest") — did you mean "byrequests"?'],
  ['balancer', 'lbmethod', 'roundrobin', 'must be one of byrequests, bybusyness, bytraffic (got "roundrobin")'],
  ['balancer', 'maxattempts', '-1', 'must be at least 0 (got -1)'],
  ['balancer', 'maxattempts', '1.5', 'must be a whole number (got 1.5)'],
  ['balancer', 'timeout', '0', 'must be at least 1ms (got 0s)'],
  ['balancer', 'failonstatus', '[99]', 'must be between 100 and 599 (got 99)', [0, 1]],
  ['balancer', 'failonstatus', '[500, 600]', 'must be between 100 and 599 (got 600)', [1, 6]],
  ['balancer', 'failonstatus', '"500,600"', 'must be HTTP status codes between 100 and 599 (got "600")'],
  ['balancer', 'failonstatus', '"5xx"', 'must be HTTP status codes between 100 and 599 (got "5xx")'],
  ['balancer', 'failonstatus', '{ a: 1 }', 'expected a list or HTTP status codes (got a mapping)'],
  ['balancer', 'nonce', 'n'.repeat(37), 'must be at most 36 characters long (got 37)'],
  ['balancer', 'nonce', '12', 'expected text or None (got 12; quote it to make it text)'],
  ['balancer', 'growth', '-1', 'must be between 0 and 100 (got -1)'],
  ['balancer', 'growth', '101', 'must be between 0 and 100 (got 101)'],
  ['routecookie', 'path', 'app', 'must be a URL path starting with "/" (got "app")'],
  ['routecookie', 'domain', '""', 'must not be empty'],
  ['member', 'route', LONG64, 'must be at most 63 characters long (got 64)'],
  ['member', 'route', '1', 'expected text (got 1; quote it to make it text: "1")'],
  ['member', 'route', 'é'.repeat(32), 'must be at most 63 characters long (got 64 bytes in UTF-8)'],
  ['member', 'redirect', LONG64, 'must be at most 63 characters long (got 64)'],
  ['member', 'loadfactor', '0.99', 'must be between 1 and 100 (got 0.99)'],
  ['member', 'loadfactor', '0', 'must be between 1 and 100 (got 0)'],
  ['member', 'loadfactor', '100.01', 'must be between 1 and 100 (got 100.01)'],
  ['member', 'loadfactor', '101', 'must be between 1 and 100 (got 101)'],
  ['member', 'loadfactor', '"2"', 'expected a number between 1 and 100 (got "2")'],
  ['member', 'lbset', '-1', 'must be between 0 and 99 (got -1)'],
  ['member', 'lbset', '100', 'must be between 0 and 99 (got 100)'],
  ['member', 'status', '+X', 'unknown status flag "X" (expected letters of INDSEHRC, each optionally after + or -)'],
  ['member', 'status', '"+"', 'status "+" ends with "+" but no flag letter follows'],
  ['member', 'status', 'H-', 'status "H-" ends with "-" but no flag letter follows'],
  ['member', 'status', '+O', 'unknown status flag "O" (expected letters of INDSEHRC, each optionally after + or -)'],
  ['member', 'retry', '-1', 'must be at least 0 (got -1s)'],
  ['member', 'timeout', '0', 'must be at least 1ms (got 0s)'],
  ['member', 'connectiontimeout', '0ms', 'must be at least 1ms (got 0ms)'],
  ['member', 'max', '0', 'must be at least 1 (got 0)'],
  ['member', 'ttl', '0', 'must be at least 1ms (got 0s)'],
  ['member', 'acquire', '3000', 'give a unit, e.g. 3000ms or 3000s (Apache reads a bare acquire value as milliseconds, stickyd as seconds)'],
  ['member', 'acquire', '"250"', 'give a unit, e.g. 250ms or 250s (Apache reads a bare acquire value as milliseconds, stickyd as seconds)'],
  ['member', 'acquire', '0ms', 'must be at least 1ms (got 0ms)'],
  ['member', 'ping', '0', 'must be at least 1ms (got 0s)'],
  ['member', 'secret', 's3cret', 'secret is for ajp:// members only (this member is http://)'],
  ['member', 'hcmethod', 'PUT', 'must be one of None, TCP, OPTIONS, HEAD, GET (got "PUT")'],
  ['member', 'hcinterval', '0', 'must be at least 1ms (got 0s)'],
  ['member', 'hcpasses', '0', 'must be at least 1 (got 0)'],
  ['member', 'hcfails', '0', 'must be at least 1 (got 0)'],
  ['member', 'hcexpr', '""', 'must not be empty'],
  ['admin', 'port', '0', 'must be between 1 and 65535 (got 0)'],
  ['admin', 'port', '65536', 'must be between 1 and 65535 (got 65536)'],
  ['admin', 'allowedhosts', '["http://admin.example.com"]', '"http://admin.example.com" is not a host name or IP address: give the name alone, without scheme, port or path (any port is accepted), or "*" for any host', [0, 1]],
  ['admin', 'allowedhosts', '["admin.example.com:8052"]', '"admin.example.com:8052" is not a host name or IP address: give the name alone, without scheme, port or path (any port is accepted), or "*" for any host', [0, 1]],
  ['admin', 'allowedhosts', '[""]', 'expected a host name or IP address such as admin.example.com or 10.0.0.5 (got "")', [0, 1]],
  ['admin', 'allowedhosts', 'admin.example.com', 'expected a list (got "admin.example.com")'],
  ['admin', 'address', '127.0.0.256', 'must be an IP address such as 0.0.0.0, 127.0.0.1 or :: (got "127.0.0.256")'],
  ['log', 'level', 'verbose', 'must be one of trace, debug, info, warn, error, fatal, silent (got "verbose")'],
  ['log', 'level', 'INFO', 'must be one of trace, debug, info, warn, error, fatal, silent (got "INFO") — did you mean "info"?'],
  ['rule', 'url', 'ftp://h', 'must be "!", balancer://name or http://, https:// or ajp:// (got "ftp://h")'],
  ['rule', 'url', '""', 'expected "!", balancer://name[/path] or an http://, https:// or ajp:// URL (got "")'],
];

describe('ranges and syntax of every key (apache-semantics §7)', () => {
  it.each(accepted)('%s %s: %s is accepted', (where, key, value, expected) => {
    const { text } = fileWith(where, key, value);
    expect(valueOf(parse(text), where, key)).toEqual(expected);
  });

  it.each(refused)('%s %s: %s is refused', (where, key, value, message, item) => {
    const { text, path, line } = fileWith(where, key, value);
    const valueCol = (text.split('\n')[line - 1] as string).indexOf(`${key}:`) + key.length + 3;
    const [col, at] = item ? [valueCol + item[1], `${path}[${item[0]}]`] : [valueCol, path];
    expect(problems(text)).toEqual([{ file: 'test.yaml', line, col, path: at, message }]);
  });
});

describe('ping on an http:// member', () => {
  it('is refused at its position: the HTTP 100-continue probe is not implemented, and an ignored setting would mislead', () => {
    const text = MINIMAL.replace('      - url: http://127.0.0.1:8081', '      - url: http://127.0.0.1:8081\n        ping: 1s');
    expect(brief(problems(text))).toEqual([
      '7:15 balancers.b.members[0].ping: ping is supported for ajp:// members only (CPing/CPong); the HTTP 100-continue probe is not implemented (this member is http://)',
    ]);
  });
});

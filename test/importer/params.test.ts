// Balancer and member parameters (apache-semantics §7.1, §7.2) read the way httpd 2.4 reads them
// (values.ts, params.ts): pure decision code, so it is tested table by table.
import { describe, expect, it } from 'vitest';
import { Duration, readBalancerParam, readMemberParam, templateDefaults, type HealthCheckDefinitions, type ParamResult } from '../../src/importer/params.js';
import { atof, atoi, atoiSeconds, timeoutParameter } from '../../src/importer/values.js';

describe('httpd value readers', () => {
  it('atoi reads the leading integer like C', () => {
    expect([atoi('42'), atoi(' 7x'), atoi('-3'), atoi('+5'), atoi('abc'), atoi(''), atoi('500ms')]).toEqual([42, 7, -3, 5, 0, 0, 500]);
  });

  it('atof reads the leading decimal like C', () => {
    expect([atof('2.25'), atof('.5'), atof('3'), atof('1e1'), atof('x'), atof('1.5x')]).toEqual([2.25, 0.5, 3, 10, 0, 1.5]);
  });

  it('ap_timeout_parameter_parse: default unit, ms, s, mi, h; first letters only', () => {
    const cases: Array<[string, 'ms' | 's', number | null]> = [
      ['5', 's', 5000],
      ['5', 'ms', 5],
      ['250ms', 's', 250],
      ['3s', 'ms', 3000],
      ['5sec', 's', 5000],
      ['2mi', 's', 120_000],
      ['2min', 's', 120_000],
      ['1h', 's', 3_600_000],
      ['2m', 's', null],
      ['5x', 's', null],
      ['-1', 's', null],
    ];
    for (const [text, unit, ms] of cases) expect([text, unit, timeoutParameter(text, unit)]).toEqual([text, unit, ms]);
  });

  it('seconds read with atoi: plain integers are seconds; units are honoured with a note about httpd 2.4', () => {
    expect(atoiSeconds('60')).toEqual({ ms: 60_000, note: null });
    const suffixed = atoiSeconds('500ms');
    expect(suffixed.ms).toBe(500);
    expect(suffixed.note).toMatch(/httpd 2\.4 reads only the leading integer of "500ms" \(500 seconds\)/);
    expect(atoiSeconds('2mi').ms).toBe(120_000);
    expect(atoiSeconds('abc')).toEqual({ ms: 0, note: 'httpd reads "abc" as 0 seconds' });
  });
});

const hc: HealthCheckDefinitions = {
  expressions: new Map([['ok234', '%{REQUEST_STATUS} =~ /^[234]/']]),
  templates: new Map([['tpl', { ...templateDefaults(), hcuri: '/up' }]]),
};

const set = (values: Record<string, unknown>): ParamResult => ({ kind: 'set', set: values as Record<string, never> });
const d = (ms: number) => new Duration(ms);

describe('balancer parameters (apache-semantics §7.1)', () => {
  const cases: Array<[string, string, ParamResult | RegExp]> = [
    ['stickysession', 'JSESSIONID|jsessionid', set({ stickysession: 'JSESSIONID|jsessionid' })],
    ['StickySession', 'ROUTEID', set({ stickysession: 'ROUTEID' })],
    ['stickysessionsep', '!', set({ stickysessionsep: '!' })],
    ['stickysessionsep', 'OFF', set({ stickysessionsep: 'Off' })],
    ['stickysessionsep', '..', /invalid: stickysessionsep must be a single character or Off/],
    ['scolonpathdelim', 'on', set({ scolonpathdelim: true })],
    ['scolonpathdelim', 'yes', /invalid: scolonpathdelim must be On\|Off/],
    ['nofailover', 'On', set({ nofailover: true })],
    ['nofailover', 'Off', set({ nofailover: false })],
    ['failontimeout', 'On', set({ failontimeout: true })],
    ['forcerecovery', 'off', set({ forcerecovery: false })],
    ['timeout', '5', set({ timeout: d(5000) })],
    ['timeout', '0', /invalid: timeout must be at least one second/],
    ['maxattempts', '3', set({ maxattempts: 3 })],
    ['maxattempts', '0', set({ maxattempts: 0 })],
    ['maxattempts', '-1', /invalid: maximum number of attempts/],
    ['lbmethod', 'byrequests', set({ lbmethod: 'byrequests' })],
    ['lbmethod', 'bybusyness', set({ lbmethod: 'bybusyness' })],
    ['lbmethod', 'bytraffic', set({ lbmethod: 'bytraffic' })],
    ['lbmethod', 'ByRequests', /invalid: unknown lbmethod/],
    ['lbmethod', 'heartbeat', /unsupported: lbmethod heartbeat/],
    ['failonstatus', '500,503', set({ failonstatus: [500, 503] })],
    ['failonstatus', '500, 502 503', set({ failonstatus: [500, 502, 503] })],
    ['failonstatus', '500,600', /invalid: failonstatus must be one or more HTTP response codes/],
    ['nonce', 'None', set({ nonce: 'None' })],
    ['nonce', 'abc-123', set({ nonce: 'abc-123' })],
    ['nonce', 'x'.repeat(37), /invalid: Provided nonce is too large/],
    ['growth', '5', set({ growth: 5 })],
    ['growth', '0', /invalid: growth must be between 1 and 100/],
    ['route', 'a', /^invalid: unknown Balancer parameter \(route is a BalancerMember parameter: write it on the BalancerMember line\)$/],
    ['bogus', '1', /^invalid: unknown Balancer parameter$/],
    // Did you mean: a typo away, or a name from mod_jk, HAProxy or nginx.
    ['stickysesion', 'JSESSIONID', /^invalid: unknown Balancer parameter — did you mean stickysession=\?$/],
    ['sticky_session', 'On', /^invalid: unknown Balancer parameter — did you mean stickysession=\?$/],
    ['method', 'Request', /^invalid: unknown Balancer parameter — did you mean lbmethod=\?$/],
    ['maxattempt', '2', /^invalid: unknown Balancer parameter — did you mean maxattempts=\?$/],
    ['lbfactor', '2', /^invalid: unknown Balancer parameter — did you mean loadfactor=\? \(a BalancerMember parameter: write it on the BalancerMember line\)$/],
    // Names are looked up as data: Object's own properties are no suggestion.
    ['constructor', '1', /^invalid: unknown Balancer parameter$/],
    ['__proto__', '1', /^invalid: unknown Balancer parameter$/],
  ];
  it.each(cases)('%s=%s', (key, value, expected) => {
    const result = readBalancerParam(key, value);
    if (expected instanceof RegExp) expect(`${result.kind}: ${'message' in result ? result.message : ''}`).toMatch(expected);
    else expect(result).toEqual(expected);
  });

  it('truncates a stickysession of 64 characters or more to 63, with a note', () => {
    const result = readBalancerParam('stickysession', 'A'.repeat(70));
    expect(result).toMatchObject({ kind: 'set', set: { stickysession: 'A'.repeat(63) } });
    expect(result.kind === 'set' && result.note).toMatch(/truncates it to 63 characters/);
  });
});

describe('member parameters (apache-semantics §7.2)', () => {
  const cases: Array<[string, string, ParamResult | RegExp]> = [
    ['loadfactor', '2.25', set({ loadfactor: 2.25 })],
    ['loadfactor', '100', set({ loadfactor: 100 })],
    ['loadfactor', '0.5', /invalid: LoadFactor must be a number between 1..100/],
    ['loadfactor', '101', /invalid: LoadFactor/],
    ['lbset', '99', set({ lbset: 99 })],
    ['lbset', '100', /invalid: lbset must be between 0 and 99/],
    ['route', 'jvm_a', set({ route: 'jvm_a' })],
    ['route', 'r'.repeat(64), /invalid: Route length must be < 64 characters/],
    ['redirect', 'jvm_b', set({ redirect: 'jvm_b' })],
    ['status', '+H', set({ status: '+H' })],
    ['status', 'D-E', set({ status: 'D-E' })],
    ['status', '+Q', /invalid: Unknown status parameter option/],
    ['retry', '0', set({ retry: d(0) })],
    ['retry', '60', set({ retry: d(60_000) })],
    ['retry', '-1', /invalid: Retry must be a positive value/],
    ['timeout', '5', set({ timeout: d(5000) })],
    ['timeout', '0', /invalid: Timeout must be at least one second/],
    ['ttl', '4', set({ ttl: d(4000) })],
    ['connectiontimeout', '2', set({ connectiontimeout: d(2000) })],
    ['connectiontimeout', '250ms', set({ connectiontimeout: d(250) })],
    ['connectiontimeout', '0', /invalid: Connectiontimeout must be at least one millisecond/],
    ['connectiontimeout', 'fast', /invalid: Connectiontimeout has wrong format/],
    ['ping', '1', set({ ping: d(1000) })],
    ['ping', '500ms', set({ ping: d(500) })],
    ['acquire', '500', set({ acquire: d(500) })],
    ['acquire', '2s', set({ acquire: d(2000) })],
    ['max', '64', set({ max: 64 })],
    ['max', '0', set({})],
    ['keepalive', 'On', set({ keepalive: true })],
    ['keepalive', 'maybe', /invalid: KeepAlive must be On\|Off/],
    ['disablereuse', 'on', set({ disablereuse: true })],
    ['enablereuse', 'off', set({ disablereuse: true })],
    ['enablereuse', 'on', set({ disablereuse: false })],
    ['secret', 's3cret', set({ secret: 's3cret' })],
    ['hcmethod', 'get', set({ hcmethod: 'GET' })],
    ['hcmethod', 'HEAD11', set({ hcmethod: 'HEAD' })],
    ['hcmethod', 'TCP', set({ hcmethod: 'TCP' })],
    ['hcmethod', 'CPING', /invalid: Health check method CPING not \(yet\) implemented/],
    ['hcmethod', 'POST', /invalid: Unknown method/],
    ['hcinterval', '10', set({ hcinterval: d(10_000) })],
    ['hcinterval', '50ms', /invalid: Interval must be a positive value greater than 100ms/],
    ['hcpasses', '3', set({ hcpasses: 3 })],
    ['hcpasses', '0', set({ hcpasses: 1 })],
    ['hcfails', '2', set({ hcfails: 2 })],
    ['hcuri', '/health', set({ hcuri: '/health' })],
    ['hcexpr', 'ok234', set({ hcexpr: '%{REQUEST_STATUS} =~ /^[234]/' })],
    ['hcexpr', 'nope', /invalid: Unknown health check condition expr: nope/],
    ['hctemplate', 'TPL', set({ ...templateDefaults(), hcuri: '/up' })],
    ['hctemplate', 'other', /invalid: Unknown ProxyHCTemplate name: other/],
    ['smax', '10', /unsupported: stickyd has no soft pool limit/],
    ['flushpackets', 'on', /unsupported: /],
    ['stickysession', 'X', /^invalid: unknown Worker parameter \(stickysession is a Balancer parameter: write it in ProxySet, or after the balancer:\/\/ URL of ProxyPass\)$/],
    ['bogus', '1', /^invalid: unknown Worker parameter$/],
    // Did you mean: a typo away, or a name from mod_jk (workers.properties), HAProxy or nginx.
    ['lbfactor', '2', /^invalid: unknown Worker parameter — did you mean loadfactor=\?$/],
    ['weight', '2', /^invalid: unknown Worker parameter — did you mean loadfactor=\?$/],
    ['rout', 'jvm_a', /^invalid: unknown Worker parameter — did you mean route=\?$/],
    ['jvmRoute', 'jvm_a', /^invalid: unknown Worker parameter — did you mean route=\?$/],
    ['activation', 'D', /^invalid: unknown Worker parameter — did you mean status=\?$/],
    ['connecttimeout', '2', /^invalid: unknown Worker parameter — did you mean connectiontimeout=\?$/],
    ['loadfacter', '5', /^invalid: unknown Worker parameter — did you mean loadfactor=\?$/],
    ['method', 'R', /^invalid: unknown Worker parameter — did you mean lbmethod=\? \(a Balancer parameter: write it in ProxySet, or after the balancer:\/\/ URL of ProxyPass\)$/],
    ['upgrade', 'websocket', { kind: 'set', set: {}, note: 'accepted, nothing to carry over: stickyd tunnels every Upgrade request to an http:// or https:// member whatever its protocol (httpd: only websocket); an ajp:// member answers one with 502' }],
    ['upgrade', '*', { kind: 'set', set: {}, note: 'accepted, nothing to carry over: stickyd tunnels every Upgrade request to an http:// or https:// member, as this does in httpd' }],
  ];
  it.each(cases)('%s=%s', (key, value, expected) => {
    const result = readMemberParam(key, value, hc);
    if (expected instanceof RegExp) expect(`${result.kind}: ${'message' in result ? result.message : ''}`).toMatch(expected);
    else expect(result).toEqual(expected);
  });
});

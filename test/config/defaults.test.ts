import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BalancerConfig, MemberConfig } from '../../src/config/index.js';
import { FILE, MINIMAL, parse } from './util.js';

const MEMBER_DEFAULTS = {
  route: '',
  redirect: '',
  loadfactor: 1,
  lbset: 0,
  status: '',
  retry: 60_000,
  timeout: 60_000,
  connectiontimeout: 60_000,
  max: 128,
  ttl: 4_000,
  disablereuse: false,
  acquire: null,
  keepalive: false,
  ping: 0,
  secret: '',
  hcmethod: 'None',
  hcuri: '',
  hcinterval: 30_000,
  hcpasses: 1,
  hcfails: 1,
  hcexpr: null,
} satisfies Omit<MemberConfig, 'url' | 'scheme' | 'host' | 'port' | 'basepath'>;

const BALANCER_DEFAULTS = {
  implicit: false,
  stickysession: null,
  stickysessionsep: '.',
  scolonpathdelim: false,
  lbmethod: 'byrequests',
  maxattempts: null,
  nofailover: false,
  timeout: 0,
  failonstatus: [],
  failontimeout: false,
  forcerecovery: true,
  nonce: null,
  growth: 0,
  routecookie: null,
  // proxy.tls's defaults (SSLProxyVerify require, TLSv1.2+), for https:// members, file-given or added.
  membertls: {
    verify: 'require',
    cacertificatefile: null,
    ca: null,
    checkpeername: true,
    checkpeerexpire: true,
    machinecertificatefile: null,
    cert: null,
    key: null,
    protocol: ['TLSv1.2', 'TLSv1.3'],
    ciphersuite: null,
  },
} satisfies Omit<BalancerConfig, 'name' | 'members'>;

describe('defaults (apache-semantics §7; types.ts)', () => {
  it('a minimal file gets every default', () => {
    expect(parse(MINIMAL)).toEqual({
      file: path.resolve(FILE),
      listen: [{ address: '0.0.0.0', port: 8051 }],
      server: {
        servername: os.hostname(),
        pidfile: null,
        maxheadersize: 16_384,
        requestreadtimeout: { handshake: { timeout: 10_000, max: 0, minrate: 0 }, header: { timeout: 20_000, max: 40_000, minrate: 500 }, body: { timeout: 20_000, max: 0, minrate: 500 } },
        requesttimeout: 300_000,
        keepalivetimeout: 5_000,
        timeout: 60_000,
        maxkeepaliverequests: 100,
        gracefultimeout: 30_000,
        http2: { maxsessionstreams: 100, windowsize: 65535, maxresets: 200, maxcontrolframes: 200, websockets: true },
        workers: 'auto',
      },
      proxy: { preservehost: false, addheaders: true, timeout: 60_000 },
      balancers: [
        {
          name: 'b',
          ...BALANCER_DEFAULTS,
          members: [{ url: 'http://127.0.0.1:8081', scheme: 'http', host: '127.0.0.1', port: 8081, basepath: '', ...MEMBER_DEFAULTS }],
        },
      ],
      proxypass: [{ path: '/', exclude: false, balancer: 'b', backendpath: '', url: 'balancer://b', nocanon: false }],
      proxypassreverse: [],
      cookiepath: [],
      cookiedomain: [],
      admin: null,
      log: { level: 'info', access: { format: 'json', file: null }, error: { file: null, format: 'auto' } },
      compression: null,
      warnings: [],
    });
  });

  it('keys of a section that is present but partial still get their defaults', () => {
    const c = parse(`${MINIMAL}server: { servername: front }\nproxy: { preservehost: On }\nlog: { level: warn }\nadmin: {}\n`);
    expect(c.server).toEqual({ ...parse(MINIMAL).server, servername: 'front' });
    expect(c.proxy).toEqual({ preservehost: true, addheaders: true, timeout: 60_000 });
    expect(c.log).toEqual({ level: 'warn', access: { format: 'json', file: null }, error: { file: null, format: 'auto' } });
    expect(c.admin).toEqual({ address: '127.0.0.1', port: 8052, token: '', readonly: false, allowedhosts: [], tls: null });
  });

  it('an empty value means off for admin and routecookie, and "not set" for maxattempts', () => {
    const c = parse(`${MINIMAL.replace('  b:\n', '  b:\n    routecookie: ~\n    maxattempts:\n')}admin:\n`);
    expect(c.admin).toBeNull();
    expect(c.balancers[0]?.routecookie).toBeNull();
    expect(c.balancers[0]?.maxattempts).toBeNull();
  });

  it('member timeout defaults to proxy.timeout, connectiontimeout to the member timeout (apache-semantics §4.2)', () => {
    const c = parse(`listen: [{ port: 8051 }]
proxy: { timeout: 90s }
balancers:
  b:
    members:
      - url: http://a:1
      - url: http://b:1
        timeout: 5s
      - url: http://c:1
        connectiontimeout: 250ms
      - url: http://d:1
        timeout: 7s
        connectiontimeout: 1s
`);
    expect(c.balancers[0]?.members.map((m) => [m.timeout, m.connectiontimeout])).toEqual([
      [90_000, 90_000],
      [5_000, 5_000],
      [90_000, 250],
      [7_000, 1_000],
    ]);
  });

  it('a routecookie without stickysession implies stickysession = its name; its own defaults apply', () => {
    const c = parse(MINIMAL.replace('  b:\n', '  b:\n    routecookie: { name: ROUTEID }\n'));
    expect(c.balancers[0]?.stickysession).toEqual({ cookie: 'ROUTEID', param: 'ROUTEID' });
    expect(c.balancers[0]?.routecookie).toEqual({ name: 'ROUTEID', path: '/', domain: null, secure: false, httponly: true });
  });

  it('an explicit stickysession is kept next to a routecookie', () => {
    const c = parse(MINIMAL.replace('  b:\n', '  b:\n    stickysession: JSESSIONID|jsessionid\n    routecookie: { name: ROUTEID }\n'));
    expect(c.balancers[0]?.stickysession).toEqual({ cookie: 'JSESSIONID', param: 'jsessionid' });
  });

  it('without balancers and rules the file is still valid (nothing is proxied)', () => {
    const c = parse('listen: [{ port: 8051 }]\n');
    expect(c.balancers).toEqual([]);
    expect(c.proxypass).toEqual([]);
  });
});

// test/fixtures/apache/everything/: every directive and parameter the importer converts, spread
// over several files joined by Include with a glob. The generated YAML is loaded with the same
// parseConfig the daemon uses, and the typed Config is compared value by value.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type BalancerConfig, type Config, type MemberConfig } from '../../src/config/index.js';
import { formatDiagnostic, importApache } from '../../src/importer/index.js';
import { repoRoot } from '../helpers/spawn.js';

const fixture = path.join(repoRoot, 'test/fixtures/apache/everything');
const show = (file: string) => path.relative(fixture, file);

/** stickyd's member defaults with proxy.timeout 90 s (the fixture's ProxyTimeout). */
function member(url: string, scheme: 'http' | 'ajp', host: string, port: number, values: Partial<MemberConfig>): MemberConfig {
  return {
    url, scheme, host, port, basepath: '', route: '', redirect: '', loadfactor: 1, lbset: 0, status: '', retry: 60_000,
    timeout: 90_000, connectiontimeout: 90_000, max: 128, ttl: 4000, disablereuse: false, acquire: null, keepalive: false,
    ping: 0, secret: '', hcmethod: 'None', hcuri: '', hcinterval: 30_000, hcpasses: 1, hcfails: 1, hcexpr: null,
    ...values,
  };
}

function balancer(name: string, values: Partial<BalancerConfig>): BalancerConfig {
  return {
    name, implicit: false, stickysession: null, stickysessionsep: '.', scolonpathdelim: false, lbmethod: 'byrequests',
    maxattempts: null, nofailover: false, timeout: 0, failonstatus: [], failontimeout: false, forcerecovery: true,
    nonce: null, growth: 0, routecookie: null, members: [],
    membertls: {
      verify: 'require', cacertificatefile: null, ca: null, checkpeername: true, checkpeerexpire: true,
      machinecertificatefile: null, cert: null, key: null, protocol: ['TLSv1.2', 'TLSv1.3'], ciphersuite: null,
    },
    ...values,
  };
}

describe('the everything fixture', () => {
  const result = importApache(path.join(fixture, 'httpd.conf'), { show });
  const config: Config = parseConfig(result.yaml, 'everything.yaml', {});

  it('reads every file, the glob matches in order', () => {
    expect(result.files).toEqual(['httpd.conf', 'conf.d/10-balancers.conf', 'conf.d/20-routeid.conf', 'sites/app.conf']);
  });

  it('reports only what does not carry over', () => {
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      'sites/app.conf:7: ProxyPass: converted to the prefix rule /img, which matches whole path segments: unlike the regular expression it does not match paths such as /imgx',
      'sites/app.conf:8: ProxyPass: http://10.0.0.20:8080/app: its worker parameters are kept on an explicit one-member balancer "10.0.0.20-8080" with status +I and forcerecovery off, as httpd runs a direct worker',
      'sites/app.conf:20: ProxySet: ping= not converted: stickyd supports it for ajp:// members only (the HTTP 100-continue probe is not implemented)',
      'sites/app.conf:22: ProxyPass: http://10.0.0.22:8080: its worker parameters are kept on an explicit one-member balancer "10.0.0.22-8080" with status +I and forcerecovery off, as httpd runs a direct worker',
    ]);
  });

  it('converts Listen, ServerName and the server-wide settings', () => {
    expect(config.listen).toEqual([
      { address: '0.0.0.0', port: 8051 },
      { address: '127.0.0.1', port: 8052 },
      { address: '::1', port: 8053 },
    ]);
    expect(config.server).toEqual({
      servername: 'www.example.com',
      pidfile: null,
      keepalivetimeout: 7000,
      timeout: 120_000,
      maxkeepaliverequests: 500,
      gracefultimeout: 15_000,
      maxheadersize: 16384,
      requestreadtimeout: { handshake: { timeout: 10_000, max: 0, minrate: 0 }, header: { timeout: 20_000, max: 40_000, minrate: 500 }, body: { timeout: 20_000, max: 0, minrate: 500 } },
      requesttimeout: 300_000,
      http2: { maxsessionstreams: 100, windowsize: 65535, maxresets: 200, maxcontrolframes: 200, websockets: true },
      workers: 'auto', // Apache's MPM settings are not converted: stickyd's default
    });
    expect(config.proxy).toEqual({ preservehost: true, addheaders: false, timeout: 90_000 });
  });

  it('converts every balancer parameter and every member parameter', () => {
    expect(config.balancers.find((b) => b.name === 'cluster')).toEqual(
      balancer('cluster', {
        stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' },
        scolonpathdelim: true,
        lbmethod: 'bybusyness',
        maxattempts: 3,
        nofailover: true,
        timeout: 5000,
        failonstatus: [500, 503],
        failontimeout: true,
        forcerecovery: false,
        nonce: '',
        growth: 2,
        members: [
          member('ajp://192.168.55.229', 'ajp', '192.168.55.229', 8009, {
            route: 'jvm_a', loadfactor: 2.5, retry: 30_000, timeout: 5000, connectiontimeout: 2500, ping: 1000, max: 64,
            ttl: 4000, acquire: 500, keepalive: true, secret: 's3cret', hcmethod: 'GET', hcuri: '/health',
            hcinterval: 15_000, hcpasses: 2, hcfails: 3, hcexpr: '%{REQUEST_STATUS} =~ /^[234]/',
          }),
          member('ajp://192.168.55.231', 'ajp', '192.168.55.231', 8009, { route: 'jvm_b', redirect: 'jvm_a', status: '+H', disablereuse: true }),
          // hctemplate=tcheck: HEAD /ping every 10 s, 2 passes, 3 fails.
          member('http://backend.local:8080/app', 'http', 'backend.local', 8080, {
            basepath: '/app', route: 'jvm_c', lbset: 1, retry: 0, hcmethod: 'HEAD', hcuri: '/ping', hcinterval: 10_000, hcpasses: 2, hcfails: 3,
          }),
        ],
      }),
    );
  });

  it('converts members outside <Proxy>, ProxySet by name, stickysessionsep=Off and the ROUTEID recipe', () => {
    expect(config.balancers.find((b) => b.name === 'rc')).toEqual(
      balancer('rc', {
        stickysession: { cookie: 'ROUTEID', param: 'ROUTEID' },
        stickysessionsep: null,
        lbmethod: 'bytraffic',
        routecookie: { name: 'ROUTEID', path: '/shop', domain: null, secure: true, httponly: false },
        members: [
          member('http://10.0.0.1:8080', 'http', '10.0.0.1', 8080, { route: 'r1' }),
          member('http://10.0.0.2:8080', 'http', '10.0.0.2', 8080, { route: 'r2' }),
        ],
      }),
    );
  });

  it('keeps worker parameters of direct URLs on one-member balancers that behave as direct workers (I, no forcerecovery)', () => {
    expect(config.balancers.find((b) => b.name === '10.0.0.20-8080')).toEqual(
      balancer('10.0.0.20-8080', {
        forcerecovery: false,
        members: [member('http://10.0.0.20:8080', 'http', '10.0.0.20', 8080, { status: '+I', timeout: 30_000, retry: 5000, connectiontimeout: 3000 })],
      }),
    );
    expect(config.balancers.find((b) => b.name === '10.0.0.22-8080')?.members).toEqual([
      member('http://10.0.0.22:8080', 'http', '10.0.0.22', 8080, { status: '+I', keepalive: true }),
    ]);
    expect(config.balancers.filter((b) => b.implicit).map((b) => b.name)).toEqual(['http://10.0.0.30', 'ajp://10.0.0.21']);
  });

  it('converts the ProxyPass family in httpd\'s order (the <Location> rule first)', () => {
    expect(config.proxypass).toEqual([
      { path: '/legacy', exclude: false, balancer: 'cluster', backendpath: '/old', url: 'balancer://cluster/old', nocanon: false },
      { path: '/myweb', exclude: false, balancer: 'cluster', backendpath: '/myweb', url: 'balancer://cluster/myweb', nocanon: false },
      { path: '/shop', exclude: false, balancer: 'rc', backendpath: '/shop', url: 'balancer://rc/shop', nocanon: false },
      { path: '/api/', exclude: false, balancer: 'cluster', backendpath: '/api/', url: 'balancer://cluster/api/', nocanon: false },
      { path: '/static', exclude: true, balancer: '', backendpath: '', url: '!', nocanon: false },
      { path: '/img', exclude: false, balancer: 'http://10.0.0.30', backendpath: '/images', url: 'http://10.0.0.30/images', nocanon: false },
      { path: '/direct', exclude: false, balancer: '10.0.0.20-8080', backendpath: '/app', url: 'balancer://10.0.0.20-8080/app', nocanon: false },
      { path: '/plain', exclude: false, balancer: 'ajp://10.0.0.21', backendpath: '/plain', url: 'ajp://10.0.0.21/plain', nocanon: false },
      { path: '/worker', exclude: false, balancer: '10.0.0.22-8080', backendpath: '', url: 'balancer://10.0.0.22-8080', nocanon: false },
    ]);
    expect(config.proxypassreverse).toEqual([
      { path: '/myweb', balancer: 'cluster', url: '/myweb' },
      { path: '/direct', balancer: null, url: 'http://10.0.0.20:8080/app' },
      { path: '/legacy', balancer: 'cluster', url: '/old' },
    ]);
    expect(config.cookiepath).toEqual([{ internal: '/myweb', public: '/web' }]);
    expect(config.cookiedomain).toEqual([{ internal: 'backend.local', public: 'www.example.com' }]);
  });

  it('converts LogFormat, CustomLog and ErrorLog, file names relative to ServerRoot', () => {
    expect(config.log).toEqual({
      level: 'info',
      access: { format: '%v:%p %h "%r" %>s %{BALANCER_WORKER_ROUTE}e %{BALANCER_ROUTE_CHANGED}e %D', file: path.join(fixture, 'logs/access_log') },
      error: { file: path.join(fixture, 'logs/error_log'), format: 'auto' },
    });
  });

  it('writes a header naming the source and nothing date-dependent', () => {
    expect(result.yaml.split('\n')[0]).toBe('# stickyd balancer file generated by stickyd import-apache from httpd.conf');
    expect(importApache(path.join(fixture, 'httpd.conf'), { show }).yaml).toBe(result.yaml);
  });
});

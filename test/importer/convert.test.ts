// Conversion rules beyond the everything fixture: what is reported as not converted (with the
// right FILE:LINE), how virtual hosts merge and how their conflicts are named, and the Apache
// semantics that decide values. Every generated file is loaded with the daemon's parseConfig.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { formatDiagnostic, importApache, ImportError } from '../../src/importer/index.js';
import { relativeTo, removeTrees, tree } from './tree.js';

afterEach(removeTrees);

function run(files: Record<string, string>, main = 'httpd.conf') {
  const dir = tree(files);
  const result = importApache(path.join(dir, main), { show: relativeTo(dir) });
  const config = parseConfig(result.yaml, 'generated.yaml', {});
  return { ...result, config, messages: result.diagnostics.map(formatDiagnostic) };
}

function failure(files: Record<string, string>): ImportError {
  const dir = tree(files);
  try {
    importApache(path.join(dir, 'httpd.conf'), { show: relativeTo(dir) });
  } catch (err) {
    if (err instanceof ImportError) return err;
    throw err;
  }
  throw new Error('expected an ImportError');
}

const lines = (...l: string[]) => `${l.join('\n')}\n`;
const cluster = lines('<Proxy balancer://c>', 'BalancerMember http://10.0.0.1:8080 route=a', 'BalancerMember http://10.0.0.2:8080 route=b', '</Proxy>');

describe('directives that are not converted are listed with FILE:LINE', () => {
  it('names the file and line of each, in reading order, and stays silent about LoadModule', () => {
    const r = run({
      'httpd.conf': lines(
        'LoadModule proxy_module modules/mod_proxy.so',
        'Listen 80',
        'Include extra/*.conf',
        'RewriteEngine On',
        '<Location /balancer-manager>',
        '    SetHandler balancer-manager',
        '    Require host localhost',
        '</Location>',
        '<Directory /var/www>',
        '    Options None',
        '    AllowOverride None',
        '</Directory>',
      ),
      'extra/proxy.conf': lines(
        cluster.trimEnd(),
        'ProxyPass /app balancer://c/app',
        'ProxyPassMatch ^/(.*)\\.jsp$ balancer://c/$1.jsp',
        'RewriteRule ^/old/(.*)$ /new/$1 [R=301,L]',
        'Header set X-Frame-Options DENY',
        'SSLEngine on',
      ),
    });
    expect(r.messages).toEqual([
      'httpd.conf:4: RewriteEngine: not converted: mod_rewrite is not supported; express the mapping as ProxyPass prefix rules',
      'httpd.conf:6: SetHandler: balancer-manager: use the admin listener instead (admin: { address: 127.0.0.1, port: 8052 } in the balancer file)',
      'httpd.conf:7: Require: not converted: access control is not converted: stickyd has none (restrict the listen address, or put it behind something that checks)',
      'httpd.conf:9: <Directory>: stickyd serves no files; the section and the 2 directives in it were not converted',
      'extra/proxy.conf:6: ProxyPassMatch: not converted: the regular expression "^/(.*)\\.jsp$" is not an anchored prefix such as ^/app(.*)$, and stickyd has prefix rules only',
      'extra/proxy.conf:7: RewriteRule: not converted: mod_rewrite is not supported; express the mapping as ProxyPass prefix rules',
      'extra/proxy.conf:8: Header: not converted: mod_headers is not supported (only the ROUTEID cookie recipe is converted, to routecookie)',
      'extra/proxy.conf:9: SSLEngine: not converted for 0.0.0.0:80: SSLEngine on without SSLCertificateFile (httpd would not start)',
    ]);
    expect(r.config.proxypass.map((p) => p.path)).toEqual(['/app']);
  });

  it('reports parameters httpd refuses or stickyd lacks, and keeps the rest of the line', () => {
    const r = run({
      'httpd.conf': lines(
        'Listen 80',
        '<Proxy balancer://c>',
        'BalancerMember http://10.0.0.1:8080 route=a loadfactor=0 smax=5 flushpackets=on',
        'BalancerMember fcgi://10.0.0.3 route=s',
        '</Proxy>',
        'ProxyPass /app balancer://c/ lbmethod=heartbeat retry=5 nocanon',
      ),
    });
    expect(r.messages).toEqual([
      'httpd.conf:3: BalancerMember: loadfactor=0 not converted: httpd refuses it: LoadFactor must be a number between 1..100',
      'httpd.conf:3: BalancerMember: smax=5 not converted: stickyd has no soft pool limit; idle connections are closed after ttl',
      'httpd.conf:3: BalancerMember: flushpackets=on not converted: stickyd streams responses as they arrive',
      'httpd.conf:4: BalancerMember: fcgi://10.0.0.3 not converted: scheme must be http://, https:// or ajp:// (got "fcgi://10.0.0.3")',
      'httpd.conf:6: ProxyPass: lbmethod=heartbeat not converted: lbmethod heartbeat (mod_lbmethod_heartbeat) is not supported; the balancer keeps byrequests',
      'httpd.conf:6: ProxyPass: retry=5 not converted: httpd refuses it: unknown Balancer parameter (retry is a BalancerMember parameter: write it on the BalancerMember line)',
    ]);
    expect(r.config.balancers[0]?.members.map((m) => [m.url, m.route, m.loadfactor])).toEqual([['http://10.0.0.1:8080', 'a', 1]]);
  });

  it('carries nocanon over; mapping=servlet becomes nocanon (stickyd matches every rule on the servlet form)', () => {
    const r = run({
      'httpd.conf': lines(
        'Listen 80',
        '<Proxy balancer://c>',
        'BalancerMember http://10.0.0.1:8080',
        '</Proxy>',
        'ProxyPass /manager ! mapping=servlet',
        'ProxyPass /raw balancer://c/raw nocanon',
        'ProxyPass /servlet balancer://c/servlet mapping=servlet',
        'ProxyPass /enc balancer://c/enc mapping=encoded',
        'ProxyPass / balancer://c/',
      ),
    });
    expect(r.messages).toEqual(['httpd.conf:8: ProxyPass: mapping=encoded not converted: not supported']);
    expect(r.config.proxypass.map((p) => [p.path, p.nocanon])).toEqual([
      ['/manager', false],
      ['/raw', true],
      ['/servlet', true],
      ['/enc', false],
      ['/', false],
    ]);
  });

  it('says when a unit on a seconds-only parameter is read differently by httpd 2.4', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', '<Proxy balancer://c>', 'BalancerMember http://h:1 retry=500ms timeout=2', '</Proxy>', 'ProxyPass / balancer://c/') });
    expect(r.config.balancers[0]?.members[0]).toMatchObject({ retry: 500, timeout: 2000 });
    expect(r.messages).toEqual([
      'httpd.conf:3: BalancerMember: retry=500ms: httpd 2.4 reads only the leading integer of "500ms" (500 seconds); converted as written, the way newer httpd reads it',
    ]);
  });

  it('fails without any ProxyPass, and when none can be converted, listing why', () => {
    expect(failure({ 'httpd.conf': lines('Listen 80', cluster) }).message).toBe('httpd.conf: no ProxyPass directive: there is nothing for stickyd to proxy');
    const err = failure({ 'httpd.conf': lines('Listen 80', 'ProxyPassMatch \\.php$ fcgi://127.0.0.1:9000/') });
    expect(err.message).toBe('httpd.conf: none of the 1 ProxyPass directives could be converted');
    expect(err.diagnostics.map(formatDiagnostic)).toEqual([
      'httpd.conf:2: ProxyPassMatch: not converted: the regular expression "\\.php$" is not an anchored prefix such as ^/app(.*)$, and stickyd has prefix rules only',
    ]);
  });
});

describe('Apache semantics of the converted values', () => {
  it('gives members Timeout when ProxyTimeout is not set, and KeepAlive Off one request per connection', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', 'Timeout 300', 'KeepAlive Off', 'MaxKeepAliveRequests 50', cluster, 'ProxyPass / balancer://c/') });
    expect(r.config.proxy.timeout).toBe(300_000);
    expect(r.config.balancers[0]?.members[0]?.timeout).toBe(300_000);
    expect(r.config.server.timeout).toBe(300_000);
    expect(r.config.server.maxkeepaliverequests).toBe(1);
  });

  it('converts mod_http2\'s H2MaxSessionStreams, H2WindowSize and H2WebSockets, with httpd\'s checks', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', 'Protocols h2c http/1.1', 'H2MaxSessionStreams 64', 'H2WindowSize 1048576', 'H2WebSockets off', cluster, 'ProxyPass / balancer://c/') });
    expect(r.messages).toEqual([]);
    expect(r.config.server.http2).toMatchObject({ maxsessionstreams: 64, windowsize: 1048576, websockets: false });
    // Not set: stickyd's defaults (H2WebSockets stays on: httpd's off is its default, not the file's choice).
    const plain = run({ 'httpd.conf': lines('Listen 80', cluster, 'ProxyPass / balancer://c/') });
    expect(plain.config.server.http2).toMatchObject({ maxsessionstreams: 100, windowsize: 65535, websockets: true });
    expect(plain.yaml).not.toContain('http2');
    const bad = run({ 'httpd.conf': lines('Listen 80', 'H2MaxSessionStreams 0', 'H2WindowSize 2048', 'H2WebSockets maybe', cluster, 'ProxyPass / balancer://c/') });
    expect(bad.messages).toEqual([
      'httpd.conf:2: H2MaxSessionStreams: not converted: httpd refuses it: value must be > 0',
      'httpd.conf:3: H2WindowSize: not converted: server.http2.windowsize is at least 65535 (HTTP/2\'s initial window); stickyd keeps that, not 2048',
      'httpd.conf:4: H2WebSockets: not converted: httpd refuses it: value must be On or Off',
    ]);
    // Two proxying servers that disagree: one value for every listener, and a note.
    const vhosts = run({ 'httpd.conf': lines('Listen 80', 'Listen 81', cluster, '<VirtualHost *:80>', 'H2MaxSessionStreams 50', 'ProxyPass / balancer://c/', '</VirtualHost>', '<VirtualHost *:81>', 'H2MaxSessionStreams 70', 'ProxyPass / balancer://c/', '</VirtualHost>') });
    expect(vhosts.config.server.http2.maxsessionstreams).toBe(50);
    expect(vhosts.messages.join('\n')).toMatch(/H2MaxSessionStreams: conflicts with another server: stickyd has one H2MaxSessionStreams for every listener and keeps 50/);
  });

  it('accepts upgrade= with a note: stickyd tunnels every Upgrade anyway, whatever the protocol', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', '<Proxy balancer://c>', '  BalancerMember http://10.0.0.1:8080 upgrade=websocket route=a', '</Proxy>', 'ProxyPass / balancer://c/') });
    expect(r.messages).toEqual([
      'httpd.conf:3: BalancerMember: upgrade=websocket: accepted, nothing to carry over: stickyd tunnels every Upgrade request to an http:// or https:// member whatever its protocol (httpd: only websocket); an ajp:// member answers one with 502',
    ]);
    expect(r.config.balancers[0]?.members[0]?.route).toBe('a');
    expect(r.yaml).not.toContain('upgrade');
  });

  it('says what was probably meant by an unknown parameter, and converts the rest of the line', () => {
    const r = run({
      'httpd.conf': lines(
        'Listen 80',
        '<Proxy balancer://c>',
        '  BalancerMember http://10.0.0.1:8080 lbfactor=2 rout=a retry=10',
        '  BalancerMember http://10.0.0.2:8080 route=b lbmethod=bybusyness',
        '</Proxy>',
        'ProxyPass / balancer://c/ stickysesion=JSESSIONID maxattempts=1',
      ),
    });
    expect(r.messages).toEqual([
      'httpd.conf:3: BalancerMember: lbfactor=2 not converted: httpd refuses it: unknown Worker parameter — did you mean loadfactor=?',
      'httpd.conf:3: BalancerMember: rout=a not converted: httpd refuses it: unknown Worker parameter — did you mean route=?',
      'httpd.conf:4: BalancerMember: lbmethod=bybusyness not converted: httpd refuses it: unknown Worker parameter (lbmethod is a Balancer parameter: write it in ProxySet, or after the balancer:// URL of ProxyPass)',
      'httpd.conf:6: ProxyPass: stickysesion=JSESSIONID not converted: httpd refuses it: unknown Balancer parameter — did you mean stickysession=?',
    ]);
    expect(r.config.balancers[0]?.members.map((m) => [m.route, m.loadfactor, m.retry])).toEqual([['', 1, 10_000], ['b', 1, 60_000]]);
    expect(r.config.balancers[0]?.maxattempts).toBe(1);
  });

  it('converts RequestReadTimeout stage by stage in Apache\'s syntax; a stage not given keeps Apache\'s default (the handshake stickyd\'s)', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', 'RequestReadTimeout header=10-30,MinRate=1000 handshake=5', 'RequestReadTimeout body=60', cluster, 'ProxyPass / balancer://c/') });
    expect(r.messages).toEqual([]);
    expect(r.config.server.requestreadtimeout).toEqual({ handshake: { timeout: 5_000, max: 0, minrate: 0 }, header: { timeout: 10_000, max: 30_000, minrate: 1000 }, body: { timeout: 60_000, max: 0, minrate: 0 } });
    const none = run({ 'httpd.conf': lines('Listen 80', 'RequestReadTimeout body=60', cluster, 'ProxyPass / balancer://c/') });
    expect(none.config.server.requestreadtimeout.handshake).toEqual({ timeout: 10_000, max: 0, minrate: 0 });
  });

  it('refuses RequestReadTimeout values httpd refuses, with httpd\'s reason', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', 'RequestReadTimeout header=20-40 body=5s,MinRate=500 bogus=1 body=30-20,MinRate=500', cluster, 'ProxyPass / balancer://c/') });
    expect(r.messages).toEqual([
      'httpd.conf:2: RequestReadTimeout: invalid: header=20-40: httpd refuses it: a timeout range (20-40) needs MinRate, e.g. 20-40,MinRate=500',
      'httpd.conf:2: RequestReadTimeout: invalid: body=5s,MinRate=500: httpd refuses it: expected body=seconds[-maxseconds][,MinRate=rate]',
      'httpd.conf:2: RequestReadTimeout: invalid: bogus=1: httpd refuses it: Unknown RequestReadTimeout parameter',
      'httpd.conf:2: RequestReadTimeout: invalid: body=30-20,MinRate=500: httpd refuses it: the maximum timeout must be larger than the initial timeout (got 30-20,MinRate=500)',
    ]);
    expect(r.config.server.requestreadtimeout).toEqual({ handshake: { timeout: 10_000, max: 0, minrate: 0 }, header: { timeout: 20_000, max: 40_000, minrate: 500 }, body: { timeout: 20_000, max: 0, minrate: 500 } });
  });

  it('takes HttpProtocolOptions Strict Require1.0 silently (what stickyd does) and says it cannot be lenient', () => {
    const strict = run({ 'httpd.conf': lines('Listen 80', 'HttpProtocolOptions Strict Require1.0 LenientMethods', cluster, 'ProxyPass / balancer://c/') });
    expect(strict.messages).toEqual([]);
    const lenient = run({ 'httpd.conf': lines('Listen 80', 'HttpProtocolOptions Unsafe Allow0.9', cluster, 'ProxyPass / balancer://c/') });
    expect(lenient.messages).toEqual([
      'httpd.conf:2: HttpProtocolOptions: Unsafe Allow0.9 not converted: stickyd always refuses what HttpProtocolOptions Strict Require1.0 refuses (HTTP/0.9 and malformed request lines get 400)',
    ]);
  });

  it('keeps Timeout for tunnels when ProxyTimeout sets the members', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', 'Timeout 30', 'ProxyTimeout 90', cluster, 'ProxyPass / balancer://c/') });
    expect(r.config.server.timeout).toBe(30_000);
    expect(r.config.proxy.timeout).toBe(90_000);
    expect(r.diagnostics).toEqual([]);
  });

  it('puts <Location> rules first, the last-declared first, because httpd lets the last matching Location win', () => {
    const r = run({
      'httpd.conf': lines(
        'Listen 80',
        cluster,
        'ProxyPass /app/api balancer://c/server-api',
        '<Location /app>',
        '  ProxyPass balancer://c/app',
        '</Location>',
        '<Location /app/static>',
        '  ProxyPass !',
        '</Location>',
      ),
    });
    expect(r.config.proxypass.map((p) => `${p.path} ${p.url}`)).toEqual(['/app/static !', '/app balancer://c/app', '/app/api balancer://c/server-api']);
  });

  it('converts ProxyPass inside <LocationMatch> with an anchored prefix, and reports a wildcard <Location>', () => {
    const r = run({
      'httpd.conf': lines('Listen 80', cluster, '<LocationMatch "^/app/(.*)$">', '  ProxyPass balancer://c/app/$1', '</LocationMatch>', '<Location /img/*>', '  ProxyPass balancer://c/img', '</Location>'),
    });
    expect(r.config.proxypass.map((p) => `${p.path} ${p.url}`)).toEqual(['/app/ balancer://c/app/']);
    expect(r.messages).toEqual(['httpd.conf:11: ProxyPass: not converted: the <Location> path "/img/*" has wildcards, and stickyd has prefix rules only']);
  });

  it('keeps ${NAME} that no Define sets, for stickyd to expand from its environment, and says so', () => {
    const dir = tree({ 'httpd.conf': lines('Listen 80', '<Proxy balancer://c>', 'BalancerMember ajp://10.0.0.1 route=a secret=${AJP_SECRET}', '</Proxy>', 'ProxyPass / balancer://c/') });
    const result = importApache(path.join(dir, 'httpd.conf'), { show: relativeTo(dir) });
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      'httpd.conf:3: BalancerMember: ${AJP_SECRET} is not set by a Define: kept as ${AJP_SECRET}, which stickyd expands from its environment when it loads the balancer file',
    ]);
    expect(parseConfig(result.yaml, 'generated.yaml', { AJP_SECRET: 'from-env' }).balancers[0]?.members[0]?.secret).toBe('from-env');
  });

  it('drops a ProxyPass for a path that an earlier rule of the same server already has: httpd never reaches it', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', cluster, 'ProxyPass /a balancer://c/one', 'ProxyPass /a balancer://c/two') });
    expect(r.config.proxypass.map((p) => p.url)).toEqual(['balancer://c/one']);
    expect(r.messages).toEqual(['httpd.conf:8: ProxyPass: /a balancer://c/two not converted: never used: the rule for the same path at httpd.conf:7 comes first']);
  });

  it('lower-cases balancer names and shares a worker named twice, ignoring its second parameters', () => {
    const r = run({
      'httpd.conf': lines('Listen 80', '<Proxy balancer://MyCluster>', 'BalancerMember http://H:8080/ route=a', 'BalancerMember http://h:8080 route=b', '</Proxy>', 'ProxyPass / balancer://MYCLUSTER/'),
    });
    expect(r.config.balancers.map((b) => [b.name, b.members.map((m) => m.route)])).toEqual([['mycluster', ['a']]]);
    expect(r.config.proxypass[0]?.balancer).toBe('mycluster');
    expect(r.messages).toEqual(['httpd.conf:4: BalancerMember: http://h:8080 not converted: httpd shares the worker of the same URL defined at httpd.conf:3 and ignores this one\'s parameters']);
  });

  it('gives a direct worker with parameters I before its own status, and ignores parameters given again for it', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', 'ProxyPass /a http://10.0.0.7:8080/a status=-E timeout=9', 'ProxyPass /b http://10.0.0.7:8080/a retry=1', 'ProxyPass /c http://10.0.0.7:8080/c') });
    expect(r.config.proxypass.map((p) => `${p.path} ${p.url}`)).toEqual(['/a balancer://10.0.0.7-8080/a', '/b balancer://10.0.0.7-8080/a', '/c http://10.0.0.7:8080/c']);
    expect(r.config.balancers[0]?.members[0]).toMatchObject({ url: 'http://10.0.0.7:8080', status: '+I-E', timeout: 9000, retry: 60_000 });
    expect(r.messages).toEqual([
      'httpd.conf:2: ProxyPass: http://10.0.0.7:8080/a: its worker parameters are kept on an explicit one-member balancer "10.0.0.7-8080" with status +I and forcerecovery off, as httpd runs a direct worker',
      'httpd.conf:3: ProxyPass: retry=1 not converted: httpd shares the worker http://10.0.0.7:8080/a set up at httpd.conf:2 and ignores parameters given again',
    ]);
  });

  it('reports routes stickyd cannot express: duplicates and redirects to no member', () => {
    const r = run({
      'httpd.conf': lines('Listen 80', '<Proxy balancer://c>', 'BalancerMember http://h1 route=a redirect=zz', 'BalancerMember http://h2 route=a', '</Proxy>', 'ProxyPass / balancer://c/'),
    });
    expect(r.config.balancers[0]?.members.map((m) => [m.route, m.redirect])).toEqual([['a', ''], ['', '']]);
    expect(r.messages).toEqual([
      'httpd.conf:3: BalancerMember: redirect=zz not converted: no member of balancer://c has that route, so httpd never finds one either',
      'httpd.conf:4: BalancerMember: route=a not converted: http://h1 at httpd.conf:3 has the same route, and stickyd needs routes to be unique in a balancer (httpd would try that member first)',
    ]);
  });

  it('drops rules to a balancer without members (httpd answers 503) and says so', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', cluster, 'ProxyPass /a balancer://c/', 'ProxyPass /b balancer://empty/', 'ProxyPassReverse /b balancer://empty/') });
    expect(r.config.proxypass.map((p) => p.path)).toEqual(['/a']);
    expect(r.messages).toEqual([
      'httpd.conf:8: balancer: balancer://empty not converted: it has no BalancerMember (httpd answers 503 for it)',
      'httpd.conf:8: ProxyPass: /b not converted: balancer://empty was not converted (see its own message)',
      'httpd.conf:9: ProxyPassReverse: not converted: balancer://empty was not converted',
    ]);
  });

  it('converts Listen forms and skips what is not on an IP address; https alone does not make TLS', () => {
    const r = run({ 'httpd.conf': lines('Listen 8080', 'Listen 10.1.2.3:8081', 'Listen [::]:8082', 'Listen 443', 'Listen 8443 https', 'Listen localhost:9000', 'Listen 10.1.2.3:8080', cluster, 'ProxyPass / balancer://c/') });
    expect(r.config.listen).toEqual([
      { address: '0.0.0.0', port: 8080 },
      { address: '10.1.2.3', port: 8081 },
      { address: '::', port: 8082 },
      { address: '0.0.0.0', port: 443 },
      { address: '0.0.0.0', port: 8443 },
    ]);
    expect(r.messages).toEqual([
      'httpd.conf:4: Listen: no server on 0.0.0.0:443 has SSLEngine on, so httpd speaks plain HTTP there despite the https protocol, and so does stickyd',
      'httpd.conf:5: Listen: no server on 0.0.0.0:8443 has SSLEngine on, so httpd speaks plain HTTP there despite the https protocol, and so does stickyd',
      'httpd.conf:6: Listen: not converted: stickyd listens on IP addresses; "localhost" is a host name (write its address)',
      'httpd.conf:7: Listen: not converted: 10.1.2.3:8080 overlaps Listen 0.0.0.0:8080 at httpd.conf:1',
    ]);
  });

  it('listens on 0.0.0.0:80 with a warning when no Listen can be converted', () => {
    const r = run({ 'httpd.conf': lines(cluster, 'ProxyPass / balancer://c/') });
    expect(r.config.listen).toEqual([{ address: '0.0.0.0', port: 80 }]);
    expect(r.messages).toEqual(['httpd.conf:1: Listen: no Listen directive was converted: stickyd will listen on 0.0.0.0:80 (httpd\'s usual "Listen 80"); change listen: if that is wrong']);
  });

  it('converts the ROUTEID recipe only for a balancer that reads that cookie', () => {
    const recipe = 'Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/; Max-Age=60" env=BALANCER_ROUTE_CHANGED';
    const r = run({ 'httpd.conf': lines('Listen 80', recipe, cluster, 'ProxySet balancer://c stickysession=JSESSIONID', 'ProxyPass / balancer://c/') });
    expect(r.config.balancers[0]?.routecookie).toBeNull();
    expect(r.messages).toEqual([
      'httpd.conf:2: Header: cookie attributes not converted: Max-Age=60',
      'httpd.conf:2: Header: not converted: no balancer has stickysession=ROUTEID, so the cookie would never be read',
    ]);
  });
});

describe('logs: LogFormat, CustomLog, TransferLog, ErrorLog', () => {
  const base = lines('Listen 80', cluster.trimEnd(), 'ProxyPass / balancer://c/');

  it('resolves a nickname as httpd does when it opens the log, also one defined later or in the main server for a virtual host', () => {
    const r = run({
      'httpd.conf': base + lines(
        'ServerRoot /srv/httpd',
        '<VirtualHost *:80>',
        '  CustomLog logs/vhost.log routes',
        '</VirtualHost>',
        'LogFormat "%h %{BALANCER_WORKER_ROUTE}e" routes',
      ),
    });
    expect(r.messages).toEqual([]);
    expect(r.config.log.access).toEqual({ format: '%h %{BALANCER_WORKER_ROUTE}e', file: '/srv/httpd/logs/vhost.log' });
  });

  it('writes httpd\'s documented common and combined formats by their names', () => {
    const r = run({ 'httpd.conf': base + lines('LogFormat "%h %l %u %t \\"%r\\" %>s %b" common', 'CustomLog /var/log/a.log common') });
    expect(r.yaml).toContain('format: common');
    expect(r.config.log.access).toEqual({ format: 'common', file: '/var/log/a.log' });
  });

  it('TransferLog writes the last LogFormat without a nickname, else the common log format', () => {
    expect(run({ 'httpd.conf': base + lines('LogFormat "%h %>s"', 'TransferLog /var/log/t.log') }).config.log.access).toEqual({ format: '%h %>s', file: '/var/log/t.log' });
    expect(run({ 'httpd.conf': base + lines('TransferLog /var/log/t.log') }).config.log.access).toEqual({ format: 'common', file: '/var/log/t.log' });
  });

  it('says what httpd would do with an undefined nickname, and what stickyd does', () => {
    const r = run({ 'httpd.conf': base + lines('CustomLog /var/log/a.log combined') });
    expect(r.messages).toEqual(['httpd.conf:7: CustomLog: no LogFormat names "combined" here, so httpd would write that word on every line; stickyd writes its built-in combined format (%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i")']);
    expect(r.config.log.access).toEqual({ format: 'combined', file: '/var/log/a.log' });
    const other = run({ 'httpd.conf': base + lines('CustomLog /var/log/a.log mine') });
    expect(other.messages).toEqual(['httpd.conf:7: CustomLog: not converted: no LogFormat names "mine", so httpd would write that word on every line']);
    expect(other.config.log.access).toEqual({ format: 'json', file: null });
  });

  it('reports pipes, conditions, a second access log and formats httpd refuses', () => {
    const r = run({
      'httpd.conf': base + lines(
        'CustomLog "|/usr/bin/rotatelogs /var/log/a.%Y 86400" "%h %>s" env=!dontlog',
        'CustomLog /var/log/second.log "%h"',
        'LogFormat "%h %Z" broken',
        'ErrorLog syslog:local1',
      ),
    });
    expect(r.messages).toEqual([
      'httpd.conf:7: CustomLog: env=!dontlog not converted: stickyd logs every request (no conditional logging)',
      'httpd.conf:7: CustomLog: |/usr/bin/rotatelogs /var/log/a.%Y 86400 not converted: piped logs are not supported; the access log goes to stdout (pipe that), or set log.access.file to a file and rotate it with logrotate (SIGUSR1 reopens it)',
      'httpd.conf:8: CustomLog: not converted: stickyd writes one access log, |/usr/bin/rotatelogs /var/log/a.%Y 86400 from httpd.conf:7',
      'httpd.conf:9: LogFormat: invalid: httpd refuses it: unrecognized LogFormat directive %Z (at character 4)',
      'httpd.conf:10: ErrorLog: not converted: stickyd writes its messages to stdout or a file (under systemd, journald keeps stdout)',
    ]);
    expect(r.config.log.access).toEqual({ format: '%h %>s', file: null });
    expect(r.config.log.error.file).toBeNull();
  });

  it('leaves log: out when the Apache configuration has no logs', () => {
    expect(run({ 'httpd.conf': base }).yaml).not.toContain('log:');
  });
});

describe('virtual hosts are merged into one mount table', () => {
  it('merges virtual hosts that agree, silently', () => {
    const vhost = (port: number) => lines(`<VirtualHost *:${port}>`, 'ServerName www.example.com', 'ProxyPreserveHost On', 'ProxyPass /app balancer://c/app', 'ProxyPassReverse /app balancer://c/app', '</VirtualHost>');
    const r = run({ 'httpd.conf': lines('Listen 80', 'Listen 8080', cluster, vhost(80), vhost(8080)) });
    expect(r.messages).toEqual([]);
    expect(r.config.proxypass).toHaveLength(1);
    expect(r.config.proxypassreverse).toHaveLength(1);
    expect(r.config.proxy.preservehost).toBe(true);
    expect(r.config.server.servername).toBe('www.example.com');
  });

  it('reports conflicts naming both FILE:LINEs and keeps the first', () => {
    const r = run({
      'httpd.conf': lines('Listen 80', cluster, '<Proxy balancer://d>', 'BalancerMember http://10.0.0.9:8080', '</Proxy>', 'Include vhosts/*.conf'),
      'vhosts/a.conf': lines('<VirtualHost *:80>', 'ServerName a.example.com', 'ProxyPreserveHost On', 'ProxyPass /app balancer://c/app', '</VirtualHost>'),
      'vhosts/b.conf': lines('<VirtualHost *:80>', 'ServerName b.example.com', 'ProxyPass /app balancer://d/app', 'ProxyPass /app/x balancer://d/x', '</VirtualHost>'),
    });
    expect(r.messages).toEqual([
      'vhosts/b.conf:1: ProxyPreserveHost: conflicts with another server: stickyd has one ProxyPreserveHost for every listener and keeps On (ProxyPreserveHost at vhosts/a.conf:3), not Off, httpd\'s default, (the <VirtualHost> at vhosts/b.conf:1 sets none)',
      'vhosts/b.conf:2: ServerName: conflicts with another server: stickyd has one ServerName for every listener and keeps a.example.com (ServerName at vhosts/a.conf:2), not b.example.com (ServerName at vhosts/b.conf:2)',
      'vhosts/b.conf:3: ProxyPass: /app balancer://d/app not converted: conflicts with the rule for the same path at vhosts/a.conf:4 (balancer://c/app) in another virtual host; stickyd has one mount table and keeps that one',
      'vhosts/b.conf:4: ProxyPass: /app/x overlaps /app (balancer://c/app) at vhosts/a.conf:4 from another virtual host: stickyd has one mount table, so requests of both virtual hosts go to the first rule that matches',
    ]);
    expect(r.config.proxypass.map((p) => `${p.path} ${p.url}`)).toEqual(['/app balancer://c/app', '/app/x balancer://d/x']);
    expect(r.config.server.servername).toBe('a.example.com');
  });

  it('reports a balancer defined differently in two virtual hosts', () => {
    const r = run({
      'httpd.conf': lines(
        'Listen 80',
        '<VirtualHost *:80>',
        '<Proxy balancer://c>',
        'BalancerMember http://10.0.0.1:8080 route=a',
        'ProxySet lbmethod=bytraffic',
        '</Proxy>',
        'ProxyPass /one balancer://c/',
        '</VirtualHost>',
        '<VirtualHost *:80>',
        '<Proxy balancer://c>',
        'BalancerMember http://10.0.0.1:8080 route=a',
        'BalancerMember http://10.0.0.5:8080 route=e',
        'ProxySet lbmethod=bybusyness',
        '</Proxy>',
        'ProxyPass /two balancer://c/',
        '</VirtualHost>',
      ),
    });
    expect(r.messages).toEqual([
      'httpd.conf:12: BalancerMember: http://10.0.0.5:8080 not converted: balancer://c already has members from another virtual host (httpd.conf:4); stickyd has one balancer of each name',
      'httpd.conf:13: ProxySet: lbmethod=bybusyness conflicts with lbmethod=bytraffic at httpd.conf:5 in another virtual host; stickyd has one balancer://c, which keeps the value from httpd.conf:5',
    ]);
    expect(r.config.balancers[0]).toMatchObject({ lbmethod: 'bytraffic' });
    expect(r.config.balancers[0]?.members.map((m) => m.url)).toEqual(['http://10.0.0.1:8080']);
  });

  it('keeps the main server\'s rules ahead of every virtual host\'s, as httpd inherits them', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', cluster, '<VirtualHost *:80>', 'ProxyPass / balancer://c/', '</VirtualHost>', 'ProxyPass /static !') });
    expect(r.config.proxypass.map((p) => p.path)).toEqual(['/static', '/']);
  });

  it('takes ServerName and ProxyPreserveHost from the virtual host that holds the ProxyPass rules, not from a main server that proxies nothing', () => {
    const r = run({
      'httpd.conf': lines(
        'Listen 80',
        'Listen 8080',
        'ServerName main.example',
        cluster,
        '<VirtualHost *:8080>',
        '  ServerName app.example',
        '  ProxyPreserveHost On',
        '  ProxyAddHeaders Off',
        '  ProxyTimeout 20',
        '  ProxyPass / balancer://c/',
        '</VirtualHost>',
      ),
    });
    expect(r.messages).toEqual([
      'httpd.conf:9: <VirtualHost>: its ProxyPass rules also serve 0.0.0.0:80, which no <VirtualHost> covers (httpd serves them from the main server): stickyd has one mount table for every listener',
    ]);
    expect(r.config.server.servername).toBe('app.example');
    expect(r.config.proxy).toEqual({ preservehost: true, addheaders: false, timeout: 20_000 });
  });

  it('a virtual host that serves files does not outvote the one that proxies, wherever it is in the file', () => {
    const r = run({
      'httpd.conf': lines(
        'Listen 80',
        cluster,
        '<VirtualHost *:80>',
        '  ServerName static.example',
        '  DocumentRoot /var/www/static',
        '</VirtualHost>',
        '<VirtualHost *:80>',
        '  ServerName app.example',
        '  ProxyPreserveHost On',
        '  ProxyPass /app balancer://c/app',
        '</VirtualHost>',
      ),
    });
    expect(r.messages).toEqual(['httpd.conf:9: DocumentRoot: not converted: stickyd serves no files']);
    expect(r.config.server.servername).toBe('app.example');
    expect(r.config.proxy.preservehost).toBe(true);
  });

  it('virtual hosts that inherit the main server\'s rules all proxy: their settings must agree', () => {
    const r = run({
      'httpd.conf': lines('Listen 80', cluster, 'ProxyPass / balancer://c/', '<VirtualHost *:80>', '  ServerName a.example', '</VirtualHost>', '<VirtualHost *:80>', '  ServerName b.example', '</VirtualHost>'),
    });
    expect(r.messages).toEqual([
      'httpd.conf:12: ServerName: conflicts with another server: stickyd has one ServerName for every listener and keeps a.example (ServerName at httpd.conf:9), not b.example (ServerName at httpd.conf:12)',
    ]);
  });

  it('reports that a virtual host\'s rules also serve listeners httpd would give to the main server', () => {
    const r = run({ 'httpd.conf': lines('Listen 80', 'Listen 8080', cluster, '<VirtualHost *:8080>', 'ProxyPass / balancer://c/', '</VirtualHost>') });
    expect(r.messages).toEqual([
      'httpd.conf:8: <VirtualHost>: its ProxyPass rules also serve 0.0.0.0:80, which no <VirtualHost> covers (httpd serves them from the main server): stickyd has one mount table for every listener',
    ]);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { brief, parse, problems } from './util.js';

describe('problem positions (1-based line and column of the value, or of the key)', () => {
  it('a value out of range: at the value', () => {
    const text = [
      'listen:', //                                 1
      '  - port: 8051', //                          2
      'balancers:', //                              3
      '  cluster:', //                              4
      '    members:', //                            5
      '      - url: http://10.0.0.1:8080', //       6
      '      - url: http://10.0.0.2:8080', //       7
      '        loadfactor: 0', //                   8  value at column 21
      '',
    ].join('\n');
    expect(problems(text)).toEqual([
      { file: 'test.yaml', line: 8, col: 21, path: 'balancers.cluster.members[1].loadfactor', message: 'must be between 1 and 100 (got 0)' },
    ]);
    expect(() => parse(text)).toThrow('test.yaml:8:21: balancers.cluster.members[1].loadfactor: must be between 1 and 100 (got 0)');
  });

  it('a wrong type: at the value, saying what was expected', () => {
    const text = 'listen:\n  - port: 8051\nproxy:\n  timeout: [5s]\n  preservehost: "yes"\n';
    expect(brief(problems(text))).toEqual([
      '4:12 proxy.timeout: expected a duration such as 500ms, 5s, 2m, 1h or a number of seconds (got a list)',
      '5:17 proxy.preservehost: expected true/false or On/Off (got "yes")',
    ]);
  });

  it('an unknown key: at the key, with the closest known key', () => {
    const text = 'listen:\n  - port: 8051\nbalancers:\n  c:\n    stickysesion: JSESSIONID\n    members: [{ url: "http://a:1", loadfacter: 2 }]\n';
    expect(brief(problems(text))).toEqual([
      '5:5 balancers.c.stickysesion: unknown key "stickysesion" — did you mean "stickysession"?',
      '6:36 balancers.c.members[0].loadfacter: unknown key "loadfacter" — did you mean "loadfactor"?',
    ]);
  });

  it('an unknown key with nothing close lists the known keys; Apache spelling finds the lower-case key', () => {
    expect(brief(problems('listen:\n  - port: 8051\n  - port: 8052\n    bogus: 1\nLogLevel: debug\n'))).toEqual([
      '4:5 listen[1].bogus: unknown key "bogus" (known keys: address, port, protocols, tls, redirect)',
      '5:1 LogLevel: unknown key "LogLevel" (known keys: listen, server, proxy, balancers, proxypass, proxypassreverse, cookiepath, cookiedomain, admin, log, compression)',
    ]);
    expect(brief(problems('listen:\n  - port: 8051\nproxy: { PreserveHost: On }\n'))).toEqual([
      '3:10 proxy.PreserveHost: unknown key "PreserveHost" — did you mean "preservehost"?',
    ]);
  });

  it('a missing required key: at the mapping that lacks it', () => {
    expect(brief(problems('listen:\n  - address: 127.0.0.1\nbalancers:\n  c:\n    members:\n      - route: a\n'))).toEqual([
      '2:5 listen[0].port: missing required key "port" (TCP port)',
      '6:9 balancers.c.members[0].url: missing required key "url" (http://host[:port][/path], https://host[:port][/path] (TLS, see proxy.tls) or ajp://host[:port]; normalized (scheme and host lower-cased, default port and trailing slash dropped))',
    ]);
    expect(brief(problems('server: {}\n'))).toEqual(['1:1 listen: missing required key "listen" (HTTP listeners (one per Listen directive))']);
  });

  it('a YAML syntax error: at its position, and nothing else is reported', () => {
    expect(problems('listen:\n  - port: 8051\nbalancers: { a: [1, 2 }\nproxy: bad\n')).toEqual([
      { file: 'test.yaml', line: 3, col: 23, path: '', message: 'Flow sequence in block collection must be sufficiently indented and end with a ]' },
    ]);
  });

  it('an empty file or a file that is not a mapping', () => {
    expect(brief(problems(''))).toEqual([
      '1:1 : expected a balancer file (a mapping) with keys listen, server, proxy, balancers, proxypass, proxypassreverse, cookiepath, cookiedomain, admin, log, compression (got an empty value)',
    ]);
    expect(brief(problems('- a\n- b\n'))[0]).toMatch(/^1:1 : expected a balancer file \(a mapping\) .* \(got a list\)$/);
  });

  it('reports every problem of a file at once, in file order, one per line', () => {
    const text = [
      'listen:', //                                         1
      '  - { address: 0.0.0.0, port: 8051 }', //            2
      '  - { address: 10.0.0.1, port: 8051 }', //           3  overlaps the wildcard
      'server:', //                                         4
      '  keepalivetimout: 5s', //                           5  typo
      'balancers:', //                                      6
      '  cluster:', //                                      7
      '    stickysessionsep: ab', //                        8
      '    members:', //                                    9
      '      - url: ftp://a', //                            10
      '      - url: ajp://b:8009/', //                      11
      '        route: jvm_a', //                            12
      '        redirect: jvm_x', //                         13 (not checked: members[0] is unreadable)
      '      - url: AJP://B', //                            14 the same member as [1]
      '        route: jvm_a', //                            15
      '  Cluster:', //                                      16 the same name as cluster
      '    members: []', //                                 17
      '  empty:', //                                        18
      '    members: []', //                                 19
      'proxypass:', //                                      20
      '  - { path: /a, url: balancer://clustr }', //        21
      '  - { path: /b, url: "!", reverse: true }', //       22
      '',
    ].join('\n');
    const list = problems(text);
    expect(brief(list)).toEqual([
      '3:32 listen[1].port: 10.0.0.1:8051 overlaps listen[0] (0.0.0.0:8051)',
      '5:3 server.keepalivetimout: unknown key "keepalivetimout" — did you mean "keepalivetimeout"?',
      '8:23 balancers.cluster.stickysessionsep: must be one character or Off (got "ab")',
      '10:14 balancers.cluster.members[0].url: scheme must be http://, https:// or ajp:// (got "ftp://a")',
      '14:14 balancers.cluster.members[2].url: duplicate member ajp://b (same as members[1])',
      '15:16 balancers.cluster.members[2].route: duplicate route "jvm_a" (also members[1]): a session could not tell them apart',
      '16:3 balancers.Cluster: balancer "cluster" is already defined as "cluster" (balancer names are case-insensitive, as in Apache)',
      '17:14 balancers.Cluster.members: a balancer needs at least one member',
      '19:14 balancers.empty.members: a balancer needs at least one member',
      '21:22 proxypass[0].url: unknown balancer "clustr" — did you mean "cluster"?',
      '22:36 proxypass[1].reverse: an excluded path ("!") has no backend to reverse-map; remove reverse',
    ]);
    const message = (() => {
      try {
        parse(text);
      } catch (e) {
        return (e as ConfigError).message;
      }
      return '';
    })();
    expect(message.split('\n')).toEqual(list.map((p) => `test.yaml:${p.line}:${p.col}: ${p.path}: ${p.message}`));
  });
});

describe('cross-key checks', () => {
  const base = (members: string, extra = '') => `listen:\n  - port: 8051\nbalancers:\n  c:\n${extra}    members:\n${members}`;

  it('a redirect must name a route of the same balancer', () => {
    expect(brief(problems(base('      - { url: "http://a:1", route: jvm_a, redirect: jvm-b }\n      - { url: "http://b:1", route: jvm_b }\n')))).toEqual([
      '6:54 balancers.c.members[0].redirect: "jvm-b" is not the route of a member of this balancer — did you mean "jvm_b"?',
    ]);
    expect(brief(problems(base('      - { url: "http://a:1", redirect: somewhere-else }\n')))).toEqual([
      '6:40 balancers.c.members[0].redirect: "somewhere-else" is not the route of a member of this balancer (routes: none)',
    ]);
  });

  it('members are the same when their normalized URLs are; empty routes may repeat', () => {
    expect(brief(problems(base('      - url: http://A:80/\n      - url: HTTP://a\n')))).toEqual([
      '7:14 balancers.c.members[1].url: duplicate member http://a (same as members[0])',
    ]);
    expect(parse(base('      - url: http://a:1\n      - url: http://a:2\n')).balancers[0]?.members.map((m) => m.route)).toEqual(['', '']);
  });

  it('proxypassreverse must name a defined balancer', () => {
    expect(brief(problems(`${base('      - url: http://a:1\n')}proxypassreverse:\n  - { path: /, url: balancer://d }\n`))).toEqual([
      '8:21 proxypassreverse[0].url: unknown balancer "d" (balancers: c)',
    ]);
  });

  it('balancer names are checked', () => {
    expect(brief(problems(base('      - url: http://a:1\n').replace('  c:', '  "my balancer":')))).toEqual([
      '4:3 balancers.my balancer: balancer name "my balancer" must start with a letter or digit and contain only letters, digits, ".", "_" and "-"',
    ]);
  });

  it('listeners may not overlap each other or the admin listener; a non-loopback admin needs a token', () => {
    expect(brief(problems('listen:\n  - { address: "::", port: 8051 }\n  - { address: 127.0.0.1, port: 8052 }\nadmin: { address: 0.0.0.0, port: 8052 }\n'))).toEqual([
      '4:8 admin.token: a token is required when admin.address (0.0.0.0) is not a loopback address, e.g. token: ${STICKYD_ADMIN_TOKEN}',
      '4:34 admin.port: the admin listener 0.0.0.0:8052 overlaps listen[1]; give it a port of its own',
    ]);
    expect(parse('listen:\n  - { address: 127.0.0.1, port: 8051 }\n  - { address: 127.0.0.2, port: 8051 }\nadmin: { address: "::1" }\n').admin).toEqual({
      address: '::1',
      port: 8052,
      token: '',
      readonly: false,
      allowedhosts: [],
      tls: null,
    });
  });
});

describe('loadConfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file; Config.file is its absolute path, messages use the name as given', async () => {
    const file = path.join(dir, 'good.yaml');
    await writeFile(file, 'listen:\n  - port: 8051\n');
    expect((await loadConfig(file)).file).toBe(file);
    await writeFile(file, 'listen:\n  - port: 0\n');
    const rel = path.relative(process.cwd(), file);
    await expect(loadConfig(rel)).rejects.toThrow(`${rel}:2:11: listen[0].port: must be between 1 and 65535 (got 0)`);
  });

  it('a missing file is a ConfigError without a position', async () => {
    const file = path.join(dir, 'nope.yaml');
    const err = await loadConfig(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([{ file, line: 0, col: 0, path: '', message: 'cannot read the balancer file: no such file' }]);
    expect((err as ConfigError).message).toBe(`${file}: cannot read the balancer file: no such file`);
    await expect(loadConfig(dir)).rejects.toThrow(`${dir}: cannot read the balancer file: is a directory`);
  });
});

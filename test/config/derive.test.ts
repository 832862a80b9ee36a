/**
 * What the loader derives from several keys: implicit balancers for direct ProxyPass URLs,
 * ProxyPassReverse and cookie-path entries from `reverse`/`cookiepath` on a rule, balancer names.
 */
import { describe, expect, it } from 'vitest';
import { parse } from './util.js';

const HEAD = 'listen:\n  - port: 8051\n';

describe('proxypass rules', () => {
  it('balancer rules keep their backend path as written; names are lower-cased (Apache)', () => {
    const c = parse(`${HEAD}balancers:
  Cluster:
    members: [{ url: "http://a:1" }]
proxypass:
  - { path: /myweb, url: balancer://CLUSTER/myweb }
  - { path: /app/, url: balancer://cluster/app/ }
  - { path: /, url: balancer://cluster }
`);
    expect(c.balancers.map((b) => b.name)).toEqual(['cluster']);
    expect(c.proxypass).toEqual([
      { path: '/myweb', exclude: false, balancer: 'cluster', backendpath: '/myweb', url: 'balancer://CLUSTER/myweb', nocanon: false },
      { path: '/app/', exclude: false, balancer: 'cluster', backendpath: '/app/', url: 'balancer://cluster/app/', nocanon: false },
      { path: '/', exclude: false, balancer: 'cluster', backendpath: '', url: 'balancer://cluster', nocanon: false },
    ]);
  });

  it('"!" excludes a path, also written as a bare ! in YAML', () => {
    const c = parse(`${HEAD}proxypass:\n  - { path: /static, url: "!" }\n  - path: /img\n    url: !\n`);
    expect(c.proxypass).toEqual([
      { path: '/static', exclude: true, balancer: '', backendpath: '', url: '!', nocanon: false },
      { path: '/img', exclude: true, balancer: '', backendpath: '', url: '!', nocanon: false },
    ]);
  });

  it('a direct http:// or ajp:// URL makes one implicit balancer per backend, after the explicit ones', () => {
    const c = parse(`${HEAD}proxy: { timeout: 30s }
balancers:
  c:
    members: [{ url: "http://a:1" }]
proxypass:
  - { path: /legacy, url: "HTTP://Legacy.Example:80/legacy/" }
  - { path: /old, url: "http://legacy.example/old" }
  - { path: /ajp, url: "ajp://tomcat:8009/" }
  - { path: /, url: balancer://c }
`);
    expect(c.balancers.map((b) => [b.name, b.implicit])).toEqual([
      ['c', false],
      ['http://legacy.example', true],
      ['ajp://tomcat', true],
    ]);
    const legacy = c.balancers[1];
    // mod_proxy's direct worker: no stickiness, no forcerecovery, Apache's other defaults.
    expect(legacy).toMatchObject({ stickysession: null, forcerecovery: false, maxattempts: null, lbmethod: 'byrequests', failonstatus: [], routecookie: null, nonce: null });
    expect(legacy?.members).toEqual([
      expect.objectContaining({ url: 'http://legacy.example', scheme: 'http', host: 'legacy.example', port: 80, basepath: '', route: '', timeout: 30_000, connectiontimeout: 30_000, retry: 60_000, max: 128 }),
    ]);
    expect(c.proxypass.slice(0, 3)).toEqual([
      { path: '/legacy', exclude: false, balancer: 'http://legacy.example', backendpath: '/legacy/', url: 'HTTP://Legacy.Example:80/legacy/', nocanon: false },
      { path: '/old', exclude: false, balancer: 'http://legacy.example', backendpath: '/old', url: 'http://legacy.example/old', nocanon: false },
      { path: '/ajp', exclude: false, balancer: 'ajp://tomcat', backendpath: '/', url: 'ajp://tomcat:8009/', nocanon: false },
    ]);
  });
});

describe('ProxyPassReverse and cookie rewriting', () => {
  it('explicit entries first, then one per rule with reverse: true, in rule order (first match wins, apache-semantics §8)', () => {
    const c = parse(`${HEAD}balancers:
  c:
    members: [{ url: "http://a:1" }]
proxypass:
  - { path: /myweb, url: balancer://c/myweb, reverse: true }
  - { path: /plain, url: balancer://c/plain }
  - { path: /legacy, url: "http://Legacy:8080/legacy", reverse: On }
proxypassreverse:
  - { path: /, url: balancer://C }
  - { path: /x, url: "HTTP://Other:80/x/" }
  - { path: /y, url: "https://secure.example:443" }
`);
    expect(c.proxypassreverse).toEqual([
      { path: '/', balancer: 'c', url: '' },
      { path: '/x', balancer: null, url: 'http://other/x/' },
      { path: '/y', balancer: null, url: 'https://secure.example' },
      { path: '/myweb', balancer: 'c', url: '/myweb' },
      { path: '/legacy', balancer: null, url: 'http://legacy:8080/legacy' },
    ]);
  });

  it('cookiepath on a rule maps the backend path to the rule path; explicit entries come first', () => {
    const c = parse(`${HEAD}balancers:
  c:
    members: [{ url: "http://a:1" }]
proxypass:
  - { path: /myweb, url: balancer://c/app, cookiepath: /app }
  - { path: /shop, url: balancer://c/shop, cookiepath: { internal: /shop-int, public: /s } }
cookiepath:
  - { internal: /x, public: /y }
cookiedomain:
  - { internal: backend.local, public: www.example.com }
  - { internal: other.local, public: "" }
`);
    expect(c.cookiepath).toEqual([
      { internal: '/x', public: '/y' },
      { internal: '/app', public: '/myweb' },
      { internal: '/shop-int', public: '/s' },
    ]);
    expect(c.cookiedomain).toEqual([
      { internal: 'backend.local', public: 'www.example.com' },
      { internal: 'other.local', public: '' },
    ]);
  });
});

describe('balancer members', () => {
  it('keep file order and carry the normalized URL parts', () => {
    const c = parse(`${HEAD}balancers:
  c:
    members:
      - { url: "ajp://Tomcat-A:8009/", route: jvm_a }
      - { url: "http://[::1]:8080/base/", route: jvm_b, redirect: jvm_a }
`);
    expect(c.balancers[0]?.members.map(({ url, scheme, host, port, basepath, route, redirect }) => ({ url, scheme, host, port, basepath, route, redirect }))).toEqual([
      { url: 'ajp://tomcat-a', scheme: 'ajp', host: 'tomcat-a', port: 8009, basepath: '', route: 'jvm_a', redirect: '' },
      { url: 'http://[::1]:8080/base', scheme: 'http', host: '::1', port: 8080, basepath: '/base', route: 'jvm_b', redirect: 'jvm_a' },
    ]);
  });

  it('an ajp member may have a secret; YAML anchors and aliases work', () => {
    const c = parse(`${HEAD}balancers:
  c:
    members:
      - &tomcat { url: "ajp://a", secret: s3cret, retry: 5s }
      - { url: "ajp://b", secret: s3cret, retry: 5s }
  d:
    members:
      - *tomcat
`);
    expect(c.balancers.map((b) => b.members.map((m) => [m.url, m.secret, m.retry]))).toEqual([
      [
        ['ajp://a', 's3cret', 5_000],
        ['ajp://b', 's3cret', 5_000],
      ],
      [['ajp://a', 's3cret', 5_000]],
    ]);
  });
});

/**
 * Builders for balancer tests: configs with the loader's defaults, a realistic clock, and helpers
 * that run picks the way the proxy would (preRequest, then releaseMember when the request ends).
 * Member URLs are config text only: nothing connects to them.
 */
import type { BalancerConfig, MemberConfig } from '../../src/config/types.js';
import { Balancer } from '../../src/balancer/balancer.js';
import type { Member } from '../../src/balancer/member.js';
import { preRequest, releaseMember, type Chosen, type Selection, type StickyRequest } from '../../src/balancer/select.js';

/** A wall-clock-like "now" (ms): error_time 0 must look long ago, as it does in httpd. */
export const T0 = 1_700_000_000_000;

/** A member named by a short letter: URL http://<name>.backend:8080, no route unless given. */
export function memberConfig(name: string, overrides: Partial<MemberConfig> = {}): MemberConfig {
  return {
    url: `http://${name}.backend:8080`,
    scheme: 'http',
    host: `${name}.backend`,
    port: 8080,
    basepath: '',
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
    ...overrides,
  };
}

export function balancerConfig(members: MemberConfig[], overrides: Partial<BalancerConfig> = {}): BalancerConfig {
  return {
    name: 'cluster',
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
    members,
    ...overrides,
  };
}

/** Members a, b, c, … with the given loadfactors (and no routes). */
export function weighted(loadfactors: number[], overrides: Partial<BalancerConfig> = {}): Balancer {
  return new Balancer(balancerConfig(loadfactors.map((lf, i) => memberConfig(String.fromCharCode(97 + i), { loadfactor: lf })), overrides));
}

/** Members given as `name[:route][:status]` shorthand, e.g. "a:a", "b:b:N". */
export function sticky(specs: string[], overrides: Partial<BalancerConfig> = {}): Balancer {
  const members = specs.map((spec) => {
    const [name, route = '', status = ''] = spec.split(':');
    return memberConfig(name!, { route, status });
  });
  return new Balancer(balancerConfig(members, { stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' }, ...overrides }));
}

/** The short name of a member: the host label before ".backend". */
export function letter(m: Member): string {
  return new URL(m.name).hostname.split('.')[0]!;
}

export const NO_SESSION: StickyRequest = { url: '/', cookie: undefined };

/** `n` sequential requests that each complete before the next: the letters chosen, "-" for none. */
export function picks(b: Balancer, n: number, req: StickyRequest = NO_SESSION, now = T0): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const sel = preRequest(b, req, now);
    if (sel.kind === 'member') {
      out += letter(sel.member);
      releaseMember(sel.member);
    } else {
      out += '-';
    }
  }
  return out;
}

export function expectMember(sel: Selection): Chosen {
  if (sel.kind !== 'member') throw new Error(`expected a member, got ${JSON.stringify(sel)}`);
  return sel;
}

export function lbstatus(b: Balancer): Record<string, number> {
  return Object.fromEntries(b.members.map((m) => [letter(m), m.lbstatus]));
}

// BALANCER_* variables (§2.7) through the Chosen fields, across failover sequences.
import { describe, expect, it } from 'vitest';
import { Balancer, balancerUrl } from '../../src/balancer/balancer.js';
import { recordChoice } from '../../src/balancer/env.js';
import { Flag } from '../../src/balancer/flags.js';
import { preRequest } from '../../src/balancer/select.js';
import { request } from './attempts.js';
import { NO_SESSION, T0, balancerConfig, expectMember, memberConfig, sticky } from './fixtures.js';

const A = 'http://a.backend:8080';
const B = 'http://b.backend:8080';
const C = 'http://c.backend:8080';
const toA = { url: '/app', cookie: 'JSESSIONID=abc.a' };

describe('BALANCER_* variables', () => {
  it('a sticky hit: name, member, route and the session variables; no ROUTE_CHANGED', () => {
    const b = sticky(['a:a', 'b:b']);
    expect(request(b, new Set(), toA, T0).env).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: A,
      BALANCER_WORKER_ROUTE: 'a',
      BALANCER_SESSION_STICKY: 'JSESSIONID',
      BALANCER_SESSION_ROUTE: 'a',
    });
  });

  it('the sticky member dies, nofailover Off: the last attempt\'s member, the original session route, ROUTE_CHANGED', () => {
    const b = sticky(['a:a', 'b:b', 'c:c']);
    const result = request(b, new Set(['a', 'b']), toA, T0);
    expect(result.connects).toBe('abc');
    expect(result.env).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: C,
      BALANCER_WORKER_ROUTE: 'c',
      BALANCER_SESSION_STICKY: 'JSESSIONID',
      BALANCER_SESSION_ROUTE: 'a',
      BALANCER_ROUTE_CHANGED: '1',
    });
  });

  it('the sticky member dies, nofailover On: 503, and the variables still show the member tried', () => {
    const b = sticky(['a:a', 'b:b'], { nofailover: true });
    const result = request(b, new Set(['a']), toA, T0);
    expect(result).toMatchObject({ status: 503, connects: 'a' });
    expect(result.env).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: A,
      BALANCER_WORKER_ROUTE: 'a',
      BALANCER_SESSION_STICKY: 'JSESSIONID',
      BALANCER_SESSION_ROUTE: 'a',
    });
  });

  it('refused before any member was chosen: no variables at all', () => {
    const b = sticky(['a:a:D', 'b:b'], { nofailover: true });
    expect(request(b, new Set(), toA, T0)).toMatchObject({ status: 503, connects: '', env: null });
  });

  it('ROUTE_CHANGED stays set once an attempt set it, also when a later attempt hits the route', () => {
    const b = sticky(['a:a', 'b:b']);
    const a = b.members[0]!;
    a.status |= Flag.IN_ERROR;
    a.errorTime = T0 - 59_000; // retry (60 s) passes one second from now
    const first = expectMember(preRequest(b, toA, T0));
    expect(first).toMatchObject({ member: b.members[1], routeChanged: true });
    const env1 = recordChoice(null, b, first);
    const second = expectMember(preRequest(b, toA, T0 + 1_001)); // a's retry has passed: a sticky hit
    expect(second).toMatchObject({ member: a, routeChanged: false });
    expect(recordChoice(env1, b, second)).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: A,
      BALANCER_WORKER_ROUTE: 'a',
      BALANCER_SESSION_STICKY: 'JSESSIONID',
      BALANCER_SESSION_ROUTE: 'a',
      BALANCER_ROUTE_CHANGED: '1',
    });
    expect(env1?.BALANCER_WORKER_NAME).toBe(B); // recordChoice does not modify what it was given
  });

  it('an empty route ("abc.") is reported as an empty BALANCER_SESSION_ROUTE', () => {
    const b = sticky(['a:a']);
    expect(request(b, new Set(), { url: '/', cookie: 'JSESSIONID=abc.' }, T0).env).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: A,
      BALANCER_WORKER_ROUTE: 'a',
      BALANCER_SESSION_STICKY: 'JSESSIONID',
      BALANCER_SESSION_ROUTE: '',
      BALANCER_ROUTE_CHANGED: '1',
    });
  });

  it('a redirect: the member\'s route differs from the session route', () => {
    const b = new Balancer(
      balancerConfig([memberConfig('a', { route: 'a', status: 'D', redirect: 'b' }), memberConfig('b', { route: 'b' })], {
        stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' },
      }),
    );
    expect(request(b, new Set(), { url: '/app;jsessionid=abc.a', cookie: undefined }, T0).env).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: B,
      BALANCER_WORKER_ROUTE: 'b',
      BALANCER_SESSION_STICKY: 'jsessionid',
      BALANCER_SESSION_ROUTE: 'a',
      BALANCER_ROUTE_CHANGED: '1',
    });
  });

  it('no stickysession: never ROUTE_CHANGED or session variables; a member without route gives ""', () => {
    const b = new Balancer(balancerConfig([memberConfig('a'), memberConfig('b')]));
    expect(request(b, new Set(['a']), { url: '/?jsessionid=x.a', cookie: 'JSESSIONID=x.a' }, T0).env).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: B,
      BALANCER_WORKER_ROUTE: '',
    });
  });

  it('a load-balanced request in a sticky balancer without session: ROUTE_CHANGED only', () => {
    const b = sticky(['a:a']);
    expect(request(b, new Set(), NO_SESSION, T0).env).toEqual({
      BALANCER_NAME: 'balancer://cluster',
      BALANCER_WORKER_NAME: A,
      BALANCER_WORKER_ROUTE: 'a',
      BALANCER_ROUTE_CHANGED: '1',
    });
  });

  it('an implicit balancer (a direct worker) sets no variables', () => {
    const b = new Balancer(balancerConfig([memberConfig('a')], { implicit: true, forcerecovery: false }));
    expect(request(b, new Set(), NO_SESSION, T0)).toMatchObject({ status: 200, connects: 'a', env: null });
  });

  it('balancerUrl gives BALANCER_NAME', () => {
    expect(balancerUrl({ name: 'mycluster' })).toBe('balancer://mycluster');
    expect(sticky(['a:a']).url).toBe('balancer://cluster');
  });
});

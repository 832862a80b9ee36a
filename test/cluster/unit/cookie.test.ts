import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isValidCookieName, readCookieValues, replaceSetCookie, serializeSessionCookie } from '../../../src/cluster/session/cookie.js';

const opts = { name: 'JSESSIONID', path: '/', httpOnly: true, secure: 'auto' as const };

function response(): ServerResponse {
  return new ServerResponse(new IncomingMessage(new Socket()));
}

describe('session cookie parsing', () => {
  it('returns every value of the name, in header order, raw', () => {
    expect(readCookieValues('a=1; JSESSIONID=X.A; b=2; JSESSIONID=Y.B', 'JSESSIONID')).toEqual(['X.A', 'Y.B']);
    expect(readCookieValues(['JSESSIONID=X.A', 'JSESSIONID=Z.C'], 'JSESSIONID')).toEqual(['X.A', 'Z.C']);
    expect(readCookieValues('JSESSIONID="Q.A"', 'JSESSIONID')).toEqual(['Q.A']);
    expect(readCookieValues('JSESSIONID=s%3AX.A.sig', 'JSESSIONID')).toEqual(['s%3AX.A.sig']);
  });

  it('ignores other names, prefixes of the name, empty values and junk', () => {
    expect(readCookieValues('XJSESSIONID=1; JSESSIONIDX=2; JSESSIONID=; junk; =v', 'JSESSIONID')).toEqual([]);
    expect(readCookieValues(undefined, 'JSESSIONID')).toEqual([]);
  });

  it('checks cookie names are tokens', () => {
    expect(isValidCookieName('JSESSIONID')).toBe(true);
    expect(isValidCookieName('a b')).toBe(false);
    expect(isValidCookieName('a;b')).toBe(false);
  });
});

describe('session cookie serialising (cluster-semantics §3.1)', () => {
  it('writes Tomcat\'s default cookie: Path=/; HttpOnly, no expiry', () => {
    expect(serializeSessionCookie('X.A', opts, false)).toBe('JSESSIONID=X.A; Path=/; HttpOnly');
  });

  it('adds Secure on TLS requests by default, always with secure:true, never with false', () => {
    expect(serializeSessionCookie('X.A', opts, true)).toBe('JSESSIONID=X.A; Path=/; HttpOnly; Secure');
    expect(serializeSessionCookie('X.A', { ...opts, secure: true }, false)).toContain('; Secure');
    expect(serializeSessionCookie('X.A', { ...opts, secure: false }, true)).not.toContain('Secure');
  });

  it('adds SameSite, Domain and a custom path when configured', () => {
    expect(serializeSessionCookie('X.A', { ...opts, path: '/app', sameSite: 'Lax', domain: 'example.org', httpOnly: false }, false)).toBe(
      'JSESSIONID=X.A; Path=/app; Domain=example.org; SameSite=Lax',
    );
  });

  it('replaces an earlier Set-Cookie of the same name and keeps the others', () => {
    const res = response();
    res.setHeader('Set-Cookie', ['other=1; Path=/', 'JSESSIONID=OLD.A; Path=/']);
    replaceSetCookie(res, 'JSESSIONID', 'JSESSIONID=NEW.B; Path=/; HttpOnly');
    expect(res.getHeader('Set-Cookie')).toEqual(['other=1; Path=/', 'JSESSIONID=NEW.B; Path=/; HttpOnly']);
    const single = response();
    single.setHeader('Set-Cookie', 'JSESSIONID=OLD.A');
    replaceSetCookie(single, 'JSESSIONID', 'JSESSIONID=NEW.B');
    expect(single.getHeader('Set-Cookie')).toEqual(['JSESSIONID=NEW.B']);
  });
});

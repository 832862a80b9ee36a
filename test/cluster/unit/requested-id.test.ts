import { describe, expect, it } from 'vitest';
import { resolveRequestedId } from '../../../src/cluster/middleware/requested-id.js';
import { extractUrlSessionId, sessionUriParamName } from '../../../src/cluster/session/url.js';

describe(';jsessionid= path parameters', () => {
  it('finds the id and strips only that parameter from the path', () => {
    expect(extractUrlSessionId('/cart;jsessionid=ABC.A', 'jsessionid')).toEqual({ id: 'ABC.A', url: '/cart' });
    expect(extractUrlSessionId('/cart;jsessionid=ABC.A?x=1', 'jsessionid')).toEqual({ id: 'ABC.A', url: '/cart?x=1' });
    expect(extractUrlSessionId('/a;jsessionid=ABC.A/b', 'jsessionid')).toEqual({ id: 'ABC.A', url: '/a/b' });
    expect(extractUrlSessionId('/a;v=1;jsessionid=ABC.A', 'jsessionid')).toEqual({ id: 'ABC.A', url: '/a;v=1' });
  });

  it('takes the last of two (path parameters are a map in Tomcat)', () => {
    expect(extractUrlSessionId('/a;jsessionid=X.A/b;jsessionid=Y.B', 'jsessionid').id).toBe('Y.B');
  });

  it('never reads the query string, an encoded semicolon, or another parameter', () => {
    expect(extractUrlSessionId('/a?;jsessionid=X.A', 'jsessionid')).toEqual({ id: null, url: '/a?;jsessionid=X.A' });
    expect(extractUrlSessionId('/a%3Bjsessionid=X.A', 'jsessionid').id).toBeNull();
    expect(extractUrlSessionId('/a;xjsessionid=X.A', 'jsessionid')).toEqual({ id: null, url: '/a;xjsessionid=X.A' });
    expect(extractUrlSessionId('/a;jsessionid=', 'jsessionid')).toEqual({ id: null, url: '/a' });
  });

  it('uses jsessionid for the default cookie and the cookie name otherwise (SessionConfig)', () => {
    expect(sessionUriParamName('JSESSIONID')).toBe('jsessionid');
    expect(sessionUriParamName('MYSID')).toBe('MYSID');
  });
});

describe('which id a request presents (CoyoteAdapter order)', () => {
  const valid = (ids: string[]) => (id: string) => ids.includes(id);

  it('a cookie overrides the URL, even when only the URL id is valid', () => {
    expect(resolveRequestedId(['C.A'], 'U.A', valid(['U.A']))).toEqual({ id: 'C.A', fromCookie: true, fromUrl: false });
  });

  it('the URL id counts when there is no cookie', () => {
    expect(resolveRequestedId([], 'U.A', valid([]))).toEqual({ id: 'U.A', fromCookie: false, fromUrl: true });
  });

  it('with several cookies: the first valid one, else the last', () => {
    expect(resolveRequestedId(['X', 'Y', 'Z'], null, valid(['Y', 'Z']))?.id).toBe('Y');
    expect(resolveRequestedId(['X', 'Y', 'Z'], null, valid(['X']))?.id).toBe('X');
    expect(resolveRequestedId(['X', 'Y', 'Z'], null, valid([]))?.id).toBe('Z');
  });

  it('nothing presented → null', () => {
    expect(resolveRequestedId([], null, valid([]))).toBeNull();
  });
});

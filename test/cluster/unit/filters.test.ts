import { describe, expect, it } from 'vitest';
import { compileFullMatch, decodedPath, isFilteredRequest, isReplicableAttribute } from '../../../src/cluster/session/filters.js';

describe('ReplicationValve filter (full match on the decoded path, cluster-semantics §2.4)', () => {
  const css = compileFullMatch('.*\\.css', 'filter');

  it('matches the whole decoded path, never a substring or the query', () => {
    expect(isFilteredRequest(css, '/style.css')).toBe(true);
    expect(isFilteredRequest(css, '/style.css?v=2')).toBe(true);
    expect(isFilteredRequest(css, '/my%20style.css')).toBe(true);
    expect(isFilteredRequest(css, '/style.css.map')).toBe(false);
    expect(isFilteredRequest(css, '/page?x=.css')).toBe(false);
  });

  it('keeps alternations whole when anchoring', () => {
    const f = compileFullMatch('/a|/b', 'filter');
    expect(isFilteredRequest(f, '/a')).toBe(true);
    expect(isFilteredRequest(f, '/ab')).toBe(false);
    expect(isFilteredRequest(f, '/xb')).toBe(false);
  });

  it('accepts RegExp objects (flags kept, g/y dropped) and no filter', () => {
    const f = compileFullMatch(/.*\.PNG/gi, 'filter');
    expect(isFilteredRequest(f, '/x.png')).toBe(true);
    expect(isFilteredRequest(f, '/x.png')).toBe(true); // no lastIndex state
    expect(isFilteredRequest(compileFullMatch(null, 'filter'), '/x.css')).toBe(false);
    expect(compileFullMatch('', 'filter')).toBeNull();
  });

  it('reports a bad pattern with the option name', () => {
    expect(() => compileFullMatch('(', 'filter')).toThrow(/filter is not a valid regular expression/);
  });

  it('matches the raw path when %-escapes are malformed', () => {
    expect(decodedPath('/a%zz.css')).toBe('/a%zz.css');
  });
});

describe('sessionAttributeNameFilter (anchored, cluster-semantics §2.7)', () => {
  it('replicates only names that fully match', () => {
    const f = compileFullMatch('(userName|sessionHistory)', 'sessionAttributeNameFilter');
    expect(isReplicableAttribute(f, 'userName')).toBe(true);
    expect(isReplicableAttribute(f, 'sessionHistory')).toBe(true);
    expect(isReplicableAttribute(f, 'userNameX')).toBe(false);
    expect(isReplicableAttribute(f, 'cart')).toBe(false);
    expect(isReplicableAttribute(null, 'anything')).toBe(true);
  });
});

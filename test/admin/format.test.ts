// The manager's number formats (apr_strfsize for To/From, %.2f factors) and HTML escaping.
import { describe, expect, it } from 'vitest';
import { escapeHtml, factor, strfsize } from '../../src/admin/format.js';

describe('strfsize (apr_strfsize: four characters, binary multiples)', () => {
  it.each<[number, string]>([
    [-1, '  - '],
    [0, '  0 '],
    [7, '  7 '],
    [972, '972 '],
    [973, '1.0K'],
    [1024, '1.0K'],
    [1536, '1.5K'],
    [9 * 1024 + 972, '9.9K'],
    [9 * 1024 + 1000, ' 10K'],
    [10 * 1024, ' 10K'],
    [15 * 1024 + 600, ' 16K'],
    [972 * 1024, '972K'],
    [973 * 1024, '1.0M'],
    [1024 * 1024, '1.0M'],
    [5 * 1024 * 1024 * 1024, '5.0G'],
    [300 * 1024 ** 4, '300T'],
  ])('%i → %j', (n, text) => {
    expect(strfsize(n)).toBe(text);
  });
});

describe('factor and escaping', () => {
  it('prints lbfactor / 100 with two decimals', () => {
    expect([factor(100), factor(114), factor(250), factor(10000)]).toEqual(['1.00', '1.14', '2.50', '100.00']);
  });

  it('escapes every character that could open markup or leave an attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
  });
});

// Apache's configuration language, line and word layers (lines.ts, words.ts, fnmatch.ts): pure,
// checked against httpd 2.4's ap_cfg_getline / ap_getword_conf / apr_fnmatch behaviour.
import { describe, expect, it } from 'vitest';
import { fnmatch, hasWildcard } from '../../src/importer/fnmatch.js';
import { logicalLines } from '../../src/importer/lines.js';
import { configWords, WordSyntaxError } from '../../src/importer/words.js';

describe('logical lines', () => {
  it('skips comments and blank lines and keeps the physical line numbers', () => {
    const text = '# comment\n\nListen 80\n   # indented comment\n  ServerName a  \n';
    expect(logicalLines(text)).toEqual([
      { text: 'Listen 80', line: 3 },
      { text: 'ServerName a', line: 5 },
    ]);
  });

  it('joins a line ending in a backslash with the next one, inserting nothing', () => {
    expect(logicalLines('ProxyPass /a \\\n  balancer://c\nNext\n')).toEqual([
      { text: 'ProxyPass /a   balancer://c', line: 1 },
      { text: 'Next', line: 3 },
    ]);
    expect(logicalLines('a\\\nb\\\nc\n')).toEqual([{ text: 'abc', line: 1 }]);
  });

  it('continues with CRLF line ends, and a continued comment stays a comment', () => {
    expect(logicalLines('A 1\\\r\n2\r\n# x \\\nstill comment\nB\r\n')).toEqual([
      { text: 'A 12', line: 1 },
      { text: 'B', line: 5 },
    ]);
  });

  it('does not continue when white space follows the backslash', () => {
    expect(logicalLines('A \\ \nB\n')).toEqual([
      { text: 'A \\', line: 1 },
      { text: 'B', line: 2 },
    ]);
  });

  it('treats # after the start of a line as text (httpd 2.4 has no trailing comments)', () => {
    expect(logicalLines('Header set X a#b\n')).toEqual([{ text: 'Header set X a#b', line: 1 }]);
  });
});

describe('words (ap_getword_conf)', () => {
  const cases: Array<[string, string[]]> = [
    ['a b  c', ['a', 'b', 'c']],
    ['"a b" c', ['a b', 'c']],
    ["'a b' \"c\"", ['a b', 'c']],
    ['"say \\"hi\\"" x', ['say "hi"', 'x']],
    ["'it\\'s'", ["it's"]],
    ['"back\\\\slash"', ['back\\slash']],
    ['"keep \\n as is"', ['keep \\n as is']],
    ['a\\\\b c\\d', ['a\\b', 'c\\d']],
    ['a"b"c', ['a"b"c']],
    ['"a"b', ['a', 'b']],
    ['stickysession=JSESSIONID|jsessionid', ['stickysession=JSESSIONID|jsessionid']],
    ['""', ['']],
    ['', []],
  ];
  it.each(cases)('%s', (text, words) => {
    expect(configWords(text)).toEqual(words);
  });

  it('refuses a quoted word without its closing quote, naming the column', () => {
    expect(() => configWords('ServerName "abc')).toThrow(WordSyntaxError);
    expect(() => configWords('a "abc')).toThrow('unterminated quoted argument "abc: the closing " is missing');
    expect(() => configWords("x 'it\\'")).toThrow(/unterminated/);
  });

  it('reads {...} as one word for ProxyHCExpr, with nested braces', () => {
    expect(configWords('ok {%{REQUEST_STATUS} =~ /^[23]/}', { braces: true })).toEqual(['ok', '%{REQUEST_STATUS} =~ /^[23]/']);
    expect(configWords('{a}', {})).toEqual(['{a}']);
    expect(() => configWords('ok {%{X}', { braces: true })).toThrow(/unterminated/);
  });
});

describe('Include wildcards (apr_fnmatch with APR_FNM_PERIOD)', () => {
  it('knows which paths have wildcards', () => {
    expect(hasWildcard('conf.d/*.conf')).toBe(true);
    expect(hasWildcard('a?.conf')).toBe(true);
    expect(hasWildcard('[ab].conf')).toBe(true);
    expect(hasWildcard('[ab.conf')).toBe(false);
    expect(hasWildcard('a\\*.conf')).toBe(false);
    expect(hasWildcard('plain.conf')).toBe(false);
  });

  const cases: Array<[string, string, boolean]> = [
    ['*.conf', 'a.conf', true],
    ['*.conf', 'a.conf.bak', false],
    ['*.conf', '.hidden.conf', false],
    ['.*.conf', '.hidden.conf', true],
    ['?.conf', 'a.conf', true],
    ['?.conf', 'ab.conf', false],
    ['[ab].conf', 'b.conf', true],
    ['[!ab].conf', 'b.conf', false],
    ['[!ab].conf', 'c.conf', true],
    ['[a-c]*', 'c9', true],
    ['[a-c]*', 'd', false],
    ['a\\*', 'a*', true],
    ['a\\*', 'ab', false],
    ['a+b.conf', 'a+b.conf', true],
    ['(x).conf', '(x).conf', true],
  ];
  it.each(cases)('%s vs %s → %s', (pattern, name, result) => {
    expect(fnmatch(pattern, name)).toBe(result);
  });
});

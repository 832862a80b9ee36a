// The YAML around the values: `${VAR}` references inside flow collections, duplicate keys, tabs in
// the indentation. Each mistake names the key and where it is, and a duplicate key does not hide
// the file's other problems.
import { describe, expect, it } from 'vitest';
import { brief, parse, problems } from './util.js';

const REST = `balancers:
  b:
    members:
      - { url: "http://127.0.0.1:8081", route: a }
proxypass:
  - { path: /, url: balancer://b/ }
`;

describe('${VAR} inside { } and [ ]', () => {
  it('types an integer key from the environment inside a flow mapping, as it does in a block', () => {
    const c = parse(`listen:\n  - { address: 127.0.0.1, port: \${PORT} }\n${REST}`, { PORT: '8123' });
    expect(c.listen).toEqual([{ address: '127.0.0.1', port: 8123 }]);
  });

  it('takes defaults with the characters flow collections use, and references in flow sequences', () => {
    const text = `listen: [{ address: \${ADDR:-127.0.0.1}, port: \${PORT:-8051} }]
balancers:
  b:
    stickysession: \${STICKY:-JSESSIONID|jsessionid}
    failonstatus: [\${S1}, \${S2:-503}]
    members:
      - { url: "http://127.0.0.1:8081", route: \${ROUTE:-a,b:c}, loadfactor: \${LF} }
proxypass:
  - { path: /, url: balancer://b/ }
`;
    const c = parse(text, { S1: '500', LF: '3' });
    expect(c.listen).toEqual([{ address: '127.0.0.1', port: 8051 }]);
    expect(c.balancers[0]).toMatchObject({ stickysession: { cookie: 'JSESSIONID', param: 'jsessionid' }, failonstatus: [500, 503] });
    expect(c.balancers[0]?.members[0]).toMatchObject({ route: 'a,b:c', loadfactor: 3 });
  });

  it('reports an unset variable inside a flow mapping at the reference, and checks the value it gives', () => {
    const text = `listen:\n  - { address: 127.0.0.1, port: \${PORT} }\n${REST}`;
    expect(brief(problems(text))).toEqual(['2:33 listen[0].port: environment variable PORT is not set (write ${PORT:-default} to give a default)']);
    expect(brief(problems(text, { PORT: '70000' }))).toEqual(['2:33 listen[0].port: must be between 1 and 65535 (got 70000)']);
  });

  it('a quoted reference in an integer key says to leave out the quotes', () => {
    expect(brief(problems(`listen:\n  - { address: 127.0.0.1, port: "\${PORT}" }\n${REST}`, { PORT: '8123' }))).toEqual([
      '2:33 listen[0].port: expected an integer (got the text "8123": leave out the quotes; a ${VAR} reference works unquoted, also inside { } and [ ])',
    ]);
  });

  it('keeps $${ as a literal ${, also inside a flow mapping', () => {
    expect(parse(`listen: [{ port: 8051 }]\n${REST}admin: { token: $\${NOT_EXPANDED_TOKEN} }\n`).admin?.token).toBe('${NOT_EXPANDED_TOKEN}');
  });

  it('a reference not closed where meant throws YAML off: the syntax error points at the ${...} on its line', () => {
    expect(brief(problems(`listen: [{ port: \${PORT }]\n${REST}`))).toEqual([
      '1:26 : Flow map in block collection must be sufficiently indented and end with a } (check the ${...} on this line: ${NAME} or ${NAME:-default}, closed by "}")',
    ]);
  });
});

describe('a duplicate key', () => {
  it('names the key and where it is first, and the other problems of the file are still reported', () => {
    const text = [
      'listen:', //                                                  1
      '  - address: 127.0.0.1', //                                   2
      '    port: 8000', //                                           3
      'balancers:', //                                               4
      '  b:', //                                                     5
      '    lbmethod: byrequests', //                                 6
      '    lbmethod: bybusyness', //                                 7
      '    members:', //                                             8
      '      - { url: "http://127.0.0.1:1", loadfactor: 0 }', //    9
      '      - { url: "http://127.0.0.1:2", url: "http://x:3" }', // 10
      'proxypass:', //                                               11
      '  - { path: /, url: balancer://c/ }', //                      12
      'listen: []', //                                               13
      '',
    ].join('\n');
    expect(brief(problems(text))).toEqual([
      '7:5 balancers.b.lbmethod: duplicate key "lbmethod" (first at line 6, column 5): a key may appear once in a mapping',
      '9:50 balancers.b.members[0].loadfactor: must be between 1 and 100 (got 0)',
      '10:38 balancers.b.members[1].url: duplicate key "url" (first at line 10, column 11): a key may appear once in a mapping',
      '12:21 proxypass[0].url: unknown balancer "c" (balancers: b)',
      '13:1 listen: duplicate key "listen" (first at line 1, column 1): a key may appear once in a mapping',
    ]);
  });

  it('the first value counts: a balancer defined twice is reported once, at the second name', () => {
    const text = `listen: [{ port: 8051 }]\n${REST}  b:\n    members: []\n`.replace('proxypass:\n  - { path: /, url: balancer://b/ }\n  b:\n    members: []\n', '  b:\n    members: []\nproxypass:\n  - { path: /, url: balancer://b/ }\n');
    expect(brief(problems(text))).toEqual(['6:3 balancers.b: duplicate key "b" (first at line 3, column 3): a key may appear once in a mapping']);
  });
});

describe('a tab in the indentation', () => {
  const tabbed = (line: string) => `listen:\n  - address: 127.0.0.1\n${line}\n${REST}`;

  it('names the key it indents, at its line', () => {
    expect(brief(problems(tabbed('\tport: 8000')))).toEqual([
      '3:1 : a tab in the indentation of key "port": YAML indents with spaces only (replace the tab with spaces)',
    ]);
    expect(brief(problems(tabbed('  \t  port: 8000')))).toEqual([
      '3:3 : a tab in the indentation of key "port": YAML indents with spaces only (replace the tab with spaces)',
    ]);
  });

  it('names the key of a list item, and says "this line" when there is no key', () => {
    expect(brief(problems(`listen:\n\t- port: 8000\n${REST}`))).toEqual([
      '2:1 : a tab in the indentation of key "port": YAML indents with spaces only (replace the tab with spaces)',
    ]);
    expect(brief(problems(`listen:\n  - port: 8000\n    protocols:\n\t  - http/1.1\n${REST}`))).toEqual([
      '4:1 : a tab in the indentation of this line: YAML indents with spaces only (replace the tab with spaces)',
    ]);
  });

  it('a tab after the colon is no indentation and is fine', () => {
    expect(parse(`listen:\n  - address: 127.0.0.1\n    port:\t8000\n${REST}`).listen[0]?.port).toBe(8000);
  });
});

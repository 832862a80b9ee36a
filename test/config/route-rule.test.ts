// `route` and `redirect` follow ONE rule (src/config/route.ts) in the balancer file and in runtime
// changes (balancer-manager form, JSON API): whatever one refuses, the other refuses too, and the
// file names file, line, key and the problem.
import { describe, expect, it } from 'vitest';
import { changeMember, ChangeError } from '../../src/admin/changes.js';
import { Balancer } from '../../src/balancer/balancer.js';
import { ConfigError } from '../../src/config/index.js';
import { FILE, brief, parse, problems } from './util.js';

/** A YAML double-quoted scalar for any text: every character outside printable ASCII escaped. */
function yamlQuoted(s: string): string {
  return `"${[...s].map((c) => (c === '"' || c === '\\' ? `\\${c}` : /[ -~]/.test(c) ? c : `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`)).join('')}"`;
}

function fileWithMember(key: 'route' | 'redirect', value: string): string {
  // For a redirect, the other member carries the same text as its route so that the cross-check
  // (a redirect names a route of the balancer) does not hide the value's own verdict.
  const other = key === 'redirect' ? `\n      - { url: "http://127.0.0.1:8082", route: ${yamlQuoted(value)} }` : '';
  return `listen:
  - { address: 127.0.0.1, port: 8051 }
balancers:
  b:
    members:
      - url: http://127.0.0.1:8081
        ${key}: ${yamlQuoted(value)}${other}
`;
}

function fileAccepts(key: 'route' | 'redirect', value: string): boolean {
  try {
    parse(fileWithMember(key, value));
    return true;
  } catch (e) {
    if (e instanceof ConfigError) return false;
    throw e;
  }
}

function apiAccepts(key: 'route' | 'redirect', value: string): boolean {
  const config = parse('listen:\n  - { address: 127.0.0.1, port: 8051 }\nbalancers:\n  b:\n    members:\n      - { url: "http://127.0.0.1:8081", route: a }\n      - { url: "http://127.0.0.1:8082", route: z }\n');
  const b = new Balancer(config.balancers[0]!);
  try {
    // A redirect must name a route of the balancer: give member z that route first (accepted or
    // refused by the same rule, which is what is compared).
    if (key === 'redirect') changeMember(b, b.members[1]!, { route: value });
    changeMember(b, b.members[0]!, { [key]: value });
    return true;
  } catch (e) {
    if (e instanceof ChangeError) return false;
    throw e;
  }
}

const SAMPLES: Array<[string, string]> = [
  ['empty', ''],
  ['a plain route', 'jvm_a'],
  ['63 characters', 'r'.repeat(63)],
  ['64 characters', 'r'.repeat(64)],
  ['63 bytes of UTF-8', `${'é'.repeat(31)}x`],
  ['64 bytes of UTF-8', 'é'.repeat(32)],
  ['a space', 'jvm a'],
  ['punctuation', 'a.b;c,d|e'],
  ['NUL', 'a\u0000b'],
  ['BEL', 'jvm\u0007'],
  ['a tab', 'a\tb'],
  ['a newline', 'a\nb'],
  ['ESC (terminal escapes)', '\u001b[31mred'],
  ['DEL', 'a\u007f'],
  ['a C1 control (NEL)', 'a\u0085b'],
];

describe('route and redirect: one rule for the file and the API', () => {
  it.each(SAMPLES)('%s: the file and the API agree', (_what, value) => {
    for (const key of ['route', 'redirect'] as const) {
      expect(fileAccepts(key, value), `${key} from the file`).toBe(apiAccepts(key, value));
    }
  });

  it('control characters are refused from the file (they were accepted before)', () => {
    for (const value of ['jvm\u0007', 'a\nb', '\u001b[31mred', 'a\u007f', 'a\u0085b']) expect(fileAccepts('route', value), JSON.stringify(value)).toBe(false);
    for (const value of ['jvm_a', 'jvm a', 'r'.repeat(63)]) expect(fileAccepts('route', value), JSON.stringify(value)).toBe(true);
  });

  it('the file names file, line, key and the problem', () => {
    const list = problems(fileWithMember('route', 'jvm\u0007'));
    expect(list[0]?.file).toBe(FILE);
    expect(brief(list)).toEqual(['7:16 balancers.b.members[0].route: must not contain control characters (U+0007 at position 4)']);
    expect(brief(problems(fileWithMember('route', 'r'.repeat(64))))).toEqual(['7:16 balancers.b.members[0].route: must be at most 63 characters long (got 64)']);
    const redirect = problems(fileWithMember('redirect', 'a\tb'));
    expect(brief(redirect)).toContain('7:19 balancers.b.members[0].redirect: must not contain control characters (U+0009 at position 2)');
  });

  it('the API says the same, prefixed with the field', () => {
    const config = parse('listen:\n  - { address: 127.0.0.1, port: 8051 }\nbalancers:\n  b:\n    members:\n      - { url: "http://127.0.0.1:8081", route: a }\n');
    const b = new Balancer(config.balancers[0]!);
    let error: unknown;
    try {
      changeMember(b, b.members[0]!, { route: 'jvm\u0007' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ChangeError);
    expect((error as ChangeError).message).toBe('route must not contain control characters (U+0007 at position 4)');
  });
});

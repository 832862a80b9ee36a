// admin.token must be a real secret: weak tokens (short, white space, control characters) are
// config errors naming file, line, key and what is expected, also when the token comes from ${VAR};
// the messages never repeat the token.
import { describe, expect, it } from 'vitest';
import { FILE, brief, parse, problems } from './util.js';

const HEAD = 'listen:\n  - { address: 127.0.0.1, port: 8051 }\nadmin:\n';
const fileWithToken = (yaml: string) => `${HEAD}  token: ${yaml}\n`;
const STRONG = 'Xq7-2fL9_aZ0pW4m'; // 16 visible ASCII characters

describe('admin.token strength', () => {
  it.each<[string, string, string]>([
    ['one character', 'x', 'must be at least 16 characters long, or it can be guessed (got 1)'],
    ['15 characters', STRONG.slice(1), 'must be at least 16 characters long, or it can be guessed (got 15)'],
    ['white space only', '"   "', 'must be visible ASCII characters only, without white space (it has white space at the start)'],
    ['a space before it', `" ${STRONG}"`, 'must be visible ASCII characters only, without white space (it has white space at the start)'],
    ['a newline after it', `"${STRONG}\\n"`, 'must be visible ASCII characters only, without white space (it has white space at the end)'],
    ['a space inside', `"${STRONG.slice(0, 8)} ${STRONG.slice(8)}"`, 'must be visible ASCII characters only, without white space (it has white space at position 9)'],
    ['a control character', `"${STRONG}\\x07x"`, 'must be visible ASCII characters only, without white space (it has a control character at position 17)'],
    ['a non-ASCII character', `"${STRONG}é"`, 'must be visible ASCII characters only, without white space (it has a non-ASCII character at the end)'],
  ])('refuses %s, at the value, without echoing it', (_what, yaml, message) => {
    const list = problems(fileWithToken(yaml));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ file: FILE, line: 4, col: 10, path: 'admin.token' });
    expect(list[0]!.message.startsWith(message)).toBe(true);
    expect(list[0]!.message).not.toContain(STRONG.slice(1, 9));
  });

  it('tells how to make a good token when it is too short', () => {
    expect(brief(problems(fileWithToken('abc')))).toEqual([
      '4:10 admin.token: must be at least 16 characters long, or it can be guessed (got 3); e.g. the output of `openssl rand -hex 32`, from the environment: token: ${STICKYD_ADMIN_TOKEN}',
    ]);
  });

  it('a number is refused as such (YAML would have made it one), not echoed either', () => {
    expect(brief(problems(fileWithToken('1234567890123456789')))).toEqual([
      '4:10 admin.token: expected a secret token as text of at least 16 characters (got a number; quote it to make it text)',
    ]);
  });

  it('${VAR} tokens are checked the same, reported at the reference', () => {
    const text = fileWithToken('${STICKYD_ADMIN_TOKEN}');
    expect(parse(text, { STICKYD_ADMIN_TOKEN: STRONG }).admin?.token).toBe(STRONG);
    expect(brief(problems(text, { STICKYD_ADMIN_TOKEN: 'secret' }))).toEqual([
      '4:10 admin.token: must be at least 16 characters long, or it can be guessed (got 6); e.g. the output of `openssl rand -hex 32`, from the environment: token: ${STICKYD_ADMIN_TOKEN}',
    ]);
    expect(brief(problems(text, { STICKYD_ADMIN_TOKEN: `${STRONG}\n` }))).toEqual([
      '4:10 admin.token: must be visible ASCII characters only, without white space (it has white space at the end)',
    ]);
    expect(brief(problems(fileWithToken('"${T:-short}"'), {}))).toEqual([
      '4:10 admin.token: must be at least 16 characters long, or it can be guessed (got 5); e.g. the output of `openssl rand -hex 32`, from the environment: token: ${STICKYD_ADMIN_TOKEN}',
    ]);
  });

  it('accepts 16 or more visible ASCII characters, and "" (no token) on loopback', () => {
    expect(parse(fileWithToken(STRONG)).admin?.token).toBe(STRONG);
    expect(parse(fileWithToken('"!#$%&()*+,-./09:;<=>?@AZ[]^_`az{|}~"')).admin?.token).toBe('!#$%&()*+,-./09:;<=>?@AZ[]^_`az{|}~');
    expect(parse(fileWithToken('""')).admin?.token).toBe('');
    expect(parse(fileWithToken('"${EMPTY}"'), { EMPTY: '' }).admin?.token).toBe('');
  });
});

import { describe, expect, it } from 'vitest';
import { expandEnv } from '../../src/config/index.js';
import { brief, MINIMAL, parse, problems } from './util.js';

describe('${VAR} expansion', () => {
  const env = { HOST: 'tomcat', EMPTY: '', PORT: '8009' };

  it.each([
    ['${HOST}', 'tomcat'],
    ['ajp://${HOST}:${PORT}', 'ajp://tomcat:8009'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${HOST:-fallback}', 'tomcat'],
    ['${MISSING:-}', ''],
    ['${MISSING:-a:b-c}', 'a:b-c'],
    ['${EMPTY}', ''],
    ['$${HOST}', '${HOST}'],
    ['cost: $5 and $HOST', 'cost: $5 and $HOST'],
    ['no references', 'no references'],
  ])('%s → %j', (input, output) => {
    expect(expandEnv(input, env)).toMatchObject({ text: output, problems: [] });
  });

  it.each([
    ['${MISSING}', 0, 'environment variable MISSING is not set (write ${MISSING:-default} to give a default)'],
    ['x${1BAD}', 1, 'malformed reference "${1BAD}": expected ${NAME} or ${NAME:-default}'],
    ['${HOST:default}', 0, 'malformed reference "${HOST:default}": expected ${NAME} or ${NAME:-default}'],
    ['ab${HOST', 2, 'unterminated "${": close it with "}" (write "$${" for a literal "${")'],
  ])('%s is an error at offset %i', (input, index, message) => {
    expect(expandEnv(input, env).problems).toEqual([{ index, message }]);
  });

  it('an unset variable is reported at the reference, naming it, with every other problem', () => {
    const text = `listen:
  - address: 127.0.0.1
    port: \${PORT}
admin:
  token: "Bearer \${ADMIN_TOKEN}"
  address: \${ADMIN_ADDRESS}
`;
    expect(brief(problems(text))).toEqual([
      '3:11 listen[0].port: environment variable PORT is not set (write ${PORT:-default} to give a default)',
      '5:18 admin.token: environment variable ADMIN_TOKEN is not set (write ${ADMIN_TOKEN:-default} to give a default)',
      '6:12 admin.address: environment variable ADMIN_ADDRESS is not set (write ${ADMIN_ADDRESS:-default} to give a default)',
    ]);
  });

  it('an unquoted value is typed after expansion (numbers, booleans); a quoted one stays text', () => {
    const text = `listen:
  - address: \${ADDR:-127.0.0.1}
    port: \${PORT}
admin:
  readonly: \${RO:-false}
  token: "\${N}"
`;
    const c = parse(text, { PORT: '8051', N: '4242424242424242' });
    expect(c.listen).toEqual([{ address: '127.0.0.1', port: 8051 }]);
    expect(c.admin).toMatchObject({ readonly: false, token: '4242424242424242' });
    expect(brief(problems(text, { PORT: '"8051"', N: '4242424242424242' }))).toEqual(['3:11 listen[0].port: expected an integer (got ""8051"")']);
    expect(brief(problems(text.replace('port: ${PORT}', 'port: "${PORT}"'), { PORT: '8051', N: '4242424242424242' }))).toEqual([
      '3:11 listen[0].port: expected an integer (got the text "8051": leave out the quotes; a ${VAR} reference works unquoted, also inside { } and [ ])',
    ]);
  });

  it('values expanded from the environment are validated like written ones, at the position of the reference', () => {
    const text = MINIMAL.replace('      - url: http://127.0.0.1:8081', '      - url: http://127.0.0.1:8081\n        loadfactor: ${LF}');
    expect(parse(text, { LF: '2.5' }).balancers[0]?.members[0]?.loadfactor).toBe(2.5);
    expect(brief(problems(text, { LF: '0' }))).toEqual(['7:21 balancers.b.members[0].loadfactor: must be between 1 and 100 (got 0)']);
  });

  it('keys are not expanded, and $${ keeps a literal ${ in a value', () => {
    expect(parse(`${MINIMAL}admin: { token: "$\${NOT_EXPANDED_TOKEN}" }\n`).admin?.token).toBe('${NOT_EXPANDED_TOKEN}');
    expect(brief(problems(`${MINIMAL}\${KEY}: 1\n`))[0]).toMatch(/^9:1 \$\{KEY\}: unknown key "\$\{KEY\}"/);
  });

  it('reads process.env when no environment is given', async () => {
    const { parseConfig } = await import('../../src/config/index.js');
    process.env.STICKYD_TEST_CONFIG_PORT = '8123';
    try {
      expect(parseConfig('listen:\n  - port: ${STICKYD_TEST_CONFIG_PORT}\n', 'x.yaml').listen[0]?.port).toBe(8123);
    } finally {
      delete process.env.STICKYD_TEST_CONFIG_PORT;
    }
  });
});

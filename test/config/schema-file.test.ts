/**
 * config/stickyd.schema.json is generated from the key table and committed; it must be current,
 * accept the shipped files, agree with the loader on what it accepts, and the README renderings
 * must cover every key.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { renderApacheMapping, renderJsonSchema, renderKeyReference, withReadmeKeySection } from '../../src/config/index.js';
import { allKeys } from '../../src/config/reference.js';
import { repoRoot } from '../helpers/spawn.js';
import { validate } from './json-schema-check.js';
import { MINIMAL, parse } from './util.js';

const schemaFile = path.join(repoRoot, 'config', 'stickyd.schema.json');
const readSchema = async () => JSON.parse(await readFile(schemaFile, 'utf8')) as Record<string, unknown>;

describe('config/stickyd.schema.json', () => {
  it('is what the key table generates (run: npm run gen-schema)', async () => {
    expect(await readFile(schemaFile, 'utf8')).toBe(renderJsonSchema());
  });

  it("README.md's key reference is what the key table generates (run: npm run gen-schema)", async () => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    expect(withReadmeKeySection(readme), 'README.md has no key-reference markers').not.toBeNull();
    expect(withReadmeKeySection(readme) === readme, 'the README key reference is stale: run npm run gen-schema').toBe(true);
  });

  it('accepts the seed config and every example as written (with ${VAR} references)', async () => {
    const schema = await readSchema();
    const files = [path.join(repoRoot, 'config', 'stickyd.yaml')];
    for (const f of await readdir(path.join(repoRoot, 'config', 'examples'))) if (f.endsWith('.yaml')) files.push(path.join(repoRoot, 'config', 'examples', f));
    for (const f of files) expect(validate(schema, parseYaml(await readFile(f, 'utf8'))), f).toEqual([]);
  });

  it('finds unknown keys, wrong types and values out of range', async () => {
    const schema = await readSchema();
    const doc = parseYaml(`listen:
  - { port: 0 }
proxy: { preservehost: maybe, timout: 5s }
balancers:
  c:
    lbmethod: random
    members:
      - { url: "ftp://x", loadfactor: 0.5, lbset: 100, status: "+X" }
`);
    expect(validate(schema, doc).map((e) => e.replace(/:.*/, ''))).toEqual([
      '$.listen[0].port',
      '$.proxy.preservehost',
      '$.proxy',
      '$.balancers.c.lbmethod',
      '$.balancers.c.members[0].url',
      '$.balancers.c.members[0].loadfactor',
      '$.balancers.c.members[0].lbset',
      '$.balancers.c.members[0].status',
    ]);
    expect(validate(schema, parseYaml('server: {}\n'))).toEqual(['$: missing required "listen"']);
  });

  it('never rejects what the loader accepts (editors must not flag a valid file)', async () => {
    const schema = await readSchema();
    const samples = [
      MINIMAL,
      `${MINIMAL}proxy: { preservehost: On, timeout: 1.5 }\nserver: { gracefultimeout: 0, requesttimeout: 500ms }\n`,
      MINIMAL.replace('      - url: http://127.0.0.1:8081', '      - url: http://127.0.0.1:8081\n        loadfactor: 100.005\n        acquire: 5ms\n        hcmethod: get\n        status: S-E'),
      MINIMAL.replace('  b:\n', '  b:\n    stickysessionsep: false\n    failonstatus: "500 503"\n    nonce: None\n    maxattempts: ~\n'),
      MINIMAL.replace('  b:\n', '  b:\n    stickysessionsep: OFF\n    failonstatus: 503\n    stickysession: ""\n'),
    ];
    for (const text of samples) {
      parse(text); // valid for the loader
      expect(validate(schema, parseYaml(text)), text).toEqual([]);
    }
  });
});

describe('README key reference', () => {
  it('lists every key with its default and Apache equivalent', () => {
    const reference = renderKeyReference();
    for (const { path: key } of allKeys()) expect(reference).toContain(`| \`${key}\` |`);
    expect(reference).toContain('| `balancers.<name>.members[].loadfactor` | decimal 1..100 | `1` | `BalancerMember … loadfactor=` |');
    expect(reference).toContain('| `balancers.<name>.maxattempts` | integer ≥ 0 | members − 1 (0 with one member) | `ProxySet maxattempts=` |');
    expect(reference).toContain('| `balancers.<name>.stickysession` | C or C\\|P (< 64 chars) |');
  });

  it('maps Apache directives to keys', () => {
    const mapping = renderApacheMapping();
    expect(mapping).toContain('| `ProxyPreserveHost` | `proxy.preservehost` |');
    expect(mapping).toContain('| `BalancerMember … route=` | `balancers.<name>.members[].route` |');
    expect(mapping).toContain('| `ProxyPassReverseCookieDomain` | `cookiedomain` |');
  });
});

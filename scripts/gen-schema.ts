/**
 * Writes config/stickyd.schema.json and the key reference in README.md from the key table
 * (src/config/schema.ts).
 *
 *   node --import tsx scripts/gen-schema.ts            # regenerate both (npm run gen-schema)
 *   node --import tsx scripts/gen-schema.ts --check    # exit 1 when either is stale
 *   node --import tsx scripts/gen-schema.ts --markdown # print the key tables
 *
 * test/config/schema-file.test.ts fails when either committed text differs from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderApacheMapping, renderJsonSchema, renderKeyReference, withReadmeKeySection } from '../src/config/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'config', 'stickyd.schema.json');
const readme = path.join(root, 'README.md');
const arg = process.argv[2];

if (arg === '--markdown') {
  process.stdout.write(`### Keys\n\n${renderKeyReference()}\n### Apache directive → stickyd key\n\n${renderApacheMapping()}`);
} else if (arg === '--check') {
  let committed = '';
  try {
    committed = readFileSync(target, 'utf8');
  } catch {
    // A missing file is stale too.
  }
  if (committed !== renderJsonSchema()) {
    console.error(`${path.relative(process.cwd(), target)} is out of date: run npm run gen-schema`);
    process.exitCode = 1;
  }
  const text = readFileSync(readme, 'utf8');
  if (withReadmeKeySection(text) !== text) {
    console.error(`the key reference in ${path.relative(process.cwd(), readme)} is out of date: run npm run gen-schema`);
    process.exitCode = 1;
  }
} else if (arg === undefined) {
  writeFileSync(target, renderJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
  const updated = withReadmeKeySection(readFileSync(readme, 'utf8'));
  if (updated === null) throw new Error(`${readme} has no key-reference markers`);
  writeFileSync(readme, updated);
  console.log(`updated the key reference in ${path.relative(process.cwd(), readme)}`);
} else {
  console.error(`unknown argument ${arg} (expected --check or --markdown)`);
  process.exitCode = 2;
}

/**
 * Writes config/stickyd.schema.json from the key table (src/config/schema.ts).
 *
 *   node --import tsx scripts/gen-schema.ts            # regenerate the committed file
 *   node --import tsx scripts/gen-schema.ts --check    # exit 1 when the committed file is stale
 *   node --import tsx scripts/gen-schema.ts --markdown # print the README key tables
 *
 * test/config/schema-file.test.ts fails when the committed file differs from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderApacheMapping, renderJsonSchema, renderKeyReference } from '../src/config/index.js';

const target = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'config', 'stickyd.schema.json');
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
    console.error(`${path.relative(process.cwd(), target)} is out of date: run node --import tsx scripts/gen-schema.ts`);
    process.exitCode = 1;
  }
} else if (arg === undefined) {
  writeFileSync(target, renderJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
} else {
  console.error(`unknown argument ${arg} (expected --check or --markdown)`);
  process.exitCode = 2;
}

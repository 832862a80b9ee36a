/**
 * Throw-away Apache configuration trees for the importer tests: each call makes a fresh directory
 * under the system temp dir (so parallel tests never share paths); `removeTrees()` deletes them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

/** Write `files` (relative path → content) into a new directory and return its path. */
export function tree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stickyd-importer-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return dir;
}

export function removeTrees(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Show file names relative to `dir` in messages, so expectations do not depend on the temp path. */
export function relativeTo(dir: string): (file: string) => string {
  return (file) => path.relative(dir, file);
}

/**
 * The files an `Include` / `IncludeOptional` path names, in the order httpd reads them
 * (ap_dir_fnmatch / ap_dir_nofnmatch in server/util.c, 2.4.62):
 *
 * - A path without wildcards names a file, or a directory whose entries (all of them, dot files
 *   included) are read in byte order, recursing into subdirectories.
 * - A path with wildcards is matched one segment at a time (fnmatch.ts); a segment that is not the
 *   last only matches directories. Matches are read in byte order; a directory matched by the
 *   last segment is read as above.
 * - `Include` fails when a wildcard segment matches nothing or a file is missing;
 *   `IncludeOptional` silently includes nothing instead.
 * - Directory recursion deeper than 128 levels is refused (httpd: "probably a recursion").
 */
import fs from 'node:fs';
import path from 'node:path';
import { fnmatch, hasWildcard } from './fnmatch.js';

export class IncludeError extends Error {
  override name = 'IncludeError';
}

/** httpd's AP_MAX_FNMATCH_DIR_DEPTH. */
const MAX_DIR_DEPTH = 128;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function listDirectory(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    throw new IncludeError(`could not open directory ${dir}: ${(err as Error).message}`);
  }
}

function withoutWildcard(file: string, optional: boolean, depth: number, out: string[]): void {
  if (isDirectory(file)) {
    if (depth + 1 > MAX_DIR_DEPTH) {
      throw new IncludeError(`directory ${file} exceeds the include nesting limit of ${MAX_DIR_DEPTH} levels; probably a recursion`);
    }
    for (const name of listDirectory(file).sort(byteOrder)) withoutWildcard(path.join(file, name), optional, depth + 1, out);
    return;
  }
  if (optional && !fs.existsSync(file)) return;
  out.push(file);
}

function withWildcard(dir: string, segments: string[], optional: boolean, out: string[]): void {
  const [first, ...rest] = segments as [string, ...string[]];
  if (!hasWildcard(first)) {
    const next = path.join(dir, first);
    if (rest.length === 0) withoutWildcard(next, optional, 0, out);
    else withWildcard(next, rest, optional, out);
    return;
  }
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new IncludeError(`could not open directory ${dir}: ${(err as Error).message}`);
  }
  const matches = names
    .filter((name) => fnmatch(first, name))
    .map((name) => path.join(dir, name))
    .filter((full) => rest.length === 0 || isDirectory(full))
    .sort(byteOrder);
  if (matches.length === 0 && !optional) {
    throw new IncludeError(`no matches for the wildcard "${first}" in ${dir}`);
  }
  for (const full of matches) {
    if (rest.length === 0) withoutWildcard(full, optional, 0, out);
    else withWildcard(full, rest, optional, out);
  }
}

/** The files an absolute Include path names, in reading order. Throws IncludeError. */
export function expandInclude(absolutePath: string, optional: boolean): string[] {
  const out: string[] = [];
  if (!hasWildcard(absolutePath)) {
    withoutWildcard(absolutePath, optional, 0, out);
  } else {
    const { root } = path.parse(absolutePath);
    const segments = absolutePath.slice(root.length).split('/').filter((s) => s !== '');
    withWildcard(root, segments, optional, out);
  }
  return out;
}

/**
 * Whether a relative Include path could be meant relative to `base`: the part before its first
 * wildcard exists there. Used to choose between ServerRoot and the including file's directory.
 */
export function existsUnder(base: string, relative: string): boolean {
  const segments = relative.split('/');
  const fixed: string[] = [];
  for (const s of segments) {
    if (hasWildcard(s)) break;
    fixed.push(s);
  }
  return fs.existsSync(path.join(base, ...fixed));
}

#!/usr/bin/env node
// Writes dist/build-info.json at build time (`npm run build`): the git commit of the checkout (with
// "-dirty" when it has uncommitted changes) and the build time, so that `stickyd --version` and
// the stickyd_build_info metric can name the build without git at run time. STICKYD_BUILD_COMMIT
// overrides the commit (a Docker build has no .git); without either it is "unknown".
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function git(...args) {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

let commit = process.env.STICKYD_BUILD_COMMIT ?? '';
if (commit === '') {
  try {
    commit = git('rev-parse', 'HEAD');
    if (git('status', '--porcelain', '--untracked-files=no') !== '') commit += '-dirty';
  } catch {
    commit = 'unknown';
  }
}
mkdirSync(path.join(root, 'dist'), { recursive: true });
writeFileSync(path.join(root, 'dist', 'build-info.json'), `${JSON.stringify({ commit, built: new Date().toISOString() })}\n`);

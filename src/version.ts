/**
 * What build of stickyd this is: the package version, the git commit it was built from and when
 * (dist/build-info.json, written by scripts/build-info.mjs at `npm run build`; git is not needed at
 * run time), and the Node.js it runs on. Run from the sources (tests, tsx) there is no build
 * information: commit and build time are "unknown".
 */
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  /** package.json's version. */
  version: string;
  /** The git commit of the build (with "-dirty" when the tree had changes), or "unknown". */
  commit: string;
  /** When it was built (ISO 8601), or "unknown". */
  built: string;
  /** process.version, e.g. "v24.11.1". */
  node: string;
}

function readJson(relative: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

let info: BuildInfo | null = null;

export function buildInfo(): BuildInfo {
  if (info === null) {
    // src/version.ts and dist/version.js both sit one level below the package root.
    const pkg = readJson('../package.json');
    const build = readJson('./build-info.json');
    info = {
      version: typeof pkg?.version === 'string' ? pkg.version : 'unknown',
      commit: typeof build?.commit === 'string' && build.commit !== '' ? build.commit : 'unknown',
      built: typeof build?.built === 'string' && build.built !== '' ? build.built : 'unknown',
      node: process.version,
    };
  }
  return info;
}

/** The `stickyd --version` text. */
export function versionText(): string {
  const b = buildInfo();
  return [`stickyd ${b.version}`, `Node.js ${b.node}`, `build: commit ${b.commit}, built ${b.built}`].join('\n');
}

// `stickyd -v` / `--version` / `version`: the stickyd version, the Node.js version and the build.
// From the sources there is no build information ("unknown"); the built launcher reads the commit
// that `npm run build` wrote into dist/, with no git on the PATH.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { repoRoot, spawnNode, stopAll } from '../helpers/spawn.js';

afterEach(stopAll);

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };

async function printed(args: string[]): Promise<string> {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    await main(args);
  } finally {
    log.mockRestore();
  }
  return out.join('\n');
}

describe('stickyd --version', () => {
  it('prints the version, Node.js and the build, whatever else the line says', async () => {
    const expected = `stickyd ${pkg.version}\nNode.js ${process.version}\nbuild: commit unknown, built unknown`;
    for (const args of [['-v'], ['--version'], ['version'], ['run', '-c', '/nonexistent.yaml', '-v']]) {
      expect(await printed(args), args.join(' ')).toBe(expected);
    }
  });

  const info = path.join(repoRoot, 'dist', 'build-info.json');
  const built = existsSync(info) && existsSync(path.join(repoRoot, 'dist', 'main.js'));
  if (!built) console.warn('\n!!! dist/ is not built (npm run build): the built --version is not checked\n');
  it.skipIf(!built)('of a build names the commit it was built from, without git at run time', async () => {
    const { commit, built: when } = JSON.parse(readFileSync(info, 'utf8')) as { commit: string; built: string };
    expect(commit).toMatch(/^([0-9a-f]{40}(-dirty)?|unknown)$/);
    const p = spawnNode([path.join(repoRoot, 'bin', 'stickyd.js'), '--version'], { env: { PATH: '/nonexistent' } });
    expect(await p.exited).toBe(0);
    expect(p.output()).toBe(`stickyd ${pkg.version}\nNode.js ${process.version}\nbuild: commit ${commit}, built ${when}\n`);
  }, 30_000);
});

/**
 * `stickyd version` (also `stickyd -v` / `--version`): the stickyd version, the Node.js version and
 * the build (git commit and build time, from dist/build-info.json; "unknown" when run from the
 * sources or built without git).
 */
import type { CommandModule } from 'yargs';
import { versionText } from '../version.js';

export const command: CommandModule = {
  command: 'version',
  describe: 'Show the stickyd version, the Node.js version and the build (also -v, --version)',
  handler() {
    console.log(versionText());
  },
};

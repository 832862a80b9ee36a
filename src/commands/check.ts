/**
 * `stickyd check -c FILE`: validate a balancer file without starting anything (like
 * `apachectl configtest`). Prints `FILE: OK (...)` and exits 0, or every problem as
 * `FILE:LINE:COL: key.path: message` on stderr and exits 1.
 */
import type { CommandModule } from 'yargs';
import type { Config } from '../config/index.js';
import { configOption, loadConfigOrReport } from './options.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The one-line summary of a valid file. */
export function summary(file: string, config: Config): string {
  const members = config.balancers.reduce((n, b) => n + b.members.length, 0);
  return `${file}: OK (${plural(config.balancers.length, 'balancer')}, ${plural(members, 'member')}, ${plural(config.proxypass.length, 'proxypass rule')})`;
}

export const command: CommandModule = {
  command: 'check',
  describe: 'Check a balancer file and exit (0 = valid)',
  builder: (y) => y.option('config', configOption),
  async handler(argv) {
    const file = String(argv.config);
    const config = await loadConfigOrReport(file);
    if (config !== null) console.log(summary(file, config));
  },
};

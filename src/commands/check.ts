/**
 * `stickyd check FILE` (or `-c FILE`): validate a balancer file without starting anything (like
 * `apachectl configtest`). Prints `FILE: OK (...)` and exits 0, or every problem as
 * `FILE:LINE:COL: key.path: message` on stderr and exits 1.
 *
 * The files the balancer file names are checked too: certificates and keys (readable, the key
 * belongs to the certificate, the chain in order, not expired), CA lists, OCSP responses.
 * Warnings — a certificate that expires within 14 days, `verify: none` towards members — go to
 * stderr as `FILE:LINE:COL: key.path: warning: message` and do not change the exit code.
 */
import type { CommandModule } from 'yargs';
import { ConfigError, formatWarning, loadConfig, type Config } from '../config/index.js';
import { configFile, explicitConfigOption } from './options.js';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The one-line summary of a valid file. */
export function summary(file: string, config: Config): string {
  const members = config.balancers.reduce((n, b) => n + b.members.length, 0);
  return `${file}: OK (${plural(config.balancers.length, 'balancer')}, ${plural(members, 'member')}, ${plural(config.proxypass.length, 'proxypass rule')})`;
}

export const command: CommandModule = {
  command: 'check [file]',
  describe: 'Check a balancer file and exit (0 = valid)',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'The balancer file (the same as -c FILE)' })
      .option('config', explicitConfigOption)
      .check((argv) => {
        if (argv.file !== undefined && argv.config !== undefined && argv.file !== argv.config) {
          throw new Error(`two files given (${String(argv.file)} and -c ${String(argv.config)}): check one at a time`);
        }
        return true;
      }),
  async handler(argv) {
    const file = argv.file === undefined ? configFile(argv) : String(argv.file);
    let config: Config;
    try {
      config = await loadConfig(file);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      console.error(e.message);
      for (const w of e.warnings) console.error(formatWarning(w));
      process.exitCode = 1;
      return;
    }
    for (const w of config.warnings) console.error(formatWarning(w));
    console.log(summary(file, config));
  },
};

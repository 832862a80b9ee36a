/**
 * `stickyd help [COMMAND...]`: the usage of stickyd or of one command (what `--help` prints).
 * The manual page is docs/stickyd.1 (`man ./docs/stickyd.1`).
 */
import type { CommandModule } from 'yargs';
import { didYouMean } from '../config/suggest.js';

export const command: CommandModule = {
  command: 'help [command..]',
  describe: 'Show the usage of stickyd or of a command (e.g. stickyd help ctl reload); the manual page is docs/stickyd.1',
  async handler(argv) {
    const words = ((argv.command as unknown[] | undefined) ?? []).map(String);
    const { commandNames, main } = await import('../cli.js');
    const names = await commandNames();
    if (words[0] !== undefined && !names.includes(words[0])) {
      const guess = didYouMean(words[0], names);
      // The same answer as any other mistake: the usage, and what is wrong.
      const { UsageError } = await import('./usage.js');
      throw new UsageError(`stickyd help [command..]\n\nCommands: ${names.join(', ')}\n\nstickyd help: unknown command "${words[0]}"${guess ? ` — did you mean "${guess}"?` : ''}`);
    }
    await main([...words, '--help']);
  },
};

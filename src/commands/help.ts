/**
 * `stickyd help [COMMAND...]`: the usage of stickyd or of one command (what `--help` prints).
 * The manual page is docs/stickyd.1 (`man ./docs/stickyd.1`).
 */
import type { CommandModule } from 'yargs';

export const command: CommandModule = {
  command: 'help [command..]',
  describe: 'Show the usage of stickyd or of a command (e.g. stickyd help ctl reload); the manual page is docs/stickyd.1',
  async handler(argv) {
    const words = ((argv.command as unknown[] | undefined) ?? []).map(String);
    const { main } = await import('../cli.js');
    await main([...words, '--help']);
  },
};

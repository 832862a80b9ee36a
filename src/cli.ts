/**
 * The `stickyd` command line. Each subcommand lives in src/commands/<name>.ts and exports a yargs
 * CommandModule; this file only assembles them. `stickyd -c file` (no subcommand) runs the daemon.
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';

/** Subcommand modules, in the order `stickyd --help` lists them. */
const commands: Array<() => Promise<{ command: CommandModule }>> = [
];

/** Runs the CLI; resolves with the exit code for commands that finish (the daemon resolves on shutdown). */
export async function main(argv: string[]): Promise<number | void> {
  let exitCode: number | void = undefined;
  const cli = yargs(argv)
    .scriptName('stickyd')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  for (const load of commands) cli.command((await load()).command);
  const parsed = await cli.parseAsync();
  if (typeof parsed.exitCode === 'number') exitCode = parsed.exitCode;
  return exitCode;
}

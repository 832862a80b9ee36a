/**
 * The `stickyd` command line. Each subcommand lives in src/commands/<name>.ts and exports a yargs
 * CommandModule; this file only assembles them. `stickyd -c file` (no subcommand) runs the daemon.
 * docs/stickyd.1 is the manual page; test/cli/manual.test.ts keeps it, the README and these
 * commands in agreement.
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { UsageError, usageFailure, type UsagePrinter } from './commands/usage.js';
import { versionText } from './version.js';

/** Subcommand modules, in the order `stickyd --help` lists them. */
const commands: Array<() => Promise<{ command: CommandModule }>> = [
  () => import('./commands/run.js'),
  () => import('./commands/check.js'),
  () => import('./commands/import-apache.js'),
  () => import('./commands/ctl.js'),
  () => import('./commands/healthcheck.js'),
  () => import('./commands/demo.js'),
  () => import('./commands/demo-backend.js'),
  () => import('./commands/version.js'),
  () => import('./commands/help.js'),
];

/** The first word of each command (run, check, ..., help), in the order of `commands`. */
export async function commandNames(): Promise<string[]> {
  const names: string[] = [];
  for (const load of commands) {
    const spec = (await load()).command.command;
    names.push(String(Array.isArray(spec) ? spec[0] : spec).split(' ')[0]!);
  }
  return names;
}

/**
 * Runs the CLI. Commands report failure by setting process.exitCode (and printing why); the daemon's
 * command resolves once it has shut down. A mistake on the command line prints the usage of the
 * command meant and one line saying what is wrong (commands/usage.ts), exit code 1.
 */
export async function main(argv: string[]): Promise<void> {
  // -v / --version anywhere (before a "--") answers alone, whatever else the line says.
  const end = argv.indexOf('--');
  const words = end < 0 ? argv : argv.slice(0, end);
  if (words.includes('-v') || words.includes('--version')) {
    console.log(versionText());
    return;
  }
  const cli = yargs(argv)
    .scriptName('stickyd')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .option('version', { alias: 'v', type: 'boolean', describe: 'Show the stickyd version, the Node.js version and the build' })
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((msg, err, usage) => usageFailure(msg, err, usage as unknown as UsagePrinter, argv));
  for (const load of commands) cli.command((await load()).command);
  try {
    await cli.parseAsync();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  }
}

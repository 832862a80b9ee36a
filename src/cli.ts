/**
 * The `stickyd` command line. Each subcommand lives in src/commands/<name>.ts and exports a yargs
 * CommandModule; this file only assembles them. `stickyd -c file` (no subcommand) runs the daemon.
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';

/** Subcommand modules, in the order `stickyd --help` lists them. */
const commands: Array<() => Promise<{ command: CommandModule }>> = [
  () => import('./commands/run.js'),
  () => import('./commands/check.js'),
  () => import('./commands/import-apache.js'),
  () => import('./commands/ctl.js'),
  () => import('./commands/healthcheck.js'),
  () => import('./commands/demo.js'),
  () => import('./commands/demo-backend.js'),
];

/**
 * Subcommands that `stickyd <name> …` loads alone, without the others' modules. Supervisors run
 * `stickyd healthcheck` every few seconds (Docker's HEALTHCHECK, keepalived's vrrp_script); loading
 * the daemon, the demo and their dependencies as well would double the CPU each check costs.
 */
const standalone: Record<string, () => Promise<{ command: CommandModule }>> = {
  healthcheck: () => import('./commands/healthcheck.js'),
};

/**
 * Runs the CLI. Commands report failure by setting process.exitCode (and printing why); the daemon's
 * command resolves once it has shut down.
 */
export async function main(argv: string[]): Promise<void> {
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
  const alone = Object.hasOwn(standalone, argv[0] ?? '') ? standalone[argv[0]!] : undefined;
  for (const load of alone ? [alone] : commands) cli.command((await load()).command);
  await cli.parseAsync();
}

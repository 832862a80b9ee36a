/**
 * What several subcommands share. `-c/--config` names the balancer file for `stickyd check`, the
 * daemon's run command and the others alike; STICKYD_CONFIG sets it from the environment.
 */
import type { Options } from 'yargs';
import { ConfigError, loadConfig } from '../config/index.js';
import type { Config } from '../config/types.js';

export const DEFAULT_CONFIG_FILE = '/etc/stickyd/stickyd.yaml';

export const configOption = {
  alias: 'c',
  type: 'string',
  describe: 'YAML balancer file (env STICKYD_CONFIG)',
  default: process.env.STICKYD_CONFIG || DEFAULT_CONFIG_FILE,
  defaultDescription: `$STICKYD_CONFIG or ${DEFAULT_CONFIG_FILE}`,
  requiresArg: true,
} as const satisfies Options;

/**
 * `-c FILE` for a command that also takes the file as its argument (`stickyd check FILE`): no
 * default here, so that configFile can tell whether it was given.
 */
export const explicitConfigOption = {
  alias: 'c',
  type: 'string',
  describe: 'YAML balancer file (env STICKYD_CONFIG)',
  defaultDescription: `$STICKYD_CONFIG or ${DEFAULT_CONFIG_FILE}`,
  requiresArg: true,
} as const satisfies Options;

/** The balancer file of a command: `-c FILE`, else $STICKYD_CONFIG, else the default. */
export function configFile(argv: Record<string, unknown>): string {
  return argv.config === undefined ? process.env.STICKYD_CONFIG || DEFAULT_CONFIG_FILE : String(argv.config);
}

/**
 * Load a balancer file for a command. A bad file is not an exception but the command's answer:
 * every problem is printed on stderr (`FILE:LINE:COL: path: message`), the exit code becomes 1,
 * and the result is null.
 */
export async function loadConfigOrReport(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config | null> {
  try {
    return await loadConfig(file, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    process.exitCode = 1;
    return null;
  }
}

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
 * Load a balancer file for a command. A bad file is not an exception but the command's answer:
 * every problem is printed on stderr (`FILE:LINE:COL: path: message`), the exit code becomes 1,
 * and the result is null.
 */
export async function loadConfigOrReport(file: string): Promise<Config | null> {
  try {
    return await loadConfig(file);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(e.message);
    process.exitCode = 1;
    return null;
  }
}

/**
 * Options shared by several subcommands. `-c/--config` names the balancer file for `stickyd check`
 * and the daemon's run command alike; STICKYD_CONFIG sets it from the environment.
 */
import type { Options } from 'yargs';

export const DEFAULT_CONFIG_FILE = '/etc/stickyd/stickyd.yaml';

export const configOption = {
  alias: 'c',
  type: 'string',
  describe: 'YAML balancer file (env STICKYD_CONFIG)',
  default: process.env.STICKYD_CONFIG || DEFAULT_CONFIG_FILE,
  defaultDescription: `$STICKYD_CONFIG or ${DEFAULT_CONFIG_FILE}`,
  requiresArg: true,
} as const satisfies Options;

// `stickyd healthcheck [-c FILE]` without the rest of the command line: bin/stickyd.js starts this
// for the healthcheck command, which a container runs every few seconds. Only the configuration
// loader and the check itself are loaded (not yargs, the daemon, undici, pino or prom-client).
// Anything but the plain forms (--help, unknown options) goes to the full command line.
import { healthcheck, plainHealthcheckArgs } from './commands/healthcheck.js';
import { DEFAULT_CONFIG_FILE } from './commands/options.js';

const file = plainHealthcheckArgs(process.argv.slice(2));
if (file === null) {
  await import('./main.js');
} else {
  await healthcheck(file ?? (process.env.STICKYD_CONFIG || DEFAULT_CONFIG_FILE)).catch((err: unknown) => {
    console.error(`stickyd: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}

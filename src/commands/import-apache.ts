/**
 * `stickyd import-apache httpd.conf > stickyd.yaml`: convert an Apache httpd configuration to a
 * balancer file. stdout gets only the YAML; every directive that was not converted is listed on
 * stderr as `FILE:LINE: Directive: why`. Exit 0 when a balancer file was written (warnings or
 * not), 1 when none could be (unreadable file, syntax error, no ProxyPass).
 *
 * The result is checked with the same loader `stickyd check` uses before it is printed, so a
 * file this command accepts is one the daemon accepts.
 */
import type { CommandModule } from 'yargs';
import { ConfigError, parseConfig } from '../config/index.js';
import { formatDiagnostic, importApache, ImportError } from '../importer/index.js';

export const command: CommandModule = {
  command: 'import-apache <file>',
  describe: 'Convert an Apache httpd configuration (mod_proxy_balancer) to a balancer file on stdout',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'httpd.conf (Include directives are followed)', demandOption: true })
      .option('serverroot', {
        alias: 'd',
        type: 'string',
        requiresArg: true,
        describe: "ServerRoot for relative Include paths, like httpd -d (default: the file's directory)",
      })
      .option('define', {
        alias: 'D',
        type: 'string',
        array: true,
        // One name per -D, so that `-D SSL httpd.conf` leaves the file name alone.
        nargs: 1,
        requiresArg: true,
        describe: 'Define a name for <IfDefine>, like httpd -D (repeatable)',
      }),
  handler(argv) {
    const file = String(argv.file);
    const defines = (argv.define as string[] | undefined) ?? [];
    const serverRoot = argv.serverroot as string | undefined;
    let result;
    try {
      result = importApache(file, { defines, ...(serverRoot ? { serverRoot } : {}) });
    } catch (err) {
      if (!(err instanceof ImportError)) throw err;
      for (const d of err.diagnostics) console.error(formatDiagnostic(d));
      console.error(`stickyd import-apache: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    for (const d of result.diagnostics) console.error(formatDiagnostic(d));
    process.stdout.write(result.yaml);
    // `${NAME}` references were reported above; they are the loader's to expand when stickyd
    // starts, so for this check any unset one stands for a harmless value.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const m of result.yaml.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) env[m[1] as string] ??= '0';
    try {
      parseConfig(result.yaml, '<generated>', env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      console.error(`stickyd import-apache: the generated balancer file does not pass stickyd check:\n${err.message}`);
      process.exitCode = 1;
    }
  },
};

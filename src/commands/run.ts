/**
 * `stickyd run -c FILE` (also plain `stickyd -c FILE`): run the daemon in the foreground.
 *
 * The process never starts on a bad file: every problem is printed and the exit code is 1. Any
 * other reason it cannot start (a port in use or below 1024 without the capability, a log file or
 * pid file it cannot write) is one sentence on stderr, exit code 1.
 *
 * Signals: SIGHUP re-reads the file (a bad file is logged and the running configuration stays;
 * `POST /api/reload` does the same); SIGUSR1 reopens the log files (logrotate's postrotate);
 * SIGTERM and SIGINT stop gracefully (in-flight requests get `server.gracefultimeout`) and exit 0.
 *
 * Under systemd (Type=notify, $NOTIFY_SOCKET) the daemon reports READY=1 once it listens and
 * STOPPING=1 when it stops (sd-notify.ts).
 */
import type { CommandModule } from 'yargs';
import { formatWarning } from '../config/index.js';
import { Reloader } from '../config/reloader.js';
import type { Config } from '../config/types.js';
import { listenerUrl, startDaemon, type Daemon } from '../daemon.js';
import { createLogger, flushLogs, type Logger } from '../log.js';
import { LogOutputs, messageFormatFromEnv } from '../log/outputs.js';
import { claimPidfile, type Pidfile } from './pidfile.js';
import { sdNotify } from './sd-notify.js';
import { startProblem } from './listen-problem.js';
import { configOption, loadConfigOrReport } from './options.js';

/** Print why the daemon cannot start and set exit code 1. */
function cannotStart(sentence: string, logger?: Logger, toFile = false): void {
  process.stderr.write(`stickyd: ${sentence}\n`);
  // The error log gets it too when it is a file (on stdout it would say the same twice).
  if (logger !== undefined && toFile) logger.fatal(`stickyd cannot start: ${sentence}`);
  process.exitCode = 1;
}

export const command: CommandModule = {
  command: ['run', '$0'],
  describe: 'Run the load balancer (the default command)',
  builder: (y) => y.option('config', configOption),
  async handler(argv) {
    // Listen for SIGUSR1 at once: without a listener node opens its inspector on that signal.
    let outputs: LogOutputs | null = null;
    let logger: Logger | undefined;
    const reopen = (): void => {
      if (outputs === null) return;
      outputs.reopen().then(
        (problems) => {
          if (problems.length === 0) logger?.info(`SIGUSR1: reopened the log files${outputs!.files.length > 0 ? ` (${outputs!.files.join(', ')})` : ''}`);
          for (const p of problems) logger?.error(`SIGUSR1: ${p}; writing on to the file that was open`);
        },
        (err: unknown) => logger?.error({ err }, 'SIGUSR1: reopening the log files failed; writing on to the files that were open'),
      );
    };
    process.on('SIGUSR1', reopen);
    // A SIGHUP while starting (systemd's ExecReload, a script that does not wait) must not end the
    // process, node's default for it: remember it and reload once the daemon runs.
    let hupWhileStarting = false;
    const hupEarly = (): void => {
      hupWhileStarting = true;
    };
    process.on('SIGHUP', hupEarly);

    const config = await loadConfigOrReport(String(argv.config));
    if (config === null) return;
    try {
      outputs = await LogOutputs.open(config.log, { format: messageFormatFromEnv() });
    } catch (err) {
      return cannotStart((err as Error).message);
    }
    logger = createLogger(config.log, outputs.messages);
    // What is valid but deserves attention (certificates about to expire, verify: none), at every start and reload.
    for (const w of config.warnings) logger.warn(formatWarning(w));
    const errorLogIsFile = config.log.error.file !== null;

    let pidfile: Pidfile | null = null;
    if (config.server.pidfile !== null) {
      try {
        pidfile = claimPidfile(config.server.pidfile);
      } catch (err) {
        cannotStart((err as Error).message, logger, errorLogIsFile);
        await outputs.close();
        return;
      }
    }

    const reloads = new Reloader(config.file, {
      info: (msg) => logger!.info(msg),
      error: (msg) => logger!.error(msg),
    });
    let daemon: Daemon;
    try {
      daemon = await startDaemon(config, { logger, accessOutput: outputs.access, reloads });
    } catch (err) {
      cannotStart(startProblem(err), logger, errorLogIsFile);
      pidfile?.release();
      await outputs.close();
      return;
    }
    const logs = outputs;
    reloads.attach(async (next: Config) => {
      for (const w of next.warnings) logger!.warn(formatWarning(w));
      // Lines of requests that ended before this reload go where the running configuration says.
      await daemon.flushLines();
      await logs.apply(next.log);
      await daemon.reload(next);
      if (next.server.pidfile !== (pidfile?.path ?? null)) logger!.warn('server.pidfile changed: the new pid file is used from the next start');
    });
    const notify = (fields: Record<string, string>): void => {
      sdNotify(fields).then(
        (problem) => {
          if (problem !== null) logger!.warn(`cannot notify systemd (${Object.keys(fields).join(', ')}): ${problem}`);
        },
        (err: unknown) => logger!.warn({ err }, `cannot notify systemd (${Object.keys(fields).join(', ')})`),
      );
    };
    const reload = (): void => {
      // The reloader records and logs a failed reload itself; this catch is for its own bugs.
      reloads.reload('SIGHUP').catch((err: unknown) => logger!.error({ err }, 'SIGHUP: the reload failed unexpectedly'));
    };
    process.off('SIGHUP', hupEarly);
    process.on('SIGHUP', reload);
    if (hupWhileStarting) reload();

    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals): void => {
        logger!.info(`${signal}: stopping (in-flight requests get ${daemon.config.server.gracefultimeout} ms)`);
        notify({ STOPPING: '1' });
        process.off('SIGHUP', reload);
        daemon.stop().then(resolve, (err: unknown) => {
          logger!.error({ err }, 'error while stopping');
          resolve();
        });
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    // Announce only once the signal handlers are in place: whoever waits for this line may signal at once.
    for (const a of daemon.addresses) logger.info(`stickyd listening on ${listenerUrl(a)}`);
    notify({ READY: '1', STATUS: `listening on ${daemon.addresses.map(listenerUrl).join(', ')}` });
    await stopped;
    logger.info('stickyd stopped');
    await flushLogs(logger);
    await outputs.close();
    pidfile?.release();
    // Pooled member connections and timers are gone; leave now rather than wait for stragglers.
    process.exit(process.exitCode ?? 0);
  },
};

/**
 * `stickyd run -c FILE` (also plain `stickyd -c FILE`): run the daemon in the foreground.
 *
 * The process never starts on a bad file: every problem is printed and the exit code is 1.
 * Signals: SIGHUP re-reads the file (a bad file is logged and the running configuration stays);
 * SIGTERM and SIGINT stop gracefully (in-flight requests get `server.gracefultimeout`) and exit 0.
 */
import type { CommandModule } from 'yargs';
import { ConfigError, formatWarning, loadConfig } from '../config/index.js';
import { listenerUrl, startDaemon } from '../daemon.js';
import { createLogger, flushLogs } from '../log.js';
import { pendingListenerFeatures } from '../tls/pending.js';
import { configOption, loadConfigOrReport } from './options.js';

export const command: CommandModule = {
  command: ['run', '$0'],
  describe: 'Run the load balancer (the default command)',
  builder: (y) => y.option('config', configOption),
  async handler(argv) {
    const config = await loadConfigOrReport(String(argv.config));
    if (config === null) return;
    const pending = pendingListenerFeatures(config.listen);
    if (pending !== null) {
      console.error(`${config.file}: ${pending}`);
      process.exitCode = 1;
      return;
    }
    const logger = createLogger(config.log);
    // What is valid but deserves attention (certificates about to expire, verify: none), at every start and reload.
    for (const w of config.warnings) logger.warn(formatWarning(w));
    let daemon;
    try {
      daemon = await startDaemon(config, { logger });
    } catch (err) {
      logger.fatal({ err }, `stickyd cannot start: ${(err as Error).message}`);
      await flushLogs(logger);
      process.exitCode = 1;
      return;
    }
    let reloading = Promise.resolve();
    const reload = (): void => {
      reloading = reloading.then(async () => {
        logger.info(`SIGHUP: reloading ${config.file}`);
        try {
          const next = await loadConfig(config.file);
          const refused = pendingListenerFeatures(next.listen);
          if (refused !== null) throw new Error(refused);
          for (const w of next.warnings) logger.warn(formatWarning(w));
          await daemon.reload(next);
          logger.info(`reloaded ${config.file}`);
        } catch (e) {
          // Keep running on the configuration we have.
          logger.error(e instanceof ConfigError ? e.message : `reload failed: ${(e as Error).message}`);
        }
      });
    };
    process.on('SIGHUP', reload);

    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals): void => {
        logger.info(`${signal}: stopping (in-flight requests get ${config.server.gracefultimeout} ms)`);
        process.off('SIGHUP', reload);
        daemon.stop().then(resolve, (err: unknown) => {
          logger.error({ err }, 'error while stopping');
          resolve();
        });
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    // Announce only once the signal handlers are in place: whoever waits for this line may signal at once.
    for (const a of daemon.addresses) logger.info(`stickyd listening on ${listenerUrl(a)}`);
    await stopped;
    logger.info('stickyd stopped');
    await flushLogs(logger);
    // Pooled member connections and timers are gone; leave now rather than wait for stragglers.
    process.exit(process.exitCode ?? 0);
  },
};

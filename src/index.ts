/**
 * `import … from 'stickyd'`: the daemon as a library — what `stickyd run` does, for programs that
 * embed the balancer (a supervisor, a test harness) instead of starting the command.
 *
 *   import { loadConfig, startDaemon, createLogger } from 'stickyd';
 *   const config = await loadConfig('/etc/stickyd/stickyd.yaml');   // throws ConfigError
 *   const daemon = await startDaemon(config, { logger: createLogger(config.log) });
 *   // … daemon.reload(await loadConfig(file)) on SIGHUP, await daemon.stop() on SIGTERM
 *
 * The session-replication library for backends is `stickyd/cluster` (src/cluster/index.ts).
 */
export { ConfigError, formatProblem, loadConfig, parseConfig, renderJsonSchema, type ConfigProblem } from './config/index.js';
export type * from './config/types.js';
export { listenerUrl, startDaemon, type BoundAddress, type Daemon, type DaemonOptions } from './daemon.js';
export { createLogger, type AccessRecord, type Logger, type RequestObserver } from './log.js';
export { formatDiagnostic, importApache, ImportError, type Diagnostic, type ImportResult } from './importer/index.js';

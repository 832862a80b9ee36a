/**
 * The daemon's log outputs, owned by the main thread: the error log (the daemon's own messages,
 * Apache's ErrorLog) and the access log, each on standard output or in a file (`log.error.file`,
 * `log.access.file`). Outputs that name the same destination share one sink and one batch, so
 * their lines keep their order (by default both are on stdout, interleaved as they happened).
 *
 * `messages` (for pino) and `access` (for AccessLog) are stable objects: a reload that changes a
 * file switches what is behind them, and `reopen` (SIGUSR1) reopens every file under its name.
 */
import { isatty } from 'node:tty';
import type { DestinationStream } from 'pino';
import type { LogConfig } from '../config/types.js';
import { exitFlushedBatcher, type LineBatcher } from './batch.js';
import { prettyDestination } from './pretty.js';
import { fileSink, stdoutSink, type Sink } from './sink.js';

/** How the daemon's messages are written: pino's JSON, or one readable line each (pretty.ts). */
export type MessageFormat = 'auto' | 'pretty' | 'json';

/** The environment variable that overrides `log.error.format` for one run. */
export const LOG_FORMAT_ENV = 'STICKYD_LOG_FORMAT';

export interface LogOutputsOptions {
  /** Overrides `log.error.format` (from STICKYD_LOG_FORMAT). */
  format?: MessageFormat;
}

/** Somewhere access lines go, one whole line (with its newline) per call. */
export interface LineOutput {
  write(line: string): void;
  /** The batch behind the output, if any, to encode access lines straight into (access-format.ts writeTo). */
  lineBatch?(): LineBatcher | null;
}

const STDOUT = '';

interface Output {
  sink: Sink;
  batch: LineBatcher;
}

/** The STICKYD_LOG_FORMAT value, or undefined when unset; throws for anything else. */
export function messageFormatFromEnv(env: NodeJS.ProcessEnv = process.env): MessageFormat | undefined {
  const v = env[LOG_FORMAT_ENV];
  if (v === undefined || v === '') return undefined;
  if (v === 'auto' || v === 'pretty' || v === 'json') return v;
  throw new Error(`${LOG_FORMAT_ENV} must be auto, pretty or json (got "${v}")`);
}

export class LogOutputs {
  private readonly outputs = new Map<string, Output>();
  private messageTarget: DestinationStream;
  private accessTarget: LineBatcher | null = null;
  /** Standard output is a terminal (for `auto`). */
  private readonly terminal = isatty(1);
  private config: LogConfig;

  /** pino's destination for the daemon's messages. */
  readonly messages: DestinationStream & { flush(cb?: (err?: Error) => void): void } = {
    write: (line: string) => this.messageTarget.write(line),
    flush: (cb?: (err?: Error) => void) => {
      this.flush().then(() => cb?.(), (err: Error) => cb?.(err));
    },
  };

  /** Where AccessLog writes its lines (nothing while `log.access` is off). */
  readonly access: LineOutput & { writeBytes(bytes: Buffer): void } = {
    write: (line: string) => this.accessTarget?.write(line),
    lineBatch: () => this.accessTarget,
    // A worker thread's batch of whole access lines (log.ts, writeLines).
    writeBytes: (bytes: Buffer) => this.accessTarget?.writeBytes(bytes),
  };

  private constructor(config: LogConfig, private readonly options: LogOutputsOptions) {
    this.config = config;
    this.messageTarget = this.output(STDOUT, stdoutSink()).batch;
  }

  /** Open the outputs of `config.log`. Rejects with LogFileError when a file cannot be opened. */
  static async open(config: LogConfig, options: LogOutputsOptions = {}): Promise<LogOutputs> {
    const outputs = new LogOutputs(config, options);
    await outputs.apply(config);
    return outputs;
  }

  private output(key: string, sink: Sink): Output {
    let out = this.outputs.get(key);
    if (out === undefined) {
      out = { sink, batch: exitFlushedBatcher((lines) => sink.write(lines)) };
      this.outputs.set(key, out);
    }
    return out;
  }

  /** The daemon's messages are pretty-printed: forced, or `auto` and they go to a terminal. */
  pretty(config: LogConfig = this.config): boolean {
    const format = this.options.format ?? config.error.format;
    if (format !== 'auto') return format === 'pretty';
    return config.error.file === null && this.terminal;
  }

  /**
   * Follow a (new) configuration: open the files it names that are not open yet, then switch.
   * When a file cannot be opened nothing changes and this rejects with LogFileError.
   */
  async apply(config: LogConfig): Promise<void> {
    const wanted = new Set<string>([config.error.file ?? STDOUT]);
    if (config.access !== null) wanted.add(config.access.file ?? STDOUT);
    const opened = new Map<string, Sink>();
    try {
      for (const key of wanted) {
        if (key !== STDOUT && !this.outputs.has(key)) opened.set(key, await fileSink(key));
      }
    } catch (err) {
      await Promise.all([...opened.values()].map((s) => s.close()));
      throw err;
    }
    for (const [key, sink] of opened) this.output(key, sink);

    const messages = this.outputs.get(config.error.file ?? STDOUT)!.batch;
    const colour = config.error.file === null && this.terminal && process.env.NO_COLOR === undefined;
    this.messageTarget = this.pretty(config) ? prettyDestination(messages, colour) : messages;
    this.accessTarget = config.access === null ? null : this.outputs.get(config.access.file ?? STDOUT)!.batch;
    this.config = config;

    // Files no longer named: write out what they hold, then close them.
    for (const [key, out] of this.outputs) {
      if (key === STDOUT || wanted.has(key)) continue;
      this.outputs.delete(key);
      out.batch.handOver();
      await out.sink.close();
    }
  }

  /** The files in use, for messages. */
  get files(): string[] {
    return [...this.outputs.keys()].filter((k) => k !== STDOUT);
  }

  /**
   * Reopen every log file under its name (SIGUSR1, after logrotate renamed them). Resolves with
   * the problems (a file that cannot be opened keeps its old one), empty when all went well.
   */
  async reopen(): Promise<string[]> {
    const outs = [...this.outputs.values()];
    for (const out of outs) out.batch.handOver();
    const results = await Promise.allSettled(outs.map((o) => o.sink.reopen()));
    return results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  }

  /** Write out everything queued so far. */
  async flush(): Promise<void> {
    const outs = [...this.outputs.values()];
    for (const out of outs) out.batch.handOver();
    await Promise.all(outs.map((o) => o.sink.flush()));
  }

  /** Flush, and close the files (stdout stays open: a last message may still come). */
  async close(): Promise<void> {
    await this.flush();
    await Promise.all([...this.outputs].filter(([key]) => key !== STDOUT).map(([, o]) => o.sink.close()));
  }
}

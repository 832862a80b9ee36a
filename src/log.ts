/**
 * The daemon's logs: its own messages (pino, the error log) and the access log.
 *
 *   src/log/record.ts         the access record (what a finished request leaves)
 *   src/log/json-line.ts      the `json` access format
 *   src/log/access-format.ts  Apache LogFormat strings, `common` and `combined`, compiled once
 *   src/log/ascii.ts          an access line's pieces written straight into the batch as bytes
 *   src/log/batch.ts          lines → Buffers of whole lines, every 10 ms (any thread)
 *   src/log/sink.ts           stdout or a file, written asynchronously, reopened on SIGUSR1 (main thread)
 *   src/log/outputs.ts        which sink each log goes to, following reloads (main thread)
 *   src/log/pretty.ts         the daemon's messages for a person at a terminal
 *
 * Formatting (record → line) and writing (line → sink) are apart: a line can be formatted in any
 * thread and handed over as a Buffer to the main thread, which owns every sink.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { accessFormat, type AccessFormat } from './log/access-format.js';
import { exitFlushedBatcher } from './log/batch.js';
import type { AccessRecord, RequestObserver } from './log/record.js';
import { stdoutSink, type Sink } from './log/sink.js';
import type { AccessLogConfig } from './config/types.js';

export type { Logger } from 'pino';
export type { AccessContext, AccessRecord, AttemptFailure, RequestObserver } from './log/record.js';
export { accessLine } from './log/json-line.js';
export type { LineOutput } from './log/outputs.js';
import type { LineOutput } from './log/outputs.js';
import { LineBatcher } from './log/batch.js';

let stdout: Sink | null = null;

/**
 * A pino destination on standard output: lines batched for up to 10 ms and written
 * asynchronously (batch.ts, sink.ts); `flush` waits until they are written, process exit writes
 * what is still queued. Every call shares the one stdout sink, so lines keep their order.
 */
export function stdoutDestination(): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  stdout ??= stdoutSink();
  const sink = stdout;
  const batch = exitFlushedBatcher((lines) => sink.write(lines));
  return {
    write: (line: string) => batch.write(line),
    flush: (cb?: (err?: Error) => void) => {
      batch.handOver();
      sink.flush().then(() => cb?.(), (err: Error) => cb?.(err));
    },
  };
}

/** The daemon's logger for its own messages. */
export function createLogger(config: { level: string }, destination: DestinationStream = stdoutDestination()): Logger {
  return pino({ level: config.level, base: { name: 'stickyd' } }, destination);
}

/** The destination a pino logger writes to (its stream). */
export function destinationOf(logger: Logger): DestinationStream {
  return (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
}

/** Write out what the asynchronous destination still holds (before exit). */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/**
 * Access records to the access log (in the configured format) and to in-process observers. When
 * nobody logs and nobody subscribes the record is never built (`wanted`).
 */
export class AccessLog {
  private observers: RequestObserver[] = [];
  private format: AccessFormat | null = null;

  /**
   * `output` gets each line; null: lines are never written (observers still get records).
   * `worker`: the worker thread's id, written into every record (absent with one worker).
   */
  constructor(config: AccessLogConfig | null, private readonly output: LineOutput | null, private readonly worker?: number) {
    this.configure(config);
  }

  /** Someone wants records: build them. */
  get wanted(): boolean {
    return this.format !== null || this.observers.length > 0;
  }

  /** Follow `log.access` (a reload may turn it on or off or change the format). */
  configure(config: AccessLogConfig | null): void {
    this.format = config === null || this.output === null ? null : accessFormat(config.format);
  }

  /** Observe every finished request; returns the function that stops observing. */
  subscribe(observer: RequestObserver): () => void {
    this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((o) => o !== observer);
    };
  }

  emit(record: AccessRecord): void {
    if (this.worker !== undefined) record.worker = this.worker;
    if (this.format !== null) {
      const output = this.output!;
      // Straight into the batch behind the output when there is one (no string for the line).
      const batch = output instanceof LineBatcher ? output : (output.lineBatch?.() ?? null);
      let line: string | null = null;
      try {
        if (batch === null) line = this.format.line(record);
        else if (this.format.deferrable) batch.defer(record, this.format.writeTo);
        else this.format.writeTo(record, batch);
      } catch {
        // A formatting bug must not break the request path; the record still reaches observers.
      }
      if (line !== null) output.write(line);
    }
    for (const o of this.observers) {
      try {
        o(record);
      } catch {
        // An observer's bug must not break the request path.
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Worker threads → the main thread (server.workers > 1). The main thread owns every sink; a worker
// formats its lines (access lines, its own messages) and encodes them into Buffers of whole lines,
// batched every 10 ms (log/batch.ts), and posts each batch with its memory transferred, not
// copied. The main thread writes each batch whole and in the order it came, so a line is never
// torn or interleaved with another.

/** A worker's stream of lines: its messages ('log') or its access lines ('access'). */
export type LineChannel = 'log' | 'access';

/** The worker side: a destination whose batches go to `post`, which takes ownership of each Buffer. */
export function postedLines(post: (bytes: Buffer) => void): LineBatcher {
  return new LineBatcher(post);
}

/** An output that can also take Buffers of whole lines (the log outputs' batches). */
export interface LinesOutput extends LineOutput {
  writeBytes?(bytes: Buffer): void;
}

/**
 * The main side: whole lines a worker posted, to `output`, whole. Access lines are copied into
 * the output's batch as bytes; the daemon's messages are handed over a line at a time, so that a
 * destination that rewrites them (the readable terminal format) sees each message.
 */
export function writeLines(output: LinesOutput, bytes: Buffer, channel: LineChannel): void {
  if (channel === 'access' && output.writeBytes !== undefined) {
    output.writeBytes(bytes);
    return;
  }
  const text = bytes.toString('utf8');
  if (channel === 'access') {
    output.write(text);
    return;
  }
  let start = 0;
  for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
    output.write(text.slice(start, end + 1));
    start = end + 1;
  }
}

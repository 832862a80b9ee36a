/**
 * The daemon's logs: its own messages and the access log, both JSON lines on stdout through one
 * asynchronous destination that writes them in batches of up to 10 ms (stdoutDestination;
 * `flushLogs` empties it before the process exits).
 *
 * The access record carries what Apache's LogFormat can show for a balanced request: the
 * BALANCER_* variables of apache-semantics §2.7 plus the usual fields. In-process observers (metrics) get the
 * same record through `AccessLog.subscribe`; when nobody logs and nobody subscribes the record is
 * never built.
 *
 * Access lines are written by `accessLine`, not by pino: the record has a fixed shape, and pino's
 * general machinery (key loop, serializer lookups, per-call string building and its write path)
 * cost about 13 µs and 7 KiB of garbage per request on the proxy's hot path. The line is the one
 * pino wrote for the same record, byte for byte (test/proxy/access-log.test.ts compares them).
 */
import { writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from './config/types.js';
import type { BackendErrorKind } from './proxy/connector.js';

export type { Logger } from 'pino';

/** One finished request, as the access log writes it. */
export interface AccessRecord {
  /** When the request arrived (ISO 8601). */
  time: string;
  /** Client IP address. */
  client: string;
  method: string;
  /** The request target as the client sent it. */
  url: string;
  /** Status sent to the client; null when the client went away before any status was sent. */
  status: number | null;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** Milliseconds from the request's arrival to the end of its response. */
  duration: number;
  /** BALANCER_NAME: `balancer://name`; null when no balancer was involved (404, 400). */
  balancer: string | null;
  /** BALANCER_WORKER_NAME: the member's URL; null when no member was chosen. */
  member: string | null;
  /** BALANCER_WORKER_ROUTE ("" when the member has none); null when no member was chosen. */
  memberRoute: string | null;
  /** BALANCER_SESSION_ROUTE: the route found in the request; null when none was extracted. */
  sessionRoute: string | null;
  /** BALANCER_SESSION_STICKY: the name that carried the route; null when none was extracted. */
  stickyName: string | null;
  /** BALANCER_ROUTE_CHANGED. */
  routeChanged: boolean;
  /** Members tried (0 when none was chosen). */
  attempts: number;
  /** The attempts that failed, in order, with why (BackendError kinds); absent when none did. */
  failures?: AttemptFailure[];
  /** The worker thread that served the request (1..server.workers); absent with one worker. */
  worker?: number;
}

/** One failed attempt: the member's URL (BALANCER_WORKER_NAME) and the BackendError kind. */
export interface AttemptFailure {
  member: string;
  kind: BackendErrorKind;
}

export type RequestObserver = (record: AccessRecord) => void;

/** A JSON string literal (RFC 8259 §7): as JSON.stringify writes it, without its cost when nothing needs escaping. */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Control characters, '"' and '\' must be escaped; lone surrogates are escaped by
    // JSON.stringify (well-formed JSON.stringify) rather than written as invalid UTF-16.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function jsonNullableString(s: string | null): string {
  return s === null ? 'null' : jsonString(s);
}

/** A JSON number; NaN and ±Infinity have no JSON form and are written as null (as pino and JSON.stringify do). */
function jsonNumber(n: number | null): string {
  return n !== null && Number.isFinite(n) ? `${n}` : 'null';
}

/**
 * The access log line of a record: `{"level":30,"type":"access",` then the record's fields in this
 * fixed order, `worker` and `failures` only when present, and a newline. This is exactly what pino wrote for
 * `logger.info(record)` on the access logger (level 30, base { type: 'access' }, no timestamp).
 */
export function accessLine(r: AccessRecord): string {
  let line = '{"level":30,"type":"access","time":' + jsonString(r.time)
    + ',"client":' + jsonString(r.client)
    + ',"method":' + jsonString(r.method)
    + ',"url":' + jsonString(r.url)
    + ',"status":' + jsonNumber(r.status)
    + ',"bytes":' + jsonNumber(r.bytes)
    + ',"duration":' + jsonNumber(r.duration)
    + ',"balancer":' + jsonNullableString(r.balancer)
    + ',"member":' + jsonNullableString(r.member)
    + ',"memberRoute":' + jsonNullableString(r.memberRoute)
    + ',"sessionRoute":' + jsonNullableString(r.sessionRoute)
    + ',"stickyName":' + jsonNullableString(r.stickyName)
    + ',"routeChanged":' + (r.routeChanged ? 'true' : 'false')
    + ',"attempts":' + jsonNumber(r.attempts);
  if (r.worker !== undefined) line += ',"worker":' + jsonNumber(r.worker);
  // Rare (only after a failed attempt): the general serializer is fine here.
  if (r.failures !== undefined) line += ',"failures":' + JSON.stringify(r.failures);
  return line + '}\n';
}

/** How long a line may wait to be written together with the ones after it. */
const BATCH_MS = 10;
/** Room for a batch: at 10k requests/s the 10 ms of access lines fit (~35 KB). */
const BATCH_BYTES = 64 * 1024;
/** How long `flushLogs` waits for the last batch to be written before the process exits. */
const FLUSH_WAIT_MS = 1000;
const STDOUT = 1;

/**
 * The process-wide destination: stdout, written asynchronously by sonic-boom (a thread-pool write,
 * so a slow log reader never blocks the event loop).
 *
 * Lines are collected for up to BATCH_MS and handed to sonic-boom together: one write system call
 * (and one thread-pool round trip, with its wake-ups on the proxy's core) per batch instead of one
 * per request, which cost a proxy at moderate load about as much CPU as the request itself.
 * Every line, the daemon's own messages included, goes through the same batch, so their order is
 * kept. `flushLogs` and process exit write out what is still queued.
 *
 * Each line is encoded into the batch's Buffer as it comes (UTF-8, outside the JS heap): queued
 * strings would be live young objects that every scavenge in those milliseconds has to copy.
 * sonic-boom takes the Buffer as it is (its 'buffer' content mode); in its string mode it appends
 * to one growing string and measures its UTF-8 length on every write, which flattens that string
 * each time (~4 KiB of garbage per access line under load).
 */
export function stdoutDestination(): DestinationStream {
  return new BatchedLines(pino.destination({ dest: STDOUT, sync: false, minLength: 0, contentMode: 'buffer' }), STDOUT);
}

type SonicBoom = ReturnType<typeof pino.destination>;

/** Lines batched for up to BATCH_MS in one Buffer, then written by sonic-boom; pino uses `write` and `flush`. */
class BatchedLines implements DestinationStream {
  private batch: Buffer | null = null;
  private used = 0;
  private timer: NodeJS.Timeout | null = null;
  /** A batch was handed to sonic-boom and it has not reported everything written ('drain') yet. */
  private writing = false;

  constructor(private readonly sonic: SonicBoom, private readonly fd: number) {
    sonic.on('drain', () => {
      this.writing = false;
    });
    process.on('exit', () => this.writeOutSync());
  }

  write(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = line.length * 3;
    if (this.batch !== null && this.used + most > this.batch.length) this.handOver();
    if (this.batch === null) {
      this.batch = Buffer.allocUnsafe(Math.max(BATCH_BYTES, most));
      this.used = 0;
    }
    this.used += this.batch.write(line, this.used, 'utf8');
    // unref: a queued line must not keep the process alive; exit writes it out.
    this.timer ??= setTimeout(this.handOver, BATCH_MS).unref();
  }

  /** Whole lines already encoded (a worker's batch): queued behind the lines before them. */
  writeBytes(bytes: Buffer): void {
    if (this.batch !== null && this.used + bytes.length > this.batch.length) this.handOver();
    if (this.batch === null && bytes.length >= BATCH_BYTES) {
      // A full batch of its own: hand it over as it is.
      this.batch = bytes;
      this.used = bytes.length;
      this.handOver();
      return;
    }
    if (this.batch === null) {
      this.batch = Buffer.allocUnsafe(BATCH_BYTES);
      this.used = 0;
    }
    this.used += bytes.copy(this.batch, this.used);
    this.timer ??= setTimeout(this.handOver, BATCH_MS).unref();
  }

  /** Hand over what is queued; call back once sonic-boom has written it (or after FLUSH_WAIT_MS). */
  flush(cb: (err?: Error) => void): void {
    this.handOver();
    if (!this.writing) return cb();
    const done = (): void => {
      clearTimeout(limit);
      this.sonic.off('drain', done);
      cb();
    };
    const limit = setTimeout(done, FLUSH_WAIT_MS);
    this.sonic.once('drain', done);
  }

  private readonly handOver = (): void => {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const bytes = this.take();
    if (bytes === null) return;
    try {
      // Buffer mode takes Buffers; its typings only know strings.
      this.sonic.write(bytes as unknown as string);
      this.writing = true;
    } catch {
      // Destroyed (shutting down): these lines cannot be written, and logging must not take the
      // proxy down.
    }
  };

  /** The batch's bytes, and a fresh batch for the next lines (sonic-boom keeps this one until written). */
  private take(): Buffer | null {
    const batch = this.batch;
    if (batch === null || this.used === 0) return null;
    this.batch = null;
    return batch.subarray(0, this.used);
  }

  /**
   * At exit nothing asynchronous runs any more: pino has flushed sonic-boom synchronously (its
   * exit hook was registered first); write what is still queued here after it, synchronously.
   */
  private writeOutSync(): void {
    const bytes = this.take();
    if (bytes === null) return;
    try {
      this.sonic.flushSync();
    } catch {
      // Not ready or destroyed: write ours anyway.
    }
    writeFullySync(this.fd, bytes);
  }
}

/** Write all of `bytes` to `fd` synchronously, retrying briefly while a non-blocking pipe is full. */
function writeFullySync(fd: number, bytes: Buffer): void {
  let offset = 0;
  let busy = 0;
  while (offset < bytes.length) {
    try {
      offset += writeSync(fd, bytes, offset);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN' || ++busy > 100) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** The daemon's logger for its own messages. */
export function createLogger(config: LogConfig, destination: DestinationStream = stdoutDestination()): Logger {
  return pino({ level: config.level, base: { name: 'stickyd' } }, destination);
}

/** Access loggers made by createAccessLogger: AccessLog writes their lines itself (accessLine). */
const accessLoggers = new WeakSet<Logger>();

/** A logger for access records on the same destination as `logger`: no pid/hostname, no second time field. */
export function createAccessLogger(logger: Logger, destination: DestinationStream = destinationOf(logger)): Logger {
  const access = pino({ level: 'info', base: { type: 'access' }, timestamp: false }, destination);
  accessLoggers.add(access);
  return access;
}

export function destinationOf(logger: Logger): DestinationStream {
  return (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
}

/** Write out what the asynchronous destination still holds (before exit). */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/** Access records to the log and to in-process observers. */
export class AccessLog {
  private observers: RequestObserver[] = [];
  private logger: Logger | null = null;
  /** Where accessLine's lines go when the logger is one of ours; null: through the logger. */
  private destination: DestinationStream | null = null;

  /** `worker`: the worker thread's id, written into every record (absent with one worker). */
  constructor(logger: Logger | null, private readonly worker?: number) {
    this.setLogger(logger);
  }

  /** Someone wants records: build them. */
  get wanted(): boolean {
    return this.logger !== null || this.observers.length > 0;
  }

  /** Turn the log line on or off (a reload may change `log.access`). */
  setLogger(logger: Logger | null): void {
    this.logger = logger;
    this.destination = null;
    if (logger === null || !accessLoggers.has(logger)) return;
    const destination = destinationOf(logger);
    // A multistream needs pino's per-line metadata (the level) to route the line: leave it to pino.
    if ((destination as { [pino.symbols.needsMetadataGsym]?: boolean })[pino.symbols.needsMetadataGsym] !== true) this.destination = destination;
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
    if (this.destination !== null) this.destination.write(accessLine(record));
    else if (this.logger !== null) this.logger.info(record);
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
// encodes whole lines (its access lines and its own messages) into Buffers, batched like the
// stdout destination's, and posts each batch (transferred, not copied). The main thread writes
// each batch whole and in the order it came, so a line is never torn or interleaved with another.

/** A worker's stream of lines: its messages ('log') or its access lines ('access'). */
export type LineChannel = 'log' | 'access';

/**
 * The worker side: a destination for pino (and AccessLog) that hands whole-lines Buffers to
 * `post` every BATCH_MS (or when a batch is full, or on flush). `post` takes ownership of the Buffer.
 */
export function postedLines(post: (bytes: Buffer) => void): DestinationStream {
  return new PostedLines(post);
}

class PostedLines implements DestinationStream {
  private batch: Buffer | null = null;
  private used = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly post: (bytes: Buffer) => void) {}

  write(line: string): void {
    const most = line.length * 3;
    if (this.batch !== null && this.used + most > this.batch.length) this.handOver();
    if (this.batch === null) {
      // Its own ArrayBuffer (never the shared pool's): the whole of it is transferred.
      this.batch = Buffer.from(new ArrayBuffer(Math.max(BATCH_BYTES, most)));
      this.used = 0;
    }
    this.used += this.batch.write(line, this.used, 'utf8');
    this.timer ??= setTimeout(this.handOver, BATCH_MS).unref();
  }

  flush(cb: (err?: Error) => void): void {
    this.handOver();
    cb();
  }

  readonly handOver = (): void => {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.batch;
    if (batch === null || this.used === 0) return;
    this.batch = null;
    this.post(batch.subarray(0, this.used));
  };
}

/**
 * The main side: write a whole-lines Buffer a worker posted to `destination` (the main thread's
 * stdout destination, or whatever a test gave the daemon), whole.
 */
export function writeLines(destination: DestinationStream, bytes: Buffer): void {
  if (destination instanceof BatchedLines) destination.writeBytes(bytes);
  else destination.write(bytes.toString('utf8'));
}

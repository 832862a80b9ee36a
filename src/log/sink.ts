/**
 * Where log lines end up: standard output or a file. A sink lives in the main thread and is the
 * only writer of its destination; whoever formats lines (any thread) hands it Buffers of whole
 * lines, and a Buffer is never split: it lands whole in one file, before or after a reopen.
 *
 * Writes never block the event loop: Buffers queue up and one asynchronous write (the libuv
 * thread pool) at a time takes everything queued, so a slow disk or a slow reader of a pipe costs
 * memory, not latency. On a pipe whose reader is slow (EAGAIN) the write is tried again shortly.
 * At process exit what is still queued is written synchronously (nothing asynchronous runs then).
 *
 * A file is opened for appending (O_APPEND: every write lands at the end, also when another
 * process appends too), created with mode 0640 when missing (less if the umask says so), and
 * reopened on request: logrotate renames the file and signals (SIGUSR1); the lines written
 * before the reopen are in the renamed file, the ones after it in a new file of the old name.
 */
import { close, open, write, writeSync, writev } from 'node:fs';
import { promisify } from 'node:util';
import { atExitWriteOut, processExiting } from './exit.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);

export interface Sink {
  /** "stdout", or the file's path: for messages. */
  readonly name: string;
  /** Queue whole lines for writing (one Buffer may hold many lines). */
  write(lines: Buffer): void;
  /** Open the file again under its name (logrotate); lines queued so far go to the new file. No-op on stdout. */
  reopen(): Promise<void>;
  /** Resolves once everything queued so far has been written. */
  flush(): Promise<void>;
  /** Flush, then close the file (stdout stays open). Later writes are dropped. */
  close(): Promise<void>;
}

/** Mode of a log file created by stickyd: owner read-write, group read (Apache's logs: 0640 under Debian's umask). */
export const LOG_FILE_MODE = 0o640;
/** The most one write takes from the queue. */
const MAX_WRITE = 1024 * 1024;
/** Wait before writing again to a pipe whose reader is slow. */
const EAGAIN_RETRY_MS = 10;

/** Why a log file cannot be opened, as one sentence: "permission denied", "no such directory"… */
export function openProblem(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'its directory does not exist';
    case 'ENOTDIR':
      return 'a part of its path is not a directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'EROFS':
      return 'the file system is read-only';
    default:
      return err.message;
  }
}

export class LogFileError extends Error {
  override name = 'LogFileError';
}

/**
 * Everything still queued in any sink is written out synchronously when the process exits, and
 * lines that arrive after that (batches handed over by other exit hooks) are written at once.
 */
const live = new Set<FdSink>();
let exitHook = false;
function watchExit(sink: FdSink): void {
  live.add(sink);
  if (exitHook) return;
  exitHook = true;
  atExitWriteOut(() => {
    for (const s of live) s.writeOutSync();
  });
}

/** Report a failed write once per sink and errno: the error log may be the very sink that fails. */
function reportOnce(sink: FdSink, seen: Set<string>, err: NodeJS.ErrnoException): void {
  const code = err.code ?? err.message;
  if (seen.has(code)) return;
  seen.add(code);
  try {
    writeSync(2, `stickyd: cannot write to the log ${sink.name}: ${err.message}; its lines are dropped until it works again\n`);
  } catch {
    // Nothing left to tell.
  }
}

class FdSink implements Sink {
  private queue: Buffer[] = [];
  /** A write is in flight. */
  private writing = false;
  private closed = false;
  /** Told when the write in flight ends. */
  private afterFlight: Array<() => void> = [];
  /** Told when the queue is empty and nothing is in flight. */
  private drained: Array<() => void> = [];
  private reopening: Promise<void> | null = null;
  private readonly errors = new Set<string>();
  /** The exit's synchronous write-out is done: later lines are written at once. */
  private wroteOut = false;

  constructor(readonly name: string, private fd: number, private readonly path: string | null) {
    watchExit(this);
  }

  write(lines: Buffer): void {
    if (this.closed || lines.length === 0) return;
    if (this.wroteOut) return writeFullySync(this.fd, lines);
    this.queue.push(lines);
    // While the process exits, lines queue up behind the older ones for writeOutSync.
    if (!this.writing && this.reopening === null && !processExiting()) this.next();
  }

  /** Take what is queued (whole Buffers, up to MAX_WRITE unless one alone is larger) and write it. */
  private next(): void {
    if (this.queue.length === 0) {
      for (const w of this.drained.splice(0)) w();
      return;
    }
    this.writing = true;
    let take = 0;
    let bytes = 0;
    while (take < this.queue.length && (take === 0 || bytes + this.queue[take]!.length <= MAX_WRITE)) bytes += this.queue[take++]!.length;
    this.send(this.queue.splice(0, take), bytes);
  }

  /** Write all of `bufs`, continuing after a partial write. */
  private send(bufs: Buffer[], bytes: number): void {
    const done = (err: NodeJS.ErrnoException | null, n: number): void => {
      if (err !== null) {
        if (err.code === 'EAGAIN') {
          // Not unref'd: lines waiting to be written are work the process still has to do.
          setTimeout(() => this.send(bufs, bytes), EAGAIN_RETRY_MS);
          return;
        }
        // Disk full, file system gone, reader of the pipe gone: these lines cannot be written.
        reportOnce(this, this.errors, err);
        this.afterWrite();
        return;
      }
      this.errors.clear();
      if (n < bytes) {
        const rest = Buffer.concat(bufs).subarray(n);
        this.send([rest], rest.length);
        return;
      }
      this.afterWrite();
    };
    if (bufs.length === 1) write(this.fd, bufs[0]!, 0, bytes, null, done);
    else writev(this.fd, bufs, null, done);
  }

  private afterWrite(): void {
    this.writing = false;
    for (const w of this.afterFlight.splice(0)) w();
    // During a reopen nothing new starts until the new file is open.
    if (this.reopening === null) this.next();
  }

  reopen(): Promise<void> {
    if (this.path === null || this.closed) return Promise.resolve();
    this.reopening ??= this.swap().finally(() => {
      this.reopening = null;
      if (!this.writing) this.next();
    });
    return this.reopening;
  }

  /** Open the file anew, then switch to it once the write in flight has gone to the old one. */
  private async swap(): Promise<void> {
    const fd = await openLogFile(this.path!);
    if (this.writing) await new Promise<void>((resolve) => this.afterFlight.push(resolve));
    const old = this.fd;
    this.fd = fd;
    await closeAsync(old).catch(() => {});
  }

  async flush(): Promise<void> {
    if (this.reopening !== null) await this.reopening.catch(() => {});
    if (!this.writing && this.queue.length === 0) return;
    const drained = new Promise<void>((resolve) => this.drained.push(resolve));
    if (!this.writing) this.next();
    return drained;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    live.delete(this);
    if (this.path !== null) await closeAsync(this.fd).catch(() => {});
  }

  /** At exit: write synchronously what is still queued (a write in flight is not waited for). */
  writeOutSync(): void {
    for (const b of this.queue.splice(0)) writeFullySync(this.fd, b);
    this.wroteOut = true;
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

async function openLogFile(path: string): Promise<number> {
  try {
    return await openAsync(path, 'a', LOG_FILE_MODE);
  } catch (err) {
    throw new LogFileError(`cannot open the log file ${path}: ${openProblem(err as NodeJS.ErrnoException)}`, { cause: err });
  }
}

/** Standard output (fd 1) as a sink. */
export function stdoutSink(): Sink {
  return new FdSink('stdout', 1, null);
}

/** A log file, opened (created if missing) for appending. Rejects with LogFileError when it cannot be opened. */
export async function fileSink(path: string): Promise<Sink> {
  return new FdSink(path, await openLogFile(path), path);
}

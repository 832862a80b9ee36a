/**
 * `server.pidfile` (Apache's PidFile): the daemon's process id in a file, for init scripts and
 * `kill -HUP $(cat …)`. Written at start, removed at exit (only while it still holds our pid, so a
 * successor's file is never removed). A file that names a process that is alive means another
 * daemon may be running: the start is refused, as `apachectl start` refuses. A stale file (its
 * process is gone, e.g. after a crash or a reboot) is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

export class PidfileError extends Error {
  override name = 'PidfileError';
}

/** Is `pid` a running process (ours to signal or not)? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function problem(err: NodeJS.ErrnoException): string {
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied';
  if (err.code === 'ENOENT') return 'its directory does not exist';
  return err.message;
}

export interface Pidfile {
  readonly path: string;
  /** Remove the file if it still holds our pid. */
  release(): void;
}

/** Claim `path` for this process; throws PidfileError with one sentence when it cannot. */
export function claimPidfile(path: string): Pidfile {
  let existing: string | null = null;
  try {
    existing = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') throw new PidfileError(`cannot read the pid file ${path}: ${problem(e)}`);
  }
  if (existing !== null) {
    const pid = Number(existing.trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new PidfileError(`the pid file ${path} names process ${pid}, which is running: is stickyd already running? (remove the file if that process is not stickyd)`);
    }
  }
  try {
    writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
  } catch (err) {
    throw new PidfileError(`cannot write the pid file ${path}: ${problem(err as NodeJS.ErrnoException)}`);
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // Already gone, or not ours to remove.
    }
  };
  // Also when the process ends another way (an uncaught exception, process.exit).
  process.on('exit', release);
  return { path, release };
}

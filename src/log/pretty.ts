/**
 * The daemon's own messages for a person at a terminal: pino's JSON line turned into
 *
 *   2026-12-07T06:24:08.316Z INFO  stickyd listening on http://127.0.0.1:8051
 *   2026-12-07T06:24:09.002Z ERROR request failed unexpectedly url=/app/x
 *       Error: boom
 *           at …
 *
 * ISO time (UTC), the level word, the message, then the other fields as key=value; an error's
 * stack indented below. Colours only when asked (a terminal without NO_COLOR). A dozen lines of
 * our own instead of pino-pretty and its eleven dependencies: the daemon logs little, and
 * the format needs no options.
 */
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '31;1' };
/** Fields shown in the prefix, or not at all (pino's bookkeeping). */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'err', 'v']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON line as a human-readable line (newline included); a line that is not pino's stays as it is. */
export function prettyLine(json: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = typeof o.level === 'number' ? o.level : 30;
  const word = (LEVELS[level] ?? `L${level}`).padEnd(5);
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString() : typeof o.time === 'string' ? o.time : new Date().toISOString();
  let line = `${time} ${colour ? `\x1b[${COLOURS[level] ?? '0'}m${word}\x1b[0m` : word} ${typeof o.msg === 'string' ? o.msg : ''}`;
  for (const [k, v] of Object.entries(o)) {
    if (!HIDDEN.has(k) && v !== undefined) line += ` ${k}=${value(v)}`;
  }
  const err = o.err as { message?: string; stack?: string } | undefined;
  if (err !== undefined && err !== null && typeof err === 'object') {
    const stack = typeof err.stack === 'string' ? err.stack : typeof err.message === 'string' ? err.message : JSON.stringify(err);
    line += `\n${stack.replace(/^/gm, '    ')}`;
  }
  return `${line}\n`;
}

/** A pino destination that writes each line pretty-printed to `next`. */
export function prettyDestination(next: DestinationStream, colour: boolean): DestinationStream & { flush(cb?: (err?: Error) => void): void } {
  return {
    write(line: string) {
      next.write(prettyLine(line.endsWith('\n') ? line.slice(0, -1) : line, colour));
    },
    flush(cb?: (err?: Error) => void) {
      const f = (next as { flush?: (cb?: (err?: Error) => void) => void }).flush;
      if (f) f.call(next, cb);
      else cb?.();
    },
  };
}

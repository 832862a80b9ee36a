/** A pino logger whose lines (JSON text, one per entry) collect in an array, for in-process daemons. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

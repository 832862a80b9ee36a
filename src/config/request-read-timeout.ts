/**
 * The values of `server.requestreadtimeout` (Apache mod_reqtimeout's `RequestReadTimeout`), written
 * as Apache writes them: `timeout[-maxtimeout][,MinRate=rate]`.
 *
 * - `timeout`: seconds allowed for the stage (the header block, or the body); 0 = no limit.
 * - `MinRate=rate`: each `rate` bytes received extend the time by one second.
 * - `maxtimeout`: the extensions stop there (only with MinRate, as Apache requires).
 *
 * The times are stickyd durations: a bare number is seconds as in Apache, `500ms`, `2s`, `1m`
 * work too. Apache's checks apply: a range needs MinRate, the maximum must be larger than the
 * initial timeout, MinRate must be larger than 0.
 */
import { DurationSyntaxError, formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';

/** One stage of RequestReadTimeout; times in ms, 0 = unset. */
export interface ReadTimeoutStage {
  /** Initial time for the stage; 0 = the stage has no limit. */
  timeout: number;
  /** Upper bound of the extensions; 0 = none. */
  max: number;
  /** Bytes per second that extend the time by a second; 0 = no extension. */
  minrate: number;
}

export class ReadTimeoutSyntaxError extends Error {
  override name = 'ReadTimeoutSyntaxError';
}

export const READ_TIMEOUT_HINT = 'Apache\'s RequestReadTimeout syntax, timeout[-maxtimeout][,MinRate=rate], e.g. 20-40,MinRate=500 or 20,MinRate=500 or 0 (off)';

const STAGE = /^\s*([^,\s-][^,-]*?)\s*(?:-\s*([^,]+?)\s*)?(?:,\s*minrate\s*=\s*(\S+?)\s*)?$/i;

function seconds(text: string, what: string): number {
  let ms: number;
  try {
    ms = parseDuration(text.trim());
  } catch (e) {
    if (e instanceof DurationSyntaxError) throw new ReadTimeoutSyntaxError(`${what}: ${e.message}`);
    throw e;
  }
  if (ms < 0) throw new ReadTimeoutSyntaxError(`${what} must not be negative (got ${text.trim()})`);
  if (ms > MAX_DURATION_MS) throw new ReadTimeoutSyntaxError(`${what} must be at most ${formatDuration(MAX_DURATION_MS)} (got ${text.trim()})`);
  return ms;
}

/** Parse `timeout[-maxtimeout][,MinRate=rate]` (a YAML number is the timeout alone, in seconds). */
export function parseReadTimeoutStage(value: string | number): ReadTimeoutStage {
  if (typeof value === 'number') value = String(value);
  const m = STAGE.exec(value);
  if (m === null) throw new ReadTimeoutSyntaxError(`expected ${READ_TIMEOUT_HINT} (got "${value}")`);
  const timeout = seconds(m[1]!, 'the timeout');
  const max = m[2] === undefined ? 0 : seconds(m[2], 'the maximum timeout');
  let minrate = 0;
  if (m[3] !== undefined) {
    if (!/^\d+$/.test(m[3])) throw new ReadTimeoutSyntaxError(`MinRate must be a whole number of bytes per second (got "${m[3]}")`);
    minrate = Number(m[3]);
    if (minrate === 0) throw new ReadTimeoutSyntaxError('MinRate must be larger than 0');
  }
  // Apache's own checks (mod_reqtimeout set_reqtimeout_param).
  if (m[2] !== undefined && minrate === 0) throw new ReadTimeoutSyntaxError(`a timeout range (${value.trim()}) needs MinRate, e.g. ${value.trim()},MinRate=500`);
  if (max > 0 && timeout >= max) throw new ReadTimeoutSyntaxError(`the maximum timeout must be larger than the initial timeout (got ${value.trim()})`);
  if (timeout === 0 && (max > 0 || minrate > 0)) throw new ReadTimeoutSyntaxError(`a timeout of 0 turns the stage off; leave out the range and MinRate (got ${value.trim()})`);
  return { timeout, max, minrate };
}

/** The stage written back in Apache's syntax (defaults in the key reference and JSON Schema). */
export function formatReadTimeoutStage(s: ReadTimeoutStage): string {
  const t = (ms: number): string => (ms % 1000 === 0 ? String(ms / 1000) : formatDuration(ms));
  let out = t(s.timeout);
  if (s.max > 0) out += `-${t(s.max)}`;
  if (s.minrate > 0) out += `,MinRate=${s.minrate}`;
  return out;
}

/**
 * Durations in the balancer file: `500ms`, `5s`, `2m`, `1h`, or a bare number of seconds (Apache
 * reads `timeout=5`, `retry=60` as seconds; decimals allowed, e.g. `1.5`). Stored as whole
 * milliseconds.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
type Unit = keyof typeof UNIT_MS;

const DURATION = /^(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)?$/;

/**
 * The largest duration Node's timers honour: setTimeout() with more than 2^31-1 ms fires after
 * 1 ms instead (with only a warning), which would turn a long `retry` into an instant one.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export class DurationSyntaxError extends Error {
  override name = 'DurationSyntaxError';
}

export const DURATION_HINT = 'a duration such as 500ms, 5s, 2m, 1h or a number of seconds';

/**
 * Milliseconds for a YAML value: a non-negative number of seconds, or text as above. With
 * `requireUnit`, a bare number is refused (used where Apache's bare number means something else).
 * Range checks are the caller's; this only reads the syntax (negative numbers are returned as such).
 */
export function parseDuration(value: number | string, requireUnit = false): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new DurationSyntaxError(`expected ${DURATION_HINT} (got ${value})`);
    if (requireUnit) throw new DurationSyntaxError(`give a unit, e.g. ${value}ms or ${value}s`);
    return Math.round(value * 1000);
  }
  const text = value.trim();
  const neg = text.startsWith('-');
  const m = DURATION.exec(neg ? text.slice(1) : text);
  if (!m) throw new DurationSyntaxError(`expected ${DURATION_HINT} (got "${value}")`);
  if (requireUnit && !m[2]) throw new DurationSyntaxError(`give a unit, e.g. ${text}ms or ${text}s`);
  const ms = Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 's') as Unit]);
  return neg ? -ms : ms;
}

/** Exact text for a duration in ms, for documentation: 3600000 → "1h", 60000 → "60s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % UNIT_MS.h === 0) return `${ms / UNIT_MS.h}h`;
  if (ms % UNIT_MS.s === 0) return `${ms / UNIT_MS.s}s`;
  return `${ms}ms`;
}

/**
 * How httpd 2.4 reads the values of proxy parameters (modules/proxy/mod_proxy.c,
 * set_worker_param / set_balancer_param, and server/util.c), so that the importer converts what
 * Apache actually runs with, not what the text seems to say:
 *
 * - Integers are read with C's atoi(): leading white space and sign, then digits; the rest is
 *   ignored, and text without digits is 0.
 * - Decimals (`loadfactor`) with atof().
 * - On/Off flags compare case-insensitively; anything else is an error.
 * - Some times are read with ap_timeout_parameter_parse(): an integer with an optional unit
 *   (`ms`, `s`, `mi` = minutes, `h`; only the first letters are looked at) and a default unit.
 *
 * Durations are returned in milliseconds; formatting them for the YAML file is emit's job.
 */

/** A value Apache refuses: httpd would not start. `message` is Apache's reason. */
export class ApacheValueError extends Error {
  override name = 'ApacheValueError';
}

const ATOI = /^\s*([+-]?\d+)/;

/** C atoi(): the leading integer, 0 when there is none. */
export function atoi(text: string): number {
  const m = ATOI.exec(text);
  return m ? Number.parseInt(m[1] as string, 10) : 0;
}

/** Whether the text is exactly an integer (so atoi reads all of it). */
export function isPlainInteger(text: string): boolean {
  return /^\s*[+-]?\d+\s*$/.test(text);
}

const ATOF = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;

/** C atof(): the leading decimal number, 0 when there is none. */
export function atof(text: string): number {
  const m = ATOF.exec(text);
  return m ? Number.parseFloat(m[1] as string) : 0;
}

/** `On`/`Off`, case-insensitive; anything else is Apache's error `message`. */
export function onOff(text: string, message: string): boolean {
  if (/^on$/i.test(text)) return true;
  if (/^off$/i.test(text)) return false;
  throw new ApacheValueError(message);
}

const UNIT_MS = { ms: 1, s: 1000, mi: 60_000, h: 3_600_000 } as const;

/**
 * ap_timeout_parameter_parse(): `N`, `Nms`, `Ns`, `Nmi(n)`, `Nh` in milliseconds, or null when
 * httpd would call it "wrong format". httpd's unit check looks at the first letter(s) only
 * (`5sec` is 5 s, `2min` 2 minutes); so does this.
 */
export function timeoutParameter(text: string, defaultUnit: 'ms' | 's'): number | null {
  const m = /^\s*([+-]?\d*)(.*)$/s.exec(text) as RegExpExecArray;
  const digits = m[1] as string;
  const rest = m[2] as string;
  const n = digits === '' || digits === '+' || digits === '-' ? 0 : Number.parseInt(digits, 10);
  if (n < 0) return null;
  if (rest === '') return n * UNIT_MS[defaultUnit];
  if (rest.startsWith('s')) return n * UNIT_MS.s;
  if (rest.startsWith('h')) return n * UNIT_MS.h;
  if (rest.startsWith('ms')) return n * UNIT_MS.ms;
  if (rest.startsWith('mi')) return n * UNIT_MS.mi;
  return null;
}

/** The result of reading a time that httpd 2.4 reads with atoi() as seconds. */
export interface Seconds {
  ms: number;
  /**
   * Set when the text was not a plain integer, so what httpd 2.4 does differs from what the text
   * says: the warning to print.
   */
  note: string | null;
}

/**
 * `retry`, `timeout`, `ttl` (members) and `timeout` (balancers): httpd 2.4 reads them with atoi()
 * as whole seconds, so `retry=500ms` is 500 seconds there; httpd trunk reads them with a unit.
 * A plain integer is seconds. A value with a unit is converted as written — what its author
 * meant, and how newer httpd reads it — with a note saying how 2.4 reads it. Anything else is
 * read the way 2.4 reads it, with a note.
 */
export function atoiSeconds(text: string): Seconds {
  if (isPlainInteger(text)) return { ms: atoi(text) * 1000, note: null };
  const withUnit = /^\s*\d+[a-z]+\s*$/i.test(text) ? timeoutParameter(text.trim(), 's') : null;
  if (withUnit !== null) {
    return {
      ms: withUnit,
      note: `httpd 2.4 reads only the leading integer of "${text}" (${atoi(text)} seconds); converted as written, the way newer httpd reads it`,
    };
  }
  return { ms: atoi(text) * 1000, note: `httpd reads "${text}" as ${atoi(text)} seconds` };
}

/**
 * Times in access log lines as mod_log_config writes them (log_request_time): `%t` in the common
 * log format, `[10/Oct/2000:13:55:36 -0700]`, in local time; `%{format}t` through strftime(3) in
 * the C locale; `sec`, `msec`, `usec`, `msec_frac`, `usec_frac`.
 *
 * Local time is node's (the TZ environment variable, else the system's zone). stickyd's clock for
 * the request's arrival has millisecond resolution, so `usec` ends in 000.
 */
import { bytesOf } from './ascii.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAYS_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

function pad(n: number, width: number, fill = '0'): string {
  return String(n).padStart(width, fill);
}

/** `+0200` / `-0700`: the zone's offset from UTC at `d`. */
function zoneOffset(d: Date): string {
  const east = -d.getTimezoneOffset();
  const abs = Math.abs(east);
  return `${east < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

// httpd caches the formatted %t per second (request_time_cache); so does this, as text and as
// the bytes that access lines encoded straight into a batch copy (ascii.ts).
let clfSecond = Number.NaN;
let clfText = '';
let clfBytesOf: Uint8Array | null = null;

/** `[07/Dec/2026:06:24:08 +0000]` for the second `ms` falls in. */
export function clfTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== clfSecond) {
    const d = new Date(second * 1000);
    clfText = `[${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zoneOffset(d)}]`;
    clfBytesOf = null;
    clfSecond = second;
  }
  return clfText;
}

/** clfTime(ms)'s text as bytes (ASCII), made once per second. */
export function clfBytes(ms: number): Uint8Array {
  const text = clfTime(ms);
  clfBytesOf ??= bytesOf(text);
  return clfBytesOf;
}

function dayOfYear(d: Date): number {
  const start = new Date(d.getFullYear(), 0, 1);
  return Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - start.getTime()) / 86_400_000);
}

/** ISO 8601 week-based year and week number (%G, %V). */
function isoWeek(d: Date): { year: number; week: number } {
  const day = (d.getDay() + 6) % 7; // Monday = 0
  const thursday = new Date(d.getFullYear(), d.getMonth(), d.getDate() - day + 3);
  const year = thursday.getFullYear();
  const firstThursday = new Date(year, 0, 4);
  const firstDay = (firstThursday.getDay() + 6) % 7;
  const week1Monday = new Date(year, 0, 4 - firstDay);
  const week = 1 + Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate() - day).getTime() - week1Monday.getTime()) / (7 * 86_400_000));
  return { year, week };
}

/** The zone's abbreviation where Intl knows one ("UTC", "PST"), else its offset ("GMT+1"). */
function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName');
  return part?.value ?? '';
}

/**
 * strftime(3) in the C locale, as apr_strftime calls it for `%{format}t`: the conversions of
 * C99 and POSIX, glibc's `%k %l %P %s`, and the padding flags `-` (none), `_` (spaces) and `0`.
 * An unknown conversion is copied as written, as glibc does.
 */
export function strftime(format: string, d: Date): string {
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const ch = format[i]!;
    if (ch !== '%' || i === format.length - 1) {
      out += ch;
      continue;
    }
    const start = i;
    let flag = '';
    let c = format[++i]!;
    if (c === '-' || c === '_' || c === '0' || c === '^' || c === '#') {
      flag = c;
      c = format[++i] ?? '';
    }
    // E and O modifiers change nothing in the C locale.
    if (c === 'E' || c === 'O') c = format[++i] ?? '';
    const num = (n: number, width: number, fill = '0'): string => {
      if (flag === '-') return String(n);
      return pad(n, width, flag === '_' ? ' ' : flag === '0' ? '0' : fill);
    };
    const text = (s: string): string => (flag === '^' ? s.toUpperCase() : s);
    const hour12 = d.getHours() % 12 === 0 ? 12 : d.getHours() % 12;
    switch (c) {
      case 'a': out += text(DAYS[d.getDay()]!); break;
      case 'A': out += text(DAYS_LONG[d.getDay()]!); break;
      case 'b': case 'h': out += text(MONTHS[d.getMonth()]!); break;
      case 'B': out += text(MONTHS_LONG[d.getMonth()]!); break;
      case 'c': out += text(`${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad(d.getDate(), 2, ' ')} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`); break;
      case 'C': out += num(Math.floor(d.getFullYear() / 100), 2); break;
      case 'd': out += num(d.getDate(), 2); break;
      case 'D': out += `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}/${pad2(d.getFullYear() % 100)}`; break;
      case 'e': out += num(d.getDate(), 2, ' '); break;
      case 'F': out += `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`; break;
      case 'g': out += num(isoWeek(d).year % 100, 2); break;
      case 'G': out += num(isoWeek(d).year, 1); break;
      case 'H': out += num(d.getHours(), 2); break;
      case 'I': out += num(hour12, 2); break;
      case 'j': out += num(dayOfYear(d) + 1, 3); break;
      case 'k': out += num(d.getHours(), 2, ' '); break;
      case 'l': out += num(hour12, 2, ' '); break;
      case 'm': out += num(d.getMonth() + 1, 2); break;
      case 'M': out += num(d.getMinutes(), 2); break;
      case 'n': out += '\n'; break;
      case 'p': out += d.getHours() < 12 ? 'AM' : 'PM'; break;
      case 'P': out += d.getHours() < 12 ? 'am' : 'pm'; break;
      case 'r': out += `${pad2(hour12)}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getHours() < 12 ? 'AM' : 'PM'}`; break;
      case 'R': out += `${pad2(d.getHours())}:${pad2(d.getMinutes())}`; break;
      case 's': out += String(Math.floor(d.getTime() / 1000)); break;
      case 'S': out += num(d.getSeconds(), 2); break;
      case 't': out += '\t'; break;
      case 'T': out += `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`; break;
      case 'u': out += String(d.getDay() === 0 ? 7 : d.getDay()); break;
      case 'U': out += num(Math.floor((dayOfYear(d) + 7 - d.getDay()) / 7), 2); break;
      case 'V': out += num(isoWeek(d).week, 2); break;
      case 'w': out += String(d.getDay()); break;
      case 'W': out += num(Math.floor((dayOfYear(d) + 7 - ((d.getDay() + 6) % 7)) / 7), 2); break;
      case 'x': out += `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}/${pad2(d.getFullYear() % 100)}`; break;
      case 'X': out += `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`; break;
      case 'y': out += num(d.getFullYear() % 100, 2); break;
      case 'Y': out += num(d.getFullYear(), 1); break;
      case 'z': out += zoneOffset(d); break;
      case 'Z': out += text(zoneName(d)); break;
      case '%': out += '%'; break;
      default: out += format.slice(start, i + 1);
    }
  }
  return out;
}

/** How `%{…}t` writes a time (mod_log_config's TIME_FMT_*). */
export type TimeFormat =
  | { kind: 'clf'; end: boolean }
  | { kind: 'custom'; end: boolean; format: string }
  | { kind: 'sec' | 'msec' | 'usec' | 'msec_frac' | 'usec_frac'; end: boolean };

/**
 * The argument of `%{…}t` as log_request_time reads it: an optional `begin` or `end` (alone, or
 * followed by `:` and the rest), then `sec`, `msec`, `usec`, `msec_frac`, `usec_frac`, or a
 * strftime format; nothing at all is the common log format.
 */
export function parseTimeFormat(arg: string): TimeFormat {
  let end = false;
  // As in httpd: `fmt` is what the keywords are looked for in, `custom` the strftime format. A
  // prefix without ':' ("endmsec") is skipped for the keywords but stays in a custom format.
  let fmt = arg;
  let custom = arg;
  if (fmt === '') return { kind: 'clf', end };
  if (fmt.startsWith('begin')) {
    fmt = fmt.slice(5);
    if (fmt === '') return { kind: 'clf', end };
    if (fmt.startsWith(':')) custom = fmt = fmt.slice(1);
  } else if (fmt.startsWith('end')) {
    fmt = fmt.slice(3);
    if (fmt === '') return { kind: 'clf', end: true };
    if (fmt.startsWith(':')) {
      custom = fmt = fmt.slice(1);
      end = true;
    }
  }
  if (fmt.startsWith('msec')) {
    if (fmt === 'msec') return { kind: 'msec', end };
    if (fmt === 'msec_frac') return { kind: 'msec_frac', end };
  } else if (fmt.startsWith('usec')) {
    if (fmt === 'usec') return { kind: 'usec', end };
    if (fmt === 'usec_frac') return { kind: 'usec_frac', end };
  } else if (fmt === 'sec') {
    return { kind: 'sec', end };
  } else if (fmt === '') {
    return { kind: 'clf', end };
  }
  return { kind: 'custom', end, format: custom };
}

/** A time (ms since the epoch) written as `t` says. */
export function formatTime(t: TimeFormat, ms: number): string {
  switch (t.kind) {
    case 'clf':
      return clfTime(ms);
    case 'sec':
      return String(Math.floor(ms / 1000));
    case 'msec':
      return String(Math.floor(ms));
    case 'usec':
      return String(Math.floor(ms * 1000));
    case 'msec_frac':
      return pad(Math.floor(ms) % 1000, 3);
    case 'usec_frac':
      return pad(Math.floor(ms * 1000) % 1_000_000, 6);
    case 'custom':
      return strftime(t.format, new Date(Math.floor(ms / 1000) * 1000));
  }
}

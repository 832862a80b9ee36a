/**
 * The `json` access log format: one JSON object per request, the record's fields in a fixed order.
 *
 * Access lines are written by `accessLine`, not by pino: the record has a fixed shape, and pino's
 * general machinery (key loop, serializer lookups, per-call string building and its write path)
 * cost about 13 µs and 7 KiB of garbage per request on the proxy's hot path. The line is the one
 * pino wrote for the same record, byte for byte (test/proxy/access-log.test.ts compares them).
 */
import type { AccessRecord } from './record.js';

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

/**
 * The `json` access log format: one JSON object per request, the record's fields in a fixed order.
 *
 * Access lines are written by `accessLine`, not by pino: the record has a fixed shape, and pino's
 * general machinery (key loop, serializer lookups, per-call string building and its write path)
 * cost about 13 µs and 7 KiB of garbage per request on the proxy's hot path. The line is the one
 * pino wrote for the same record, byte for byte (test/proxy/access-log.test.ts compares them).
 *
 * `encodeAccessLine` writes the same bytes straight into a batch Buffer (ascii.ts), without the
 * string; `accessLine` remains the general path, for the lines it gives up on (and the reference
 * that test/log/access-encode.test.ts holds it to).
 */
import { bytesOf, NO, putAscii, putBytes, putJsonString, putNumber } from './ascii.js';
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

// The constant text of the line, as bytes once.
const OPEN = bytesOf('{"level":30,"type":"access","time":');
const CLIENT = bytesOf(',"client":');
const METHOD = bytesOf(',"method":');
const URL = bytesOf(',"url":');
const STATUS = bytesOf(',"status":');
const BYTES = bytesOf(',"bytes":');
const DURATION = bytesOf(',"duration":');
const BALANCER = bytesOf(',"balancer":');
const MEMBER = bytesOf(',"member":');
const MEMBER_ROUTE = bytesOf(',"memberRoute":');
const SESSION_ROUTE = bytesOf(',"sessionRoute":');
const STICKY_NAME = bytesOf(',"stickyName":');
const ROUTE_CHANGED_TRUE = bytesOf(',"routeChanged":true,"attempts":');
const ROUTE_CHANGED_FALSE = bytesOf(',"routeChanged":false,"attempts":');
const WORKER = bytesOf(',"worker":');
const FAILURES = bytesOf(',"failures":');
const NULL = bytesOf('null');
const CLOSE = bytesOf('}\n');

function putJsonNumber(n: number | null, into: Uint8Array, at: number): number {
  return n !== null && Number.isFinite(n) ? putNumber(n, into, at) : putBytes(NULL, into, at);
}

function putJsonNullableString(s: string | null, into: Uint8Array, at: number): number {
  return s === null ? putBytes(NULL, into, at) : putJsonString(s, into, at);
}

/**
 * accessLine(r)'s bytes written into `into` from `at`; returns where they end, or NO (ascii.ts)
 * when a field needs an escape or is not ASCII, or the line does not fit.
 */
export function encodeAccessLine(r: AccessRecord, into: Uint8Array, at: number): number {
  let p = putBytes(OPEN, into, at);
  p = putJsonString(r.time, into, p);
  p = putBytes(CLIENT, into, p);
  p = putJsonString(r.client, into, p);
  p = putBytes(METHOD, into, p);
  p = putJsonString(r.method, into, p);
  p = putBytes(URL, into, p);
  p = putJsonString(r.url, into, p);
  p = putBytes(STATUS, into, p);
  p = putJsonNumber(r.status, into, p);
  p = putBytes(BYTES, into, p);
  p = putJsonNumber(r.bytes, into, p);
  p = putBytes(DURATION, into, p);
  p = putJsonNumber(r.duration, into, p);
  p = putBytes(BALANCER, into, p);
  p = putJsonNullableString(r.balancer, into, p);
  p = putBytes(MEMBER, into, p);
  p = putJsonNullableString(r.member, into, p);
  p = putBytes(MEMBER_ROUTE, into, p);
  p = putJsonNullableString(r.memberRoute, into, p);
  p = putBytes(SESSION_ROUTE, into, p);
  p = putJsonNullableString(r.sessionRoute, into, p);
  p = putBytes(STICKY_NAME, into, p);
  p = putJsonNullableString(r.stickyName, into, p);
  p = putBytes(r.routeChanged ? ROUTE_CHANGED_TRUE : ROUTE_CHANGED_FALSE, into, p);
  p = putJsonNumber(r.attempts, into, p);
  if (r.worker !== undefined) {
    p = putBytes(WORKER, into, p);
    p = putJsonNumber(r.worker, into, p);
  }
  if (r.failures !== undefined) {
    // Rare: the general serializer, its text written if it is ASCII.
    p = putBytes(FAILURES, into, p);
    p = putAscii(JSON.stringify(r.failures), into, p);
  }
  p = putBytes(CLOSE, into, p);
  return p < 0 ? NO : p;
}

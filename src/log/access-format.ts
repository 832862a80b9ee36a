/**
 * `log.access.format`: `json` (json-line.ts), `common`, `combined`, or an Apache LogFormat string,
 * compiled once into a function from a record to its line. This is mod_log_config's
 * parse_log_string and process_item (httpd 2.4, modules/loggers/mod_log_config.c), directive for
 * directive, with mod_logio's %I %O %S:
 *
 *   %% %a %{c}a %A %b %B %{NAME}C %D %{VAR}e %f %h %{c}h %H %{Name}i %I %k %l %L %m %{note}n
 *   %{Name}o %O %p %{canonical|local|remote}p %P %{pid|tid|hextid}P %q %r %R %s %S %t %{fmt}t
 *   %T %{s|ms|us}T %u %U %v %V %X %{Name}^ti %{Name}^to
 *
 * with the modifiers: status conditions (`%400,501{User-agent}i`, `%!200,304{Referer}i`), `<` and
 * `>` (original and final request: the same request in a proxy without internal redirects), and
 * `{…}` arguments. Literal text takes `\n \r \t \\`; a LogFormat line ends with a newline.
 *
 * As in httpd: an item that has no value is written `-`, an empty value stays empty (a member
 * without route gives an empty %{BALANCER_WORKER_ROUTE}e), and values that come from the request
 * or the configuration are escaped by escapeLogItem.
 *
 * What stickyd has no counterpart for is written `-`: %l (identd), %u (no authentication), %L
 * (httpd's id of a request that logged an error), %f (httpd: the file, or proxy:URL), %{…}n
 * (notes), %{…}^to (no response trailers), environment variables other than the BALANCER_* ones
 * of apache-semantics §2.7. test/conformance/access-log.test.ts compares the rest with httpd 2.4.
 *
 * A compiled format writes a line two ways: as a string (`line`), and straight into the batch
 * Buffer as bytes (`writeTo`, ascii.ts), which the request path uses; when a value is not plain
 * ASCII, or the line does not fit, `writeTo` falls back to the string.
 */
import { threadId } from 'node:worker_threads';
import type { Socket } from 'node:net';
import type { ClientResponse } from '../proxy/client-messages.js';
import { PathError, parseRequestPath } from '../proxy/request-path.js';
import { bytesOf, putAscii, putBytes, putNumber } from './ascii.js';
import type { LineBatcher } from './batch.js';
import { escapeLogItem, putLogItem } from './escape.js';
import { accessLine, encodeAccessLine } from './json-line.js';
import type { AccessContext, AccessRecord } from './record.js';
import { clfBytes, formatTime, parseTimeFormat } from './time.js';

/** A compiled format: the line of one record, newline included. */
export type AccessFormatter = (record: AccessRecord) => string;

/** A compiled format, both ways: the line as a string, and the same bytes appended to a batch. */
export interface AccessFormat {
  readonly line: AccessFormatter;
  /** The record's line appended to `batch`: encoded in place when it can be, else as `line`'s string. */
  readonly writeTo: (record: AccessRecord, batch: LineBatcher) => void;
  /**
   * The line depends on the record's data fields only, which never change once the request is
   * over, so it may be written at the batch's hand-over (LineBatcher.defer) rather than on the
   * request path. A LogFormat may read what goes on changing on a kept-alive connection (mod_logio's
   * byte counts, %X), so its lines are written at once.
   */
  readonly deferrable: boolean;
}

/**
 * The room a line is encoded into (LineBatcher.room): a usual line fits; a longer one that does
 * not fit in what is left of the batch goes the string way, which starts a new batch.
 */
const LINE_ROOM = 1024;

/** The formats known by name (httpd's documented `common` and `combined`). */
export const NAMED_FORMATS: Readonly<Record<string, string>> = {
  common: '%h %l %u %t "%r" %>s %b',
  combined: '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
};

export class LogFormatError extends Error {
  override name = 'LogFormatError';
}

/** Bytes a request read and wrote on its connection, incl. headers (mod_logio). */
interface Io {
  in: number;
  out: number;
}

/** One directive: its value, or null for "-". */
type Item = (r: AccessRecord, io: Io | null) => string | null;

/** One directive written straight into a batch (ascii.ts): where it ends, or NO. */
type Put = (r: AccessRecord, io: Io | null, into: Uint8Array, at: number) => number;

/** A directive both ways: `put` writes the bytes of `value` (or of "-" for null). */
interface Directive {
  value: Item;
  put: Put;
}

// ---------------------------------------------------------------------------------------------
// Values

/** httpd shows IPv4 clients of a dual-stack socket as plain IPv4 (APR drops "::ffff:"). */
function plainIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * A request header, repeated lines joined with ", " (httpd merges them when it reads the request),
 * the name compared without case.
 */
function requestHeader(c: AccessContext | undefined, lower: string): string | null {
  if (c === undefined) return null;
  return headerIn(c.req.rawHeaders, lower);
}

function headerIn(raw: readonly string[] | undefined, lower: string): string | null {
  if (raw === undefined) return null;
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lower.length && name.toLowerCase() === lower) value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}

/** The response head node wrote ("HTTP/1.1 200 OK\r\nName: value\r\n…\r\n\r\n"), or null. */
function responseHead(c: AccessContext | undefined): string | null {
  const res = c?.res as { _header?: string | null } | null | undefined;
  return typeof res?._header === 'string' ? res._header : null;
}

/** Every value of a response header in the head, in order. */
function responseValues(head: string, lower: string): string[] {
  const values: string[] = [];
  let at = head.indexOf('\r\n') + 2;
  while (at > 1 && at < head.length) {
    const end = head.indexOf('\r\n', at);
    if (end < 0 || end === at) break;
    const colon = head.indexOf(':', at);
    if (colon > at && colon < end && colon - at === lower.length && head.slice(at, colon).toLowerCase() === lower) {
      values.push(head.slice(colon + 1, end).trim());
    }
    at = end + 2;
  }
  return values;
}

/**
 * A response header as httpd's r->headers_out holds it when the request is logged: Date and
 * Server are written by the header filter and never stored there (a member's are dropped), nor is
 * Keep-Alive; Connection is there only as the "close" that ap_set_keepalive adds. Content-Type
 * is the media type without parameters (r->content_type, ap_field_noparam); Set-Cookie lines are
 * joined with ", "; any other header is its first value. Checked against httpd 2.4.71
 * (test/conformance/access-log.test.ts).
 */
function responseHeader(c: AccessContext | undefined, lower: string): string | null {
  const head = responseHead(c);
  if (head === null) return null;
  switch (lower) {
    case 'date':
    case 'server':
    case 'keep-alive':
      return null;
    case 'connection':
      return responseValues(head, lower).some((v) => /^close$/i.test(v)) ? 'close' : null;
    case 'content-type': {
      const v = responseValues(head, lower)[0];
      if (v === undefined) return null;
      const semi = v.indexOf(';');
      return semi < 0 ? v : v.slice(0, semi).trimEnd();
    }
    case 'set-cookie': {
      const all = responseValues(head, lower);
      return all.length === 0 ? null : all.join(', ');
    }
    default:
      return responseValues(head, lower)[0] ?? null;
  }
}

/**
 * mod_log_config's log_cookie: the Cookie header split at ";", each part at its first "=", names
 * compared without case, white space around name and value dropped; a cookie without a value
 * does not count.
 */
function cookie(c: AccessContext | undefined, name: string): string | null {
  const header = requestHeader(c, 'cookie');
  if (header === null) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    // apr_strtok skips leading separators: "==a=b" names "a".
    let lead = 0;
    while (part[lead] === '=') lead++;
    const nameEnd = part.indexOf('=', lead);
    if (nameEnd < 0) continue;
    const n = part.slice(lead, nameEnd).replace(/^[ \t]+/, '').replace(/\s+$/, '');
    const v = part.slice(nameEnd + 1);
    if (n === '' || v === '') continue;
    if (n.toLowerCase() === name.toLowerCase()) return v.replace(/^[ \t]+/, '').replace(/\s+$/, '');
  }
  return null;
}

/** `%V`: the Host header's host (lower-cased, no port, no final dot), else ServerName. */
function hostName(r: AccessRecord): string | null {
  const c = r.context;
  if (c === undefined) return null;
  const host = requestHeader(c, 'host');
  if (host === null || host === '') return c.client.serverName;
  let h = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h.toLowerCase();
}

/** `%p` canonical: the port of ServerName when it has one, else the scheme's default (80). */
function canonicalPort(serverName: string): string {
  const m = /^(?:\[[^\]]*\]|[^:]*):(\d+)$/.exec(serverName);
  return m ? String(Number(m[1])) : '80';
}

/** The request line; a password in an absolute-form target shows as XXXXXXXX, as httpd writes it. */
function requestLine(r: AccessRecord): string {
  return `${r.method} ${requestTarget(r.url)} HTTP/${httpVersion(r)}`;
}

function requestTarget(url: string): string {
  // Only an absolute-form target can hold a password.
  return url.charCodeAt(0) === 0x2f ? url : url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1XXXXXXXX@');
}

function httpVersion(r: AccessRecord): string {
  return r.context === undefined ? '1.1' : r.context.req.httpVersion;
}

/** r->uri: the path %-decoded and normalized (request-path.ts), or as sent when it is not a valid path. */
function uriPath(url: string): string {
  try {
    return parseRequestPath(url).decoded;
  } catch (err) {
    if (!(err instanceof PathError)) throw err;
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }
}

/** The BALANCER_* variables of apache-semantics §2.7 (none for a direct worker); other names are unset. */
function envVar(r: AccessRecord, name: string): string | null {
  if (r.context?.implicit === true) return null;
  switch (name.toUpperCase()) {
    case 'BALANCER_NAME':
      return r.member === null ? null : r.balancer;
    case 'BALANCER_WORKER_NAME':
      return r.member;
    case 'BALANCER_WORKER_ROUTE':
      return r.memberRoute;
    case 'BALANCER_SESSION_STICKY':
      return r.stickyName;
    case 'BALANCER_SESSION_ROUTE':
      return r.sessionRoute;
    case 'BALANCER_ROUTE_CHANGED':
      return r.routeChanged ? '1' : null;
    default:
      return null;
  }
}

/** Bytes per socket up to the end of the previous request on it (responses on a connection finish in order). */
const ioSeen = new WeakMap<Socket, Io>();

/**
 * mod_logio's counts for this request: what the connection read and wrote since the previous
 * request on it finished. Exact for clients that wait for each response (almost all); a client
 * that pipelines has the next request's bytes counted where they arrived.
 */
function takeIo(c: AccessContext | undefined): Io | null {
  const socket = c?.req.socket;
  if (socket === undefined || socket === null) return null;
  const now = { in: socket.bytesRead, out: socket.bytesWritten };
  const before = ioSeen.get(socket);
  ioSeen.set(socket, now);
  return before === undefined ? now : { in: now.in - before.in, out: now.out - before.out };
}

/**
 * The connection stays open after this response: node's decision (the request's Connection, the
 * response's Connection: close, MaxKeepAliveRequests in proxy/server.ts). `_last` is node's own
 * "close after this response", set when a Connection: close header was written.
 */
function keptAlive(res: ClientResponse | null): boolean {
  if (res === null) return false;
  return res.shouldKeepAlive && (res as { _last?: boolean })._last !== true;
}

function startMs(r: AccessRecord): number {
  return r.context?.startMs ?? Date.parse(r.time);
}

// ---------------------------------------------------------------------------------------------
// Directives

const escaped = (v: string | null): string | null => (v === null ? null : escapeLogItem(v));

/** The item for directive `d` (one letter, or ^ti / ^to) with argument `arg`, or null when unknown. */
function directive(d: string, arg: string): Item | null {
  const lower = arg.toLowerCase();
  switch (d) {
    case 'a':
      return (r) => plainIp(r.client);
    case 'A':
      return (r) => (r.context === undefined ? null : plainIp(r.context.client.localAddress));
    case 'b':
      return (r) => (r.bytes > 0 ? String(r.bytes) : null);
    case 'B':
      return (r) => (r.bytes > 0 ? String(r.bytes) : '0');
    case 'C':
      return (r) => escaped(cookie(r.context, arg));
    case 'D':
      return (r) => String(Math.round(r.duration * 1000));
    case 'e':
      return (r) => escaped(envVar(r, arg));
    case 'f':
    case 'l':
    case 'L':
    case 'n':
    case 'u':
    case '^to':
      return () => null;
    case 'h':
      return (r) => escapeLogItem(plainIp(r.client));
    case 'H':
      return (r) => (r.context === undefined ? null : escapeLogItem(`HTTP/${r.context.req.httpVersion}`));
    case 'i':
      return (r) => escaped(requestHeader(r.context, lower));
    case 'I':
      return (_r, io) => (io === null ? null : String(io.in));
    case 'O':
      return (_r, io) => (io === null ? null : String(io.out));
    case 'S':
      return (_r, io) => (io === null ? null : String(io.in + io.out));
    case 'k':
      // httpd counts a request into c->keepalives only when its response keeps the connection
      // open, and logs that count minus one: the requests before this one, one fewer when this
      // one closes the connection.
      return (r) => {
        const c = r.context;
        if (c === undefined) return null;
        return String(keptAlive(c.res) ? c.keepalives : Math.max(c.keepalives - 1, 0));
      };
    case 'm':
      return (r) => escapeLogItem(r.method);
    case 'o':
      return (r) => escaped(responseHeader(r.context, lower));
    case 'p':
      if (lower === '' || lower === 'canonical') return (r) => (r.context === undefined ? null : canonicalPort(r.context.client.serverName));
      if (lower === 'local') return (r) => (r.context === undefined ? null : String(r.context.client.localPort));
      if (lower === 'remote') return (r) => (r.context === undefined ? null : String(r.context.client.remotePort));
      return () => arg; // httpd writes a bogus argument itself
    case 'P':
      if (lower === '' || lower === 'pid') return () => String(process.pid);
      if (lower === 'tid') return () => String(threadId);
      if (lower === 'hextid') return () => threadId.toString(16);
      return () => arg;
    case 'q':
      return (r) => {
        const q = r.url.indexOf('?');
        return q < 0 ? '' : `?${escapeLogItem(r.url.slice(q + 1))}`;
      };
    case 'r':
      return (r) => escapeLogItem(requestLine(r));
    case 'R':
      return (r) => (r.balancer === null ? null : 'proxy-server');
    case 's':
      return (r) => (r.status === null || r.status <= 0 ? null : String(r.status));
    case 't': {
      const t = parseTimeFormat(arg);
      return t.end ? (r) => formatTime(t, startMs(r) + r.duration) : (r) => formatTime(t, startMs(r));
    }
    case 'T':
      if (lower === '' || lower === 's') return (r) => String(Math.floor(r.duration / 1000));
      if (lower === 'ms') return (r) => String(Math.floor(r.duration));
      if (lower === 'us') return (r) => String(Math.round(r.duration * 1000));
      return () => arg;
    case 'U':
      return (r) => escapeLogItem(uriPath(r.url));
    case 'v':
      return (r) => (r.context === undefined ? null : escapeLogItem(r.context.client.serverName));
    case 'V':
      return (r) => escaped(hostName(r));
    case 'X':
      return (r) => {
        const res = r.context?.res;
        if (res === undefined || res === null) return '-';
        if (!res.writableFinished) return 'X';
        return keptAlive(res) ? '+' : '-';
      };
    case '^ti':
      return (r) => escaped(headerIn(r.context?.req.rawTrailers, lower));
    default:
      return null;
  }
}

const DASH = bytesOf('-');
const SPACE = bytesOf(' ');
const SPACE_HTTP = bytesOf(' HTTP/');

/**
 * The directives of the usual formats (common, combined, BALANCER_*, %D) written as bytes with no
 * string in between: the same text as `directive`'s value, escaped by putLogItem. Any other
 * directive writes its value's text (`putValue`).
 */
function directiveBytes(d: string, arg: string, value: Item): Put {
  const lower = arg.toLowerCase();
  switch (d) {
    case 'a':
      return (r, _x, into, at) => putAscii(plainIp(r.client), into, at);
    case 'b':
      return (r, _x, into, at) => (r.bytes > 0 ? putNumber(r.bytes, into, at) : putBytes(DASH, into, at));
    case 'D':
      return (r, _x, into, at) => putNumber(Math.round(r.duration * 1000), into, at);
    case 'e':
      return (r, _x, into, at) => putItem(envVar(r, arg), into, at);
    case 'h':
      return (r, _x, into, at) => putLogItem(plainIp(r.client), into, at);
    case 'i':
      return (r, _x, into, at) => putItem(requestHeader(r.context, lower), into, at);
    case 'l':
    case 'u':
      return (_r, _x, into, at) => putBytes(DASH, into, at);
    case 'm':
      return (r, _x, into, at) => putLogItem(r.method, into, at);
    case 'r':
      // escapeLogItem escapes character by character: the pieces one by one are the line escaped.
      return (r, _x, into, at) => {
        let p = putLogItem(r.method, into, at);
        p = putBytes(SPACE, into, p);
        p = putLogItem(requestTarget(r.url), into, p);
        p = putBytes(SPACE_HTTP, into, p);
        return putLogItem(httpVersion(r), into, p);
      };
    case 's':
      return (r, _x, into, at) => (r.status === null || r.status <= 0 ? putBytes(DASH, into, at) : putNumber(r.status, into, at));
    case 't': {
      const t = parseTimeFormat(arg);
      if (t.kind === 'clf' && !t.end) return (r, _x, into, at) => putBytes(clfBytes(startMs(r)), into, at);
      return putValue(value);
    }
    default:
      return putValue(value);
  }
}

/** An escaped item's value, "-" for none. */
function putItem(v: string | null, into: Uint8Array, at: number): number {
  return v === null ? putBytes(DASH, into, at) : putLogItem(v, into, at);
}

/** A directive's value as its text ("-" for none). */
function putValue(value: Item): Put {
  return (r, x, into, at) => {
    const v = value(r, x);
    return v === null ? putBytes(DASH, into, at) : putAscii(v, into, at);
  };
}

const TWO_CHAR = new Set(['^ti', '^to']);

// ---------------------------------------------------------------------------------------------
// Parsing (parse_log_item, parse_log_misc_string)

interface Parsed {
  /** Directives, and literal text as strings (adjacent literals joined). */
  items: Array<Directive | string>;
  io: boolean;
}

/** Literal text up to the next "%", with httpd's backslash escapes. */
function literal(format: string, from: number): { text: string; next: number } {
  let text = '';
  let i = from;
  while (i < format.length && format[i] !== '%') {
    if (format[i] !== '\\') {
      text += format[i++];
      continue;
    }
    const n = format[i + 1];
    if (n === '\\') text += '\\';
    else if (n === 'r') text += '\r';
    else if (n === 'n') text += '\n';
    else if (n === 't') text += '\t';
    else {
      // Copied verbatim; the next character is read as usual.
      text += '\\';
      i += 1;
      continue;
    }
    i += 2;
  }
  return { text, next: i };
}

function parse(format: string): Parsed {
  const items: Array<Directive | string> = [];
  const text = (t: string): void => {
    const last = items.length - 1;
    if (last >= 0 && typeof items[last] === 'string') items[last] += t;
    else items.push(t);
  };
  let io = false;
  let i = 0;
  while (i < format.length) {
    if (format[i] !== '%') {
      const lit = literal(format, i);
      text(lit.text);
      i = lit.next;
      continue;
    }
    const start = i;
    i++;
    if (format[i] === '%') {
      text('%');
      i++;
      continue;
    }
    let negate = false;
    let arg = '';
    const conditions: number[] = [];
    let item: Item | null = null;
    let put: Put | null = null;
    while (i < format.length) {
      const ch = format[i]!;
      if (ch === '!') {
        negate = !negate;
        i++;
      } else if (ch === '<' || ch === '>' || ch === ',') {
        i++;
      } else if (ch === '{') {
        const close = format.indexOf('}', i + 1);
        arg = format.slice(i + 1, close < 0 ? format.length : close);
        i = close < 0 ? format.length : close + 1;
      } else if (ch >= '0' && ch <= '9') {
        let n = 0;
        while (i < format.length && format[i]! >= '0' && format[i]! <= '9') n = n * 10 + Number(format[i++]);
        conditions.push(n);
      } else {
        let d = ch;
        if (ch === '^' && TWO_CHAR.has(format.slice(i, i + 3))) d = format.slice(i, i + 3);
        item = directive(d, arg);
        if (item === null) throw new LogFormatError(`unrecognized LogFormat directive %${ch} (at character ${start + 1})`);
        put = directiveBytes(d, arg, item);
        if (d === 'I' || d === 'O' || d === 'S') io = true;
        i += d.length;
        break;
      }
    }
    if (item === null || put === null) throw new LogFormatError(`the LogFormat ends inside the directive that starts at character ${start + 1} (httpd: "Ran off end of LogFormat parsing args to some directive")`);
    if (conditions.length > 0) {
      const get = item;
      const write = put;
      const inList = (status: number | null): boolean => status !== null && conditions.includes(status);
      // Logged when the status is in the list, or (negated) when it is not.
      const logged = (r: AccessRecord): boolean => inList(r.status) !== negate;
      item = (r, x) => (logged(r) ? get(r, x) : null);
      put = (r, x, into, at) => (logged(r) ? write(r, x, into, at) : putBytes(DASH, into, at));
    }
    items.push({ value: item, put });
  }
  text('\n');
  return { items, io };
}

/** Compile an Apache LogFormat string. Throws LogFormatError with what is wrong. */
export function compileLogFormat(format: string): AccessFormatter {
  return compile(format).line;
}

function compile(format: string): AccessFormat {
  const { items, io } = parse(format);
  const n = items.length;
  // The literals as their UTF-8 bytes, for writeTo.
  const parts = items.map((item) => (typeof item === 'string' ? bytesOf(item) : item.put));
  const lineOf = (r: AccessRecord, x: Io | null): string => {
    let line = '';
    for (let k = 0; k < n; k++) {
      const item = items[k]!;
      if (typeof item === 'string') {
        line += item;
      } else {
        const v = item.value(r, x);
        line += v === null ? '-' : v;
      }
    }
    return line;
  };
  const encode = (r: AccessRecord, x: Io | null, into: Uint8Array, at: number): number => {
    let p = at;
    for (let k = 0; k < n; k++) {
      const part = parts[k]!;
      p = part instanceof Uint8Array ? putBytes(part, into, p) : part(r, x, into, p);
    }
    return p;
  };
  return {
    // mod_logio's counts are taken once per request (takeIo moves the connection's mark).
    line: (r) => lineOf(r, io ? takeIo(r.context) : null),
    deferrable: false,
    writeTo: (r, batch) => {
      const x = io ? takeIo(r.context) : null;
      const end = encode(r, x, batch.room(LINE_ROOM), batch.end);
      if (end < 0) batch.write(lineOf(r, x));
      else batch.commit(end);
    },
  };
}

/** The `json` format (json-line.ts). */
const JSON_FORMAT: AccessFormat = {
  line: accessLine,
  deferrable: true,
  writeTo: (r, batch) => {
    const end = encodeAccessLine(r, batch.room(LINE_ROOM), batch.end);
    if (end < 0) batch.write(accessLine(r));
    else batch.commit(end);
  },
};

/** Why `spec` is not a usable `log.access.format`, or null when it is. */
export function accessFormatProblem(spec: string): string | null {
  if (spec === 'json' || Object.hasOwn(NAMED_FORMATS, spec)) return null;
  if (!spec.includes('%')) {
    return `must be json, common, combined or an Apache LogFormat string with % directives (got "${spec}")`;
  }
  try {
    parse(spec);
    return null;
  } catch (err) {
    if (err instanceof LogFormatError) return err.message;
    throw err;
  }
}

const compiled = new Map<string, AccessFormat>();

/**
 * The format for a `log.access.format` value (json, common, combined or a LogFormat string),
 * compiled once per value and thread. Throws LogFormatError for a format that does not compile
 * (the configuration loader has refused it already).
 */
export function accessFormat(spec: string): AccessFormat {
  let f = compiled.get(spec);
  if (f === undefined) {
    f = spec === 'json' ? JSON_FORMAT : compile(Object.hasOwn(NAMED_FORMATS, spec) ? NAMED_FORMATS[spec]! : spec);
    compiled.set(spec, f);
  }
  return f;
}

/** The line of a `log.access.format` value as a string (accessFormat's `line`). */
export function accessFormatter(spec: string): AccessFormatter {
  return accessFormat(spec).line;
}

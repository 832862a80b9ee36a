/**
 * THE table of the balancer file: every key with its type, default, range, one-line doc and
 * Apache equivalent. Validation and defaults (load.ts), the JSON Schema (json-schema.ts →
 * config/stickyd.schema.json) and the key reference (reference.ts → README) are all driven by it,
 * so add or change a key here and nowhere else.
 *
 * Ranges and defaults are Apache's (apache-semantics §7, §8); where stickyd differs, the doc line says so.
 */
import net from 'node:net';
import os from 'node:os';
import { applyStatus, Flag, StatusSyntaxError } from '../balancer/flags.js';
import { MAX_WORKERS } from '../balancer/scoreboard.js';
import { hcExprProblem } from '../health/expr.js';
import { accessFormatProblem } from '../log/access-format.js';
import {
  bool,
  defaultsOf,
  describeValue,
  duration,
  either,
  int,
  lengthProblem,
  list,
  map,
  nullable,
  oneOf,
  optional,
  Reject,
  required,
  scalar,
  section,
  str,
  withDefault,
  type Invalid,
  type ValueType,
} from './kinds.js';
import { DEFAULT_CIPHERSUITE, REFUSED_VERSIONS, TLS_VERSIONS } from '../tls/protocols.js';
import { DEFAULT_TICKET_ROTATION_MS } from '../tls/tickets.js';
import { formatReadTimeoutStage, parseReadTimeoutStage, READ_TIMEOUT_HINT, ReadTimeoutSyntaxError, type ReadTimeoutStage } from './request-read-timeout.js';
import type { CompressionAlgorithm, ListenProtocol, StickySessionConfig } from './types.js';
import { parseBalancerUrl, parseDirectUrl, parseMemberUrl, normalizeReverseUrl, UrlError, type MemberAddress } from './url.js';
import { MAX_ROUTE_BYTES, ROUTE_PATTERN, routeProblem } from './route.js';
import { normalizeHostName } from './host-name.js';

// ---------------------------------------------------------------------------------------------
// Value types specific to this file

function ipAddress(): ValueType<string> {
  return str({
    summary: 'IP address',
    check: (s) => (net.isIP(s) ? null : `must be an IP address such as 0.0.0.0, 127.0.0.1 or :: (got "${s}")`),
  });
}

/** A member `route` or `redirect`: the rule the balancer-manager and the API apply too (route.ts). */
function routeText(): ValueType<string> {
  return str({ summary: `text (≤ ${MAX_ROUTE_BYTES} chars)`, maxLength: MAX_ROUTE_BYTES, pattern: ROUTE_PATTERN, check: routeProblem });
}

/** Cookie names are RFC 6265 tokens. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const TOKEN_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";

function cookieName(): ValueType<string> {
  return str({
    summary: 'cookie name',
    minLength: 1,
    pattern: TOKEN_PATTERN,
    check: (s) => (TOKEN.test(s) ? null : `"${s}" is not a valid cookie name (letters, digits and !#$%&'*+-.^_\`|~ only)`),
  });
}

/** A file name (certificates, keys, the pid file …), resolved against the balancer file's directory by the loader. */
function filePath(): ValueType<string> {
  return str({ summary: 'file path', minLength: 1, check: (s) => (s.includes('\0') ? 'must not contain a NUL character' : null) });
}

/** A log file: a file name as above, and never Apache's piped log. */
function logFilePath(): ValueType<string> {
  return str({ summary: 'file path', minLength: 1, check: (s) => (s.includes('\0') ? 'must not contain a NUL character' : /^\s*\|/.test(s) ? 'piped logs ("|command") are not supported: name a file (logrotate rotates it with SIGUSR1), or leave it out for stdout' : null) });
}

/** A URL path prefix as ProxyPass takes it. */
function urlPath(): ValueType<string> {
  return str({
    summary: 'URL path',
    minLength: 1,
    pattern: '^/\\S*$',
    check: (s) => (!s.startsWith('/') ? `must be a URL path starting with "/" (got "${s}")` : /\s/.test(s) ? `must not contain white space (got "${s}")` : null),
  });
}

/**
 * `stickysession=C` or `C|P` (apache-semantics §2.1, `P:373-389`): cookie C, URL parameter P (= C when no `|`),
 * split at the first `|`; the whole value shorter than 64 characters (Apache truncates silently —
 * we refuse). Empty = no stickiness.
 */
function stickySession(): ValueType<StickySessionConfig | null> {
  return scalar({
    expected: 'a cookie name, or COOKIE|PARAM',
    summary: 'C or C|P (< 64 chars)',
    json: { type: 'string', maxLength: 63, pattern: `^$|^[!#$%&'*+.^_\`~0-9A-Za-z-]+(\\|[!#$%&'*+.^_\`|~0-9A-Za-z-]+)?$` },
    parse(v) {
      if (v === null || v === '') return null;
      if (typeof v !== 'string') return new Reject(`expected a cookie name, or COOKIE|PARAM (got ${describeValue(v)})`);
      if (Buffer.byteLength(v) >= 64) return new Reject(`must be shorter than 64 characters (got ${Buffer.byteLength(v)})`);
      const bar = v.indexOf('|');
      const cookie = bar < 0 ? v : v.slice(0, bar);
      const param = bar < 0 ? v : v.slice(bar + 1);
      for (const name of [cookie, param]) {
        if (!TOKEN.test(name)) {
          return new Reject(name === '' ? `expected COOKIE|PARAM with both names present (got "${v}")` : `"${name}" is not a valid cookie or parameter name`);
        }
      }
      return { cookie, param };
    },
    toYaml: (s) => (s ? (s.cookie === s.param ? s.cookie : `${s.cookie}|${s.param}`) : ''),
  });
}

/** `stickysessionsep`: one character, or Off (apache-semantics §2.1, `P:390-403`); YAML `false` also means Off. */
function stickySessionSep(): ValueType<string | null> {
  return scalar({
    expected: 'one character or Off',
    summary: 'one character, or Off',
    json: { anyOf: [{ const: false }, { type: 'string', minLength: 1, maxLength: 1 }, { type: 'string', pattern: '^[Oo][Ff][Ff]$' }] },
    parse(v) {
      if (v === false) return null;
      if (typeof v === 'string' && /^off$/i.test(v)) return null;
      if (typeof v === 'string' && [...v].length === 1) return v;
      return new Reject(`must be one character or Off (got ${describeValue(v)})`);
    },
    toYaml: (v) => v ?? 'Off',
  });
}

/**
 * `nonce` (apache-semantics §6): `None` (any case) makes the manager read-only for the balancer and is stored
 * as ""; otherwise the text, at most 36 characters (Apache's field holds a formatted UUID).
 */
function nonce(): ValueType<string> {
  return scalar({
    expected: 'text, or None',
    summary: 'text, or None',
    json: { type: 'string', maxLength: 36 },
    parse(v) {
      if (typeof v !== 'string') return new Reject(`expected text or None (got ${describeValue(v)}; quote it to make it text)`);
      if (/^none$/i.test(v)) return '';
      const tooLong = lengthProblem(v, 36);
      if (tooLong) return new Reject(tooLong);
      return v;
    },
    toYaml: (v) => (v === '' ? 'None' : v),
  });
}

/** `status` in Apache's flag syntax; checked by the same parser the balancer uses (apache-semantics §5). */
function statusFlags(): ValueType<string> {
  return str({
    summary: 'flags, e.g. +H',
    pattern: '^[-+IiNnDdSsEeHhRrCc]*$',
    check(s) {
      try {
        applyStatus(s, Flag.INITIALIZED);
        return null;
      } catch (e) {
        if (e instanceof StatusSyntaxError) return e.message;
        throw e;
      }
    },
  });
}

/**
 * `loadfactor` (apache-semantics §7.2): a decimal, lbfactor = trunc(v × 100), which must lie in 100..10000 —
 * the check Apache makes, so 100.005 is accepted (lbfactor 10000) and 0.999 refused.
 */
function loadFactor(): ValueType<number> {
  return scalar({
    expected: 'a number between 1 and 100',
    summary: 'decimal 1..100',
    json: { type: 'number', minimum: 1, exclusiveMaximum: 100.01 },
    parse(v) {
      if (typeof v !== 'number' || !Number.isFinite(v)) return new Reject(`expected a number between 1 and 100 (got ${describeValue(v)})`);
      const lbfactor = Math.trunc(v * 100);
      if (lbfactor < 100 || lbfactor > 10000) return new Reject(`must be between 1 and 100 (got ${v})`);
      return v;
    },
  });
}

/**
 * `workers: auto | N`: how many worker threads serve requests (nginx's worker_processes, HAProxy's
 * nbthread). auto is resolved when the daemon starts (src/workers/count.ts).
 */
function workerCount(): ValueType<number | 'auto'> {
  return scalar({
    expected: `auto or an integer between 1 and ${MAX_WORKERS}`,
    summary: `auto | integer 1..${MAX_WORKERS}`,
    json: { anyOf: [{ type: 'integer', minimum: 1, maximum: MAX_WORKERS }, { type: 'string', pattern: '^[Aa][Uu][Tt][Oo]$' }] },
    parse(v) {
      if (typeof v === 'string' && v.toLowerCase() === 'auto') return 'auto';
      if (typeof v !== 'number' || !Number.isInteger(v)) return new Reject(`expected auto or an integer between 1 and ${MAX_WORKERS} (got ${describeValue(v)})`);
      if (v < 1 || v > MAX_WORKERS) return new Reject(`must be auto or between 1 and ${MAX_WORKERS} (got ${v})`);
      return v;
    },
  });
}

/** `failonstatus: "500,503"` or `"500 503"` as Apache writes it (`P:` failonstatus: split on commas and spaces). */
function statusCodeText(): ValueType<number[]> {
  return scalar({
    expected: 'HTTP status codes',
    summary: 'codes as text',
    json: { anyOf: [{ type: 'integer', minimum: 100, maximum: 599 }, { type: 'string', pattern: '^[\\s,]*(\\d{3}([\\s,]+\\d{3})*)?[\\s,]*$' }] },
    parse(v) {
      const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : null;
      if (text === null) return new Reject(`expected a list of HTTP status codes (got ${describeValue(v)})`);
      const codes: number[] = [];
      for (const word of text.split(/[\s,]+/).filter(Boolean)) {
        const code = /^\d+$/.test(word) ? Number(word) : NaN;
        if (!(code >= 100 && code <= 599)) return new Reject(`must be HTTP status codes between 100 and 599 (got "${word}")`);
        codes.push(code);
      }
      return codes;
    },
  });
}

function statusCode(): ValueType<number> {
  return int(100, 599);
}

function memberUrl(): ValueType<MemberAddress> {
  return scalar({
    expected: 'a member URL',
    summary: 'http://, https:// or ajp:// URL',
    json: { type: 'string', pattern: '^([Hh][Tt][Tt][Pp][Ss]?|[Aa][Jj][Pp])://' },
    parse(v) {
      if (typeof v !== 'string') return new Reject(`expected a URL such as http://host:port, https://host or ajp://host:port (got ${describeValue(v)})`);
      try {
        return parseMemberUrl(v);
      } catch (e) {
        if (e instanceof UrlError) return new Reject(e.message);
        throw e;
      }
    },
    toYaml: (a) => a.url,
  });
}

/** A stage of RequestReadTimeout in Apache's syntax: `20-40,MinRate=500`, `20,MinRate=500`, `0`. */
function readTimeoutStage(): ValueType<ReadTimeoutStage> {
  return scalar({
    expected: READ_TIMEOUT_HINT,
    summary: 'timeout[-max][,MinRate=bytes/s]',
    json: { anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: '^\\s*[^,\\s-][^,-]*(-[^,]+)?(,\\s*[Mm][Ii][Nn][Rr][Aa][Tt][Ee]\\s*=\\s*\\d+)?\\s*$' }] },
    parse(v) {
      if (typeof v !== 'string' && typeof v !== 'number') return new Reject(`expected ${READ_TIMEOUT_HINT} (got ${describeValue(v)})`);
      try {
        return parseReadTimeoutStage(v);
      } catch (e) {
        if (e instanceof ReadTimeoutSyntaxError) return new Reject(e.message);
        throw e;
      }
    },
    toYaml: formatReadTimeoutStage,
  });
}

/** Where a `proxypass` rule sends requests. */
export type ProxyTarget =
  | { kind: 'exclude' }
  | { kind: 'balancer'; name: string; path: string; written: string }
  | { kind: 'direct'; member: MemberAddress; path: string; written: string };

function proxyTarget(): ValueType<ProxyTarget> {
  return scalar({
    expected: '"!", balancer://name[/path] or an http://, https:// or ajp:// URL',
    summary: '!, balancer://name/path or URL',
    json: { type: 'string', pattern: '^(!|[Bb][Aa][Ll][Aa][Nn][Cc][Ee][Rr]://.+|([Hh][Tt][Tt][Pp][Ss]?|[Aa][Jj][Pp])://.+)$' },
    parse(v) {
      if (typeof v !== 'string' || v.trim() === '') {
        return new Reject(`expected "!", balancer://name[/path] or an http://, https:// or ajp:// URL (got ${describeValue(v)})`);
      }
      if (v.trim() === '!') return { kind: 'exclude' };
      try {
        const b = parseBalancerUrl(v);
        if (b) return { kind: 'balancer', name: b.name, path: b.path, written: v.trim() };
        const d = parseDirectUrl(v);
        return { kind: 'direct', member: d.member, path: d.path, written: v.trim() };
      } catch (e) {
        if (e instanceof UrlError) return new Reject(e.message.replace(/^scheme must be/, 'must be "!", balancer://name or'));
        throw e;
      }
    },
    toYaml: (t) => (t.kind === 'exclude' ? '!' : t.written),
  });
}

/** A `proxypassreverse` url: `balancer://name[/path]`, or a plain URL compared as text. */
export type ReverseTarget = { kind: 'balancer'; name: string; path: string } | { kind: 'url'; url: string };

function reverseTarget(): ValueType<ReverseTarget> {
  return scalar({
    expected: 'balancer://name[/path] or a URL',
    summary: 'balancer://name or URL',
    json: { type: 'string', pattern: '^([Bb][Aa][Ll][Aa][Nn][Cc][Ee][Rr]|[Hh][Tt][Tt][Pp][Ss]?|[Aa][Jj][Pp])://.+$' },
    parse(v) {
      if (typeof v !== 'string') return new Reject(`expected balancer://name[/path] or a URL (got ${describeValue(v)})`);
      try {
        const b = parseBalancerUrl(v);
        return b ? { kind: 'balancer', name: b.name, path: b.path } : { kind: 'url', url: normalizeReverseUrl(v) };
      } catch (e) {
        if (e instanceof UrlError) return new Reject(e.message.replace(/^scheme must be/, 'must be balancer://name or'));
        throw e;
      }
    },
  });
}

/** The shortest admin token accepted: 16 characters, e.g. `openssl rand -hex 32` gives 64. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * `admin.token`: "" (no token; the loader allows that on loopback only), or a secret of at least
 * MIN_TOKEN_LENGTH visible ASCII characters. White space around a token is almost always a mistake
 * (a stray space or newline from an env file), and a token must survive being typed into an
 * `Authorization` header or a browser's password prompt. `${VAR}` values are checked after
 * expansion, like everything else. Messages never repeat the token.
 */
function adminToken(): ValueType<string> {
  const hint = 'e.g. the output of `openssl rand -hex 32`, from the environment: token: ${STICKYD_ADMIN_TOKEN}';
  return scalar({
    expected: 'a secret token',
    summary: `"" or ≥ ${MIN_TOKEN_LENGTH} visible ASCII chars`,
    json: { type: 'string', pattern: `^([!-~]{${MIN_TOKEN_LENGTH},})?$` },
    parse(v) {
      if (v === null) return '';
      if (typeof v !== 'string') return new Reject(`expected a secret token as text of at least ${MIN_TOKEN_LENGTH} characters (got a ${typeof v}; quote it to make it text)`);
      if (v === '') return '';
      const bad = /[^!-~]/.exec(v);
      if (bad) {
        const code = bad[0].codePointAt(0)!;
        const what = /\s/.test(bad[0]) ? 'white space' : code < 0x20 || (code >= 0x7f && code <= 0x9f) ? 'a control character' : 'a non-ASCII character';
        const where = bad.index === 0 ? 'at the start' : bad.index === v.length - 1 ? 'at the end' : `at position ${bad.index + 1}`;
        return new Reject(`must be visible ASCII characters only, without white space (it has ${what} ${where})`);
      }
      if (v.length < MIN_TOKEN_LENGTH) return new Reject(`must be at least ${MIN_TOKEN_LENGTH} characters long, or it can be guessed (got ${v.length}); ${hint}`);
      return v;
    },
  });
}

/**
 * One entry of `admin.allowedhosts`: a host name or IP address as a browser would put it in the
 * Host header, without scheme, port or path (any port is accepted), or `*` for any Host. Stored
 * normalised (host-name.ts) so the listener compares like with like.
 */
function allowedHost(): ValueType<string> {
  return scalar({
    expected: 'a host name or IP address',
    summary: 'host name, IP address or *',
    json: { type: 'string', pattern: '^(\\*|[A-Za-z0-9._-]+|\\[?[0-9A-Fa-f:.]+\\]?)$' },
    parse(v) {
      if (typeof v !== 'string' || v === '') return new Reject(`expected a host name or IP address such as admin.example.com or 10.0.0.5 (got ${describeValue(v)})`);
      if (v === '*') return v;
      const bare = /^\[(.*)\]$/.exec(v)?.[1] ?? v;
      const name = net.isIP(bare) || /^[A-Za-z0-9._-]+$/.test(v) ? normalizeHostName(bare) : null;
      if (name === null || name === '') {
        return new Reject(`"${v}" is not a host name or IP address: give the name alone, without scheme, port or path (any port is accepted), or "*" for any host`);
      }
      return name;
    },
  });
}

/** Balancer names go into `balancer://name` URLs, the manager and metrics labels. */
const BALANCER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkBalancerName(name: string): string | null {
  if (!BALANCER_NAME.test(name)) return `balancer name "${name}" must start with a letter or digit and contain only letters, digits, ".", "_" and "-"`;
  if (name.length > 52) return `balancer name must be at most 52 characters (Apache's limit for "balancer://name"; got ${name.length})`;
  return null;
}

/** `SSLProtocol TLSv1.2 TLSv1.3`: a list of versions, never below TLSv1.2 (tls/protocols.ts). */
function tlsProtocols(): ValueType<Array<(typeof TLS_VERSIONS)[number] | Invalid>> {
  return list(oneOf(TLS_VERSIONS, { caseInsensitive: true, rejected: REFUSED_VERSIONS }), { minItems: 1, tooFew: 'name at least one protocol, e.g. [TLSv1.2, TLSv1.3]' });
}

/** `SSLCipherSuite`: checked against the protocol list by the loader (tls/protocols.ts). */
function cipherSuite(): ValueType<string> {
  return str({ summary: 'OpenSSL cipher list', minLength: 1 });
}

const PROTOCOLS: readonly ListenProtocol[] = ['h2', 'h2c', 'http/1.1'];

/** A media type without parameters (`text/html`), or a whole type (`text/*`); lower-cased. */
function mediaType(): ValueType<string> {
  const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
  const shape = new RegExp(`^${token}/(${token}|\\*)$`);
  return scalar({
    expected: 'a media type such as text/html',
    summary: 'media type',
    json: { type: 'string', pattern: `^${token}/(${token}|\\*)$` },
    parse(v) {
      if (typeof v !== 'string') return new Reject(`expected a media type such as text/html (got ${describeValue(v)})`);
      const t = v.trim().toLowerCase();
      if (t.includes(';')) return new Reject(`write the media type without parameters (got "${v}"; parameters such as charset are ignored when matching)`);
      if (!shape.test(t) || t.startsWith('*')) return new Reject(`expected a media type such as text/html or text/* (got "${v}")`);
      return t;
    },
  });
}

const COMPRESSION_ALGORITHMS: readonly CompressionAlgorithm[] = ['br', 'gzip', 'zstd'];

/** The types compressed by default: text formats browsers load (Debian's deflate.conf plus JSON and SVG). */
export const DEFAULT_COMPRESSION_TYPES = [
  'text/html',
  'text/plain',
  'text/css',
  'text/xml',
  'text/javascript',
  'application/javascript',
  'application/json',
  'application/xml',
  'application/rss+xml',
  'application/atom+xml',
  'image/svg+xml',
];

// ---------------------------------------------------------------------------------------------
// The table

/** One certificate of a TLS listener: its files (tls/certificate.ts loads and checks them). */
const certificateKeys = {
  certificatefile: required(filePath(), { doc: 'PEM server certificate, optionally followed by its chain (and its key)', apache: 'SSLCertificateFile' }),
  certificatekeyfile: withDefault(nullable(filePath()), null, { defaultDoc: 'the key in certificatefile', doc: 'PEM private key (unencrypted) of the certificate', apache: 'SSLCertificateKeyFile' }),
  certificatechainfile: withDefault(nullable(filePath()), null, { defaultDoc: 'none', doc: 'PEM intermediate certificates, issuer of the certificate first', apache: 'SSLCertificateChainFile' }),
  staplingfile: withDefault(nullable(filePath()), null, { defaultDoc: 'none (no stapling)', doc: 'DER OCSP response for the certificate, stapled to handshakes (fetch it with openssl ocsp; reload with SIGHUP)', apache: 'SSLUseStapling (nginx ssl_stapling_file)' }),
};

export const listenCertificateSchema = section(certificateKeys);

/** What every TLS listener has, the admin listener's included (mod_ssl's keys of a virtual host). */
const tlsListenerKeys = {
  ...certificateKeys,
  certificates: withDefault(list(listenCertificateSchema), [], { defaultDoc: 'none', doc: 'More certificates, chosen by SNI from their own names (SAN); no match gets the first one', apache: 'SSLCertificateFile in name-based <VirtualHost>s' }),
  protocol: withDefault(tlsProtocols(), ['TLSv1.2', 'TLSv1.3'], { doc: 'TLS versions offered (TLSv1.2, TLSv1.3; never lower)', apache: 'SSLProtocol' }),
  ciphersuite: withDefault(cipherSuite(), DEFAULT_CIPHERSUITE, { defaultDoc: 'TLSv1.3 suites, then ECDHE with AES-GCM/ChaCha20 (forward secrecy, AEAD only)', doc: 'Cipher suites in order of preference (OpenSSL names; TLS_… names are TLSv1.3 suites)', apache: 'SSLCipherSuite' }),
  sessiontickets: withDefault(bool(), true, { doc: 'Session resumption with tickets (the key is rotated every ticketkeyrotation, the same key in every worker)', apache: 'SSLSessionTickets' }),
  ticketkeyrotation: withDefault(duration({ min: 1000 }), DEFAULT_TICKET_ROTATION_MS, { doc: 'How often the session ticket key is replaced' }),
};

/** Two years: what browsers' HSTS preload lists ask for, and Mozilla's recommended value. */
export const DEFAULT_HSTS_MAXAGE = 63_072_000;

/** `Header always set Strict-Transport-Security "max-age=…; includeSubDomains; preload"`. */
export const hstsSchema = section({
  maxage: withDefault(int(0, 2 ** 31 - 1), DEFAULT_HSTS_MAXAGE, { doc: 'max-age in seconds (2 years; 0 tells browsers to forget the policy)', apache: 'Strict-Transport-Security "max-age=…"' }),
  includesubdomains: withDefault(bool(), false, { doc: 'Add includeSubDomains: every subdomain must then serve HTTPS too', apache: 'Strict-Transport-Security "…; includeSubDomains"' }),
  preload: withDefault(bool(), false, { doc: 'Add preload (asks to be listed in browsers; needs includesubdomains and a max-age of a year or more)', apache: 'Strict-Transport-Security "…; preload"' }),
});

export const listenTlsSchema = section({
  ...tlsListenerKeys,
  hsts: withDefault(nullable(either(bool(), hstsSchema)), null, { defaultDoc: 'off', doc: 'Send Strict-Transport-Security on every response of this listener (On = every key at its default)', apache: 'Header always set Strict-Transport-Security' }),
});

/** `admin.tls`: the admin listener over TLS (the listeners' keys, without HSTS). */
export const adminTlsSchema = section(tlsListenerKeys);

/** `Redirect permanent|temp|seeother|3xx`: the status of the redirect listener's answers. */
const REDIRECT_STATUS: Record<string, number> = { permanent: 301, temp: 302, seeother: 303 };

function redirectStatus(): ValueType<number> {
  return scalar({
    expected: 'permanent, temp, seeother or a 3xx status',
    summary: 'permanent | temp | seeother | 301 | 302 | 303 | 307 | 308',
    json: { anyOf: [{ enum: Object.keys(REDIRECT_STATUS) }, { enum: [301, 302, 303, 307, 308] }] },
    parse(v) {
      if (typeof v === 'string' && REDIRECT_STATUS[v.toLowerCase()] !== undefined) return REDIRECT_STATUS[v.toLowerCase()]!;
      if (typeof v === 'number' && [301, 302, 303, 307, 308].includes(v)) return v;
      return new Reject(`expected permanent (301), temp (302), seeother (303), 307 or 308, as Apache's Redirect takes them (got ${describeValue(v)})`);
    },
    toYaml: (n) => Object.keys(REDIRECT_STATUS).find((k) => REDIRECT_STATUS[k] === n) ?? n,
  });
}

/** The target of `Redirect / URL`: an absolute http:// or https:// URL without query or fragment. */
function redirectUrl(): ValueType<string> {
  return str({
    summary: 'https:// URL',
    minLength: 1,
    pattern: '^[Hh][Tt][Tt][Pp][Ss]?://',
    check: (s) => {
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        return `expected an absolute URL such as https://www.example.com/ (got "${s}")`;
      }
      if (u.protocol !== 'https:' && u.protocol !== 'http:') return `expected an https:// (or http://) URL (got "${s}")`;
      if (u.search !== '' || u.hash !== '') return `the request's own query is appended; write the URL without ?… or #… (got "${s}")`;
      if (u.username !== '' || u.password !== '') return 'must not contain a user name or password';
      return null;
    },
  });
}

/** `Redirect permanent / https://www.example.com/` on a listener: every request is answered with a redirect. */
export const redirectSchema = section({
  url: withDefault(nullable(redirectUrl()), null, {
    defaultDoc: "https:// on the request's own host, at the port of the first TLS listener",
    doc: 'Where to: the request path and query are appended (Redirect / URL appends what follows /)',
    apache: 'Redirect … / <URL>',
  }),
  status: withDefault(redirectStatus(), 301, { doc: 'permanent (301), temp (302), seeother (303), 307 or 308 (307/308 keep the method and body)', apache: 'Redirect <status>' }),
});

export const listenSchema = section({
  address: withDefault(ipAddress(), '0.0.0.0', { doc: 'IP address to bind; 0.0.0.0 = every IPv4 address, :: = every address', apache: 'Listen address:port' }),
  port: required(int(1, 65535), { doc: 'TCP port', apache: 'Listen [address:]port' }),
  protocols: withDefault(list(oneOf(PROTOCOLS), { minItems: 1, tooFew: 'name at least one protocol, e.g. [http/1.1]' }), ['http/1.1'], { doc: 'Protocols offered, by preference: h2 (with tls, by ALPN), h2c (without tls, by prior knowledge), http/1.1', apache: 'Protocols' }),
  tls: withDefault(nullable(listenTlsSchema), null, { defaultDoc: 'none (plain HTTP)', doc: 'TLS on this listener (HTTPS)', apache: 'SSLEngine on' }),
  redirect: withDefault(nullable(redirectSchema), null, { defaultDoc: 'none (requests are proxied)', doc: 'Answer every request of this listener with a redirect instead of proxying it (e.g. plain HTTP to https://)', apache: 'Redirect permanent / https://…' }),
});

export const readTimeoutSchema = section({
  handshake: withDefault(readTimeoutStage(), { timeout: 10_000, max: 0, minrate: 0 }, {
    doc: 'The TLS handshake of a connection to a TLS listener (from its first byte, or from the connection when none comes); the connection is closed after; 0 = no limit (stickyd\'s default is 10 s, httpd\'s is 0)',
    apache: 'RequestReadTimeout handshake=',
  }),
  header: withDefault(readTimeoutStage(), { timeout: 20_000, max: 40_000, minrate: 500 }, {
    doc: 'The request line and header block: initial seconds, extended by a second per MinRate bytes received, up to the maximum; 408 after; 0 = no limit',
    apache: 'RequestReadTimeout header=',
  }),
  body: withDefault(readTimeoutStage(), { timeout: 20_000, max: 0, minrate: 500 }, {
    doc: 'The request body: initial seconds, extended by a second per MinRate bytes received (no maximum unless given); 408 after; 0 = no limit',
    apache: 'RequestReadTimeout body=',
  }),
});

/** HTTP/2 to clients (mod_http2's H2* directives), and the limits that guard it against known attacks. */
export const http2Schema = section({
  maxsessionstreams: withDefault(int(1, 65535), 100, { doc: 'Streams (requests) one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused (REFUSED_STREAM)', apache: 'H2MaxSessionStreams' }),
  windowsize: withDefault(int(65535, 2 ** 31 - 1), 65535, { doc: 'Bytes of a request body a client may send ahead of stickyd reading them, per stream (SETTINGS_INITIAL_WINDOW_SIZE)', apache: 'H2WindowSize' }),
  maxresets: withDefault(int(1), 200, { doc: 'Streams a client may open and then reset (RST_STREAM) before their response ends, per connection and 10 s (a burst of this many at once); more: GOAWAY ENHANCE_YOUR_CALM and the connection is closed (rapid reset, CVE-2023-44487)' }),
  maxcontrolframes: withDefault(int(1), 200, { doc: 'PING and SETTINGS frames a client may send per connection and 10 s (a burst of this many at once); more: GOAWAY ENHANCE_YOUR_CALM and the connection is closed (CVE-2019-9512, CVE-2019-9515)' }),
  websockets: withDefault(bool(), true, { doc: 'WebSocket over HTTP/2 (RFC 8441): SETTINGS_ENABLE_CONNECT_PROTOCOL is sent, and an extended CONNECT is tunnelled to the member as an HTTP/1.1 Upgrade (stickyd\'s default is on, httpd\'s off)', apache: 'H2WebSockets' }),
});

export const serverSchema = section({
  servername: withDefault(str({ minLength: 1 }), () => os.hostname(), { defaultDoc: "the machine's host name", doc: 'Name sent in X-Forwarded-Server', apache: 'ServerName' }),
  pidfile: withDefault(nullable(filePath()), null, { defaultDoc: 'none', doc: 'Write the process id to this file at start and remove it at exit; refuse to start while it names a running process (relative to the balancer file)', apache: 'PidFile' }),
  maxheadersize: withDefault(int(1024, 1048576), 16384, { doc: 'Largest request header block in bytes (request line + headers); larger requests get 431', apache: 'LimitRequestFieldSize / LimitRequestLine' }),
  requestreadtimeout: withDefault(readTimeoutSchema, defaultsOf(readTimeoutSchema), { doc: 'Minimum rates for receiving requests, as mod_reqtimeout enforces them (defaults are its defaults)', apache: 'RequestReadTimeout' }),
  requesttimeout: withDefault(duration({ min: 1 }), 300_000, { doc: 'Upper bound for receiving a whole request, body included, whatever the rate; 408 after (stickyd\'s own: httpd has no such bound)' }),
  keepalivetimeout: withDefault(duration({ min: 1 }), 5_000, { doc: 'Idle time of a client keep-alive connection', apache: 'KeepAliveTimeout' }),
  timeout: withDefault(duration({ min: 1 }), 60_000, { doc: "Idle time of an Upgrade (WebSocket) tunnel, or the member's timeout when that is longer (httpd's tunnel rule)", apache: 'Timeout' }),
  maxkeepaliverequests: withDefault(int(0), 100, { doc: 'Requests per client connection; 0 = unlimited', apache: 'MaxKeepAliveRequests' }),
  gracefultimeout: withDefault(duration({ min: 0 }), 30_000, { doc: 'On SIGTERM/SIGINT: how long in-flight requests may take before connections are cut', apache: 'GracefulShutdownTimeout' }),
  http2: withDefault(http2Schema, defaultsOf(http2Schema), { doc: 'HTTP/2 to clients (listeners with h2 or h2c in protocols)', apache: 'H2* (mod_http2)' }),
  workers: withDefault(workerCount(), 'auto', {
    doc: `Worker threads serving requests (like nginx worker_processes, HAProxy nbthread), each with its own listeners (SO_REUSEPORT) and member connections, one shared balancer state; auto = the CPUs this process may use, at most ${MAX_WORKERS}; a change takes effect at restart`,
  }),
}, 'a mapping', {
  requestheadertimeout: 'server.requestheadertimeout was replaced by server.requestreadtimeout.header, in Apache\'s RequestReadTimeout syntax (e.g. header: 20-40,MinRate=500, or header: 20 for a fixed 20 s)',
});

const VERIFY_REFUSED = {
  optional: 'SSLProxyVerify optional verifies only what the member presents, and a member always presents a certificate: use require (or none)',
  optional_no_ca: 'optional_no_ca accepts any issuer: use none to say so, or require with cacertificatefile',
};

/**
 * TLS towards https:// members (mod_ssl's SSLProxy* directives). `proxy.tls` holds every key with
 * its default; a balancer's `tls` may set any of them for its members (the <Proxy balancer://…>
 * context of httpd 2.4.30+); a key it leaves out comes from proxy.tls.
 */
function memberTlsKeys(override: boolean) {
  const def = <T>(name: string, type: ValueType<T>, value: T, meta: { doc: string; apache: string; defaultDoc?: string }) =>
    override ? optional(type, { doc: meta.doc, apache: meta.apache, defaultDoc: `proxy.tls.${name}` }) : withDefault(type, value, meta);
  return {
    verify: def('verify', oneOf(['require', 'none'] as const, { caseInsensitive: true, rejected: VERIFY_REFUSED }), 'require', { doc: "Verify the member's certificate chain against the CAs (Apache's default is none); none is logged as a warning", apache: 'SSLProxyVerify' }),
    cacertificatefile: def('cacertificatefile', nullable(filePath()), null, { defaultDoc: "node's built-in list of public CAs", doc: "PEM CA certificates that may issue members' certificates (replaces the built-in list)", apache: 'SSLProxyCACertificateFile' }),
    checkpeername: def('checkpeername', bool(), true, { doc: "The member's certificate must name the host it is reached by (SAN, else CN; the client's Host with preservehost)", apache: 'SSLProxyCheckPeerName' }),
    checkpeerexpire: def('checkpeerexpire', bool(), true, { doc: "The member's certificate must be within its validity (also with verify: none)", apache: 'SSLProxyCheckPeerExpire' }),
    machinecertificatefile: def('machinecertificatefile', nullable(filePath()), null, { defaultDoc: 'none', doc: 'PEM client certificate and its key, presented to members that ask (mutual TLS)', apache: 'SSLProxyMachineCertificateFile' }),
    machinecertificatechainfile: def('machinecertificatechainfile', nullable(filePath()), null, { defaultDoc: 'none', doc: 'PEM chain of the client certificate', apache: 'SSLProxyMachineCertificateChainFile' }),
    protocol: def('protocol', tlsProtocols(), ['TLSv1.2', 'TLSv1.3'], { doc: 'TLS versions offered to members', apache: 'SSLProxyProtocol' }),
    ciphersuite: def('ciphersuite', nullable(cipherSuite()), null, { defaultDoc: "node's default", doc: 'Cipher suites offered to members (OpenSSL names)', apache: 'SSLProxyCipherSuite' }),
  };
}

export const proxyTlsSchema = section(memberTlsKeys(false));
export const balancerTlsSchema = section(memberTlsKeys(true));

export const proxySchema = section({
  preservehost: withDefault(bool(), false, { doc: "Send the client's Host header to the member instead of the member's host:port", apache: 'ProxyPreserveHost' }),
  addheaders: withDefault(bool(), true, { doc: 'Append X-Forwarded-For, X-Forwarded-Host and X-Forwarded-Server', apache: 'ProxyAddHeaders' }),
  timeout: withDefault(duration({ min: 1 }), 60_000, { doc: 'Default member I/O timeout', apache: 'ProxyTimeout' }),
  tls: withDefault(proxyTlsSchema, defaultsOf(proxyTlsSchema), { doc: 'TLS to https:// members', apache: 'SSLProxyEngine on' }),
});

export const memberSchema = section({
  url: required(memberUrl(), { doc: 'http://host[:port][/path], https://host[:port][/path] (TLS, see proxy.tls) or ajp://host[:port]; normalized (scheme and host lower-cased, default port and trailing slash dropped)', apache: 'BalancerMember URL' }),
  route: withDefault(routeText(), '', { doc: 'Route: the text after the separator in the session id that selects this member (Tomcat jvmRoute)', apache: 'BalancerMember … route=' }),
  redirect: withDefault(routeText(), '', { doc: "Route of the member that takes this member's sticky requests while it is unusable", apache: 'BalancerMember … redirect=' }),
  loadfactor: withDefault(loadFactor(), 1, { doc: 'Relative share of load-balanced requests; lbfactor = trunc(loadfactor × 100)', apache: 'BalancerMember … loadfactor=' }),
  lbset: withDefault(int(0, 99), 0, { doc: 'Member set; a higher set is used only when no member of a lower set is usable', apache: 'BalancerMember … lbset=' }),
  status: withDefault(statusFlags(), '', { doc: 'Initial status flags: +/- followed by letters of I N D S E H R C, e.g. "+H" (hot standby)', apache: 'BalancerMember … status=' }),
  retry: withDefault(duration({ min: 0 }), 60_000, { doc: 'Time a member stays in error before it is tried again', apache: 'BalancerMember … retry=' }),
  timeout: optional(duration({ min: 1 }), { defaultDoc: 'proxy.timeout', doc: 'Socket I/O timeout', apache: 'BalancerMember … timeout=' }),
  connectiontimeout: optional(duration({ min: 1 }), { defaultDoc: "the member's timeout", doc: 'Connect timeout', apache: 'BalancerMember … connectiontimeout=' }),
  max: withDefault(int(1), 128, { doc: 'Connection pool size (hard cap on connections to this member)', apache: 'BalancerMember … max=' }),
  ttl: withDefault(duration({ min: 1 }), 4_000, { doc: 'Idle lifetime of a pooled connection (below common backend keep-alive timeouts)', apache: 'BalancerMember … ttl=' }),
  disablereuse: withDefault(bool(), false, { doc: 'Close the backend connection after each request', apache: 'BalancerMember … disablereuse=' }),
  acquire: withDefault(nullable(duration({ min: 1, requireUnit: 'Apache reads a bare acquire value as milliseconds, stickyd as seconds' })), null, {
    defaultDoc: 'none (wait for a free connection)',
    doc: 'Longest wait for a free pool slot, then 503 (member in error, failover); needs a unit',
    apache: 'BalancerMember … acquire=',
  }),
  keepalive: withDefault(bool(), false, { doc: 'TCP SO_KEEPALIVE on member connections', apache: 'BalancerMember … keepalive=' }),
  ping: withDefault(duration({ min: 1 }), 0, { defaultDoc: '0 (off)', doc: 'AJP CPing/CPong timeout (ajp:// members only; the HTTP 100-continue probe is not implemented)', apache: 'BalancerMember … ping=' }),
  secret: withDefault(str(), '', { doc: "The AJP connector's secret (ajp:// members only)", apache: 'BalancerMember … secret=' }),
  hcmethod: withDefault(oneOf(['None', 'TCP', 'OPTIONS', 'HEAD', 'GET'] as const, { caseInsensitive: true }), 'None', { doc: 'Active health check method; None = no active checks', apache: 'BalancerMember … hcmethod= (mod_proxy_hcheck)' }),
  hcuri: withDefault(str(), '', { doc: 'Path appended to the member URL for health checks', apache: 'BalancerMember … hcuri=' }),
  hcinterval: withDefault(duration({ min: 1 }), 30_000, { doc: 'Interval between health checks', apache: 'BalancerMember … hcinterval=' }),
  hcpasses: withDefault(int(1), 1, { doc: 'Consecutive passed checks that clear the C (and E) flag', apache: 'BalancerMember … hcpasses=' }),
  hcfails: withDefault(int(1), 1, { doc: 'Consecutive failed checks that set the C flag', apache: 'BalancerMember … hcfails=' }),
  hcexpr: withDefault(nullable(str({ minLength: 1, check: hcExprProblem })), null, { defaultDoc: 'none (status 2xx/3xx passes)', doc: 'Expression a health check response must satisfy', apache: 'BalancerMember … hcexpr= (ProxyHCExpr)' }),
});

export const routeCookieSchema = section({
  name: required(cookieName(), { doc: 'Cookie name, e.g. ROUTEID', apache: 'Header add Set-Cookie "ROUTEID=…"' }),
  path: withDefault(urlPath(), '/', { doc: 'Cookie Path', apache: 'Header add Set-Cookie "…; path=…"' }),
  domain: withDefault(nullable(str({ minLength: 1 })), null, { defaultDoc: 'none', doc: 'Cookie Domain attribute', apache: 'Header add Set-Cookie "…; domain=…"' }),
  secure: withDefault(bool(), false, { doc: 'Add Secure', apache: 'Header add Set-Cookie "…; Secure"' }),
  httponly: withDefault(bool(), true, { doc: 'Add HttpOnly', apache: 'Header add Set-Cookie "…; HttpOnly"' }),
});

export const balancerSchema = section({
  stickysession: withDefault(nullable(stickySession()), null, { defaultDoc: 'none (no stickiness; routecookie.name when routecookie is set)', doc: 'Session cookie name, or COOKIE|URLPARAM', apache: 'ProxySet stickysession=' }),
  stickysessionsep: withDefault(stickySessionSep(), '.', { doc: 'Separator before the route in the session id; Off = the whole value is the route', apache: 'ProxySet stickysessionsep=' }),
  scolonpathdelim: withDefault(bool(), false, { doc: '";" also ends a session id found in the URL', apache: 'ProxySet scolonpathdelim=' }),
  lbmethod: withDefault(
    oneOf(['byrequests', 'bybusyness', 'bytraffic'] as const, {
      rejected: { heartbeat: 'lbmethod heartbeat is not supported (it needs mod_heartmonitor); use byrequests, bybusyness or bytraffic' },
    }),
    'byrequests',
    { doc: 'Load-balancing method for requests without a usable route', apache: 'ProxySet lbmethod=' },
  ),
  maxattempts: withDefault(nullable(int(0)), null, { defaultDoc: 'members − 1 (0 with one member)', doc: 'Failover attempts after the first try', apache: 'ProxySet maxattempts=' }),
  nofailover: withDefault(bool(), false, { doc: 'Answer 503 instead of load-balancing when the sticky member is unusable', apache: 'ProxySet nofailover=' }),
  timeout: withDefault(duration({ min: 1 }), 0, { defaultDoc: '0 (no wait)', doc: 'How long to wait for a usable member before 503', apache: 'ProxySet timeout= (on the balancer)' }),
  failonstatus: withDefault(either(list(statusCode()), statusCodeText()), [], { doc: 'Backend status codes that put the member in error (list, or "500,503")', apache: 'ProxySet failonstatus=' }),
  failontimeout: withDefault(bool(), false, { doc: 'A read timeout puts the member in error', apache: 'ProxySet failontimeout=' }),
  forcerecovery: withDefault(bool(), true, { doc: 'When every member is in error, try them all again instead of answering 503', apache: 'ProxySet forcerecovery=' }),
  nonce: withDefault(nullable(nonce()), null, { defaultDoc: 'a random UUID at each start', doc: 'Balancer-manager nonce; None = the manager cannot change this balancer', apache: 'ProxySet nonce=' }),
  growth: withDefault(int(0, 100), 0, { doc: 'Spare member slots the balancer-manager may fill', apache: 'ProxySet growth=' }),
  routecookie: withDefault(nullable(routeCookieSchema), null, {
    defaultDoc: 'none',
    doc: 'Set a route cookie ("." + route) when a request was load-balanced (the Apache ROUTEID recipe, built in)',
    apache: 'Header add Set-Cookie … env=BALANCER_ROUTE_CHANGED',
  }),
  members: required(list(memberSchema, { minItems: 1, tooFew: 'a balancer needs at least one member' }), { doc: 'The members, in order', apache: 'BalancerMember' }),
  tls: withDefault(nullable(balancerTlsSchema), null, { defaultDoc: 'proxy.tls', doc: "TLS to this balancer's https:// members: any key of proxy.tls, overriding it", apache: 'SSLProxy* in <Proxy balancer://name>' }),
});

export const cookieRewriteSchema = section({
  internal: required(str({ minLength: 1 }), { doc: 'Backend-side path or domain (prefix)' }),
  public: required(str(), { doc: 'What the client sees instead' }),
});

export const proxyPassSchema = section({
  path: required(urlPath(), { doc: 'Public URL-path prefix', apache: 'ProxyPass <path>' }),
  url: required(proxyTarget(), { doc: '"!" (do not proxy), balancer://name[/path], or an http://, https:// or ajp:// URL (an implicit one-member balancer)', apache: 'ProxyPass … <url>' }),
  reverse: withDefault(bool(), false, { doc: 'Also add ProxyPassReverse <path> <url> (after the proxypassreverse list)', apache: 'ProxyPassReverse <path> <url>' }),
  nocanon: withDefault(bool(), false, { doc: 'Send the rest of the path as the client wrote it, instead of %-decoded and re-encoded (canonicalised)', apache: 'ProxyPass … nocanon' }),
  cookiepath: withDefault(nullable(either(urlPath(), cookieRewriteSchema)), null, {
    defaultDoc: 'none',
    doc: 'Backend cookie path to rewrite to this rule\'s path (or {internal, public})',
    apache: 'ProxyPassReverseCookiePath',
  }),
  compression: withDefault(nullable(bool()), null, {
    defaultDoc: 'as the top-level compression',
    doc: "Off: never compress this rule's responses; On: compress them with the top-level settings (their defaults when compression is not set)",
    apache: 'AddOutputFilterByType / SetEnv no-gzip in <Location>',
  }),
});

export const reverseSchema = section({
  path: required(urlPath(), { doc: 'Public prefix substituted for the member URL', apache: 'ProxyPassReverse <path>' }),
  url: required(reverseTarget(), { doc: 'balancer://name[/path] or a URL', apache: 'ProxyPassReverse … <url>' }),
});

export const adminSchema = section({
  address: withDefault(ipAddress(), '127.0.0.1', { doc: 'IP address of the admin listener (balancer-manager, JSON API, metrics, health)' }),
  port: withDefault(int(1, 65535), 8052, { doc: 'TCP port of the admin listener' }),
  token: withDefault(adminToken(), '', { doc: `Secret for the JSON API, metrics and the manager (Bearer, or the Basic password): at least ${MIN_TOKEN_LENGTH} visible ASCII characters; "" = none (only on a loopback address)`, apache: 'Require (on <Location /balancer-manager>)' }),
  readonly: withDefault(bool(), false, { doc: 'The manager and the API refuse changes' }),
  allowedhosts: withDefault(list(allowedHost()), [], {
    defaultDoc: "none: the listener's address (any IP address on 0.0.0.0 / ::), localhost on loopback, server.servername",
    doc: 'More Host names the admin listener answers to; other names get 421 (DNS rebinding guard); "*" = any',
  }),
  tls: withDefault(nullable(adminTlsSchema), null, { defaultDoc: 'none (plain HTTP)', doc: 'The admin listener over TLS (HTTPS): the keys of listen[].tls; stickyd ctl takes --cacert, stickyd healthcheck trusts this certificate', apache: 'SSLEngine on (in the manager\'s <VirtualHost>)' }),
});

export const compressionSchema = section({
  algorithms: withDefault(list(oneOf(COMPRESSION_ALGORITHMS), { minItems: 1, tooFew: 'name at least one algorithm, e.g. [br, gzip]' }), ['br', 'gzip'], { doc: 'Content codings offered, in order of preference (breaks ties between equal q-values); zstd needs Node.js ≥ 22.15', apache: 'AddOutputFilterByType BROTLI_COMPRESS / DEFLATE' }),
  types: withDefault(list(mediaType(), { minItems: 1, tooFew: 'name at least one media type' }), DEFAULT_COMPRESSION_TYPES, { doc: 'Media types compressed (matched without parameters; type/* for a whole type)', apache: 'AddOutputFilterByType … <types>' }),
  minlength: withDefault(int(0), 1024, { doc: 'Responses whose Content-Length is smaller are sent uncompressed (without Content-Length: compressed)' }),
  gziplevel: withDefault(int(1, 9), 4, { doc: 'gzip level: 1 fastest … 9 smallest', apache: 'DeflateCompressionLevel' }),
  brotliquality: withDefault(int(0, 11), 4, { doc: 'Brotli quality: 0 fastest … 11 smallest', apache: 'BrotliCompressionQuality' }),
  zstdlevel: withDefault(int(1, 19), 3, { doc: 'zstd level: 1 fastest … 19 smallest' }),
});

/** `log.access.format`: json, common, combined, or an Apache LogFormat string (compiled to check it). */
function accessFormat(): ValueType<string> {
  return str({ summary: 'json | common | combined | LogFormat string', minLength: 1, check: accessFormatProblem });
}

export const accessLogSchema = section({
  format: withDefault(accessFormat(), 'json', {
    doc: 'json (one JSON object per request), common, combined, or an Apache LogFormat string such as \'%h %t "%r" %>s %{BALANCER_WORKER_ROUTE}e\'',
    apache: 'LogFormat / CustomLog … format',
  }),
  file: withDefault(nullable(logFilePath()), null, { defaultDoc: 'stdout', doc: 'Append the access log to this file (created with mode 0640; reopened on SIGUSR1; relative to the balancer file)', apache: 'CustomLog file' }),
});

export const errorLogSchema = section({
  file: withDefault(nullable(logFilePath()), null, { defaultDoc: 'stdout', doc: "Append the daemon's own messages to this file (created with mode 0640; reopened on SIGUSR1; relative to the balancer file)", apache: 'ErrorLog' }),
  format: withDefault(oneOf(['auto', 'pretty', 'json'] as const), 'auto', { doc: "The daemon's own messages as readable lines (pretty) or JSON lines; auto: pretty on a terminal, JSON elsewhere. STICKYD_LOG_FORMAT overrides it" }),
});

export const logSchema = section({
  level: withDefault(oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const), 'info', { doc: "Level of the daemon's own messages", apache: 'LogLevel' }),
  access: withDefault(either(bool(), accessLogSchema), true, { doc: 'Access log: true (JSON lines on stdout), false (none), or a mapping with format and file', apache: 'CustomLog' }),
  error: withDefault(errorLogSchema, defaultsOf(errorLogSchema), { doc: "The daemon's own messages (Apache's error log)", apache: 'ErrorLog' }),
});

export const configSchema = section(
  {
    listen: required(list(listenSchema, { minItems: 1, tooFew: 'at least one listener is needed, e.g. - { address: 0.0.0.0, port: 8051 }' }), { doc: 'HTTP listeners (one per Listen directive)' }),
    server: withDefault(serverSchema, defaultsOf(serverSchema), { doc: 'Client-side limits and timeouts' }),
    proxy: withDefault(proxySchema, defaultsOf(proxySchema), { doc: 'Server-wide mod_proxy settings' }),
    balancers: withDefault(map(balancerSchema, checkBalancerName, BALANCER_NAME.source), [], { defaultDoc: 'none', doc: 'Balancers by name (lower-cased)', apache: '<Proxy balancer://name>' }),
    proxypass: withDefault(list(proxyPassSchema), [], { doc: 'Mapping rules, tried in order; the first match wins', apache: 'ProxyPass' }),
    proxypassreverse: withDefault(list(reverseSchema), [], { doc: 'Response header rewriting, tried in order', apache: 'ProxyPassReverse' }),
    cookiepath: withDefault(list(cookieRewriteSchema), [], { doc: 'Set-Cookie Path rewriting, in order', apache: 'ProxyPassReverseCookiePath' }),
    cookiedomain: withDefault(list(cookieRewriteSchema), [], { doc: 'Set-Cookie Domain rewriting, in order', apache: 'ProxyPassReverseCookieDomain' }),
    admin: withDefault(nullable(adminSchema), null, { defaultDoc: 'off', doc: 'Admin listener: balancer-manager, JSON API, metrics, health', apache: '<Location /balancer-manager>' }),
    log: withDefault(logSchema, defaultsOf(logSchema), { doc: 'Logging' }),
    compression: withDefault(nullable(either(bool(), compressionSchema)), null, {
      defaultDoc: 'off',
      doc: 'Compress responses for clients that accept it (On = every key at its default)',
      apache: 'AddOutputFilterByType DEFLATE / BROTLI_COMPRESS',
    }),
  },
  'a balancer file (a mapping)',
);

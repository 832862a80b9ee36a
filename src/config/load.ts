/**
 * YAML balancer file → validated Config (types.ts). The per-key checks and defaults come from the
 * table in schema.ts; this file adds what involves several keys: member defaults taken from
 * `proxy.timeout`, duplicate members and routes, redirects, balancer references, the implicit
 * balancers of direct `proxypass` rules, and the derived ProxyPassReverse and cookie-path entries.
 * Every problem is collected; the Config is returned only when there is none.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import { shieldReferences, unshieldReferences } from './env.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { defaultsOf, INVALID, nullable, type Invalid, type ValueType } from './kinds.js';
import { childPath, Reader } from './reader.js';
import { adminSchema, balancerSchema, compressionSchema, configSchema, memberSchema, type ProxyTarget } from './schema.js';
import { didYouMean } from './suggest.js';
import { TlsResolver } from './tls.js';
import type { AdminConfig, BalancerConfig, CompressionConfig, Config, CookieRewrite, ListenConfig, LogConfig, MemberConfig, MemberTlsConfig, ProxyPassRule, RedirectConfig, ReverseRule } from './types.js';
import type { MemberAddress } from './url.js';

type Value<V> = V extends ValueType<infer T> ? Exclude<T, Invalid> : never;
type RawConfig = Value<typeof configSchema>;
type RawBalancer = Value<typeof balancerSchema>;
type RawMember = Value<typeof memberSchema>;

/** The text of a balancer file, or a ConfigError saying why it cannot be read. */
async function readBalancerFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new ConfigError([{ file, line: 0, col: 0, path: '', message: `cannot read the balancer file: ${why}` }]);
  }
}

/** Read and validate a balancer file. Throws ConfigError listing every problem (file:line:col). */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return parseConfig(await readBalancerFile(file), file, env);
}

/** The `admin:` section as `stickyd ctl` reads it: `tls` says only whether the listener is HTTPS. */
export type AdminSection = Omit<AdminConfig, 'tls'> & { tls: boolean };

/**
 * Only the `admin:` section of a balancer file, checked as the whole file checks it: what
 * `stickyd ctl -c FILE` needs to reach the daemon. Problems elsewhere in the file (say a `${VAR}`
 * that only the daemon's environment sets) do not matter here. `admin` is null when the file has
 * no admin listener (or the section is no mapping); a key with a problem (in `problems`) is at its
 * default in it.
 */
export async function loadAdminSection(file: string, env: NodeJS.ProcessEnv = process.env): Promise<{ admin: AdminSection | null; problems: ConfigProblem[] }> {
  let text: string;
  try {
    text = await readBalancerFile(file);
  } catch (e) {
    if (e instanceof ConfigError) return { admin: null, problems: e.problems };
    throw e;
  }
  const { doc, lines, syntax } = readDocument(text, file);
  if (doc.errors.length > 0) return { admin: null, problems: syntax };
  const r = new Reader(file, text, doc, lines, env);
  dropDuplicateKeys(doc.contents, '', r);
  const root = r.resolve(doc.contents);
  const pair = isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === 'admin') : undefined;
  if (pair === undefined) return { admin: null, problems: r.problems };
  const node = r.resolve(pair.value as Node | null);
  const raw = nullable(adminSchema).read(node, 'admin', (pair.key as Node).range?.[0] ?? 0, r);
  // The certificate files are not read: whoever runs ctl may not be allowed to read the key.
  const admin = raw === INVALID || raw === null ? null : { ...raw, allowedhosts: valid(raw.allowedhosts), tls: raw.tls !== null };
  return { admin, problems: r.problems };
}

/** The YAML document of a balancer file, and its syntax problems (fatal when doc.errors is not empty). */
function readDocument(text: string, file: string): { doc: Document.Parsed; lines: LineCounter; syntax: ConfigProblem[] } {
  const lines = new LineCounter();
  // `${VAR}` also inside { } and [ ] (env.ts); duplicate keys are found by dropDuplicateKeys, with their positions.
  const shielded = shieldReferences(text);
  const doc = parseDocument(shielded, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (shielded !== text) {
    visit(doc, {
      Scalar(_key, node) {
        if (typeof node.value === 'string') node.value = unshieldReferences(node.value);
      },
    });
  }
  const sourceLines = text.split('\n');
  const syntax: ConfigProblem[] = reportable([...doc.errors, ...doc.warnings]).map((e) => {
    const { line, col } = lines.linePos(e.pos[0]);
    const source = sourceLines[line - 1] ?? '';
    const tab = tabInIndentation(source);
    if (tab >= 0) return { file, line, col: tab + 1, path: '', message: tabMessage(source) };
    return { file, line, col, path: '', message: syntaxMessage(e, source) };
  });
  return { doc, lines, syntax };
}

/**
 * Validate the text of a balancer file; `file` is used in messages (as given) and, resolved, as
 * Config.file. `${VAR}` references are expanded from `env`.
 */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const { doc, lines, syntax } = readDocument(text, file);
  // With a syntax error the tree may not be what the author meant: report only the syntax.
  if (doc.errors.length > 0) throw new ConfigError(syntax);

  const r = new Reader(file, text, doc, lines, env);
  r.problems.push(...syntax);
  dropDuplicateKeys(doc.contents, '', r);
  const raw = configSchema.read(r.resolve(doc.contents), '', 0, r);
  const config = raw === INVALID ? null : build(raw, path.resolve(file), r);
  if (r.problems.length > 0 || !config) throw new ConfigError(r.problems, r.warnings);
  config.warnings.sort((a, b) => a.line - b.line || a.col - b.col);
  return config;
}

/** YAML errors that stand on their own; any other kind derails the parser, so only its first one is worth reading. */
const SELF_CONTAINED = new Set(['TAG_RESOLVE_FAILED', 'BAD_ALIAS', 'KEY_OVER_1024_CHARS', 'MULTIPLE_ANCHORS', 'MULTIPLE_TAGS']);

function reportable(errors: YAMLError[]): YAMLError[] {
  // A tab in the indentation throws the structure off around it: the tabs are the problem to report.
  const tabs = errors.filter((e) => e.code === 'TAB_AS_INDENT');
  if (tabs.length > 0) return tabs;
  const firstStructural = errors.find((e) => !SELF_CONTAINED.has(e.code));
  return errors.filter((e) => SELF_CONTAINED.has(e.code) || e === firstStructural);
}

/** The index of a tab in the leading white space of a line, or -1. */
function tabInIndentation(line: string): number {
  const indentation = /^[\t ]*/.exec(line)![0];
  return line.length > indentation.length ? indentation.indexOf('\t') : -1;
}

/** Which key a tab indents (that is what the author looks for), or "this line". */
function tabMessage(line: string): string {
  const key = /^[\t ]*(?:-[\t ]+)?("[^"]*"|'[^']*'|[^\s:#"'-][^:#]*?)[\t ]*:(?:[\t ]|$)/.exec(line)?.[1];
  const what = key === undefined ? 'this line' : `key ${/^["']/.test(key) ? key : `"${key}"`}`;
  return `a tab in the indentation of ${what}: YAML indents with spaces only (replace the tab with spaces)`;
}

/** The parser's message, with a hint when the line holds a `${` (a reference not closed where meant throws YAML off). */
function syntaxMessage(e: YAMLError, line: string): string {
  return line.includes('${') ? `${e.message} (check the \${...} on this line: \${NAME} or \${NAME:-default}, closed by "}")` : e.message;
}

/**
 * YAML allows a key once per mapping. A second one is reported at its key, naming where the first
 * is, and dropped, so that the rest of the file is still read and its other problems reported.
 */
function dropDuplicateKeys(node: unknown, at: string, r: Reader): void {
  if (isMap(node)) {
    const first = new Map<string, number>();
    node.items = node.items.filter((pair) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : null;
      const keyPath = key === null ? at : childPath(at, key);
      if (key !== null) {
        const keyAt = (pair.key as Node).range?.[0] ?? 0;
        const earlier = first.get(key);
        if (earlier !== undefined) {
          const { line, col } = r.position(earlier);
          r.report(keyPath, keyAt, `duplicate key "${key}" (first at line ${line}, column ${col}): a key may appear once in a mapping`);
          return false;
        }
        first.set(key, keyAt);
      }
      dropDuplicateKeys(pair.value, keyPath, r);
      return true;
    });
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => dropDuplicateKeys(item, `${at}[${i}]`, r));
  }
}

function build(raw: RawConfig, file: string, r: Reader): Config {
  const tls = new TlsResolver(r, path.dirname(file));
  const listen = listeners(raw.listen, tls, r);
  checkListeners(listen, raw.admin, r);
  const adminTls = raw.admin && raw.admin.tls !== null ? tls.listener('admin.tls', raw.admin.tls) : null;
  // proxy.tls has every key (with its defaults), so it resolves on its own.
  const proxyTls = tls.memberTls(null, raw.proxy.tls, 'proxy.tls');
  const tlsUsers = new Map<MemberTlsConfig, { at: string; members: string[] }>();
  if (proxyTls !== null) tlsUsers.set(proxyTls, { at: 'proxy.tls', members: [] });

  const balancers: BalancerConfig[] = [];
  const byName = new Map<string, BalancerConfig>();
  /** Every balancer name in the file, also of balancers with problems (so references to them are not reported again). */
  const declared = new Map<string, string>();
  for (const [written, rawBalancer] of raw.balancers) {
    const name = written.toLowerCase();
    const at = `balancers.${written}`;
    const first = declared.get(name);
    if (first !== undefined) r.reportAt(at, `balancer "${name}" is already defined as "${first}" (balancer names are case-insensitive, as in Apache)`, true);
    else declared.set(name, written);
    if (rawBalancer === INVALID || first !== undefined) continue;
    let balancerTls = proxyTls;
    if (rawBalancer.tls !== null && proxyTls !== null) {
      balancerTls = tls.memberTls(proxyTls, rawBalancer.tls, `${at}.tls`);
      if (balancerTls !== null) tlsUsers.set(balancerTls, { at: `${at}.tls`, members: [] });
    }
    const balancer = buildBalancer(name, at, rawBalancer, raw.proxy.timeout, r, balancerTls);
    balancers.push(balancer);
    byName.set(name, balancer);
  }

  const compression = compressionOf(raw.compression, r);
  const proxypass: ProxyPassRule[] = [];
  const derivedReverse: ReverseRule[] = [];
  const derivedCookiePath: CookieRewrite[] = [];
  raw.proxypass.forEach((rule, i) => {
    if (rule === INVALID) return;
    const at = `proxypass[${i}]`;
    const target = rule.url;
    if (target.kind === 'exclude') {
      // `ProxyPass /path !` proxies nothing, so there is nothing to reverse-map (apache-semantics §8).
      if (rule.reverse) r.reportAt(`${at}.reverse`, 'an excluded path ("!") has no backend to reverse-map; remove reverse');
      if (rule.cookiepath !== null) r.reportAt(`${at}.cookiepath`, 'an excluded path ("!") has no backend cookies to rewrite; remove cookiepath');
      if (rule.nocanon) r.reportAt(`${at}.nocanon`, 'an excluded path ("!") forwards nothing; remove nocanon');
      proxypass.push({ path: rule.path, exclude: true, balancer: '', backendpath: '', url: '!', nocanon: false });
      return;
    }
    let balancer: string;
    if (target.kind === 'balancer') {
      if (!declared.has(target.name)) reportUnknownBalancer(`${at}.url`, target.name, declared, r);
      balancer = target.name;
    } else {
      balancer = implicitBalancer(target.member, raw.proxy.timeout, balancers, byName, proxyTls).name;
    }
    const ruleCompression = rule.compression === null ? compression : rule.compression ? compression ?? defaultCompression() : null;
    const entry: ProxyPassRule = { path: rule.path, exclude: false, balancer, backendpath: target.path, url: target.written, nocanon: rule.nocanon };
    if (ruleCompression !== null) entry.compression = ruleCompression;
    proxypass.push(entry);
    if (rule.reverse) derivedReverse.push(reverseOf(rule.path, target));
    if (typeof rule.cookiepath === 'string') derivedCookiePath.push({ internal: rule.cookiepath, public: rule.path });
    else if (rule.cookiepath !== null) derivedCookiePath.push({ internal: rule.cookiepath.internal, public: rule.cookiepath.public });
  });

  const proxypassreverse: ReverseRule[] = [];
  raw.proxypassreverse.forEach((entry, i) => {
    if (entry === INVALID) return;
    if (entry.url.kind === 'balancer') {
      if (!declared.has(entry.url.name)) reportUnknownBalancer(`proxypassreverse[${i}].url`, entry.url.name, declared, r);
      proxypassreverse.push({ path: entry.path, balancer: entry.url.name, url: entry.url.path });
    } else {
      proxypassreverse.push({ path: entry.path, balancer: null, url: entry.url.url });
    }
  });

  warnUnverified(balancers, tlsUsers, r);
  warnShadowedRules(raw.proxypass, r);

  return {
    file,
    listen,
    server: { ...raw.server, pidfile: relativeTo(file, raw.server.pidfile) },
    proxy: { preservehost: raw.proxy.preservehost, addheaders: raw.proxy.addheaders, timeout: raw.proxy.timeout },
    balancers,
    proxypass,
    // Explicit entries first, then the ones derived from `reverse: true` rules (types.ts, apache-semantics §8: first match wins).
    proxypassreverse: [...proxypassreverse, ...derivedReverse],
    cookiepath: [...valid(raw.cookiepath), ...derivedCookiePath],
    cookiedomain: valid(raw.cookiedomain),
    admin: raw.admin && { ...raw.admin, allowedhosts: valid(raw.admin.allowedhosts), tls: adminTls },
    log: logConfig(raw.log, file),
    compression,
    warnings: r.warnings,
  };
}

/** A file named in the balancer file: relative names are relative to the file's directory. */
function relativeTo(configFile: string, name: string | null): string | null {
  return name === null ? null : path.resolve(path.dirname(configFile), name);
}

/** `log.access: true` is the JSON access log on stdout; file names become absolute. */
function logConfig(raw: RawConfig['log'], file: string): LogConfig {
  const access = raw.access === true ? { format: 'json', file: null } : raw.access === false ? null : raw.access;
  return {
    level: raw.level,
    access: access === null ? null : { format: access.format, file: relativeTo(file, access.file) },
    error: { file: relativeTo(file, raw.error.file), format: raw.error.format },
  };
}

/**
 * The listeners, with `protocols` checked against `tls` (h2 is negotiated by ALPN inside TLS, h2c
 * is HTTP/2 over plain TCP) and the TLS files loaded.
 */
function listeners(raw: RawConfig['listen'], tls: TlsResolver, r: Reader): ListenConfig[] {
  const out: ListenConfig[] = [];
  const sameHostRedirects: Array<[string, RedirectConfig]> = [];
  raw.forEach((l, i) => {
    if (l === INVALID) return;
    const at = `listen[${i}]`;
    const protocols = valid(l.protocols);
    protocols.forEach((p, j) => {
      if (protocols.indexOf(p) !== j) r.reportAt(`${at}.protocols[${j}]`, `"${p}" is listed twice`);
      if (p === 'h2' && l.tls === null) r.reportAt(`${at}.protocols[${j}]`, 'h2 is negotiated inside TLS (ALPN): give this listener a tls section, or use h2c for HTTP/2 without TLS');
      if (p === 'h2c' && l.tls !== null) r.reportAt(`${at}.protocols[${j}]`, 'h2c is HTTP/2 without TLS; on a TLS listener write h2');
    });
    const listener: ListenConfig = { address: l.address, port: l.port };
    // Defaults are left out, so that a plain HTTP/1.1 listener stays { address, port }.
    if (protocols.length !== 1 || protocols[0] !== 'http/1.1') listener.protocols = protocols;
    if (l.tls !== null) {
      const listenerTls = tls.listener(`${at}.tls`, l.tls);
      if (listenerTls !== null) listener.tls = listenerTls;
    }
    if (l.redirect !== null) {
      listener.redirect = { status: l.redirect.status, url: redirectTarget(l.redirect.url), port: 0 };
      if (listener.redirect.url === null) sameHostRedirects.push([`${at}.redirect`, listener.redirect]);
    }
    out.push(listener);
  });
  // A redirect without url goes to the first TLS listener's port, on the request's own host.
  const firstTls = raw.find((l): l is Exclude<typeof l, Invalid> => l !== INVALID && l.tls !== null && l.redirect === null);
  for (const [at, redirect] of sameHostRedirects) {
    if (firstTls !== undefined) redirect.port = firstTls.port;
    else r.reportAt(at, 'no TLS listener to redirect to: add one, or give the target, e.g. redirect: { url: "https://www.example.com/" }');
  }
  return out;
}

/** Redirect's target as it is appended to: with a "/" at the end of its path. */
function redirectTarget(url: string | null): string | null {
  if (url === null) return null;
  const u = new URL(url);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.href;
}

function defaultCompression(): CompressionConfig {
  return defaultsOf(compressionSchema)() as CompressionConfig;
}

/** `compression: On` is every key at its default; Off or absent is null. zstd needs Node.js ≥ 22.15. */
function compressionOf(raw: RawConfig['compression'], r: Reader): CompressionConfig | null {
  if (raw === null || raw === false) return null;
  if (raw === true) return defaultCompression();
  const algorithms = valid(raw.algorithms);
  algorithms.forEach((a, i) => {
    if (algorithms.indexOf(a) !== i) r.reportAt(`compression.algorithms[${i}]`, `"${a}" is listed twice`);
    if (a === 'zstd' && typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress !== 'function') {
      r.reportAt(`compression.algorithms[${i}]`, `zstd needs Node.js 22.15 or later (this is ${process.version}); use br and gzip`);
    }
  });
  return { ...raw, algorithms: [...new Set(algorithms)], types: [...new Set(valid(raw.types))] };
}

/**
 * `verify: none` towards a member is allowed but loud (anyone on the path to the member can pose
 * as it): a warning at the key that says so, naming the members concerned.
 */
function warnUnverified(balancers: BalancerConfig[], users: Map<MemberTlsConfig, { at: string; members: string[] }>, r: Reader): void {
  for (const b of balancers) {
    for (const m of b.members) {
      if (m.tls !== undefined) users.get(m.tls)?.members.push(m.url);
    }
  }
  for (const [settings, { at, members }] of users) {
    if (members.length === 0) continue;
    if (settings.verify === 'none') {
      r.warnAt(`${at}.verify`, `the certificates of ${members.join(', ')} are not verified (verify: none): anyone who can reach the path to ${members.length === 1 ? 'it' : 'them'} can pose as ${members.length === 1 ? 'it' : 'them'}`);
    }
  }
}

/**
 * Whether every request path the prefix `later` matches is matched by `earlier` too, as the mount
 * table matches (src/proxy/mounts.ts, httpd's alias_match): a run of "/" matches a run of "/", and a
 * prefix matches whole path segments unless it ends in "/" (`/app` matches `/app/x`, not `/apple`).
 */
export function shadows(earlier: string, later: string): boolean {
  const a = earlier.replace(/\/+/g, '/');
  const b = later.replace(/\/+/g, '/');
  if (!b.startsWith(a)) return false;
  return a.endsWith('/') || b.length === a.length || b[a.length] === '/';
}

/**
 * A rule that an earlier one shadows is never used: the first matching rule wins (apache-semantics
 * §8), so `ProxyPass /static !` after `ProxyPass / …` never excludes anything. Valid (httpd takes it
 * too), so a warning at the later rule's path, naming the earlier one.
 */
function warnShadowedRules(rules: RawConfig['proxypass'], r: Reader): void {
  rules.forEach((later, j) => {
    if (later === INVALID) return;
    const i = rules.findIndex((earlier, k) => k < j && earlier !== INVALID && shadows(earlier.path, later.path));
    if (i < 0) return;
    const earlier = rules[i] as Exclude<(typeof rules)[number], Invalid>;
    const { line } = r.position(r.offsetOf(`proxypass[${i}].path`));
    const which = `proxypass[${i}] (${earlier.url.kind === 'exclude' ? 'the exclusion of ' : 'path '}${earlier.path} at line ${line})`;
    r.warnAt(`proxypass[${j}].path`, later.url.kind === 'exclude'
      ? `this exclusion never applies: ${which} comes first and matches every path it matches, and the first matching rule wins (put the exclusion first)`
      : `this rule is never used: ${which} comes first and matches every path it matches, and the first matching rule wins (put the more specific rule first)`);
  });
}

function valid<T>(items: Array<T | Invalid>): T[] {
  return items.filter((x): x is T => x !== INVALID);
}

function buildBalancer(name: string, at: string, b: RawBalancer, proxyTimeout: number, r: Reader, tls: MemberTlsConfig | null): BalancerConfig {
  // `routecookie` without `stickysession` implies stickysession=<cookie name>: the Apache recipe
  // pairs `Header add Set-Cookie ROUTEID=...` with `ProxySet stickysession=ROUTEID`. With another
  // stickysession the cookie is still set but not read, which Apache allows as well.
  const stickysession = b.stickysession ?? (b.routecookie ? { cookie: b.routecookie.name, param: b.routecookie.name } : null);

  const members: MemberConfig[] = [];
  const urls = new Map<string, number>();
  const routes = new Map<string, number>();
  b.members.forEach((m, i) => {
    if (m === INVALID) return;
    const mat = `${at}.members[${i}]`;
    const dupUrl = urls.get(m.url.url);
    if (dupUrl !== undefined) r.reportAt(`${mat}.url`, `duplicate member ${m.url.url} (same as members[${dupUrl}])`);
    else urls.set(m.url.url, i);
    if (m.route !== '') {
      const dupRoute = routes.get(m.route);
      if (dupRoute !== undefined) r.reportAt(`${mat}.route`, `duplicate route "${m.route}" (also members[${dupRoute}]): a session could not tell them apart`);
      else routes.set(m.route, i);
    }
    if (m.secret !== '' && m.url.scheme !== 'ajp') r.reportAt(`${mat}.secret`, `secret is for ajp:// members only (this member is ${m.url.scheme}://)`);
    // httpd's HTTP ping is an Expect: 100-continue probe; stickyd's HTTP connector does not
    // send one, so the key is refused rather than silently ignored.
    if (m.ping !== 0 && m.url.scheme !== 'ajp') r.reportAt(`${mat}.ping`, `ping is supported for ajp:// members only (CPing/CPong); the HTTP 100-continue probe is not implemented (this member is ${m.url.scheme}://)`);
    members.push(member(m, proxyTimeout, tls));
  });
  // A redirect must name a route of this balancer (apache-semantics §2.4: it is looked up like a session route).
  // When a member could not be read its route is unknown, so the check would only mislead.
  if (b.members.every((m) => m !== INVALID)) {
    b.members.forEach((m, i) => {
      if (m.redirect !== '' && !routes.has(m.redirect)) {
        const guess = didYouMean(m.redirect, [...routes.keys()]);
        r.reportAt(`${at}.members[${i}].redirect`, `"${m.redirect}" is not the route of a member of this balancer${guess ? ` — did you mean "${guess}"?` : ` (routes: ${[...routes.keys()].join(', ') || 'none'})`}`);
      }
    });
  }

  return {
    name,
    implicit: false,
    stickysession,
    stickysessionsep: b.stickysessionsep,
    scolonpathdelim: b.scolonpathdelim,
    lbmethod: b.lbmethod,
    maxattempts: b.maxattempts,
    nofailover: b.nofailover,
    timeout: b.timeout,
    failonstatus: valid(b.failonstatus),
    failontimeout: b.failontimeout,
    forcerecovery: b.forcerecovery,
    nonce: b.nonce,
    growth: b.growth,
    routecookie: b.routecookie,
    ...(tls !== null ? { membertls: tls } : {}),
    members,
  };
}

/**
 * Member timeouts default to proxy.timeout (ProxyTimeout), connectiontimeout to timeout (apache-semantics §4.2);
 * an https:// member gets its balancer's TLS settings.
 */
function member(m: RawMember, proxyTimeout: number, tls: MemberTlsConfig | null): MemberConfig {
  const { url: address, timeout, connectiontimeout, ...rest } = m;
  const io = timeout ?? proxyTimeout;
  const out: MemberConfig = { ...address, ...rest, timeout: io, connectiontimeout: connectiontimeout ?? io };
  if (address.scheme === 'https' && tls !== null) out.tls = tls;
  return out;
}

/**
 * `ProxyPass /legacy http://host/legacy`: mod_proxy serves a direct URL through a worker of its own,
 * which we model as a one-member balancer named by the URL without path; no stickiness, and no
 * forcerecovery, so a dead direct backend answers 503 at once. Rules to the same host share it.
 */
function implicitBalancer(address: MemberAddress, proxyTimeout: number, balancers: BalancerConfig[], byName: Map<string, BalancerConfig>, tls: MemberTlsConfig | null): BalancerConfig {
  const existing = byName.get(address.url);
  if (existing) return existing;
  const { tls: _tls, ...defaults } = defaultsOf(balancerSchema)();
  const memberDefaults = defaultsOf(memberSchema)();
  const balancer: BalancerConfig = {
    name: address.url,
    implicit: true,
    ...defaults,
    stickysession: null,
    forcerecovery: false,
    failonstatus: [],
    ...(tls !== null ? { membertls: tls } : {}),
    members: [member({ ...memberDefaults, url: address }, proxyTimeout, tls)],
  };
  balancers.push(balancer);
  byName.set(balancer.name, balancer);
  return balancer;
}

function reverseOf(publicPath: string, target: Exclude<ProxyTarget, { kind: 'exclude' }>): ReverseRule {
  return target.kind === 'balancer'
    ? { path: publicPath, balancer: target.name, url: target.path }
    : { path: publicPath, balancer: null, url: `${target.member.url}${target.path}` };
}

function reportUnknownBalancer(at: string, name: string, declared: Map<string, string>, r: Reader): void {
  const names = [...declared.keys()];
  const guess = didYouMean(name, names);
  r.reportAt(at, `unknown balancer "${name}"${guess ? ` — did you mean "${guess}"?` : names.length ? ` (balancers: ${names.join(', ')})` : ' (no balancers are defined)'}`);
}

function isLoopback(address: string): boolean {
  return address === '::1' || (net.isIPv4(address) && address.startsWith('127.'));
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** Two listeners on one port collide when their addresses are equal or either is a wildcard. */
function overlaps(a: { address: string; port: number }, b: { address: string; port: number }): boolean {
  return a.port === b.port && (a.address === b.address || isWildcard(a.address) || isWildcard(b.address));
}

function checkListeners(listen: ListenConfig[], admin: RawConfig['admin'], r: Reader): void {
  listen.forEach((l, i) => {
    const j = listen.findIndex((other, k) => k < i && overlaps(other, l));
    if (j >= 0) r.reportAt(`listen[${i}].port`, `${l.address}:${l.port} overlaps listen[${j}] (${listen[j]?.address}:${listen[j]?.port})`);
  });
  if (!admin) return;
  const j = listen.findIndex((l) => overlaps(l, admin));
  if (j >= 0) r.reportAt('admin.port', `the admin listener ${admin.address}:${admin.port} overlaps listen[${j}]; give it a port of its own`);
  // The admin API can change member states: without a token it may only listen on loopback.
  if (admin.token === '' && !isLoopback(admin.address)) {
    r.reportAt('admin.token', `a token is required when admin.address (${admin.address}) is not a loopback address, e.g. token: \${STICKYD_ADMIN_TOKEN}`);
  }
}

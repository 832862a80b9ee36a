/**
 * The main server and the virtual hosts → one stickyd configuration. stickyd has one mount table,
 * one balancer of each name and one value of each setting for every listener, so virtual hosts
 * are merged when they agree and every disagreement is reported with both FILE:LINEs.
 *
 * Order of the merged rules, so that each virtual host keeps httpd's order for its own requests:
 * - ProxyPass inside `<Location>` first: httpd tries the Location's rule before the server's
 *   (proxy_trans), and when several Locations match, the last one in the file wins — so they are
 *   listed last-first for stickyd's first-match table;
 * - then the main server's rules, which every virtual host inherits ahead of its own (httpd's
 *   merge_proxy_config appends the virtual host's aliases to the main server's);
 * - then each virtual host's rules in file order.
 * ProxyPassReverse and the cookie rewrites are tried server-level first, then the Location ones
 * (merge_proxy_dir_config appends the Location's entries).
 *
 * A direct rule (`ProxyPass /x http://host/...`) whose worker has parameters becomes an explicit
 * one-member balancer carrying them. It keeps what makes a direct worker differ from a balancer
 * member: httpd gives it the I flag (ap_proxy_define_worker_ex: errors never put it out of
 * service), and, like stickyd's implicit balancers, forcerecovery off.
 */
import { formatDuration, parseMemberUrl } from '../config/index.js';
import { at, type Diagnostic, type Origin } from './diagnostics.js';
import type { BalancerDraft, CookieDraft, Drafts, Listener, MemberDraft, ReverseDraft, RouteCookieDraft, RuleDraft, Scope, Setting } from './drafts.js';
import { Duration, type ParamValue } from './params.js';
import type { RouteCookieRecipe } from './route-cookie.js';
import { parseBalancerUrl, sameValue } from './convert.js';
import { combineCipherSuites } from './tls.js';
import { NAMED_FORMATS } from '../log/access-format.js';

export type YamlValue = string | number | boolean | null | number[] | string[];

/** `listen[].tls` as written: the certificate files, more certificates, protocol settings. */
export type YamlTls = Record<string, YamlValue | Array<Record<string, YamlValue>>>;

export interface YamlListen {
  address: string;
  port: number;
  protocols?: string[];
  tls?: YamlTls;
}

export interface YamlBalancer {
  name: string;
  settings: Record<string, YamlValue>;
  routecookie: RouteCookieRecipe | null;
  members: Array<Record<string, YamlValue>>;
  /** SSLProxy* of <Proxy balancer://name>, or null. */
  tls?: Record<string, YamlValue> | null;
}

/** The `log:` section the importer writes (only what the Apache configuration set). */
export interface YamlLog {
  access?: { format: string; file?: string };
  error?: { file: string };
}

/** The balancer file to write, in the key order of the file. */
export interface YamlDocument {
  listen: YamlListen[];
  server: Record<string, YamlValue | Record<string, YamlValue>>;
  proxy: Record<string, YamlValue | Record<string, YamlValue>>;
  balancers: YamlBalancer[];
  proxypass: Array<{ path: string; url: string; nocanon?: true }>;
  proxypassreverse: Array<{ path: string; url: string }>;
  cookiepath: Array<{ internal: string; public: string }>;
  cookiedomain: Array<{ internal: string; public: string }>;
  /** AddOutputFilterByType DEFLATE/BROTLI_COMPRESS and the levels; null when none. */
  compression?: Record<string, YamlValue> | null;
  log: YamlLog | null;
}

/** Key order of a balancer and a member in the balancer file (src/config/schema.ts). */
const BALANCER_KEYS = ['stickysession', 'stickysessionsep', 'scolonpathdelim', 'lbmethod', 'maxattempts', 'nofailover', 'timeout', 'failonstatus', 'failontimeout', 'forcerecovery', 'nonce', 'growth'];
const MEMBER_KEYS = ['route', 'redirect', 'loadfactor', 'lbset', 'status', 'retry', 'timeout', 'connectiontimeout', 'max', 'ttl', 'disablereuse', 'acquire', 'keepalive', 'ping', 'secret', 'hcmethod', 'hcuri', 'hcinterval', 'hcpasses', 'hcfails', 'hcexpr'];

/** The directive of each proxy-side TLS key, for conflict messages. */
const PROXY_DIRECTIVES: Record<string, string> = {
  'proxy.verify': 'SSLProxyVerify',
  'proxy.cacertificatefile': 'SSLProxyCACertificateFile',
  'proxy.checkpeername': 'SSLProxyCheckPeerName',
  'proxy.checkpeercn': 'SSLProxyCheckPeerCN',
  'proxy.checkpeerexpire': 'SSLProxyCheckPeerExpire',
  'proxy.machinecertificatefile': 'SSLProxyMachineCertificateFile',
  'proxy.machinecertificatechainfile': 'SSLProxyMachineCertificateChainFile',
  'proxy.protocol': 'SSLProxyProtocol',
  'proxy.ciphersuite.ssl': 'SSLProxyCipherSuite',
  'proxy.ciphersuite.tls13': 'SSLProxyCipherSuite TLSv1.3',
};

/** Balancer names stickyd accepts (src/config/schema.ts). */
const BALANCER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function yamlValue(v: ParamValue): YamlValue {
  return v instanceof Duration ? formatDuration(v.ms) : v;
}

/** "" and null are the defaults of every text key that can hold them (route, hcuri, hcexpr...): left out. */
function isDefaultText(v: ParamValue): boolean {
  return v === '' || v === null;
}

function show(v: ParamValue | undefined): string {
  if (v === undefined) return 'unset';
  if (v instanceof Duration) return formatDuration(v.ms);
  if (typeof v === 'boolean') return v ? 'On' : 'Off';
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** Does the prefix rule `outer` match requests that `inner` matches (httpd's alias_match: whole segments)? */
function covers(outer: string, inner: string): boolean {
  if (!inner.startsWith(outer)) return false;
  return outer.endsWith('/') || inner.length === outer.length || inner[outer.length] === '/';
}

class Merger {
  readonly diagnostics: Diagnostic[] = [];
  private readonly serving: Scope[];
  /** The serving servers that proxy (see proxyingScopes). */
  private readonly proxying: Scope[];
  private readonly all: Scope[];
  /** Balancers that made it into the file (by name), for checking references. */
  private readonly kept = new Set<string>();

  constructor(private readonly drafts: Drafts, private readonly mainFile: string) {
    this.all = [drafts.main, ...drafts.vhosts];
    this.serving = this.servingScopes();
    this.proxying = this.proxyingScopes();
  }

  /**
   * The serving servers whose requests are proxied: those that hold ProxyPass rules, or inherit
   * the main server's. The proxy-side settings (ServerName for X-Forwarded-Server, ProxyPreserveHost,
   * ProxyAddHeaders, ProxyTimeout, SSLProxy*) are theirs: a main server that only answers an
   * uncovered Listen, or a virtual host that serves files, proxies nothing, so its settings never
   * applied to a proxied request. All serving servers when none proxies.
   */
  private proxyingScopes(): Scope[] {
    const { main } = this.drafts;
    const holds = (s: Scope): boolean => s.rules.length + s.locationRules.length > 0;
    const proxying = this.serving.filter((s) => holds(s) || (s !== main && holds(main)));
    return proxying.length > 0 ? proxying : this.serving;
  }

  private warn(origin: Origin, directive: string, message: string): void {
    this.diagnostics.push({ ...origin, directive, message });
  }

  /**
   * The servers that answer requests: the virtual hosts, and the main server too when a listener
   * port is not covered by any virtual host (httpd then serves it from the main server).
   */
  private servingScopes(): Scope[] {
    const { vhosts, main } = this.drafts;
    if (vhosts.length === 0) return [main];
    return this.uncoveredListeners().length > 0 ? [main, ...vhosts] : vhosts;
  }

  /** Listeners no <VirtualHost> address covers (an address without a port, or `*:*`, covers all). */
  private uncoveredListeners(): Listener[] {
    const addresses = this.drafts.vhosts.flatMap((v) => v.addresses);
    if (addresses.some((a) => !/:\d+$/.test(a))) return [];
    const ports = new Set(addresses.map((a) => Number(/:(\d+)$/.exec(a)?.[1])));
    return this.drafts.listeners.filter((l) => !ports.has(l.port));
  }

  /** In httpd a virtual host's rules do not serve the main server's listeners; in stickyd every rule serves every listener. */
  private reportMainServerListeners(): void {
    const uncovered = this.uncoveredListeners();
    if (uncovered.length === 0) return;
    const ports = uncovered.map((l) => `${l.address}:${l.port}`).join(', ');
    for (const v of this.drafts.vhosts) {
      if (v.rules.length + v.locationRules.length === 0 || !v.origin) continue;
      this.warn(v.origin, '<VirtualHost>', `its ProxyPass rules also serve ${ports}, which no <VirtualHost> covers (httpd serves them from the main server): stickyd has one mount table for every listener`);
    }
  }

  merge(): YamlDocument {
    const doc: YamlDocument = { listen: this.listeners(), server: {}, proxy: {}, balancers: [], proxypass: [], proxypassreverse: [], cookiepath: [], cookiedomain: [], log: null };
    this.settings(doc);
    this.reportMainServerListeners();
    const rules = this.rules();
    const { balancers, renamed } = this.balancers(rules);
    doc.balancers = balancers;
    for (const rule of rules) {
      const b = parseBalancerUrl(rule.url);
      if (b && !this.kept.has(b.name)) {
        this.warn(rule.origin, rule.directive, `${rule.path} not converted: balancer://${b.name} was not converted (see its own message)`);
        continue;
      }
      doc.proxypass.push({ path: rule.path, url: renamed.get(rule) ?? rule.url, ...(rule.nocanon && rule.url !== '!' ? { nocanon: true as const } : {}) });
    }
    doc.proxypassreverse = this.reverse();
    doc.cookiepath = this.cookies('cookiepath', 'locationCookiepath');
    doc.cookiedomain = this.cookies('cookiedomain', 'locationCookiedomain');
    doc.compression = this.compression();
    this.memberTlsNotes(doc);
    doc.log = this.logs();
    return doc;
  }

  // -------------------------------------------------------------------------------------------
  // Logs: stickyd writes one access log and one error log, where httpd may have one per server.

  private logs(): YamlLog | null {
    const log: YamlLog = {};
    const access = this.accessLog();
    if (access !== null) log.access = access;
    const errorLogs = this.all.flatMap((s) => (s.errorLog === null ? [] : [s.errorLog]));
    const [firstError, ...otherErrors] = errorLogs;
    if (firstError !== undefined) log.error = { file: firstError.file };
    for (const e of otherErrors) this.warn(e.origin, 'ErrorLog', `not converted: stickyd writes one error log, ${firstError!.file} from ${at(firstError!.origin)}`);
    return Object.keys(log).length === 0 ? null : log;
  }

  /**
   * The first CustomLog or TransferLog (the main server's before the virtual hosts'), its format
   * resolved as httpd resolves it when it opens the log: a nickname from the server's LogFormat
   * definitions (a virtual host also sees the main server's), else the text itself.
   */
  private accessLog(): YamlLog['access'] | null {
    const all = this.all.flatMap((scope) => scope.accessLogs.map((l) => ({ l, scope })));
    const [first, ...others] = all;
    if (first === undefined) return null;
    for (const { l } of others) this.warn(l.origin, l.directive, `not converted: stickyd writes one access log, ${first.l.file} from ${at(first.l.origin)}`);
    const { l, scope } = first;
    const main = this.drafts.main;
    let format: string;
    if (l.format === null) {
      // TransferLog: the last LogFormat without a nickname, else httpd's default (CLF).
      format = (scope.defaultLogFormat ?? main.defaultLogFormat)?.format ?? NAMED_FORMATS.common!;
    } else {
      const named = scope.logFormats.get(l.format) ?? main.logFormats.get(l.format);
      if (named !== undefined) {
        format = named.format;
      } else if (l.format.includes('%')) {
        format = l.format;
      } else if (Object.hasOwn(NAMED_FORMATS, l.format)) {
        this.warn(l.origin, l.directive, `no LogFormat names "${l.format}" here, so httpd would write that word on every line; stickyd writes its built-in ${l.format} format (${NAMED_FORMATS[l.format]})`);
        format = l.format;
      } else {
        this.warn(l.origin, l.directive, `not converted: no LogFormat names "${l.format}", so httpd would write that word on every line`);
        return null;
      }
    }
    // A format that is one of stickyd's named ones is written by its name.
    const name = Object.keys(NAMED_FORMATS).find((n) => NAMED_FORMATS[n] === format);
    const out: NonNullable<YamlLog['access']> = { format: name ?? format };
    if (l.file.startsWith('|')) {
      this.warn(l.origin, l.directive, `${l.file} not converted: piped logs are not supported; the access log goes to stdout (pipe that), or set log.access.file to a file and rotate it with logrotate (SIGUSR1 reopens it)`);
    } else {
      out.file = l.file;
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------

  private listeners(): YamlDocument['listen'] {
    const kept: Listener[] = [];
    for (const l of this.drafts.listeners) {
      const same = kept.find((k) => k.port === l.port && (k.address === l.address || k.address === '0.0.0.0' || l.address === '0.0.0.0' || k.address === '::' || l.address === '::'));
      if (same) {
        this.warn(l.origin, 'Listen', `not converted: ${l.address}:${l.port} overlaps Listen ${same.address}:${same.port} at ${at(same.origin)}`);
        continue;
      }
      kept.push(l);
    }
    if (kept.length === 0) {
      this.warn({ file: this.mainFile, line: 1 }, 'Listen', 'no Listen directive was converted: stickyd will listen on 0.0.0.0:80 (httpd\'s usual "Listen 80"); change listen: if that is wrong');
      return [{ address: '0.0.0.0', port: 80 }];
    }
    return kept.map((l) => this.withTls(l));
  }

  // -------------------------------------------------------------------------------------------
  // TLS (importer/tls.ts): listeners, proxy.tls, balancers' tls

  /** A TLS setting of a server: its own, else the main server's (httpd merges server configs). */
  private tlsSetting(scope: Scope, key: string): Setting | undefined {
    return scope.tls.get(key) ?? this.drafts.main.tls.get(key);
  }

  /** The servers that answer on a listener: the <VirtualHost>s whose addresses cover it, else the main server. */
  private serversOf(l: Listener): Scope[] {
    const covering = this.drafts.vhosts.filter((v) => v.addresses.some((a) => vhostCovers(a, l)));
    return covering.length > 0 ? covering : [this.drafts.main];
  }

  /** A path as written; a relative one is noted (httpd reads it from ServerRoot, stickyd from the balancer file's directory). */
  private filePath(s: Setting): string {
    const file = s.value as string;
    if (!file.startsWith('/')) this.warn(s.origin, s.source, `"${file}" is relative: httpd reads it from ServerRoot, stickyd from the balancer file's directory; write an absolute path if they differ`);
    return file;
  }

  /** A listener with the TLS of the servers that turn SSLEngine on for it, and their Protocols. */
  private withTls(l: Listener): YamlListen {
    const out: YamlListen = { address: l.address, port: l.port };
    const servers = this.serversOf(l);
    const tlsServers = servers.filter((s) => this.tlsSetting(s, 'sslengine')?.value === true);
    const usable = tlsServers.filter((s) => {
      if (this.tlsSetting(s, 'certificatefile') !== undefined) return true;
      const engine = this.tlsSetting(s, 'sslengine')!;
      this.warn(engine.origin, engine.source, `not converted for ${l.address}:${l.port}: SSLEngine on without SSLCertificateFile (httpd would not start)`);
      return false;
    });
    if (usable.length > 0) {
      const first = usable[0]!;
      const tls: YamlTls = {};
      const files = (scope: Scope): Record<string, YamlValue> => {
        const f: Record<string, YamlValue> = { certificatefile: this.filePath(this.tlsSetting(scope, 'certificatefile')!) };
        for (const key of ['certificatekeyfile', 'certificatechainfile']) {
          const s = this.tlsSetting(scope, key);
          if (s) f[key] = this.filePath(s);
        }
        return f;
      };
      Object.assign(tls, files(first));
      const more: Array<Record<string, YamlValue>> = [];
      const seen = new Set([tls.certificatefile]);
      for (const scope of usable.slice(1)) {
        const f = files(scope);
        if (seen.has(f.certificatefile)) continue;
        seen.add(f.certificatefile);
        more.push(f);
      }
      if (more.length > 0) tls.certificates = more;
      const protocol = this.tlsSetting(first, 'protocol');
      if (protocol) tls.protocol = protocol.value as string[];
      const ciphers = combineCipherSuites(this.tlsSetting(first, 'ciphersuite.ssl')?.value as string | undefined, this.tlsSetting(first, 'ciphersuite.tls13')?.value as string | undefined);
      if (ciphers !== null) tls.ciphersuite = ciphers;
      const tickets = this.tlsSetting(first, 'sessiontickets');
      if (tickets && tickets.value === false) tls.sessiontickets = false;
      for (const scope of usable.slice(1)) {
        for (const key of ['protocol', 'ciphersuite.ssl', 'ciphersuite.tls13', 'sessiontickets']) {
          const a = this.tlsSetting(first, key);
          const b = this.tlsSetting(scope, key);
          if (b && (!a || !sameValue(a.value, b.value))) {
            this.warn(b.origin, b.source, `not converted for ${l.address}:${l.port}: stickyd has one ${b.source} per listener and keeps ${a ? `${show(a.value)} from ${at(a.origin)}` : "stickyd's default"}`);
          }
        }
      }
      out.tls = tls;
    } else if (l.https) {
      this.warn(l.origin, 'Listen', `no server on ${l.address}:${l.port} has SSLEngine on, so httpd speaks plain HTTP there despite the https protocol, and so does stickyd`);
    }
    const protocols = this.tlsSetting(servers[0]!, 'protocols');
    if (protocols) {
      // httpd offers h2 only inside TLS and h2c only without it.
      const list = (protocols.value as string[]).filter((p) => (out.tls ? p !== 'h2c' : p !== 'h2'));
      if (list.length > 0 && !(list.length === 1 && list[0] === 'http/1.1')) {
        // The file's key order: address, port, protocols, tls.
        const { tls, ...rest } = out;
        return tls ? { ...rest, protocols: list, tls } : { ...rest, protocols: list };
      }
    }
    return out;
  }

  /** SSLProxy* settings (keys with the proxy. prefix) → the keys of proxy.tls / balancers.<name>.tls. */
  private proxyTls(get: (key: string) => Setting | undefined): Record<string, YamlValue> {
    const out: Record<string, YamlValue> = {};
    const verify = get('proxy.verify');
    if (verify) out.verify = verify.value as string;
    for (const key of ['cacertificatefile', 'machinecertificatefile', 'machinecertificatechainfile']) {
      const s = get(`proxy.${key}`);
      if (s) out[key] = this.filePath(s);
    }
    const name = get('proxy.checkpeername');
    const cn = get('proxy.checkpeercn');
    if (name && name.value === false && cn && cn.value === true) {
      this.warn(cn.origin, cn.source, 'converted as checkpeername: on: stickyd checks the names of the certificate (SAN, else CN) together');
    } else if (name) {
      out.checkpeername = name.value as boolean;
    }
    const expire = get('proxy.checkpeerexpire');
    if (expire) out.checkpeerexpire = expire.value as boolean;
    const protocol = get('proxy.protocol');
    if (protocol) out.protocol = protocol.value as string[];
    const ciphers = combineCipherSuites(get('proxy.ciphersuite.ssl')?.value as string | undefined, get('proxy.ciphersuite.tls13')?.value as string | undefined);
    if (ciphers !== null) out.ciphersuite = ciphers;
    return out;
  }

  /**
   * What an https:// member of the result should know: httpd does not verify members by default
   * (SSLProxyVerify none) while stickyd does, and httpd refuses https:// members without
   * SSLProxyEngine on.
   */
  private memberTlsNotes(doc: YamlDocument): void {
    const engineOn = [...this.all.map((s) => s.tls.get('proxy.engine')), ...[...this.drafts.balancers.values()].map((b) => b.tls.get('proxy.engine'))].some((s) => s?.value === true);
    const verifySet = this.all.some((s) => s.tls.has('proxy.verify')) || [...this.drafts.balancers.values()].some((b) => b.tls.has('proxy.verify'));
    for (const b of doc.balancers) {
      const draft = this.drafts.balancers.get(b.name);
      const https = draft?.members.find((m) => /^https:/i.test(m.url));
      if (!https) continue;
      if (!engineOn) this.warn(https.origin, 'BalancerMember', `${https.url}: httpd refuses https:// members without SSLProxyEngine on (500); stickyd proxies to them`);
      if (!verifySet && !b.tls?.verify) {
        this.warn(https.origin, 'BalancerMember', `${https.url}: httpd does not verify members' certificates unless SSLProxyVerify require; stickyd does by default: set proxy.tls.cacertificatefile to the CA that issued them (or verify: none to keep httpd's behaviour)`);
      }
      return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Compression (importer/compression.ts)

  private compression(): Record<string, YamlValue> | null {
    const { filters, levels } = this.drafts.compression;
    if (filters.length === 0) {
      for (const s of levels.values()) this.warn(s.origin, s.source, 'not converted: no AddOutputFilterByType DEFLATE or BROTLI_COMPRESS turns compression on');
      return null;
    }
    const algorithms: string[] = [];
    const types: string[] = [];
    for (const f of filters) {
      for (const a of f.algorithms) if (!algorithms.includes(a)) algorithms.push(a);
      for (const t of f.types) if (!types.includes(t)) types.push(t);
    }
    // stickyd has one type list for every coding: note where a filter covered fewer types.
    for (const f of filters) {
      const missing = types.filter((t) => !f.types.includes(t));
      const others = algorithms.filter((a) => !f.algorithms.includes(a));
      if (missing.length > 0 && others.length > 0) {
        this.warn(f.origin, 'AddOutputFilterByType', `stickyd compresses every listed type with every coding: ${f.algorithms.join(', ')} also for ${missing.join(' ')}`);
      }
    }
    const out: Record<string, YamlValue> = { algorithms, types };
    for (const [key, s] of levels) out[key] = s.value as number;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Settings: one value for every listener.

  private effective(scope: Scope, key: string): Setting | undefined {
    return scope.settings.get(key) ?? this.drafts.main.settings.get(key);
  }

  /**
   * The one value of a setting. `derive` computes it for a server from its (inherited) settings,
   * returning the setting that decided it, or undefined for httpd's default.
   */
  private agree(label: string, fallback: ParamValue | undefined, derive: (scope: Scope) => Setting | undefined, scopes: Scope[] = this.serving): Setting | undefined {
    const values = scopes.map((scope) => ({ scope, setting: derive(scope) }));
    const first = values[0] as { scope: Scope; setting: Setting | undefined };
    const valueOf = (v: typeof first) => v.setting?.value ?? fallback;
    const where = (scope: Scope) => (scope.origin ? `the <VirtualHost> at ${at(scope.origin)}` : 'the main server');
    const describe = (v: typeof first) =>
      v.setting
        ? `${show(v.setting.value)} (${v.setting.source} at ${at(v.setting.origin)})`
        : `${fallback === undefined ? "httpd's default" : `${show(fallback)}, httpd's default,`} (${where(v.scope)} sets none)`;
    for (const v of values.slice(1)) {
      const a = valueOf(first);
      const b = valueOf(v);
      if ((a === undefined && b === undefined) || (a !== undefined && b !== undefined && sameValue(a, b))) continue;
      // Report at a line that sets something: this server's own setting, else its <VirtualHost>
      // line, else (the main server has no line) the kept setting.
      const setting = v.setting ?? (first.setting as Setting);
      const origin = v.setting?.origin ?? v.scope.origin ?? setting.origin;
      this.warn(origin, setting.source, `conflicts with another server: stickyd has one ${label} for every listener and keeps ${describe(first)}, not ${describe(v)}`);
    }
    return first.setting;
  }

  private settings(doc: YamlDocument): void {
    const plain = (key: string) => (scope: Scope) => this.effective(scope, key);
    const servername = this.agree('ServerName', undefined, plain('servername'), this.proxying);
    if (servername) doc.server.servername = yamlValue(servername.value);

    const keepalivetimeout = this.agree('KeepAliveTimeout', new Duration(5000), plain('keepalivetimeout'));
    if (keepalivetimeout) doc.server.keepalivetimeout = yamlValue(keepalivetimeout.value);
    // Timeout's client side that stickyd has: the idle limit of Upgrade tunnels.
    const serverTimeout = this.agree('Timeout', new Duration(60_000), plain('timeout'));
    if (serverTimeout) doc.server.timeout = yamlValue(serverTimeout.value);
    // KeepAlive Off: one request per connection (maxkeepaliverequests 1), whatever MaxKeepAliveRequests says.
    const maxRequests = this.agree('MaxKeepAliveRequests (KeepAlive)', 100, (scope) => {
      const keepalive = this.effective(scope, 'keepalive');
      if (keepalive && keepalive.value === false) return { ...keepalive, value: 1 };
      return this.effective(scope, 'maxkeepaliverequests');
    });
    if (maxRequests) doc.server.maxkeepaliverequests = yamlValue(maxRequests.value);
    const graceful = this.drafts.main.settings.get('gracefultimeout');
    if (graceful) doc.server.gracefultimeout = yamlValue(graceful.value);
    // RequestReadTimeout: each stage on its own, Apache's defaults for header and body not given
    // (a handshake not given keeps stickyd's default: httpd's is none at all).
    const readTimeout: Record<string, YamlValue> = {};
    for (const [stage, fallback] of [['handshake', undefined], ['header', '20-40,MinRate=500'], ['body', '20,MinRate=500']] as const) {
      const setting = this.agree(`RequestReadTimeout ${stage}=`, fallback, plain(`requestreadtimeout.${stage}`));
      if (setting) readTimeout[stage] = yamlValue(setting.value);
    }
    if (Object.keys(readTimeout).length > 0) doc.server.requestreadtimeout = readTimeout;
    // mod_http2: H2MaxSessionStreams, H2WindowSize, H2WebSockets (httpd's defaults 100, 65535, off).
    const http2: Record<string, YamlValue> = {};
    for (const [directive, key, fallback] of [['H2MaxSessionStreams', 'maxsessionstreams', 100], ['H2WindowSize', 'windowsize', 65535], ['H2WebSockets', 'websockets', false]] as const) {
      const setting = this.agree(directive, fallback, plain(`h2${key}`));
      if (setting) http2[key] = yamlValue(setting.value);
    }
    if (Object.keys(http2).length > 0) doc.server.http2 = http2;

    const preservehost = this.agree('ProxyPreserveHost', false, plain('preservehost'), this.proxying);
    if (preservehost) doc.proxy.preservehost = yamlValue(preservehost.value);
    const addheaders = this.agree('ProxyAddHeaders', true, plain('addheaders'), this.proxying);
    if (addheaders) doc.proxy.addheaders = yamlValue(addheaders.value);
    // Members default to ProxyTimeout, else the server's Timeout (apache-semantics §7.2).
    const timeout = this.agree('ProxyTimeout (or Timeout)', new Duration(60_000), (scope) => this.effective(scope, 'proxytimeout') ?? this.effective(scope, 'timeout'), this.proxying);
    if (timeout) doc.proxy.timeout = yamlValue(timeout.value);
    // SSLProxy*: one value for every server that proxies, as the other settings.
    const proxyTls = this.proxyTls((key) => this.agree(PROXY_DIRECTIVES[key] ?? key, undefined, (scope) => this.tlsSetting(scope, key), this.proxying));
    if (Object.keys(proxyTls).length > 0) doc.proxy.tls = proxyTls;

    const globals: Record<string, boolean> = { proxypreservehost: (preservehost?.value ?? false) as boolean, proxyaddheaders: (addheaders?.value ?? true) as boolean };
    for (const scope of this.all) {
      for (const s of scope.locationSettings) {
        const global = globals[s.source.toLowerCase()];
        if (global === undefined || global === s.value) continue;
        this.warn(s.origin, s.source, `not converted: stickyd applies one ${s.source} to every path; it stays ${show(global)}`);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // ProxyPass rules

  private rules(): RuleDraft[] {
    const location = this.all.flatMap((s) => s.locationRules).reverse();
    const server = this.all.flatMap((s) => s.rules);
    const kept: RuleDraft[] = [];
    for (const rule of [...location, ...server]) {
      const same = kept.find((k) => k.path === rule.path);
      if (same) {
        if (same.url === rule.url) continue;
        const why = same.scope === rule.scope
          ? `never used: the rule for the same path at ${at(same.origin)} comes first`
          : `conflicts with the rule for the same path at ${at(same.origin)} (${same.url}) in another virtual host; stickyd has one mount table and keeps that one`;
        this.warn(rule.origin, rule.directive, `${rule.path} ${rule.url} not converted: ${why}`);
        continue;
      }
      const overlap = kept.find((k) => k.scope !== rule.scope && k.scope.id !== 0 && rule.scope.id !== 0 && (covers(k.path, rule.path) || covers(rule.path, k.path)) && !sameMapping(k, rule));
      if (overlap) {
        this.warn(rule.origin, rule.directive, `${rule.path} overlaps ${overlap.path} (${overlap.url}) at ${at(overlap.origin)} from another virtual host: stickyd has one mount table, so requests of both virtual hosts go to the first rule that matches`);
      }
      kept.push(rule);
    }
    return kept;
  }

  // -------------------------------------------------------------------------------------------
  // Balancers

  private balancers(rules: RuleDraft[]): { balancers: YamlBalancer[]; renamed: Map<RuleDraft, string> } {
    const out: YamlBalancer[] = [];
    for (const draft of this.drafts.balancers.values()) {
      const b = this.balancer(draft);
      if (b) {
        out.push(b);
        this.kept.add(b.name);
      }
    }
    this.routeCookies(out);

    // Direct rules whose worker has parameters: one explicit balancer per worker.
    const renamed = new Map<RuleDraft, string>();
    const byWorker = new Map<string, string>();
    const used = new Set<string>();
    for (const rule of rules) {
      if (rule.worker === null) continue;
      used.add(rule.worker);
      const worker = this.drafts.workers.get(rule.worker);
      if (!worker || worker.params.size === 0) continue;
      let name = byWorker.get(rule.worker);
      const address = parseMemberUrl(rule.url);
      if (name === undefined) {
        name = this.freeName(`${address.host}-${address.port}`);
        byWorker.set(rule.worker, name);
        const member: Record<string, YamlValue> = { url: address.url.slice(0, address.url.length - address.basepath.length) };
        for (const key of MEMBER_KEYS) {
          const s = worker.params.get(key);
          // I first, then a status= of its own on top, in the order httpd applies them.
          if (key === 'status') member.status = `+I${(s?.value as string | undefined) ?? ''}`;
          else if (s && !isDefaultText(s.value) && !this.ajpOnly(key, rule.url, s.origin, 'ProxySet')) member[key] = yamlValue(s.value);
        }
        out.push({ name, settings: { forcerecovery: false }, routecookie: null, members: [member] });
        this.kept.add(name);
        this.warn(rule.origin, rule.directive, `${rule.url}: its worker parameters are kept on an explicit one-member balancer "${name}" with status +I and forcerecovery off, as httpd runs a direct worker`);
      }
      // The path of the direct URL, as written (a trailing slash matters when it is appended to).
      const urlPath = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(.*)$/i.exec(rule.url)?.[1] ?? '';
      renamed.set(rule, `balancer://${name}${urlPath}`);
    }
    for (const worker of this.drafts.workers.values()) {
      if (!used.has(worker.normalized)) this.warn(worker.origin, 'ProxySet', `parameters for ${worker.normalized} not converted: no ProxyPass rule sends requests to it`);
    }
    return { balancers: out, renamed };
  }

  private freeName(base: string): string {
    let clean = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 48) || 'worker';
    if (!BALANCER_NAME.test(clean)) clean = 'worker';
    let name = clean;
    for (let i = 2; this.drafts.balancers.has(name) || this.kept.has(name); i++) name = `${clean}-${i}`;
    return name;
  }

  private balancer(draft: BalancerDraft): YamlBalancer | null {
    if (!BALANCER_NAME.test(draft.name) || draft.name.length > 52) {
      this.warn(draft.origin, 'balancer', `balancer://${draft.name} not converted: stickyd balancer names are letters, digits, ".", "_" and "-" (at most 52), starting with a letter or digit`);
      return null;
    }
    if (draft.members.length === 0) {
      this.warn(draft.origin, 'balancer', `balancer://${draft.name} not converted: it has no BalancerMember (httpd answers 503 for it)`);
      return null;
    }
    const settings: Record<string, YamlValue> = {};
    for (const key of BALANCER_KEYS) {
      const s = draft.params.get(key);
      if (s && !isDefaultText(s.value)) settings[key] = yamlValue(s.value);
    }
    const members = this.members(draft.name, draft.members);
    const tls = this.proxyTls((key) => draft.tls.get(key));
    return { name: draft.name, settings, routecookie: null, members, tls: Object.keys(tls).length > 0 ? tls : null };
  }

  private members(balancer: string, drafts: MemberDraft[]): Array<Record<string, YamlValue>> {
    const routes = new Map<string, MemberDraft>();
    for (const m of drafts) {
      const route = m.params.get('route');
      if (!route || route.value === '') continue;
      const first = routes.get(route.value as string);
      if (first) {
        this.warn(route.origin, 'BalancerMember', `route=${String(route.value)} not converted: ${first.url} at ${at(first.origin)} has the same route, and stickyd needs routes to be unique in a balancer (httpd would try that member first)`);
        m.params.delete('route');
      } else {
        routes.set(route.value as string, m);
      }
    }
    return drafts.map((m) => {
      const member: Record<string, YamlValue> = { url: m.url };
      for (const key of MEMBER_KEYS) {
        const s = m.params.get(key);
        if (!s || isDefaultText(s.value)) continue;
        if (key === 'redirect' && s.value !== '' && !routes.has(s.value as string)) {
          this.warn(s.origin, 'BalancerMember', `redirect=${String(s.value)} not converted: no member of balancer://${balancer} has that route, so httpd never finds one either`);
          continue;
        }
        if (this.ajpOnly(key, m.url, s.origin, 'BalancerMember')) continue;
        member[key] = yamlValue(s.value);
      }
      return member;
    });
  }

  /**
   * secret= and ping= on an http:// member are reported and dropped: httpd ignores secret for
   * http://, and stickyd has no HTTP 100-continue probe (the loader refuses ping on http:// members).
   */
  private ajpOnly(key: string, url: string, origin: Origin, directive: string): boolean {
    if ((key !== 'secret' && key !== 'ping') || /^ajp:/i.test(url)) return false;
    this.warn(origin, directive, key === 'secret'
      ? 'secret= not converted: it is for ajp:// members only, and httpd ignores it for http://'
      : 'ping= not converted: stickyd supports it for ajp:// members only (the HTTP 100-continue probe is not implemented)');
    return true;
  }

  /** The ROUTEID recipe (route-cookie.ts) goes to each balancer whose stickysession cookie it sets. */
  private routeCookies(balancers: YamlBalancer[]): void {
    const recipes: RouteCookieDraft[] = this.all.flatMap((s) => s.routeCookies);
    for (const r of recipes) {
      const targets = balancers.filter((b) => typeof b.settings.stickysession === 'string' && b.settings.stickysession.split('|')[0] === r.recipe.name);
      if (targets.length === 0) {
        this.warn(r.origin, 'Header', `not converted: no balancer has stickysession=${r.recipe.name}, so the cookie would never be read`);
        continue;
      }
      for (const b of targets) {
        if (b.routecookie) {
          if (JSON.stringify(b.routecookie) !== JSON.stringify(r.recipe)) {
            this.warn(r.origin, 'Header', `not converted for balancer://${b.name}: another Header line already sets its route cookie differently`);
          }
          continue;
        }
        b.routecookie = r.recipe;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reverse rules and cookie rewrites

  private reverse(): YamlDocument['proxypassreverse'] {
    const entries: ReverseDraft[] = [...this.all.flatMap((s) => s.reverse), ...this.all.flatMap((s) => s.locationReverse)];
    const kept: ReverseDraft[] = [];
    for (const e of entries) {
      const b = parseBalancerUrl(e.url);
      if (b && !this.kept.has(b.name)) {
        const why = this.drafts.balancers.has(b.name) ? 'was not converted' : 'has no BalancerMember anywhere';
        this.warn(e.origin, e.directive, `not converted: balancer://${b.name} ${why}`);
        continue;
      }
      const same = kept.find((k) => k.url.toLowerCase() === e.url.toLowerCase());
      if (same) {
        if (same.path === e.path) continue;
        if (same.scope !== e.scope && same.scope.id !== 0 && e.scope.id !== 0) {
          this.warn(e.origin, e.directive, `${e.path} ${e.url} not converted: conflicts with ${same.path} for the same URL at ${at(same.origin)} in another virtual host; the first match wins in stickyd's one list`);
          continue;
        }
      }
      kept.push(e);
    }
    return kept.map((e) => ({ path: e.path, url: e.url }));
  }

  private cookies(server: 'cookiepath' | 'cookiedomain', location: 'locationCookiepath' | 'locationCookiedomain'): Array<{ internal: string; public: string }> {
    const entries: CookieDraft[] = [...this.all.flatMap((s) => s[server]), ...this.all.flatMap((s) => s[location])];
    const kept: CookieDraft[] = [];
    for (const e of entries) {
      const same = kept.find((k) => (server === 'cookiedomain' ? k.internal.toLowerCase() === e.internal.toLowerCase() : k.internal === e.internal));
      if (same) {
        if (same.public === e.public) continue;
        if (same.scope !== e.scope && same.scope.id !== 0 && e.scope.id !== 0) {
          this.warn(e.origin, e.directive, `${e.internal} ${e.public} not converted: conflicts with ${same.internal} ${same.public} at ${at(same.origin)} in another virtual host; the first match wins in stickyd's one list`);
          continue;
        }
      }
      kept.push(e);
    }
    return kept.map((e) => ({ internal: e.internal, public: e.public }));
  }
}

/**
 * Does a <VirtualHost> address (`*:443`, `_default_:443`, `10.0.0.1:443`, `[::1]:8053`, `*`)
 * cover a listener? An address without a port covers every port.
 */
function vhostCovers(address: string, l: Listener): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+|\*))?$/.exec(address);
  if (!m) return false;
  const host = m[1] ?? m[2] ?? '';
  const port = m[3];
  const portOk = port === undefined || port === '*' || Number(port) === l.port;
  const hostOk = host === '*' || host === '_default_' || host === l.address || l.address === '0.0.0.0' || l.address === '::';
  return portOk && hostOk;
}

/** Two rules that send every request they both match to the same place (e.g. /a → c and /a/x → c/x). */
function sameMapping(a: RuleDraft, b: RuleDraft): boolean {
  const [outer, inner] = a.path.length <= b.path.length ? [a, b] : [b, a];
  if (outer.url === '!' || inner.url === '!') return outer.url === inner.url;
  return inner.url === outer.url + inner.path.slice(outer.path.length);
}

export function mergeDrafts(drafts: Drafts, mainFile: string): { document: YamlDocument; diagnostics: Diagnostic[] } {
  const merger = new Merger(drafts, mainFile);
  const document = merger.merge();
  return { document, diagnostics: merger.diagnostics };
}

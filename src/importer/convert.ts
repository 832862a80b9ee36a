/**
 * Walks the parsed Apache tree (parser.ts) and collects, per server (main server and each
 * `<VirtualHost>`), what stickyd can express: listeners, ProxyPass rules, reverse rules, cookie
 * rewrites, mod_proxy settings, and the balancers with their members. Every directive or
 * parameter that cannot be expressed becomes a diagnostic `FILE:LINE: Directive: why`.
 *
 * Apache semantics kept here (apache-semantics §7, §8; mod_proxy.c of httpd 2.4.62):
 * - key=value words after a `balancer://` URL on ProxyPass are *balancer* parameters; after a
 *   direct URL they are parameters of that URL's worker.
 * - `BalancerMember` inside `<Proxy balancer://x>` belongs to x; outside, its first word names the
 *   balancer. `ProxySet` inside `<Proxy>` sets the section's balancer (or worker), outside its
 *   first word names it.
 * - key=value words on the `<Proxy balancer://x ...>` line itself are balancer parameters.
 * - Inside `<Location path>` ProxyPass and ProxyPassReverse take no path: it is the Location's.
 * - Balancer names are lower-cased; a second `BalancerMember` with the same URL in one balancer
 *   is the same worker, and httpd ignores its parameters ("worker sharing").
 */
import type { Diagnostic, Origin } from './diagnostics.js';
import { at } from './diagnostics.js';
import { newScope, type BalancerDraft, type Drafts, type MemberDraft, type RuleDraft, type Scope, type Setting } from './drafts.js';
import { parseListen, serverNameHost } from './addresses.js';
import { Duration, readBalancerParam, readMemberParam, templateDefaults, type HealthCheckDefinitions, type ParamResult } from './params.js';
import type { ApacheDirective, ApacheNode, ApacheSection } from './parser.js';
import { regexToPrefix } from './proxypass-match.js';
import { notConvertedReason, SILENT, SKIPPED_SECTIONS } from './reasons.js';
import { parseRouteCookieHeader } from './route-cookie.js';
import { hasWildcard } from './fnmatch.js';
import { parseMemberUrl } from '../config/index.js';
import { formatReadTimeoutStage, parseReadTimeoutStage, ReadTimeoutSyntaxError } from '../config/request-read-timeout.js';
import { isCompressionDirective, readCompressionDirective, type CompressionReading } from './compression.js';
import { isTlsDirective, readTlsDirective, type TlsReading } from './tls.js';
import { ApacheValueError, atoi, onOff, timeoutParameter } from './values.js';
import { accessFormatProblem } from '../log/access-format.js';

interface LocationContext {
  path: string;
  /** `<LocationMatch>`: the path is a regular expression. */
  regex: boolean;
  /** `<Location>` with wildcards: httpd matches it with fnmatch. */
  wildcard: boolean;
  directive: string;
}

type ProxyContext =
  | { kind: 'balancer'; name: string }
  | { kind: 'worker'; url: string; normalized: string }
  | { kind: 'other' };

interface Context {
  scope: Scope;
  location: LocationContext | null;
  proxy: ProxyContext | null;
}

const BALANCER_URL = /^balancer:\/\/([^/?#]*)([^?#]*)$/i;

/** `balancer://Name/path` → { name: "name", path: "/path" }, or null. */
export function parseBalancerUrl(text: string): { name: string; path: string } | null {
  const m = BALANCER_URL.exec(text);
  return m ? { name: (m[1] as string).toLowerCase(), path: m[2] as string } : null;
}

function splitParam(word: string): [string, string] | null {
  const eq = word.indexOf('=');
  return eq < 0 ? null : [word.slice(0, eq), word.slice(eq + 1)];
}

export class Converter {
  readonly diagnostics: Diagnostic[] = [];
  /** ProxyPass / ProxyPassMatch directives seen, converted or not. */
  proxyPassSeen = 0;
  private readonly drafts: Drafts;
  private readonly hc: HealthCheckDefinitions = { expressions: new Map(), templates: new Map() };

  constructor() {
    this.drafts = { main: newScope(0, null), vhosts: [], listeners: [], balancers: new Map(), workers: new Map(), compression: { filters: [], levels: new Map() } };
  }

  convert(nodes: ApacheNode[]): Drafts {
    this.walk(nodes, { scope: this.drafts.main, location: null, proxy: null });
    return this.drafts;
  }

  private warn(origin: Origin, directive: string, message: string): void {
    this.diagnostics.push({ ...origin, directive, message });
  }

  private walk(nodes: ApacheNode[], ctx: Context): void {
    for (const node of nodes) {
      if (node.kind === 'section') this.section(node, ctx);
      else this.directive(node, ctx);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sections

  private section(s: ApacheSection, ctx: Context): void {
    const lower = s.name.toLowerCase();
    const label = `<${s.name}>`;
    switch (lower) {
      case 'virtualhost': {
        if (ctx.scope !== this.drafts.main || ctx.location || ctx.proxy) {
          this.warn(s.origin, label, '<VirtualHost> cannot be nested; not converted');
          return;
        }
        const scope = newScope(this.drafts.vhosts.length + 1, s.origin, s.args);
        this.drafts.vhosts.push(scope);
        this.walk(s.children, { scope, location: null, proxy: null });
        return;
      }
      case 'location':
      case 'locationmatch': {
        const path = s.args[0];
        if (path === undefined || ctx.location || ctx.proxy) {
          this.warn(s.origin, label, path === undefined ? `${label} needs a path; not converted` : `${label} cannot be nested here; not converted`);
          return;
        }
        const regex = lower === 'locationmatch' || (s.args[0] === '~' && s.args.length > 1);
        const location: LocationContext = {
          path: s.args[0] === '~' ? (s.args[1] ?? '') : path,
          regex,
          wildcard: !regex && hasWildcard(path),
          directive: label,
        };
        this.walk(s.children, { ...ctx, location });
        return;
      }
      case 'proxy':
        this.proxySection(s, ctx);
        return;
      default: {
        const why = SKIPPED_SECTIONS[lower] ?? 'this section is not supported';
        const count = countDirectives(s.children);
        this.warn(s.origin, label, `${why}; the section and the ${count} directive${count === 1 ? '' : 's'} in it were not converted`);
      }
    }
  }

  private proxySection(s: ApacheSection, ctx: Context): void {
    const label = `<${s.name}>`;
    if (ctx.location || ctx.proxy) {
      this.warn(s.origin, label, `${label} cannot be nested here; not converted`);
      return;
    }
    let target = s.args[0] ?? '';
    if (/^proxy:/i.test(target)) target = target.slice(6);
    const params = s.args.slice(1);
    const balancer = parseBalancerUrl(target);
    let proxy: ProxyContext;
    if (balancer) {
      this.balancer(balancer.name, s.origin);
      proxy = { kind: 'balancer', name: balancer.name };
      this.applyParams(params, s.origin, label, ctx.scope, proxy);
    } else if (!hasWildcard(target) && /^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
      const normalized = this.workerUrl(target, s.origin, label);
      if (normalized === null) return;
      proxy = { kind: 'worker', url: target, normalized };
      this.applyParams(params, s.origin, label, ctx.scope, proxy);
    } else {
      proxy = { kind: 'other' };
    }
    this.walk(s.children, { ...ctx, proxy });
  }

  // -------------------------------------------------------------------------------------------
  // Directives

  private directive(d: ApacheDirective, ctx: Context): void {
    const lower = d.name.toLowerCase();
    if (CONVERTED.has(lower)) this.noteEnvironmentReferences(d);
    if (SILENT.has(lower)) {
      if (lower === 'proxyhcexpr') this.proxyHcExpr(d);
      if (lower === 'proxyhctemplate') this.proxyHcTemplate(d);
      return;
    }
    if (isTlsDirective(lower)) return this.tlsDirective(d, lower, ctx);
    if (isCompressionDirective(lower)) return this.compressionDirective(d, lower, ctx);
    switch (lower) {
      case 'listen':
        return this.listen(d, ctx);
      case 'servername':
        return this.serverName(d, ctx);
      case 'proxypass':
        return this.proxyPass(d, ctx, false);
      case 'proxypassmatch':
        return this.proxyPass(d, ctx, true);
      case 'proxypassreverse':
        return this.proxyPassReverse(d, ctx);
      case 'proxypassreversecookiepath':
      case 'proxypassreversecookiedomain':
        return this.cookieRewrite(d, ctx, lower === 'proxypassreversecookiepath' ? 'path' : 'domain');
      case 'proxypreservehost':
        return this.flagSetting(d, ctx, 'preservehost');
      case 'proxyaddheaders':
        return this.flagSetting(d, ctx, 'addheaders');
      case 'proxytimeout':
        return this.serverSetting(d, ctx, 'proxytimeout', () => {
          const n = atoi(d.args[0] ?? '');
          if (n < 1) throw new ApacheValueError('Proxy Timeout must be at least 1 second.');
          return new Duration(n * 1000);
        });
      case 'timeout':
        // The backend side of Timeout: members use it when ProxyTimeout is not set (apache-semantics §7.2).
        return this.serverSetting(d, ctx, 'timeout', () => new Duration(atoi(d.args[0] ?? '') * 1000));
      case 'keepalivetimeout':
        return this.serverSetting(d, ctx, 'keepalivetimeout', () => {
          const ms = timeoutParameter(d.args[0] ?? '', 's');
          if (ms === null) throw new ApacheValueError('KeepAliveTimeout has wrong format');
          if (ms < 1) throw new ApacheValueError('stickyd needs a KeepAliveTimeout of at least 1ms');
          return new Duration(ms);
        });
      case 'maxkeepaliverequests':
        return this.serverSetting(d, ctx, 'maxkeepaliverequests', () => Math.max(atoi(d.args[0] ?? ''), 0));
      case 'keepalive':
        // KeepAlive Off: one request per connection, which stickyd writes as maxkeepaliverequests 1.
        return this.serverSetting(d, ctx, 'keepalive', () => onOff(d.args[0] ?? '', 'KeepAlive must be On or Off'));
      case 'gracefulshutdowntimeout':
        if (ctx.scope !== this.drafts.main) return this.warn(d.origin, d.name, 'invalid: httpd allows GracefulShutdownTimeout only in the main server');
        return this.serverSetting(d, ctx, 'gracefultimeout', () => {
          const n = atoi(d.args[0] ?? '');
          // httpd's 0 means "wait as long as it takes", which stickyd does not offer.
          if (n < 1) throw new ApacheValueError('0 (wait without limit) cannot be expressed: server.gracefultimeout needs a limit');
          return new Duration(n * 1000);
        });
      case 'requestreadtimeout':
        return this.requestReadTimeout(d, ctx);
      // mod_http2's limits (server and virtual host level), with httpd's own checks.
      case 'h2maxsessionstreams':
        return this.serverSetting(d, ctx, 'h2maxsessionstreams', () => {
          const n = atoi(d.args[0] ?? '');
          if (n < 1) throw new ApacheValueError('httpd refuses it: value must be > 0');
          if (n > 65535) throw new ApacheValueError('server.http2.maxsessionstreams is at most 65535');
          return n;
        });
      case 'h2windowsize':
        return this.serverSetting(d, ctx, 'h2windowsize', () => {
          const n = atoi(d.args[0] ?? '');
          if (n < 1024) throw new ApacheValueError('httpd refuses it: value must be >= 1024');
          // Below HTTP/2's initial 65535 a client would have to wait for WINDOW_UPDATEs on every body.
          if (n < 65535) throw new ApacheValueError(`server.http2.windowsize is at least 65535 (HTTP/2's initial window); stickyd keeps that, not ${n}`);
          if (n > 2 ** 31 - 1) throw new ApacheValueError('HTTP/2 windows are at most 2147483647');
          return n;
        });
      case 'h2websockets':
        // httpd's default is off, stickyd's on: only what the file says is converted.
        return this.serverSetting(d, ctx, 'h2websockets', () => onOff(d.args[0] ?? '', 'httpd refuses it: value must be On or Off'));
      case 'httpprotocoloptions': {
        // stickyd reads request lines as httpd with `Strict Require1.0` (src/proxy/request-line.ts).
        const lenient = d.args.filter((a) => /^(unsafe|allow0\.9)$/i.test(a));
        if (lenient.length === 0) return;
        return this.warn(d.origin, d.name, `${lenient.join(' ')} not converted: stickyd always refuses what HttpProtocolOptions Strict Require1.0 refuses (HTTP/0.9 and malformed request lines get 400)`);
      }
      case 'balancermember':
        return this.balancerMember(d, ctx);
      case 'proxyset':
        return this.proxySet(d, ctx);
      case 'header':
        return this.header(d, ctx);
      case 'logformat':
        return this.logFormat(d, ctx);
      case 'customlog':
      case 'transferlog':
        return this.accessLog(d, ctx, lower === 'transferlog');
      case 'errorlog':
        return this.errorLog(d, ctx);
      case 'proxyrequests':
      case 'proxyvia':
        // Off is what stickyd does.
        if (/^off$/i.test(d.args[0] ?? '')) return;
        break;
      case 'proxypassinherit':
      case 'balancerinherit':
        if (/^on$/i.test(d.args[0] ?? '')) return;
        break;
      case 'sethandler':
        if (/^balancer-manager$/i.test(d.args[0] ?? '')) {
          return this.warn(d.origin, d.name, 'balancer-manager: use the admin listener instead (admin: { address: 127.0.0.1, port: 8052 } in the balancer file)');
        }
        break;
    }
    this.warn(d.origin, d.name, `not converted: ${notConvertedReason(d.name)}`);
  }

  /**
   * A `${NAME}` that no Define set stays in the output (parser.ts): httpd would read it from its
   * environment at start, stickyd's loader does the same when it loads the balancer file.
   */
  private noteEnvironmentReferences(d: ApacheDirective): void {
    const names = new Set(d.args.flatMap((a) => [...a.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1] as string)));
    for (const name of names) {
      this.warn(d.origin, d.name, `\${${name}} is not set by a Define: kept as \${${name}}, which stickyd expands from its environment when it loads the balancer file`);
    }
  }

  private onlyServerLevel(d: ApacheDirective, ctx: Context): boolean {
    if (ctx.location || ctx.proxy) {
      this.warn(d.origin, d.name, `not converted: httpd allows ${d.name} only at server level, not inside ${ctx.location?.directive ?? '<Proxy>'}`);
      return false;
    }
    return true;
  }

  private listen(d: ApacheDirective, ctx: Context): void {
    if (ctx.scope !== this.drafts.main || ctx.location || ctx.proxy) {
      return this.warn(d.origin, d.name, 'not converted: httpd allows Listen only outside <VirtualHost> and other sections');
    }
    const result = parseListen(d.args);
    if (!result.ok) return this.warn(d.origin, d.name, result.invalid ? `invalid: ${result.reason}` : `not converted: ${result.reason}`);
    this.drafts.listeners.push({ address: result.address, port: result.port, https: result.https, origin: d.origin });
  }

  private serverName(d: ApacheDirective, ctx: Context): void {
    if (!this.onlyServerLevel(d, ctx)) return;
    const name = d.args[0];
    if (name === undefined || d.args.length !== 1) return this.warn(d.origin, d.name, 'invalid: ServerName takes one argument');
    this.setSetting(ctx.scope, 'servername', { value: serverNameHost(name), origin: d.origin, source: d.name, scope: ctx.scope });
  }

  private setSetting(scope: Scope, key: string, setting: Setting): void {
    scope.settings.set(key, setting);
  }

  /** A server-level setting read by `read`, which throws ApacheValueError for what httpd refuses. */
  private serverSetting(d: ApacheDirective, ctx: Context, key: string, read: () => Setting['value']): void {
    if (!this.onlyServerLevel(d, ctx)) return;
    if (d.args.length !== 1) return this.warn(d.origin, d.name, `invalid: ${d.name} takes one argument`);
    try {
      this.setSetting(ctx.scope, key, { value: read(), origin: d.origin, source: d.name, scope: ctx.scope });
    } catch (err) {
      if (!(err instanceof ApacheValueError)) throw err;
      this.warn(d.origin, d.name, `not converted: ${err.message}`);
    }
  }

  /**
   * `RequestReadTimeout handshake=… header=… body=…` (mod_reqtimeout): each stage goes to
   * server.requestreadtimeout in Apache's own syntax; header and body not given keep Apache's
   * defaults, a handshake not given keeps stickyd's (10 s; httpd's is none).
   */
  private requestReadTimeout(d: ApacheDirective, ctx: Context): void {
    if (!this.onlyServerLevel(d, ctx)) return;
    if (d.args.length === 0) return this.warn(d.origin, d.name, 'invalid: RequestReadTimeout takes header=…, body=… (and handshake=…)');
    for (const arg of d.args) {
      const eq = arg.indexOf('=');
      const stage = eq < 0 ? '' : arg.slice(0, eq).toLowerCase();
      const value = arg.slice(eq + 1);
      if (stage !== 'header' && stage !== 'body' && stage !== 'handshake') {
        this.warn(d.origin, d.name, `invalid: ${arg}: httpd refuses it: Unknown RequestReadTimeout parameter`);
        continue;
      }
      // httpd reads whole seconds only (parse_int); stickyd's loader would take units too.
      if (!/^\d+(-\d+)?(,minrate=\d+)?$/i.test(value)) {
        this.warn(d.origin, d.name, `invalid: ${arg}: httpd refuses it: expected ${stage}=seconds[-maxseconds][,MinRate=rate]`);
        continue;
      }
      try {
        const written = formatReadTimeoutStage(parseReadTimeoutStage(value));
        this.setSetting(ctx.scope, `requestreadtimeout.${stage}`, { value: written, origin: d.origin, source: `${d.name} ${stage}=`, scope: ctx.scope });
      } catch (err) {
        if (!(err instanceof ReadTimeoutSyntaxError)) throw err;
        this.warn(d.origin, d.name, `invalid: ${arg}: httpd refuses it: ${err.message}`);
      }
    }
  }

  /** ProxyPreserveHost / ProxyAddHeaders: per directory in httpd, global in stickyd. */
  private flagSetting(d: ApacheDirective, ctx: Context, key: 'preservehost' | 'addheaders'): void {
    let value: boolean;
    try {
      if (d.args.length !== 1) throw new ApacheValueError(`${d.name} takes one argument, On or Off`);
      value = onOff(d.args[0] as string, `${d.name} must be On or Off`);
    } catch (err) {
      if (!(err instanceof ApacheValueError)) throw err;
      return this.warn(d.origin, d.name, `invalid: ${err.message}`);
    }
    const setting: Setting = { value, origin: d.origin, source: d.name, scope: ctx.scope };
    if (ctx.location || ctx.proxy) ctx.scope.locationSettings.push(setting);
    else this.setSetting(ctx.scope, key, setting);
  }

  // -------------------------------------------------------------------------------------------
  // ProxyPass family

  private proxyPass(d: ApacheDirective, ctx: Context, matchDirective: boolean): void {
    this.proxyPassSeen++;
    if (ctx.proxy) return this.warn(d.origin, d.name, 'not converted: ProxyPass inside <Proxy> is not supported; write it at server level');
    const words = [...d.args];
    let regex = matchDirective;
    let path: string;
    if (ctx.location) {
      if (words[0]?.startsWith('/')) return this.warn(d.origin, d.name, `invalid: ${d.name} can not have a path when defined in a location`);
      path = ctx.location.path;
      if (ctx.location.wildcard) {
        return this.warn(d.origin, d.name, `not converted: the ${ctx.location.directive} path "${path}" has wildcards, and stickyd has prefix rules only`);
      }
      regex = regex || ctx.location.regex;
    } else {
      if (words[0] === '~' && !matchDirective) {
        words.shift();
        regex = true;
      }
      const first = words.shift();
      if (first === undefined) return this.warn(d.origin, d.name, `invalid: ${d.name} needs a path and a URL`);
      path = first;
    }
    const url = words.shift();
    if (url === undefined) return this.warn(d.origin, d.name, `invalid: ${d.name} needs a URL after the path`);

    const params: string[] = [];
    let nocanon = false;
    for (const word of words) {
      if (/^nocanon$/i.test(word)) {
        nocanon = true;
      } else if (/^(interpolate|noquery)$/i.test(word)) {
        this.warn(d.origin, d.name, `flag ${word} not converted: not supported`);
      } else if (splitParam(word) === null) {
        return this.warn(d.origin, d.name, `invalid: parameter "${word}" must be in the form key=value`);
      } else if (/^mapping=servlet$/i.test(word)) {
        // httpd matches such a rule on the servlet form of the path and forwards the path as it
        // came; stickyd matches every rule on the servlet form, and nocanon forwards it as it came.
        nocanon = true;
      } else if (/^mapping=/i.test(word)) {
        this.warn(d.origin, d.name, `${word} not converted: not supported`);
      } else {
        params.push(word);
      }
    }

    let target = url;
    if (regex) {
      const conversion = regexToPrefix(path, url);
      if (!conversion.ok) return this.warn(d.origin, d.name, `not converted: ${conversion.reason}`);
      if (conversion.note) this.warn(d.origin, d.name, conversion.note);
      path = conversion.path;
      target = conversion.url;
    }
    if (!path.startsWith('/')) return this.warn(d.origin, d.name, `not converted: the path "${path}" does not start with "/"`);

    const rule: RuleDraft = { path, url: target, worker: null, nocanon, origin: d.origin, directive: d.name, scope: ctx.scope };
    if (target !== '!') {
      const balancer = parseBalancerUrl(target);
      if (balancer) {
        this.balancer(balancer.name, d.origin);
        rule.url = `balancer://${balancer.name}${balancer.path}`;
        this.applyParams(params, d.origin, d.name, ctx.scope, { kind: 'balancer', name: balancer.name });
      } else {
        const normalized = this.workerUrl(target, d.origin, d.name);
        if (normalized === null) return;
        rule.worker = normalized;
        // httpd has one worker per URL: the first ProxyPass (or <Proxy URL>) to it defines it, and
        // later ones share it, their parameters ignored with a warning.
        const defined = this.drafts.workers.get(normalized);
        const shared = defined !== undefined || this.usedAsWorker(normalized);
        if (shared && params.length > 0) {
          const where = defined ? ` set up at ${at(defined.origin)}` : '';
          this.warn(d.origin, d.name, `${params.join(' ')} not converted: httpd shares the worker ${normalized}${where} and ignores parameters given again`);
        } else {
          this.applyParams(params, d.origin, d.name, ctx.scope, { kind: 'worker', url: target, normalized });
        }
      }
    }
    (ctx.location ? ctx.scope.locationRules : ctx.scope.rules).push(rule);
  }

  /** A direct (non-balancer) worker URL, normalized, or null after a diagnostic. */
  private workerUrl(url: string, origin: Origin, directive: string): string | null {
    try {
      return parseMemberUrl(url).url;
    } catch (err) {
      this.warn(origin, directive, `not converted: ${(err as Error).message}`);
      return null;
    }
  }

  private proxyPassReverse(d: ApacheDirective, ctx: Context): void {
    if (ctx.proxy) return this.warn(d.origin, d.name, 'not converted: ProxyPassReverse inside <Proxy> is not supported');
    let path: string;
    let url: string | undefined;
    let rest: string[];
    if (ctx.location) {
      if (ctx.location.regex || ctx.location.wildcard) {
        return this.warn(d.origin, d.name, `not converted: inside ${ctx.location.directive} "${ctx.location.path}" the public path would be a pattern`);
      }
      path = ctx.location.path;
      [url, ...rest] = d.args;
    } else {
      const [first, second, ...more] = d.args;
      if (first === undefined || second === undefined || /^interpolate$/i.test(second)) {
        return this.warn(d.origin, d.name, 'invalid: ProxyPassReverse needs a path when not defined in a location');
      }
      path = first;
      url = second;
      rest = more;
    }
    if (url === undefined) return this.warn(d.origin, d.name, 'invalid: ProxyPassReverse needs a URL');
    if (rest.length > 0) {
      if (rest.length === 1 && /^interpolate$/i.test(rest[0] as string)) this.warn(d.origin, d.name, 'flag interpolate not converted: not supported');
      else return this.warn(d.origin, d.name, 'invalid: too many arguments');
    }
    if (!path.startsWith('/')) return this.warn(d.origin, d.name, `not converted: the path "${path}" does not start with "/"`);
    const balancer = parseBalancerUrl(url);
    let written: string;
    if (balancer) {
      written = `balancer://${balancer.name}${balancer.path}`;
    } else if (/^(https?|ajp):\/\/[^/]/i.test(url)) {
      written = url;
    } else {
      return this.warn(d.origin, d.name, `not converted: "${url}" is neither balancer://name nor an http://, https:// or ajp:// URL`);
    }
    const entry = { path, url: written, origin: d.origin, directive: d.name, scope: ctx.scope };
    (ctx.location ? ctx.scope.locationReverse : ctx.scope.reverse).push(entry);
  }

  private cookieRewrite(d: ApacheDirective, ctx: Context, kind: 'path' | 'domain'): void {
    if (ctx.proxy) return this.warn(d.origin, d.name, `not converted: ${d.name} inside <Proxy> is not supported`);
    const [internal, pub, flag, ...extra] = d.args;
    if (internal === undefined || pub === undefined || extra.length > 0 || (flag !== undefined && !/^interpolate$/i.test(flag))) {
      return this.warn(d.origin, d.name, `invalid: ${d.name} takes an internal and a public ${kind} (and optionally interpolate)`);
    }
    if (flag !== undefined) this.warn(d.origin, d.name, 'flag interpolate not converted: not supported');
    if (internal === '') return this.warn(d.origin, d.name, `not converted: an empty internal ${kind} matches every cookie, which stickyd does not allow`);
    const entry = { internal, public: pub, origin: d.origin, directive: d.name, scope: ctx.scope };
    const list = kind === 'path'
      ? (ctx.location ? ctx.scope.locationCookiepath : ctx.scope.cookiepath)
      : (ctx.location ? ctx.scope.locationCookiedomain : ctx.scope.cookiedomain);
    list.push(entry);
  }

  // -------------------------------------------------------------------------------------------
  // Balancers and members

  private balancer(name: string, origin: Origin): BalancerDraft {
    let b = this.drafts.balancers.get(name);
    if (!b) {
      b = { name, origin, params: new Map(), members: [], tls: new Map() };
      this.drafts.balancers.set(name, b);
    }
    return b;
  }

  /** key=value words for a balancer or a worker, with httpd's checks. */
  private applyParams(words: string[], origin: Origin, directive: string, scope: Scope, target: ProxyContext): void {
    for (const word of words) {
      const kv = splitParam(word);
      if (!kv) {
        this.warn(origin, directive, `invalid: parameter "${word}" must be in the form key=value`);
        continue;
      }
      const [key, value] = kv;
      if (target.kind === 'balancer') {
        this.applyResult(readBalancerParam(key, value), word, origin, directive, scope, (this.balancer(target.name, origin)).params, `balancer://${target.name}`);
      } else if (target.kind === 'worker') {
        let worker = this.drafts.workers.get(target.normalized);
        if (!worker) {
          worker = { normalized: target.normalized, origin, params: new Map() };
          this.drafts.workers.set(target.normalized, worker);
        }
        this.applyResult(readMemberParam(key, value, this.hc), word, origin, directive, scope, worker.params, target.normalized);
      }
    }
  }

  /**
   * Store what a parameter reader returned. A balancer setting changed by another virtual host to
   * a different value is a conflict: httpd would keep one balancer per virtual host, stickyd has one.
   */
  private applyResult(result: ParamResult, word: string, origin: Origin, directive: string, scope: Scope, params: Map<string, Setting>, owner: string): void {
    if (result.kind === 'invalid') return this.warn(origin, directive, `${word} not converted: httpd refuses it: ${result.message}`);
    if (result.kind === 'unsupported') return this.warn(origin, directive, `${word} not converted: ${result.message}`);
    if (result.note) this.warn(origin, directive, `${word}: ${result.note}`);
    for (const [key, value] of Object.entries(result.set)) {
      const previous = params.get(key);
      if (previous && previous.scope !== scope && previous.scope.id !== 0 && scope.id !== 0 && !sameValue(previous.value, value)) {
        this.warn(origin, directive, `${word} conflicts with ${previous.source} at ${at(previous.origin)} in another virtual host; stickyd has one ${owner}, which keeps the value from ${at(previous.origin)}`);
        continue;
      }
      params.set(key, { value, origin, source: word, scope });
    }
  }

  private balancerMember(d: ApacheDirective, ctx: Context): void {
    const words = [...d.args];
    let name: string;
    if (ctx.proxy?.kind === 'balancer') {
      name = ctx.proxy.name;
    } else if (ctx.proxy || ctx.location) {
      return this.warn(d.origin, d.name, 'not converted: BalancerMember belongs in <Proxy balancer://name> or names its balancer first');
    } else {
      const balancer = parseBalancerUrl(words.shift() ?? '');
      if (!balancer) return this.warn(d.origin, d.name, 'invalid: BalancerMember outside <Proxy balancer://...> must name the balancer first (BalancerMember balancer://name url ...)');
      name = balancer.name;
    }
    const url = words.shift();
    if (url === undefined || url.includes('=')) return this.warn(d.origin, d.name, 'invalid: BalancerMember must define remote proxy server');
    let normalized: string;
    try {
      normalized = parseMemberUrl(url).url;
    } catch (err) {
      return this.warn(d.origin, d.name, `${url} not converted: ${(err as Error).message}`);
    }
    const balancer = this.balancer(name, d.origin);
    const existing = balancer.members.find((m) => m.normalized === normalized);
    const member: MemberDraft = { url, normalized, origin: d.origin, scope: ctx.scope, params: new Map() };
    for (const word of words) {
      const kv = splitParam(word);
      if (!kv) {
        this.warn(d.origin, d.name, `invalid: parameter "${word}" must be in the form key=value`);
        continue;
      }
      this.applyResult(readMemberParam(kv[0], kv[1], this.hc), word, d.origin, d.name, ctx.scope, member.params, normalized);
    }
    if (existing) {
      if (existing.scope !== ctx.scope && sameParams(existing.params, member.params)) return;
      const why = existing.scope === ctx.scope
        ? `httpd shares the worker of the same URL defined at ${at(existing.origin)} and ignores this one's parameters`
        : `balancer://${name} already has this member from ${at(existing.origin)} in another virtual host, with other parameters; stickyd has one balancer of each name`;
      return this.warn(d.origin, d.name, `${url} not converted: ${why}`);
    }
    const other = balancer.members.find((m) => m.scope !== ctx.scope && m.scope.id !== 0 && ctx.scope.id !== 0);
    if (other) {
      return this.warn(d.origin, d.name, `${url} not converted: balancer://${name} already has members from another virtual host (${at(other.origin)}); stickyd has one balancer of each name`);
    }
    balancer.members.push(member);
  }

  private proxySet(d: ApacheDirective, ctx: Context): void {
    const words = [...d.args];
    let target: ProxyContext;
    if (ctx.proxy) {
      target = ctx.proxy;
      if (target.kind === 'other') return this.warn(d.origin, d.name, 'not converted: this <Proxy> section names neither a balancer nor a worker URL');
    } else {
      const first = words.shift() ?? '';
      const balancer = parseBalancerUrl(first);
      if (balancer) {
        if (!this.drafts.balancers.has(balancer.name)) return this.warn(d.origin, d.name, `invalid: httpd refuses it: ProxySet can not find 'balancer://${balancer.name}' Balancer (define it first)`);
        target = { kind: 'balancer', name: balancer.name };
      } else {
        const normalized = this.workerUrl(first, d.origin, d.name);
        if (normalized === null) return;
        if (!this.drafts.workers.has(normalized) && !this.usedAsWorker(normalized)) {
          return this.warn(d.origin, d.name, `invalid: httpd refuses it: ProxySet can not find '${first}' Worker (a ProxyPass to it must come first)`);
        }
        target = { kind: 'worker', url: first, normalized };
      }
    }
    if (words.length === 0) return this.warn(d.origin, d.name, 'ProxySet without key=value parameters does nothing');
    this.applyParams(words, d.origin, d.name, ctx.scope, target);
  }

  private usedAsWorker(normalized: string): boolean {
    return [this.drafts.main, ...this.drafts.vhosts].some((s) => [...s.rules, ...s.locationRules].some((r) => r.worker === normalized));
  }

  private header(d: ApacheDirective, ctx: Context): void {
    const recipe = parseRouteCookieHeader(d.args);
    if (!recipe) return this.warn(d.origin, d.name, `not converted: ${notConvertedReason(d.name)}`);
    if (recipe.dropped.length > 0) this.warn(d.origin, d.name, `cookie attributes not converted: ${recipe.dropped.join('; ')}`);
    ctx.scope.routeCookies.push({ recipe, origin: d.origin, scope: ctx.scope });
  }

  // -------------------------------------------------------------------------------------------
  // mod_ssl, mod_http2 (importer/tls.ts), mod_deflate and mod_brotli (importer/compression.ts)

  private tlsDirective(d: ApacheDirective, lower: string, ctx: Context): void {
    this.noteEnvironmentReferences(d);
    let reading: TlsReading;
    try {
      reading = readTlsDirective(d, lower);
    } catch (err) {
      if (!(err instanceof ApacheValueError)) throw err;
      return this.warn(d.origin, d.name, `invalid: ${err.message}`);
    }
    if (reading.kind === 'silent') return;
    if (reading.kind === 'skip') return this.warn(d.origin, d.name, `not converted: ${reading.message}`);
    const setting: Setting = { value: reading.value, origin: d.origin, source: d.name, scope: ctx.scope };
    const proxySide = reading.key.startsWith('proxy.');
    if (proxySide && ctx.proxy?.kind === 'balancer') {
      this.balancer(ctx.proxy.name, d.origin).tls.set(reading.key, setting);
    } else if (ctx.proxy || ctx.location) {
      const where = ctx.proxy ? '<Proxy> of a single worker' : (ctx.location?.directive ?? '');
      return this.warn(d.origin, d.name, `not converted: stickyd takes ${d.name} per server${proxySide ? ' or in <Proxy balancer://name>' : ''}, not inside ${where}`);
    } else {
      ctx.scope.tls.set(reading.key, setting);
    }
    if (reading.note) this.warn(d.origin, d.name, reading.note);
  }

  private compressionDirective(d: ApacheDirective, lower: string, ctx: Context): void {
    let reading: CompressionReading;
    try {
      reading = readCompressionDirective(d, lower);
    } catch (err) {
      if (!(err instanceof ApacheValueError)) throw err;
      return this.warn(d.origin, d.name, `invalid: ${err.message}`);
    }
    switch (reading.kind) {
      case 'silent':
        return;
      case 'skip':
        return this.warn(d.origin, d.name, `not converted: ${reading.message}`);
      case 'level':
        this.drafts.compression.levels.set(reading.key, { value: reading.value, origin: d.origin, source: d.name, scope: ctx.scope });
        return;
      case 'filters':
        if (reading.dropped.length > 0) this.warn(d.origin, d.name, `${reading.dropped.join(';')} not converted: stickyd compresses with DEFLATE (gzip) and BROTLI_COMPRESS (br) only`);
        if (reading.algorithms.length === 0) return;
        if (ctx.location || ctx.proxy) {
          this.warn(d.origin, d.name, `converted for every path: stickyd compresses by type for all rules (a proxypass rule can say compression: off), not only inside ${ctx.location?.directive ?? '<Proxy>'}`);
        }
        this.drafts.compression.filters.push({ algorithms: reading.algorithms, types: reading.types, origin: d.origin });
        return;
    }
  }

  // mod_log_config (LogFormat, CustomLog, TransferLog) and ErrorLog; which one stickyd writes is
  // decided in merge.ts.

  private logFormat(d: ApacheDirective, ctx: Context): void {
    if (!this.onlyServerLevel(d, ctx)) return;
    const [format, nickname, ...extra] = d.args;
    if (format === undefined || extra.length > 0) return this.warn(d.origin, d.name, 'invalid: LogFormat takes a format string and optionally a nickname');
    const problem = format.includes('%') ? accessFormatProblem(format) : null;
    if (problem !== null) return this.warn(d.origin, d.name, `invalid: httpd refuses it: ${problem}`);
    const draft = { format, origin: d.origin };
    if (nickname === undefined) ctx.scope.defaultLogFormat = draft;
    else ctx.scope.logFormats.set(nickname, draft);
  }

  private accessLog(d: ApacheDirective, ctx: Context, transferLog: boolean): void {
    if (!this.onlyServerLevel(d, ctx)) return;
    const [file, format, condition, ...extra] = d.args;
    if (file === undefined || (transferLog ? d.args.length > 1 : format === undefined || extra.length > 0)) {
      return this.warn(d.origin, d.name, transferLog ? 'invalid: TransferLog takes a file name' : 'invalid: CustomLog takes a file, a format or nickname, and optionally env=… or expr=…');
    }
    if (format !== undefined && format.includes('%')) {
      const problem = accessFormatProblem(format);
      if (problem !== null) return this.warn(d.origin, d.name, `invalid: httpd refuses it: ${problem}`);
    }
    if (condition !== undefined) {
      if (!/^(env|expr)=./i.test(condition)) return this.warn(d.origin, d.name, 'invalid: httpd refuses it: error in condition clause');
      this.warn(d.origin, d.name, `${condition} not converted: stickyd logs every request (no conditional logging)`);
    }
    ctx.scope.accessLogs.push({ file, format: format ?? null, origin: d.origin, directive: d.name });
  }

  private errorLog(d: ApacheDirective, ctx: Context): void {
    if (!this.onlyServerLevel(d, ctx)) return;
    const [file, ...extra] = d.args;
    if (file === undefined || extra.length > 0) return this.warn(d.origin, d.name, 'invalid: ErrorLog takes a file name');
    if (/^syslog(:|$)/i.test(file)) return this.warn(d.origin, d.name, 'not converted: stickyd writes its messages to stdout or a file (under systemd, journald keeps stdout)');
    if (file.startsWith('|')) return this.warn(d.origin, d.name, 'not converted: piped logs are not supported: stickyd writes its messages to stdout (pipe that) or to a file (log.error.file)');
    ctx.scope.errorLog = { file, origin: d.origin };
  }

  // -------------------------------------------------------------------------------------------
  // mod_proxy_hcheck definitions

  private proxyHcExpr(d: ApacheDirective): void {
    const [name, expr, ...extra] = d.args;
    if (!name || !expr || extra.length > 0) return this.warn(d.origin, d.name, 'invalid: ProxyHCExpr takes a name and an expression ({...})');
    this.hc.expressions.set(name, expr);
  }

  private proxyHcTemplate(d: ApacheDirective): void {
    const [name, ...words] = d.args;
    if (!name) return this.warn(d.origin, d.name, 'invalid: Missing template name for ProxyHCTemplate');
    const template = templateDefaults();
    for (const word of words) {
      const kv = splitParam(word);
      const result = kv && /^hc/i.test(kv[0]) && !/^hctemplate$/i.test(kv[0]) ? readMemberParam(kv[0], kv[1], this.hc) : null;
      if (!result || result.kind !== 'set') {
        const why = result ? result.message : 'only hc* parameters belong in a template';
        return this.warn(d.origin, d.name, `invalid: httpd refuses it: ProxyHCTemplate ${word}: ${why}; the template ${name} is not defined`);
      }
      Object.assign(template, result.set);
    }
    this.hc.templates.set(name.toLowerCase(), template);
  }
}

/** Directives whose values can end up in the balancer file. */
const CONVERTED = new Set([
  'listen', 'servername', 'proxypass', 'proxypassmatch', 'proxypassreverse', 'proxypassreversecookiepath',
  'proxypassreversecookiedomain', 'proxypreservehost', 'proxyaddheaders', 'proxytimeout', 'timeout', 'keepalivetimeout',
  'maxkeepaliverequests', 'keepalive', 'gracefulshutdowntimeout', 'requestreadtimeout', 'balancermember', 'proxyset', 'header', 'proxyhcexpr', 'proxyhctemplate',
  'logformat', 'customlog', 'transferlog', 'errorlog', 'h2maxsessionstreams', 'h2windowsize', 'h2websockets',
]);

function countDirectives(nodes: ApacheNode[]): number {
  return nodes.reduce((n, node) => n + (node.kind === 'directive' ? 1 : countDirectives(node.children)), 0);
}

export function sameValue(a: Setting['value'], b: Setting['value']): boolean {
  if (a instanceof Duration && b instanceof Duration) return a.ms === b.ms;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

function sameParams(a: Map<string, Setting>, b: Map<string, Setting>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, s] of a) {
    const other = b.get(key);
    if (!other || !sameValue(s.value, other.value)) return false;
  }
  return true;
}

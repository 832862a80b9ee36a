/**
 * The validated, typed configuration the daemon runs on: what `loadConfig()` returns after the YAML
 * balancer file was parsed, `${VAR}`-expanded, checked and given its defaults.
 *
 * Conventions: every field is filled in (defaults applied), durations are milliseconds, sizes are
 * bytes, key names are Apache's (lower-cased, as in the YAML file) so that an Apache user can map
 * each one to the directive or parameter it comes from. The YAML keys and their defaults are
 * documented in README.md and described by config/stickyd.schema.json.
 */
import type { ReadTimeoutStage } from './request-read-timeout.js';

import type { LoadedCertificate } from '../tls/certificate.js';
import type { TlsVersion } from '../tls/protocols.js';

export type { LoadedCertificate } from '../tls/certificate.js';
export type { TlsVersion } from '../tls/protocols.js';

export interface Config {
  /** Absolute path of the file this was read from; SIGHUP reloads it. */
  file: string;
  /** `Listen`: one HTTP listener per entry. */
  listen: ListenConfig[];
  /** Limits and timeouts of the client side (core + mod_reqtimeout equivalents). */
  server: ServerConfig;
  /** Server-wide mod_proxy settings (ProxyPreserveHost, ProxyAddHeaders, ProxyTimeout). */
  proxy: ProxyConfig;
  /** `<Proxy balancer://name>` blocks, in file order. Includes implicit balancers (see below). */
  balancers: BalancerConfig[];
  /** `ProxyPass` rules in file order; the first match wins. */
  proxypass: ProxyPassRule[];
  /**
   * `ProxyPassReverse` entries in file order: the explicit `proxypassreverse:` list first, then one
   * per `proxypass` rule with `reverse: true`. First match wins (apache-semantics §8).
   */
  proxypassreverse: ReverseRule[];
  /** `ProxyPassReverseCookiePath`, in order. */
  cookiepath: CookieRewrite[];
  /** `ProxyPassReverseCookieDomain`, in order. */
  cookiedomain: CookieRewrite[];
  /** The admin listener (balancer-manager, JSON API, metrics, health); null = off (the default). */
  admin: AdminConfig | null;
  log: LogConfig;
  /**
   * Response compression (mod_deflate / mod_brotli); null = off (the default, as in Apache).
   * Each proxypass rule carries the settings that apply to it (ProxyPassRule.compression).
   */
  compression: CompressionConfig | null;
  /**
   * What is valid but deserves attention, with positions like problems: certificates that expire
   * within 14 days, `verify: none` towards https:// members. `stickyd check` prints them, the
   * daemon logs them at start and on every reload.
   */
  warnings: import('./errors.js').ConfigProblem[];
}

/** An ALPN protocol a listener offers (Apache `Protocols`). */
export type ListenProtocol = 'h2' | 'h2c' | 'http/1.1';

export interface ListenConfig {
  /** IP address to bind. */
  address: string;
  port: number;
  /** `Protocols`: what the listener speaks, in order of preference; absent = ["http/1.1"] (the default). */
  protocols?: ListenProtocol[];
  /** TLS on this listener (mod_ssl's SSLEngine on); absent = plain HTTP (the default). */
  tls?: ListenTlsConfig;
  /** `Redirect <status> / <url>`: every request is answered with a redirect; absent = proxied (the default). */
  redirect?: RedirectConfig;
}

/** A listener's `redirect`: Apache's `Redirect <status> / <url>`. */
export interface RedirectConfig {
  /** 301 (permanent, the default), 302, 303, 307 or 308. */
  status: number;
  /**
   * The target, ending with "/": the request's path after its leading "/" and its query are
   * appended. null: https:// on the request's own host (its port dropped), at `port`.
   */
  url: string | null;
  /** With url null: the port of the first TLS listener (443 is left out of the URL). */
  port: number;
}

/** `listen[].tls.hsts`: the Strict-Transport-Security header sent on every response (RFC 6797). */
export interface HstsConfig {
  /** max-age, in seconds. */
  maxage: number;
  includesubdomains: boolean;
  preload: boolean;
}

/** `server.http2`: mod_http2's settings, and the limits against known HTTP/2 attacks. */
export interface Http2Config {
  /** `H2MaxSessionStreams`: SETTINGS_MAX_CONCURRENT_STREAMS. Default 100. */
  maxsessionstreams: number;
  /** `H2WindowSize`: SETTINGS_INITIAL_WINDOW_SIZE. Default 65535. */
  windowsize: number;
  /** Streams a client may reset before their response ended, per connection and 10 s (rapid reset). Default 200. */
  maxresets: number;
  /** PING and SETTINGS frames per connection and 10 s. Default 200. */
  maxcontrolframes: number;
  /** `H2WebSockets`: WebSocket over HTTP/2 (RFC 8441 extended CONNECT). Default on. */
  websockets: boolean;
}

/** `listen[].tls`: the certificates, loaded and checked, and the protocol settings. */
export interface ListenTlsConfig {
  /**
   * SSLCertificateFile/KeyFile/ChainFile, then each of `certificates`: the first is the default
   * (no SNI, or no certificate names the host), the others are chosen by SNI from their names.
   */
  certificates: LoadedCertificate[];
  /** `SSLProtocol`. Default [TLSv1.2, TLSv1.3]. */
  protocol: TlsVersion[];
  /** `SSLCipherSuite` (OpenSSL names, TLSv1.3 suites included). Default: tls/protocols.ts DEFAULT_CIPHERSUITE. */
  ciphersuite: string;
  /** `SSLSessionTickets`. Default true. */
  sessiontickets: boolean;
  /** How often the session ticket key is replaced, in ms. Default 1 h. */
  ticketkeyrotation: number;
  /** Strict-Transport-Security on every response; null = none (the default; always null on the admin listener). */
  hsts: HstsConfig | null;
}

/** A content coding stickyd can apply to responses. */
export type CompressionAlgorithm = 'br' | 'gzip' | 'zstd';

/** `compression:`: AddOutputFilterByType DEFLATE / BROTLI_COMPRESS and their levels. */
export interface CompressionConfig {
  /** Codings offered, in stickyd's order of preference (it breaks ties between equal q-values). Default [br, gzip]. */
  algorithms: CompressionAlgorithm[];
  /** Media types compressed, lower-cased, without parameters; `type/*` covers a whole type. */
  types: string[];
  /** Responses whose Content-Length is below this are sent as they are. Default 1024. */
  minlength: number;
  /** `DeflateCompressionLevel` 1..9. */
  gziplevel: number;
  /** `BrotliCompressionQuality` 0..11. */
  brotliquality: number;
  /** zstd level 1..19. */
  zstdlevel: number;
}

export interface ServerConfig {
  /** `ServerName`: sent as X-Forwarded-Server. Default: the machine's host name. */
  servername: string;
  /** `PidFile`: absolute path, written at start and removed at exit; null = none (the default). */
  pidfile: string | null;
  /**
   * Largest request header block in bytes (request line + all header lines). Larger requests get
   * 431. Default 16384.
   */
  maxheadersize: number;
  /**
   * `RequestReadTimeout` (mod_reqtimeout): the header block and the body must arrive within an
   * initial time that each `minrate` bytes received extend by a second, up to `max`; 408 after.
   * Defaults are Apache's: header 20-40,MinRate=500, body 20,MinRate=500.
   */
  requestreadtimeout: { handshake: ReadTimeoutStage; header: ReadTimeoutStage; body: ReadTimeoutStage };
  /** Upper bound for receiving a whole request, body included, whatever the rate; 408 after. Default 300 s. */
  requesttimeout: number;
  /** `KeepAliveTimeout`: idle time of a client keep-alive connection. Default 5 s. */
  keepalivetimeout: number;
  /**
   * `Timeout`: how long an Upgrade (WebSocket) tunnel may stay idle in both directions, or the
   * member's timeout when that is longer (httpd's tunnel uses the larger of the two). Default 60 s.
   */
  timeout: number;
  /** `MaxKeepAliveRequests`: requests per client connection; 0 = unlimited. Default 100. */
  maxkeepaliverequests: number;
  /** On SIGTERM/SIGINT: how long in-flight requests may take before connections are cut. Default 30 s. */
  gracefultimeout: number;
  /** HTTP/2 to clients: mod_http2's settings and the attack limits. */
  http2: Http2Config;
  /**
   * Worker threads serving requests (each with its own listeners and member pools, one shared
   * balancer state); 'auto' = the CPUs the process may use. 1 serves on the main thread. Default auto.
   */
  workers: number | 'auto';
}

export interface ProxyConfig {
  /** `ProxyPreserveHost`. Default false. */
  preservehost: boolean;
  /** `ProxyAddHeaders`: append X-Forwarded-For/-Host/-Server. Default true. */
  addheaders: boolean;
  /** `ProxyTimeout`: the default member I/O timeout. Default 60 s. */
  timeout: number;
}

export type LbMethod = 'byrequests' | 'bybusyness' | 'bytraffic';

export interface StickySessionConfig {
  /** Cookie name (`C` of `stickysession=C|P`). */
  cookie: string;
  /** URL parameter name (`P`; equals `C` when no `|` was given). */
  param: string;
}

export interface RouteCookieConfig {
  /** Cookie name, e.g. ROUTEID. */
  name: string;
  /** Cookie Path. Default "/". */
  path: string;
  /** Optional Domain attribute. */
  domain: string | null;
  /** Add `Secure`. Default false. */
  secure: boolean;
  /** Add `HttpOnly`. Default true. */
  httponly: boolean;
}

export interface BalancerConfig {
  /** The name in `balancer://name`, lower-cased as Apache does. */
  name: string;
  /**
   * True for a balancer the loader made for a `proxypass` rule whose url is a plain `http://` or
   * `ajp://` URL (Apache's direct worker): one member, no stickiness, forcerecovery off, hidden in
   * the balancer-manager.
   */
  implicit: boolean;
  /** `stickysession`; null = no stickiness. When `routecookie` is set and this is not, it is the routecookie's name. */
  stickysession: StickySessionConfig | null;
  /** `stickysessionsep`: one character; null = `Off` (the whole value is the route). Default ".". */
  stickysessionsep: string | null;
  /** `scolonpathdelim`. Default false. */
  scolonpathdelim: boolean;
  /** `lbmethod`. Default byrequests. */
  lbmethod: LbMethod;
  /** `maxattempts`; null = not set (Apache's default: members − 1, or 0 with one member). */
  maxattempts: number | null;
  /** `nofailover`. Default false. */
  nofailover: boolean;
  /** `timeout`: how long to wait for a usable member; 0 = no wait (the default). */
  timeout: number;
  /** `failonstatus`: backend status codes that put the member in error. Default none. */
  failonstatus: number[];
  /** `failontimeout`. Default false. */
  failontimeout: boolean;
  /** `forcerecovery`. Default true. */
  forcerecovery: boolean;
  /**
   * `nonce` of the balancer-manager: null = generate a UUID at start (the default), "" = `None`
   * (the manager is read-only for this balancer), else the given value.
   */
  nonce: string | null;
  /** `growth`: spare member slots the manager may fill. Default 0. */
  growth: number;
  /** Built-in Apache ROUTEID recipe; null = off (the default). */
  routecookie: RouteCookieConfig | null;
  /**
   * TLS an https:// member of this balancer gets (proxy.tls with the balancer's tls on top), also
   * one the balancer-manager adds at run time; absent = node's defaults (verification on).
   */
  membertls?: MemberTlsConfig;
  members: MemberConfig[];
}

export type HcMethod = 'None' | 'TCP' | 'OPTIONS' | 'HEAD' | 'GET';

export interface MemberConfig {
  /**
   * Normalized member URL: scheme and host lower-cased, default port dropped, no trailing slash
   * (Apache `U:2051-2062`). This is BALANCER_WORKER_NAME and the member's identity across reloads.
   */
  url: string;
  /** `http`, `https` (mod_proxy_http; https: TLS to the member) or `ajp` (mod_proxy_ajp, AJP/1.3). */
  scheme: 'http' | 'https' | 'ajp';
  /** Host name or IP as written (IPv6 without brackets). */
  host: string;
  /** Port, explicit or the scheme's default (80 for http, 443 for https, 8009 for ajp). */
  port: number;
  /** Path part of the URL without trailing slash ("" when none); requests are sent to basepath + rest. */
  basepath: string;
  /** `route`. Default "". */
  route: string;
  /** `redirect`. Default "". */
  redirect: string;
  /** `loadfactor` 1..100, decimals allowed. Default 1. lbfactor = trunc(loadfactor × 100). */
  loadfactor: number;
  /** `lbset` 0..99. Default 0. */
  lbset: number;
  /** `status` in Apache's flag syntax ("+H", "-E", "D", ...). Default "". Parsed by balancer/flags.ts. */
  status: string;
  /** `retry`: time in error before the member is tried again. Default 60 s. */
  retry: number;
  /** `timeout`: socket I/O timeout. Default: proxy.timeout. */
  timeout: number;
  /** `connectiontimeout`: connect timeout. Default: this member's timeout. */
  connectiontimeout: number;
  /** `max`: connection pool size. Default 128. */
  max: number;
  /** `ttl`: idle lifetime of a pooled connection. Default 4 s (below common backend keep-alive timeouts, to avoid the reset race). */
  ttl: number;
  /** `disablereuse`: close the backend connection after each request. Default false. */
  disablereuse: boolean;
  /** `acquire`: wait for a free pool slot at most this long, then 503 (member in error, failover); null = wait (default). */
  acquire: number | null;
  /** `keepalive`: TCP SO_KEEPALIVE on member connections. Default false. */
  keepalive: boolean;
  /** `ping`: AJP CPing/CPong timeout (HTTP: 100-continue probe); 0 = off (the default). */
  ping: number;
  /** `secret`: the AJP connector's secret; "" = none (the default). */
  secret: string;
  /** mod_proxy_hcheck: `hcmethod`. Default None (no active checks). */
  hcmethod: HcMethod;
  /** `hcuri`: path appended to the member URL for checks. Default "". */
  hcuri: string;
  /** `hcinterval`. Default 30 s. */
  hcinterval: number;
  /** `hcpasses`: consecutive passes that clear C and E. Default 1. */
  hcpasses: number;
  /** `hcfails`: consecutive failures that set C. Default 1. */
  hcfails: number;
  /** `hcexpr`: null = status 2xx/3xx passes; else the expression text (see README). */
  hcexpr: string | null;
  /**
   * TLS towards an https:// member (SSLProxy*): proxy.tls with the balancer's tls on top, files
   * loaded. Absent for http:// and ajp:// members, and for members added at run time through the
   * balancer-manager (those get the defaults: verification against node's CA list).
   */
  tls?: MemberTlsConfig;
}

/** `proxy.tls` / `balancers.<name>.tls`, resolved for one https:// member. */
export interface MemberTlsConfig {
  /** `SSLProxyVerify`: require = the certificate chain must verify against the CAs. Default require. */
  verify: 'require' | 'none';
  /** `SSLProxyCACertificateFile` as written; null = node's built-in list of public CAs. */
  cacertificatefile: string | null;
  /** PEM text of cacertificatefile (null when unset). */
  ca: string | null;
  /** `SSLProxyCheckPeerName`: the certificate must name the host (SAN, else CN). Default true. */
  checkpeername: boolean;
  /** `SSLProxyCheckPeerExpire`: the certificate must be within its validity. Default true. */
  checkpeerexpire: boolean;
  /** `SSLProxyMachineCertificateFile` as written: the client certificate for mutual TLS; null = none. */
  machinecertificatefile: string | null;
  /** PEM of the client certificate and its chain, and of its key (null when unset). */
  cert: string | null;
  key: string | null;
  /** `SSLProxyProtocol`. Default [TLSv1.2, TLSv1.3]. */
  protocol: TlsVersion[];
  /** `SSLProxyCipherSuite`; null = node's default. */
  ciphersuite: string | null;
}

export interface ProxyPassRule {
  /** The public URL-path prefix (`ProxyPass /myweb ...`). */
  path: string;
  /** `ProxyPass /path !`: requests under this prefix are not proxied (404 from stickyd). */
  exclude: boolean;
  /** Name of the balancer that serves this rule (an implicit one for direct URLs); "" when exclude. */
  balancer: string;
  /** Path after `balancer://name` in the rule's url ("" for none; no trailing slash unless the url had one). */
  backendpath: string;
  /** The rule's url as written (e.g. `balancer://cluster/myweb`); "!" when exclude. */
  url: string;
  /**
   * `ProxyPass … nocanon`: send the rest of the path as the client wrote it (%-escapes as they
   * came), instead of decoded and canonicalised (ap_proxy_canonenc, src/proxy/canon.ts).
   */
  nocanon: boolean;
  /**
   * Compression of this rule's responses: the top-level settings, unless the rule turned it off
   * or on; absent = off.
   */
  compression?: CompressionConfig;
}

export interface ReverseRule {
  /** Public prefix substituted for the matched member URL (`ProxyPassReverse <path> <url>`). */
  path: string;
  /** Balancer name when the url was `balancer://name/...`; null for a plain URL. */
  balancer: string | null;
  /** The path part after `balancer://name` ("" if none) or the plain URL (normalized). */
  url: string;
}

export interface CookieRewrite {
  /** Backend-side path or domain prefix. */
  internal: string;
  /** Replacement seen by the client. */
  public: string;
}

export interface AdminConfig {
  address: string;
  port: number;
  /** Bearer token required by the JSON API and by manager changes; "" = none (only allowed on loopback). */
  token: string;
  /** Manager and API refuse changes. Default false. */
  readonly: boolean;
  /**
   * Host names (normalised: lower-case, IPv6 in brackets) the listener answers to besides its own
   * address, `localhost` on loopback and `server.servername`; `*` = any. Other Hosts get 421
   * (admin/host.ts). Default none.
   */
  allowedhosts: string[];
  /** The admin listener over TLS; null = plain HTTP (the default). */
  tls: ListenTlsConfig | null;
}

export interface LogConfig {
  /** pino level for the daemon's own messages. Default info. */
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** The access log (`CustomLog`); null = off. Default: JSON lines on stdout. */
  access: AccessLogConfig | null;
  /** The daemon's own messages (`ErrorLog`). */
  error: ErrorLogConfig;
}

export interface AccessLogConfig {
  /** `json`, `common`, `combined`, or an Apache LogFormat string (validated when loaded). */
  format: string;
  /** Absolute path of the file to append to; null = stdout. */
  file: string | null;
}

export interface ErrorLogConfig {
  /** Absolute path of the file to append to; null = stdout. */
  file: string | null;
  /** Readable lines or JSON; auto = readable on a terminal. */
  format: 'auto' | 'pretty' | 'json';
}

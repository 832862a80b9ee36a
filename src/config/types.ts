/**
 * The validated, typed configuration the daemon runs on: what `loadConfig()` returns after the YAML
 * balancer file was parsed, `${VAR}`-expanded, checked and given its defaults.
 *
 * Conventions: every field is filled in (defaults applied), durations are milliseconds, sizes are
 * bytes, key names are Apache's (lower-cased, as in the YAML file) so that an Apache user can map
 * each one to the directive or parameter it comes from. The YAML keys and their defaults are
 * documented in README.md and described by config/stickyd.schema.json.
 */

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
}

export interface ListenConfig {
  /** IP address to bind. */
  address: string;
  port: number;
}

export interface ServerConfig {
  /** `ServerName`: sent as X-Forwarded-Server. Default: the machine's host name. */
  servername: string;
  /**
   * Largest request header block in bytes (request line + all header lines). Larger requests get
   * 431. Default 16384.
   */
  maxheadersize: number;
  /** Time allowed to receive the complete request header block (slowloris guard); 408 after. Default 20 s. */
  requestheadertimeout: number;
  /** Time allowed to receive the complete request, body included; 408 after. Default 300 s. */
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
  members: MemberConfig[];
}

export type HcMethod = 'None' | 'TCP' | 'OPTIONS' | 'HEAD' | 'GET';

export interface MemberConfig {
  /**
   * Normalized member URL: scheme and host lower-cased, default port dropped, no trailing slash
   * (Apache `U:2051-2062`). This is BALANCER_WORKER_NAME and the member's identity across reloads.
   */
  url: string;
  /** `http` (mod_proxy_http) or `ajp` (mod_proxy_ajp, AJP/1.3). */
  scheme: 'http' | 'ajp';
  /** Host name or IP as written (IPv6 without brackets). */
  host: string;
  /** Port, explicit or the scheme's default (80 for http, 8009 for ajp). */
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
}

export interface LogConfig {
  /** pino level for the daemon's own messages. Default info. */
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Access log: one JSON line per request. Default true. */
  access: boolean;
}

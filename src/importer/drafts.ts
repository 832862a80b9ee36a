/**
 * What the converter collects from the Apache tree before the virtual hosts are merged into
 * stickyd's single configuration (merge.ts). Everything keeps the FILE:LINE it came from, so that
 * a conflict can name both sides.
 */
import type { Origin } from './diagnostics.js';
import type { ParamValue } from './params.js';
import type { RouteCookieRecipe } from './route-cookie.js';

/** A value set by a directive or parameter. */
export interface Setting {
  value: ParamValue;
  origin: Origin;
  /** The directive or `key=` that set it, for messages. */
  source: string;
  scope: Scope;
}

/** `ProxyPass` (and its regex and `<Location>` forms), converted to a prefix rule. */
export interface RuleDraft {
  path: string;
  /** `!`, `balancer://name[/path]` (name lower-cased), or a direct http:// / ajp:// URL. */
  url: string;
  /** Normalized member URL of a direct rule (its worker), else null. */
  worker: string | null;
  /** The `nocanon` flag (or `mapping=servlet`, which forwards the path as it came too). */
  nocanon: boolean;
  origin: Origin;
  directive: string;
  scope: Scope;
}

export interface ReverseDraft {
  path: string;
  url: string;
  origin: Origin;
  directive: string;
  scope: Scope;
}

export interface CookieDraft {
  internal: string;
  public: string;
  origin: Origin;
  directive: string;
  scope: Scope;
}

export interface RouteCookieDraft {
  recipe: RouteCookieRecipe;
  origin: Origin;
  scope: Scope;
}

/**
 * The main server, or one `<VirtualHost>`. httpd gives each virtual host the main server's
 * settings and rules unless it sets its own; merge.ts works that out.
 */
export interface Scope {
  /** 0 = the main server, then 1, 2, ... in file order. */
  id: number;
  /** Where `<VirtualHost>` opens; null for the main server. */
  origin: Origin | null;
  /** The `<VirtualHost>` addresses as written (`*:80`, `10.0.0.1:8080`); empty for the main server. */
  addresses: string[];
  /** Server-level settings by stickyd key: servername, preservehost, addheaders, timeout, ... */
  settings: Map<string, Setting>;
  /** `ProxyPreserveHost` / `ProxyAddHeaders` inside `<Location>`: only convertible when they agree with the global value. */
  locationSettings: Setting[];
  /** Server-level ProxyPass rules, in order. */
  rules: RuleDraft[];
  /** ProxyPass inside `<Location>`, in order. httpd tries them before the server-level ones; the last matching Location wins. */
  locationRules: RuleDraft[];
  reverse: ReverseDraft[];
  locationReverse: ReverseDraft[];
  cookiepath: CookieDraft[];
  locationCookiepath: CookieDraft[];
  cookiedomain: CookieDraft[];
  locationCookiedomain: CookieDraft[];
  routeCookies: RouteCookieDraft[];
  /**
   * mod_ssl / mod_http2 settings of this server (importer/tls.ts keys): the server side
   * (`sslengine`, `certificatefile`, `protocols` …) and the proxy side with a `proxy.` prefix.
   */
  tls: Map<string, Setting>;
}

export function newScope(id: number, origin: Origin | null, addresses: string[] = []): Scope {
  return {
    id,
    origin,
    addresses,
    settings: new Map(),
    locationSettings: [],
    rules: [],
    locationRules: [],
    reverse: [],
    locationReverse: [],
    cookiepath: [],
    locationCookiepath: [],
    cookiedomain: [],
    locationCookiedomain: [],
    routeCookies: [],
    tls: new Map(),
  };
}

export interface MemberDraft {
  /** As written. */
  url: string;
  /** Normalized (the member's identity; httpd shares one worker per URL). */
  normalized: string;
  origin: Origin;
  scope: Scope;
  /** stickyd member key → value, in the order set. */
  params: Map<string, Setting>;
}

export interface BalancerDraft {
  /** Lower-cased, as httpd stores it. */
  name: string;
  /** Where it was first named. */
  origin: Origin;
  params: Map<string, Setting>;
  members: MemberDraft[];
  /** SSLProxy* inside <Proxy balancer://name>, keys with the `proxy.` prefix (importer/tls.ts). */
  tls: Map<string, Setting>;
}

/** A direct worker (`ProxyPass /x http://host/...`) with parameters of its own. */
export interface WorkerDraft {
  normalized: string;
  origin: Origin;
  params: Map<string, Setting>;
}

export interface Listener {
  address: string;
  port: number;
  /** `Listen … https` (or port 443 without a protocol): httpd's label; TLS comes from SSLEngine. */
  https: boolean;
  origin: Origin;
}

/** `AddOutputFilterByType DEFLATE|BROTLI_COMPRESS types…` wherever it was written. */
export interface CompressionFilterDraft {
  /** gzip / br, in the filter chain's order. */
  algorithms: string[];
  types: string[];
  origin: Origin;
}

export interface Drafts {
  main: Scope;
  vhosts: Scope[];
  listeners: Listener[];
  balancers: Map<string, BalancerDraft>;
  workers: Map<string, WorkerDraft>;
  compression: { filters: CompressionFilterDraft[]; levels: Map<string, Setting> };
}

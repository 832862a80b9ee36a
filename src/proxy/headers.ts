/**
 * Header rules of mod_proxy for a reverse proxy (apache-semantics §8; httpd proxy_util.c
 * ap_proxy_create_hdrbrgd / ap_proxy_clear_connection, mod_proxy_http.c for responses).
 *
 * Request: hop-by-hop headers are removed (Connection and every header it names, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Upgrade unless the request is tunnelled); Transfer-Encoding and
 * Expect are removed too because the client side has already de-framed the body and answered
 * `100-continue` (the member connection frames the body again). Host follows ProxyPreserveHost.
 * X-Forwarded-For/-Host/-Server are appended with ", " when ProxyAddHeaders is on. No Via.
 *
 * Response: Connection and what it names, Keep-Alive, Proxy-Authenticate, TE, Trailer, Upgrade
 * are removed, and Transfer-Encoding because the client side frames the body again.
 */

/** Request headers that never go to a member (lower-case). */
const REQUEST_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'expect', 'host']);
/** Same for a tunnelled (Upgrade) request: Upgrade stays, and the connector writes Connection itself. */
const TUNNEL_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'expect', 'host']);
const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'upgrade', 'transfer-encoding']);

export interface RequestHeaderOptions {
  /** ProxyAddHeaders. */
  addHeaders: boolean;
  /** The client's IP address (X-Forwarded-For). */
  clientAddress: string;
  /** ServerName (X-Forwarded-Server). */
  serverName: string;
  /** The request is an Upgrade being tunnelled: keep Upgrade. */
  tunnel: boolean;
}

/** The tokens of every Connection header value, lower-cased (RFC 9110 §7.6.1). */
export function connectionTokens(values: readonly string[]): Set<string> | null {
  let set: Set<string> | null = null;
  for (const v of values) {
    for (const t of v.split(',')) {
      const token = t.trim().toLowerCase();
      if (token !== '') (set ??= new Set()).add(token);
    }
  }
  return set;
}

/**
 * The header list for the member, from node's `req.rawHeaders` (flat [name, value, ...], names as
 * sent, in order), as the same flat list, without Host: that depends on the member (see `hostHeader`).
 */
export function forwardRequestHeaders(raw: readonly string[], o: RequestHeaderOptions): string[] {
  let host: string | null = null;
  let connection: string[] | null = null;
  let xff: string | null = null;
  let xfh: string | null = null;
  let xfs: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Cheap pre-filter: only Host and Connection matter here.
    const c = name.charCodeAt(0) | 0x20;
    if (c !== 0x68 /* h */ && c !== 0x63 /* c */) continue;
    const lname = name.toLowerCase();
    if (lname === 'host') host ??= raw[i + 1]!;
    else if (lname === 'connection') (connection ??= []).push(raw[i + 1]!);
  }
  const drop = o.tunnel ? TUNNEL_HOP_BY_HOP : REQUEST_HOP_BY_HOP;
  // `Connection: keep-alive`, what keep-alive clients send on every request, names only a header
  // that is dropped anyway: no token set to build for it.
  const listed = connection === null || connection.every(namesOnlyKeepAlive) ? null : connectionTokens(connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lname = name.toLowerCase();
    if (drop.has(lname)) continue;
    // Connection names the headers meant for this hop only; a tunnel keeps its Upgrade.
    if (listed !== null && listed.has(lname) && !(o.tunnel && lname === 'upgrade')) continue;
    if (o.addHeaders && lname.startsWith('x-forwarded-')) {
      // apr_table_mergen: repeated headers are merged with ", " and then appended to (§8).
      if (lname === 'x-forwarded-for') { xff = xff === null ? value : `${xff}, ${value}`; continue; }
      if (lname === 'x-forwarded-host') { xfh = xfh === null ? value : `${xfh}, ${value}`; continue; }
      if (lname === 'x-forwarded-server') { xfs = xfs === null ? value : `${xfs}, ${value}`; continue; }
    }
    out.push(name, value);
  }
  if (o.addHeaders) {
    out.push('X-Forwarded-For', xff === null ? o.clientAddress : `${xff}, ${o.clientAddress}`);
    // X-Forwarded-Host only when the request had a Host (U:4725-4748).
    if (host !== null) out.push('X-Forwarded-Host', xfh === null ? host : `${xfh}, ${host}`);
    out.push('X-Forwarded-Server', xfs === null ? o.serverName : `${xfs}, ${o.serverName}`);
  }
  return out;
}

/** Host for the member (ProxyPreserveHost, §8): the client's Host verbatim, or the member's own. */
export function hostHeader(preserveHost: boolean, clientHost: string | null, memberHost: string, memberPort: number, defaultPort = 80): string {
  return preserveHost && clientHost !== null ? clientHost : memberHostHeader(memberHost, memberPort, defaultPort);
}

/**
 * `host[:port]` of a member for the Host header: port omitted only when it is the scheme's default
 * (80; 443 for https://, whose URL never keeps :443 once normalized), IPv6 in brackets (§8).
 */
export function memberHostHeader(host: string, port: number, defaultPort = 80): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
}

/** A Host header's host: "example.org:8080" → "example.org", "[::1]:80" → "::1" (Apache strips the brackets too). */
export function hostWithoutPort(host: string): string {
  const h = host.trim();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end === -1 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

/** Hook for values that must be rewritten on the way back (ProxyPassReverse, cookie rules). */
export interface ResponseHeaderRewriter {
  /** Location, Content-Location, URI, Destination. */
  location(value: string): string;
  /** Set-Cookie. */
  cookie(value: string): string;
}

/** A Connection value that is just the keep-alive token (RFC 9110 §7.6.1: case-insensitive, optional spaces). */
function namesOnlyKeepAlive(value: string): boolean {
  return value.length === 10 ? value.toLowerCase() === 'keep-alive' : value.trim().toLowerCase() === 'keep-alive';
}

/**
 * The response header list for the client, flat [name, value, ...] as node's writeHead takes it.
 * `raw` is the member's list, flat [name, value, ...] in order.
 */
export function forwardResponseHeaders(raw: readonly string[], rewriter: ResponseHeaderRewriter | null): string[] {
  let listed: Set<string> | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // `Connection: keep-alive`, what keep-alive members send on every response, names only a
    // header that is dropped anyway: no token set to build for it.
    if (name.length === 10 && name.toLowerCase() === 'connection' && !namesOnlyKeepAlive(value)) {
      listed = connectionTokens(listed === null ? [value] : [...listed, value]);
    }
  }
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lname = name.toLowerCase();
    if (RESPONSE_HOP_BY_HOP.has(lname) || (listed !== null && listed.has(lname))) continue;
    if (rewriter !== null) {
      if (lname === 'location' || lname === 'content-location' || lname === 'uri' || lname === 'destination') {
        out.push(name, rewriter.location(value));
        continue;
      }
      if (lname === 'set-cookie') {
        out.push(name, rewriter.cookie(value));
        continue;
      }
    }
    out.push(name, value);
  }
  return out;
}

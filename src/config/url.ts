/**
 * Member URLs (`BalancerMember ajp://host:8009`, `https://host`) and the other URLs of the
 * balancer file.
 *
 * Normalization follows Apache (apache-semantics §7.2, `U:2051-2062`): scheme and host lower-cased, the
 * scheme's default port dropped; we also drop trailing slashes, because the request path is
 * appended to the member URL (`B:393-412`) and `http://h/base/` + `/x` must not give `//x`. The
 * normalized URL is BALANCER_WORKER_NAME and the member's identity across reloads.
 */
import net from 'node:net';

/** mod_proxy_http (http, https: TLS to the member) or mod_proxy_ajp. */
export type MemberScheme = 'http' | 'https' | 'ajp';

const MEMBER_SCHEMES: readonly MemberScheme[] = ['http', 'https', 'ajp'];

export interface MemberAddress {
  /** Normalized URL, e.g. `ajp://192.168.55.229` or `http://[::1]:8080/app`. */
  url: string;
  scheme: MemberScheme;
  /** Lower-cased host name or IP; IPv6 without brackets. */
  host: string;
  port: number;
  /** Path without trailing slash; "" when none. */
  basepath: string;
}

export class UrlError extends Error {
  override name = 'UrlError';
}

/** Default ports: 80 and 443 for mod_proxy_http, 8009 for mod_proxy_ajp (Tomcat's AJP connector). */
export const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443, ajp: 8009 };

// scheme://host[:port][/path] — no user info, query or fragment: none of them means anything for a member.
const URL_SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\[[^\]]*\]|[^/:?#[\]@]*)(?::([^/?#]*))?([^?#]*)(.*)$/s;

interface Parts {
  scheme: string;
  host: string;
  port: number;
  explicitPort: boolean;
  path: string;
}

function split(text: string, schemes: readonly string[]): Parts {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*@/.test(text)) throw new UrlError(`user information in a URL is not supported (got "${text}")`);
  const m = URL_SHAPE.exec(text);
  if (!m) throw new UrlError(`expected a URL such as ${schemes[0]}://host:port (got "${text}")`);
  const [, rawScheme, rawHost, rawPort, path, rest] = m as unknown as [string, string, string, string | undefined, string, string];
  const scheme = rawScheme.toLowerCase();
  if (!schemes.includes(scheme)) {
    throw new UrlError(`scheme must be ${schemes.map((s) => `${s}://`).join(', ').replace(/, ([^,]*)$/, ' or $1')} (got "${text}")`);
  }
  if (rest) throw new UrlError(`a query or fragment is not allowed here (got "${text}")`);
  let host = rawHost.toLowerCase();
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (!net.isIPv6(host)) throw new UrlError(`"[${host}]" is not an IPv6 address (got "${text}")`);
  } else if (host === '' || !/^[a-z0-9._~%!$&'()*+,;=-]+$/.test(host)) {
    throw new UrlError(host === '' ? `the URL has no host (got "${text}")` : `"${rawHost}" is not a valid host name (got "${text}")`);
  }
  if (/\s/.test(path)) throw new UrlError(`the URL path contains white space (got "${text}")`);
  let port = DEFAULT_PORT[scheme] ?? 0;
  if (rawPort !== undefined) {
    if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) < 1 || Number(rawPort) > 65535) {
      throw new UrlError(`port must be a number between 1 and 65535 (got "${rawPort}" in "${text}")`);
    }
    port = Number(rawPort);
  }
  return { scheme, host, port, explicitPort: rawPort !== undefined, path };
}

function authority(p: Parts): string {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  return p.port === DEFAULT_PORT[p.scheme] ? host : `${host}:${p.port}`;
}

/** A member URL: `http://`, `https://` or `ajp://`, normalized. Throws UrlError with a message for the user. */
export function parseMemberUrl(text: string): MemberAddress {
  const p = split(text.trim(), MEMBER_SCHEMES);
  const basepath = p.path.replace(/\/+$/, '');
  return {
    url: `${p.scheme}://${authority(p)}${basepath}`,
    scheme: p.scheme as MemberScheme,
    host: p.host,
    port: p.port,
    basepath,
  };
}

/**
 * The url of a `proxypass` rule that names a member directly (Apache's direct worker): the member
 * is the URL without its path, the path is kept as written (it is the backend path of the rule).
 */
export function parseDirectUrl(text: string): { member: MemberAddress; path: string } {
  const p = split(text.trim(), MEMBER_SCHEMES);
  return {
    member: { url: `${p.scheme}://${authority(p)}`, scheme: p.scheme as MemberScheme, host: p.host, port: p.port, basepath: '' },
    path: p.path,
  };
}

/**
 * A URL that is only compared against response headers (ProxyPassReverse): `http`, `https` or
 * `ajp`; scheme and host lower-cased and the default port dropped, the path kept exactly as
 * written (it is a prefix, so a trailing slash changes what it matches).
 */
export function normalizeReverseUrl(text: string): string {
  const p = split(text.trim(), ['http', 'https', 'ajp']);
  return `${p.scheme}://${authority(p)}${p.path}`;
}

export interface BalancerUrl {
  /** Lower-cased balancer name (Apache compares balancer names case-insensitively). */
  name: string;
  /** What follows the name: "" or a path starting with "/", kept as written. */
  path: string;
}

/**
 * `balancer://name[/path]`; null when the text is not a `balancer:` URL at all (then it is a
 * plain URL). Throws UrlError for a `balancer:` URL of the wrong shape.
 */
export function parseBalancerUrl(text: string): BalancerUrl | null {
  const t = text.trim();
  if (!/^balancer:/i.test(t)) return null;
  const m = /^balancer:\/\/([^/?#]+)([^?#]*)$/i.exec(t);
  if (!m) throw new UrlError(`expected balancer://name or balancer://name/path (got "${text}")`);
  return { name: (m[1] as string).toLowerCase(), path: m[2] as string };
}

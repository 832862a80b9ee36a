/**
 * The admin listener answers only requests whose `Host` names it: the guard against DNS
 * rebinding. A page on `http://evil.example:8052/` whose name the attacker re-points at 127.0.0.1
 * is, for the browser, same-origin with whatever then answers there: without this check it could
 * read the manager page (and its nonce), post a change with a matching Origin, and call the API
 * with a token it was given. What the browser cannot change is the Host header: it is always the
 * attacker's name. So a request is served only when its Host is one of
 *
 * - the address the listener is bound to (`127.0.0.1`, `[::1]`, `10.0.0.5`, …);
 * - `localhost`, when that address is a loopback address;
 * - on a wildcard address (`0.0.0.0`, `::`), whose own addresses are not known up front: any IP
 *   literal and `localhost`. An IP literal cannot be rebound: the browser connects to the address
 *   in the URL, so a page whose origin is an IP address is served by that address;
 * - `server.servername`;
 * - the names in `admin.allowedhosts` (`"*"` there turns the check off);
 *
 * each with any port or none (ports do not matter for rebinding, and a published container port
 * or a port forward changes them). A request without Host (HTTP/1.0; Node refuses HTTP/1.1
 * without one) cannot come from a browser and is served. Everything else gets 421 Misdirected
 * Request (RFC 9110 §15.5.20: this server will not answer for that authority), on every path,
 * `/healthz` included; `stickyd healthcheck` and the Docker HEALTHCHECK connect to an address of
 * the listener, which is always accepted. Names compare case-insensitively, with a final dot
 * ignored, after the URL parser's normalisation (config/host-name.ts: `0x7f.1` is 127.0.0.1, as
 * browsers see it).
 */
import net from 'node:net';
import { normalizeHostName } from '../config/host-name.js';

export interface HostPolicy {
  /** The address the admin listener is bound to. */
  address: string;
  /** `server.servername`. */
  servername: string;
  /** `admin.allowedhosts`, already normalised (lower-case, IPv6 in brackets). */
  allowedhosts: readonly string[];
}

// The authority of a request target without userinfo: reg-name or IPv4, or [IPv6], then :port.
const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::(\d{0,5}))?$/;

/** The name in a Host header, normalised; null when the header is not a host[:port]. */
export function hostHeaderName(value: string): string | null {
  const m = HOST_HEADER.exec(value.trim());
  if (!m) return null;
  return normalizeHostName(m[1]!);
}

function isIpLiteral(host: string): boolean {
  return net.isIPv4(host) || (host.startsWith('[') && net.isIPv6(host.slice(1, -1)));
}

function isLoopback(address: string): boolean {
  return address === '::1' || (net.isIPv4(address) && address.startsWith('127.'));
}

/** Whether a request with this Host header may be answered (see the comment at the top). */
export function hostAllowed(header: string | undefined, policy: HostPolicy): boolean {
  if (header === undefined) return true;
  if (policy.allowedhosts.includes('*')) return true;
  const host = hostHeaderName(header);
  if (host === null || host === '') return false;
  const wildcard = policy.address === '0.0.0.0' || policy.address === '::';
  if (wildcard && (isIpLiteral(host) || host === 'localhost')) return true;
  if (!wildcard && host === normalizeHostName(policy.address)) return true;
  if (isLoopback(policy.address) && host === 'localhost') return true;
  if (host === normalizeHostName(policy.servername)) return true;
  return policy.allowedhosts.includes(host);
}

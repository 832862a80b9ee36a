/**
 * Host names as the admin listener compares them (admin/host.ts) and as `admin.allowedhosts`
 * stores them: the WHATWG URL parser's normalisation — the one browsers apply before they send a
 * Host header (lower-case, IDNA, `0x7f.1` → `127.0.0.1`, IPv6 compressed and in brackets) — and
 * without a final dot (`localhost.` is `localhost`).
 */
import net from 'node:net';

/** The normal form of a host name or IP address; null when it is not one. */
export function normalizeHostName(name: string): string | null {
  let host: string;
  try {
    host = new URL(`http://${net.isIPv6(name) ? `[${name}]` : name}/`).hostname;
  } catch {
    return null;
  }
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

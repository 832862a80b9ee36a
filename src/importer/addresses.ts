/**
 * `Listen [address:]port [protocol]` and `ServerName [scheme://]host[:port]` as httpd reads them.
 */
import net from 'node:net';

export type ListenResult =
  | { ok: true; address: string; port: number; https: boolean }
  | { ok: false; reason: string; invalid: boolean };

/**
 * A Listen directive's listener. Without an address httpd binds every address: 0.0.0.0 (and `*`
 * means the same). httpd gives port 443 the protocol https unless another one is named; the
 * protocol is a label (accept filters, the default of virtual hosts): TLS is what SSLEngine on
 * in a server of that port turns on (importer/tls.ts).
 */
export function parseListen(args: string[]): ListenResult {
  if (args.length < 1 || args.length > 2) return { ok: false, invalid: true, reason: 'Listen takes [address:]port and an optional protocol' };
  const spec = args[0] as string;
  const m = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d+)$/.exec(spec);
  if (!m) return { ok: false, invalid: true, reason: `"${spec}" is not [address:]port` };
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, invalid: true, reason: `port ${port} is out of range` };
  const raw = m[1] ?? m[2];
  const address = raw === undefined || raw === '*' ? '0.0.0.0' : raw;
  if (!net.isIP(address)) {
    return { ok: false, invalid: false, reason: `stickyd listens on IP addresses; "${address}" is a host name (write its address)` };
  }
  const protocol = args[1]?.toLowerCase() ?? (port === 443 ? 'https' : 'http');
  if (protocol !== 'http' && protocol !== 'https') {
    return { ok: false, invalid: false, reason: `protocol ${protocol}: stickyd speaks HTTP and HTTPS` };
  }
  return { ok: true, address, port, https: protocol === 'https' };
}

/** The host part of a ServerName: httpd sends it (without scheme and port) as X-Forwarded-Server. */
export function serverNameHost(text: string): string {
  const withoutScheme = text.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  if (withoutScheme.startsWith('[')) {
    const end = withoutScheme.indexOf(']');
    return end > 0 ? withoutScheme.slice(0, end + 1) : withoutScheme;
  }
  return withoutScheme.replace(/:\d*$/, '');
}

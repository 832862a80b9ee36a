/**
 * A listener with `redirect` answers every request with a redirect instead of proxying it:
 * Apache's `Redirect permanent / https://www.example.com/` in a virtual host of its own, the
 * usual way to send plain HTTP to HTTPS (nginx: `return 301 https://$host$request_uri`).
 *
 * - The target is `url` with the request's path (after its leading "/") and query appended, as
 *   mod_alias appends what follows the matched "/"; the path is the client's own bytes, so the
 *   resource is named exactly as it was asked for.
 * - Without `url`: https:// on the request's own host (Host without its port; the ServerName for
 *   an HTTP/1.0 request without one) at the first TLS listener's port. A Host that is not a host
 *   name or IP address gets 400, never a redirect to it.
 * - The body is httpd's redirect page; HEAD gets the head only. Nothing reaches a member.
 */
import { STATUS_CODES } from 'node:http';
import type { RedirectConfig } from '../config/types.js';
import type { ClientRequest, ClientResponse } from '../proxy/client-messages.js';
import { errorPage } from '../proxy/error-page.js';

/** A host name or IPv4 address, or an IPv6 address in brackets; an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})?)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The part of the request target after the leading "/" (path and query), or null for a target that has none. */
function rest(url: string): string {
  if (url.startsWith('/')) return url.slice(1);
  // absolute-form (RFC 9112 §3.2.2): its path and query.
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`.slice(1);
  } catch {
    return '';
  }
}

/** Where a request goes, or null when its Host cannot be redirected to. */
export function redirectLocation(cfg: RedirectConfig, url: string, host: string | undefined, serverName: string): string | null {
  let base = cfg.url;
  if (base === null) {
    const h = host ?? serverName;
    if (!HOST.test(h)) return null;
    const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d*$/, '');
    base = `https://${name.toLowerCase()}${cfg.port === 443 ? '' : `:${cfg.port}`}/`;
  }
  return base + rest(url);
}

/** Answer `req` with the redirect; returns the status and body bytes sent (for the access log). */
export function sendRedirect(cfg: RedirectConfig, req: ClientRequest, res: ClientResponse, serverName: string): { status: number; bytes: number } {
  const head = req.method === 'HEAD';
  let host: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length && host === undefined; i += 2) if (raw[i]!.toLowerCase() === 'host') host = raw[i + 1];
  const location = redirectLocation(cfg, req.url ?? '/', host, serverName);
  // A target node refuses in a header (control characters) is not redirected either.
  if (location === null || /[^\x21-\x7e]/.test(location)) {
    const body = errorPage(400, 'the Host header is not a host name');
    res.writeHead(400, { 'Content-Type': 'text/html; charset=iso-8859-1', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    res.end(head ? undefined : body);
    return { status: 400, bytes: head ? 0 : Buffer.byteLength(body) };
  }
  const title = STATUS_CODES[cfg.status] ?? 'Redirect';
  const body = `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${cfg.status} ${title}</title>\n</head><body>\n<h1>${title}</h1>\n<p>The document has moved <a href="${escapeHtml(location)}">here</a>.</p>\n</body></html>\n`;
  res.writeHead(cfg.status, { Location: location, 'Content-Type': 'text/html; charset=iso-8859-1', 'Content-Length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
  return { status: cfg.status, bytes: head ? 0 : Buffer.byteLength(body) };
}

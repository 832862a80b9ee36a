/**
 * The bodies of the responses stickyd makes itself, in the shape of httpd's error documents (an
 * HTML 2.0 page with the status as title), so that monitoring that knows Apache's pages keeps
 * working. Status codes that httpd closes the client connection for (ap_status_drops_connection:
 * 400, 408, 411, 413, 414, 417, 500, 501, 503) get `Connection: close`; apache-semantics §4.7 checks 503.
 */
import { STATUS_CODES } from 'node:http';

const DROPS_CONNECTION = new Set([400, 408, 411, 413, 414, 417, 500, 501, 503]);

/** httpd closes the client connection after a response with this status (also a proxied one). */
export function dropsConnection(status: number): boolean {
  return DROPS_CONNECTION.has(status);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const TEXT: Record<number, string> = {
  400: 'Your browser sent a request that this server could not understand.',
  404: 'The requested URL was not found on this server.',
  405: 'The requested method is not allowed for this URL.',
  408: 'The server timed out waiting for the request.',
  431: 'The request header fields are too large for this server.',
  500: 'The proxy server could not handle the request.',
  502: 'The proxy server received an invalid response from an upstream server.',
  503: 'The server cannot handle the request right now: no backend member is available to take it. Please try again later.',
  504: 'The proxy server did not receive a timely response from the upstream server.',
};

/** Title as httpd writes it: the proxy's own failures are "Proxy Error". */
function heading(status: number): string {
  if (status === 502 || status === 500) return 'Proxy Error';
  return STATUS_CODES[status] ?? 'Error';
}

/**
 * An error page. `reason` (e.g. "Error reading from remote server") is shown like httpd's
 * "Reason:" line of a proxy error.
 */
export function errorPage(status: number, reason?: string): string {
  const title = `${status} ${heading(status)}`;
  let body = `<p>${TEXT[status] ?? 'The request could not be served.'}</p>\n`;
  if (reason !== undefined) body += `<p>Reason: <strong>${escapeHtml(reason)}</strong></p>\n`;
  return `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${title}</title>\n</head><body>\n<h1>${heading(status)}</h1>\n${body}</body></html>\n`;
}

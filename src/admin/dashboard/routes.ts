/**
 * The dashboard's paths on the admin listener, behind the manager's rules (server.ts checks the
 * Host and the token before any of this runs; a browser sends the token as the Basic password it
 * gave the manager):
 *
 *   GET /dashboard          the page (page.ts)
 *   GET /dashboard/data     a Snapshot as JSON (model.ts): for scripts, and a viewer that polls
 *   GET /dashboard/stream   server-sent events: `snapshot`, then `update` every second
 *
 * Everything is read-only: changes go through the balancer-manager or the API, which the page
 * links to.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminContext } from '../context.js';
import { send, sendJson, sendText } from '../http.js';
import { MAX_STREAMS } from './dashboard.js';
import { contentSecurityPolicy, DASHBOARD_PATH, DATA_PATH, makeNonce, renderDashboardPage, STREAM_PATH } from './page.js';

export { DASHBOARD_PATH } from './page.js';

/** The paths this module answers. */
export function isDashboardPath(path: string): boolean {
  return path === DASHBOARD_PATH || path === DATA_PATH || path === STREAM_PATH;
}

export async function handleDashboard(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'method not allowed; allowed: GET, HEAD', { Allow: 'GET, HEAD' });
  const dashboard = ctx.dashboard;
  if (dashboard === null) return sendText(res, 503, 'the dashboard is not running');
  if (path === DASHBOARD_PATH) {
    const nonce = makeNonce();
    return send(res, 200, 'text/html; charset=utf-8', renderDashboardPage({ host: req.headers.host ?? 'stickyd', nonce }), {
      'Content-Security-Policy': contentSecurityPolicy(nonce),
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'same-origin',
    });
  }
  if (path === DATA_PATH) return sendJson(res, 200, await dashboard.poll());
  // The stream.
  if (method === 'HEAD') return send(res, 200, 'text/event-stream', '');
  if (dashboard.streamCount >= MAX_STREAMS) {
    return sendText(res, 503, `too many open dashboards (${MAX_STREAMS}); close one, or poll ${DATA_PATH}`, { 'Retry-After': '10' });
  }
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // A reverse proxy in front of the admin listener must not hold the events back.
    'X-Accel-Buffering': 'no',
  });
  res.socket?.setNoDelay(true);
  await dashboard.openStream(res);
}

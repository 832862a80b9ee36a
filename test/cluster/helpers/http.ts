/** A tiny HTTP client for cluster tests: one request on a fresh connection to 127.0.0.1, cookies by hand. */
import http from 'node:http';
import { patience } from '../../helpers/patience.js';

export interface Reply {
  status: number;
  body: string;
  json: any;
  /** Every Set-Cookie line. */
  setCookies: string[];
  /** The JSESSIONID value set by this response, if any. */
  sessionCookie: string | null;
  headers: http.IncomingHttpHeaders;
}

export function get(port: number, path: string, cookie?: string | null, cookieName = 'JSESSIONID'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, headers: cookie ? { cookie: cookie.includes('=') ? cookie : `${cookieName}=${cookie}` } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          const mine = setCookies.find((l) => l.startsWith(`${cookieName}=`));
          let json: unknown = null;
          try {
            json = JSON.parse(body);
          } catch {
            /* not JSON */
          }
          resolve({
            status: res.statusCode ?? 0,
            body,
            json,
            setCookies,
            sessionCookie: mine ? mine.slice(cookieName.length + 1).split(';')[0]! : null,
            headers: res.headers,
          });
        });
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error(`GET ${path} on ${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `check` until it returns a truthy value (returned) or the deadline passes (throws with
 * `what`): `timeoutMs`, or PATIENCE_MS when that is longer (test/helpers/patience.ts).
 */
export async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs: number, what: string, everyMs = 20): Promise<T> {
  timeoutMs = patience(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A session id that names a route but no session: makes the proxy route the first request there. */
export function routeCookie(route: string): string {
  return `${'0'.repeat(32)}.${route}`;
}

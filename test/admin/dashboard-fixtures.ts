/**
 * Fixtures of the dashboard tests: a client of the event stream (server-sent events over a real
 * socket), and requests that open new sessions or follow one.
 */
import http from 'node:http';
import type { Snapshot, Update } from '../../src/admin/dashboard/model.js';
import { json, request } from './fixtures.js';

export interface StreamEvent {
  event: string;
  data: string;
  /** Date.now() when it arrived. */
  at: number;
}

export interface StreamClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: StreamEvent[];
  /** The first event (from index `from` on) that `match` accepts; rejects after `timeoutMs`. */
  next(match: (e: StreamEvent) => boolean, timeoutMs?: number, from?: number): Promise<StreamEvent>;
  close(): void;
}

const open: StreamClient[] = [];

/** Close every stream a test opened (afterEach). */
export function closeStreams(): void {
  for (const s of open.splice(0)) s.close();
}

/** GET the stream with these headers; resolves once the response head is in. */
export function openStream(url: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const events: StreamEvent[] = [];
    const waiters = new Set<() => void>();
    const req = http.get(url, { headers, agent: false }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: data.join('\n'), at: Date.now() });
          for (const w of [...waiters]) w();
        }
      });
      res.on('error', () => {});
      const client: StreamClient = {
        status: res.statusCode!,
        headers: res.headers,
        events,
        next(match, timeoutMs = 5000, from = 0) {
          return new Promise((ok, fail) => {
            const check = (): boolean => {
              const found = events.slice(from).find(match);
              if (found === undefined) return false;
              waiters.delete(check as () => void);
              clearTimeout(timer);
              ok(found);
              return true;
            };
            const timer = setTimeout(() => {
              waiters.delete(check as () => void);
              fail(new Error(`no matching event within ${timeoutMs} ms (got ${events.map((e) => e.event).join(', ')})`));
            }, timeoutMs);
            if (!check()) waiters.add(check as () => void);
          });
        },
        close() {
          req.destroy();
        },
      };
      open.push(client);
      resolve(client);
    });
    req.on('error', reject);
  });
}

export function snapshotOf(e: StreamEvent): Snapshot {
  return JSON.parse(e.data) as Snapshot;
}

export function updateOf(e: StreamEvent): Update {
  return JSON.parse(e.data) as Update;
}

/** A request without a session (a load-balanced pick); returns the session cookie it got and the backend that answered. */
export async function newSession(proxyUrl: string, path = '/app/login'): Promise<{ cookie: string; backend: string }> {
  const r = await request(`${proxyUrl}${path}`);
  if (r.status !== 200) throw new Error(`${path} answered ${r.status}: ${r.body}`);
  return { cookie: String(r.headers['set-cookie']).split(';')[0]!, backend: json<{ backend: string }>(r).backend };
}

/** A request within a session (sticky); returns the backend that answered. */
export async function inSession(proxyUrl: string, cookie: string, path = '/app/cart'): Promise<string> {
  const r = await request(`${proxyUrl}${path}`, { headers: { Cookie: cookie } });
  if (r.status !== 200) throw new Error(`${path} answered ${r.status}: ${r.body}`);
  return json<{ backend: string }>(r).backend;
}

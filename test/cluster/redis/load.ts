/**
 * Bounded write load for fail-over scenarios: each session gets its own sequence of writes, one
 * request at a time per session, write k setting a new attribute `w<k>` = k. Every write the
 * client saw acknowledged (a 200) must afterwards be in Redis as its own field, so a lost
 * acknowledged write shows even when later writes succeeded. A session whose id changes (the
 * route binder after a fail-over, or a new session when the old one was lost) is followed through
 * its new cookie.
 */
import { get } from '../helpers/http.js';

export interface LoadSession {
  /** The session's current id (updated from Set-Cookie). */
  id: string;
  /** Last acknowledged k (0: none yet). */
  acked: number;
  /** Every acknowledged k. */
  ackedAll: number[];
  /** Writes acknowledged after `mark()`. */
  ackedAfterMark: number;
}

export interface LoadResult {
  sessions: LoadSession[];
  /** Requests answered with a status other than 200, by status (0 = no answer). */
  failed: Map<number, number>;
  ok: number;
  /** Successful writes after `mark()` (e.g. after the kill). */
  okAfterMark: number;
}

export class WriteLoad {
  readonly result: LoadResult;
  private running = true;
  private marked = false;
  private readonly done: Promise<void>;

  /**
   * `workers` loops; each session belongs to one worker; `portFor(id)` picks where a request goes
   * (the proxy, or the node whose route the id carries). Stops by itself after `maxMs`.
   */
  constructor(ids: string[], portFor: (id: string) => number, workers: number, maxMs: number) {
    this.result = { sessions: ids.map((id) => ({ id, acked: 0, ackedAll: [], ackedAfterMark: 0 })), failed: new Map(), ok: 0, okAfterMark: 0 };
    const next = new Map(this.result.sessions.map((s) => [s, 0]));
    const started = Date.now();
    this.done = Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        const mine = this.result.sessions.filter((_, i) => i % workers === w);
        while (this.running && Date.now() - started < maxMs) {
          for (const s of mine) {
            if (!this.running) break;
            const n = next.get(s)! + 1;
            next.set(s, n);
            const r = await get(portFor(s.id), `/set?name=w${n}&value=${n}`, s.id).catch(() => null);
            if (r?.sessionCookie) s.id = r.sessionCookie;
            if (r?.status === 200) {
              s.acked = n;
              s.ackedAll.push(n);
              this.result.ok++;
              if (this.marked) {
                this.result.okAfterMark++;
                s.ackedAfterMark++;
              }
            } else {
              const status = r?.status ?? 0;
              this.result.failed.set(status, (this.result.failed.get(status) ?? 0) + 1);
              await new Promise((res) => setTimeout(res, 20));
            }
          }
        }
      }),
    ).then(() => undefined);
  }

  mark(): void {
    this.marked = true;
  }

  async stop(): Promise<LoadResult> {
    this.running = false;
    await this.done;
    return this.result;
  }
}

/** Acknowledged writes missing from Redis: `stored(id)` is the session's hash as HGETALL returns it. */
export async function lostWrites(sessions: LoadSession[], stored: (id: string) => Promise<Record<string, string>>): Promise<{ writes: number; sessions: number }> {
  let writes = 0;
  let lostSessions = 0;
  for (const s of sessions) {
    const h = await stored(s.id);
    const missing = s.ackedAll.filter((k) => h[`a:w${k}`] !== String(k)).length;
    writes += missing;
    if (missing > 0) lostSessions++;
  }
  return { writes, sessions: lostSessions };
}

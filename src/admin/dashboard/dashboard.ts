/**
 * The live dashboard's engine on the main thread: the timeline (events.ts) always, the per-second
 * samples (series.ts) while someone looks, and the event streams of the pages that are open.
 *
 * Cost: nothing is added to the request path; the figures it samples are the ones /metrics keeps
 * anyway while the admin listener runs. Without a viewer the watcher looks at the scoreboard once a
 * second (a few integers per member) so that the timeline holds what happened while nobody was
 * looking. While a page has the stream open, or a script polled /dashboard/data in the last
 * POLL_KEEP_MS, it also reads the request figures once a second (with worker threads: one
 * message to each, which they answer with their sums) and looks at the scoreboard every
 * FAST_MS, so that a member that fails shows within a quarter of a second. LINGER_MS after the
 * last viewer went, sampling stops and the next viewer starts a new baseline (the charts show
 * the gap).
 */
import type { ServerResponse } from 'node:http';
import type { HealthChecker } from '../../health/checker.js';
import type { Logger } from '../../log.js';
import type { AdminTarget } from '../context.js';
import type { Metrics } from '../metrics.js';
import { describeChange, EventLog, StateWatcher } from './events.js';
import type { Snapshot, Update } from './model.js';
import { CAPACITY, INTERVAL_MS, LATENCY_WINDOW_S, RATE_WINDOW_S, SeriesKeeper, sampleColumns, totalsOf, WINDOW_S, type Sample, type Totals, type Windows } from './series.js';
import { balancerDocs, daemonDoc, seriesDoc } from './state.js';

/** How often the watcher looks while nobody watches, and while someone does. */
const WATCH_MS = 1000;
const FAST_MS = 250;
/** A GET of /dashboard/data keeps sampling on this long (a script that polls). */
const POLL_KEEP_MS = 30_000;
/**
 * After the last page closed its stream, sampling goes on this long: an operator who went to the
 * balancer-manager to drain a member comes back to charts without a gap.
 */
export const LINGER_MS = 60_000;
/** Open event streams at most (each costs a socket and a JSON write per second). */
export const MAX_STREAMS = 16;
/** A stream whose client reads nothing is cut once this much is waiting for it. */
const MAX_BUFFERED = 1 << 20;

/** Who changed something: the words the timeline uses. */
export type ChangeSource = 'balancer-manager' | 'admin API';

export class Dashboard {
  readonly events = new EventLog();
  private readonly watcher: StateWatcher;
  private readonly keeper = new SeriesKeeper(CAPACITY);
  private readonly streams = new Set<ServerResponse>();
  /** Streams opened whose snapshot is being made (they hear updates only after it). */
  private readonly opening = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private timerFast = false;
  private stopped = false;
  private pollUntil = 0;
  /** The figures were read and the keeper has a baseline (false while not sampling). */
  private sampling = false;
  private lastReading = 0;
  private reading: Promise<Sample | null> | null = null;
  private totals: Totals | null = null;
  private windows: Windows = { balancers: new Map(), members: new Map() };
  /** The last event sent on the streams. */
  private sentSeq = 0;
  /** LINGER_MS (tests shorten it). */
  lingerMs = LINGER_MS;

  constructor(
    private readonly target: AdminTarget,
    private readonly metrics: Metrics,
    private readonly health: HealthChecker | null,
    private readonly logger: Logger | undefined,
  ) {
    this.watcher = new StateWatcher(target, this.events);
    this.sentSeq = this.events.lastSeq;
    this.schedule();
  }

  /** Stop the timers and end the streams (the admin listener closes). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const res of [...this.streams, ...this.opening]) res.end();
    this.streams.clear();
    this.opening.clear();
  }

  /** Someone looks: the page's stream is open, or a script polled lately. */
  private get watched(): boolean {
    return this.streams.size > 0 || this.opening.size > 0 || Date.now() < this.pollUntil;
  }

  private schedule(): void {
    if (this.stopped) return;
    const fast = this.watched;
    this.timerFast = fast;
    this.timer = setTimeout(() => this.tick(), fast ? FAST_MS : WATCH_MS);
    this.timer.unref();
  }

  /** A viewer arrived: look at the fast pace from now on. */
  private wake(): void {
    if (this.stopped || this.timerFast) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.schedule();
  }

  private tick(): void {
    this.timer = null;
    const now = Date.now();
    const changed = this.watcher.check(now);
    if (this.watched) {
      // read() logs its own failures and never rejects.
      if (this.reading === null && now - this.lastReading >= INTERVAL_MS - FAST_MS / 2) this.read().catch(() => {});
      else if (changed || this.events.lastSeq > this.sentSeq) this.broadcast(null);
    } else if (this.sampling) {
      this.sampling = false;
      this.keeper.pause();
    }
    this.schedule();
  }

  /** Read the request figures (one reading at a time); a sample closes an interval, then every stream hears of it. */
  private read(): Promise<Sample | null> {
    this.reading ??= (async () => {
      try {
        const figures = await this.metrics.figures();
        const now = Date.now();
        const live = new Map<string, string[]>();
        const busy = new Map<string, number>();
        for (const b of this.target.balancers.values()) {
          live.set(b.name, b.members.map((m) => m.name));
          for (const m of b.members) busy.set(`${b.name}\u0000${m.name}`, m.busy);
        }
        const sample = this.keeper.read(figures, now, live, (b, m) => busy.get(`${b}\u0000${m}`) ?? 0);
        this.sampling = true;
        this.lastReading = now;
        this.totals = totalsOf(figures);
        this.windows = this.keeper.windows(now);
        this.watcher.check(now);
        if (sample !== null) this.broadcast(sample);
        return sample;
      } catch (err) {
        this.logger?.debug({ err }, 'dashboard: reading the request figures failed');
        return null;
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  private update(sample: Sample | null): Update {
    const events = this.events.since(this.sentSeq);
    this.sentSeq = this.events.lastSeq;
    return {
      now: Date.now(),
      daemon: daemonDoc(this.target),
      balancers: balancerDocs(this.target, this.windows, this.totals, this.health, (b, m) => this.watcher.errorSince(b, m)),
      sample: sample === null ? null : sampleColumns(sample),
      events,
    };
  }

  private broadcast(sample: Sample | null): void {
    if (this.streams.size === 0) {
      this.sentSeq = this.events.lastSeq;
      return;
    }
    const frame = `event: update\ndata: ${JSON.stringify(this.update(sample))}\n\n`;
    for (const res of this.streams) {
      if (res.writableLength > MAX_BUFFERED) {
        // A client that does not read: let it go rather than hold its backlog.
        res.destroy();
        continue;
      }
      res.write(frame);
    }
  }

  /** Everything the page shows, with the history: GET /dashboard/data (which keeps sampling on for POLL_KEEP_MS). */
  poll(): Promise<Snapshot> {
    this.pollUntil = Math.max(this.pollUntil, Date.now() + POLL_KEEP_MS);
    this.wake();
    return this.snapshot();
  }

  /** Whether the figures are being sampled now (someone watches). */
  get sampled(): boolean {
    return this.sampling;
  }

  private async snapshot(): Promise<Snapshot> {
    if (!this.sampling) await this.read();
    this.watcher.check();
    const now = Date.now();
    const balancers = balancerDocs(this.target, this.windows, this.totals, this.health, (b, m) => this.watcher.errorSince(b, m));
    return {
      now,
      intervalMs: INTERVAL_MS,
      capacity: this.keeper.capacity,
      windows: { rateS: RATE_WINDOW_S, windowS: WINDOW_S, latencyS: LATENCY_WINDOW_S },
      daemon: daemonDoc(this.target),
      balancers,
      series: seriesDoc(this.keeper.samples(), balancers),
      events: this.events.since(0),
    };
  }

  /** Open streams now (for the limit). */
  get streamCount(): number {
    return this.streams.size + this.opening.size;
  }

  /** A page's event stream: the snapshot now, then an update every second and on every change. */
  async openStream(res: ServerResponse): Promise<void> {
    this.opening.add(res);
    res.once('close', () => {
      this.opening.delete(res);
      this.streams.delete(res);
      this.pollUntil = Math.max(this.pollUntil, Date.now() + this.lingerMs);
    });
    this.wake();
    const snapshot = await this.snapshot();
    if (!this.opening.delete(res) || res.destroyed) return;
    // retry: how long the browser waits before it reconnects a broken stream.
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    this.streams.add(res);
  }

  /** The balancer-manager or the API changed something (after it was applied). */
  changed(source: ChangeSource, balancer: string, member: string | null, changes: readonly string[]): void {
    if (changes.length === 0) return;
    const b = this.target.balancers.get(balancer);
    const m = member === null ? undefined : b?.members.find((x) => x.name === member);
    const added = changes.find((c) => c.startsWith('added '));
    this.events.record({
      level: 'info',
      kind: added !== undefined ? 'added' : 'changed',
      balancer,
      member,
      route: m?.route ?? null,
      text: `${changes.map(describeChange).join(', ')} (through the ${source})`,
    });
    this.watcher.adopt(balancer, member);
    this.wake();
  }

  /** The daemon runs a new configuration. */
  reloaded(): void {
    const lines = this.watcher.reloadChanges();
    this.events.record({
      level: 'info',
      kind: 'reload',
      balancer: null,
      member: null,
      route: null,
      text: `configuration reloaded${lines.length > 0 ? `: ${lines.join(' — ')}` : ' (no member added, removed or re-flagged)'}`,
    });
    this.wake();
  }
}

/**
 * Worker supervision on the main thread (server.workers > 1): start the worker threads, tell them
 * about reloads, collect their request figures, stop them, and start again one that dies.
 *
 * A worker that dies (an exception nothing caught, or its thread was terminated) is logged and
 * counted; what it held in the shared scoreboard is given back (its busy counts, a balancer lock
 * it held: Scoreboard.reclaim, the problem httpd has when a child dies with requests in flight);
 * its last request figures (reported every second, and at every scrape) stay in the totals; and a new worker with the same id is started on
 * the current configuration, at once, or after a growing delay when workers keep dying soon after
 * they start. The other workers keep serving all along.
 */
import { Worker } from 'node:worker_threads';
import { clockBase } from '../balancer/clock.js';
import type { Scoreboard } from '../balancer/scoreboard.js';
import type { Config, ListenConfig } from '../config/types.js';
import type { AccessRecord, LineChannel, Logger } from '../log.js';
import { addFigures, emptyFigures, type RequestFigures } from '../admin/request-figures.js';
import type { TicketKeySnapshot } from '../tls/tickets.js';
import type { FromWorker, Placements, ToWorker, WorkerStart } from './messages.js';
import type { BoundAddress } from './serving.js';

/** A worker that dies sooner than this after it started counts as crash-looping. */
const QUICK_DEATH_MS = 5000;
const MAX_RESTART_DELAY_MS = 30_000;
/** How long a scrape waits for a worker's figures before it uses the ones the worker sent last. */
const COLLECT_WAIT_MS = 2000;
/** After the grace time, how long a stopping worker gets to close before it is terminated. */
const STOP_MARGIN_MS = 5000;

/**
 * The worker module, from src/ (tests, `--import tsx`: the thread loads TypeScript the same way)
 * or from dist/ (compiled JavaScript, loaded as it is). The process's own node options are not
 * passed on: some are refused in a worker (`--input-type`, `--eval`), and `--inspect` would bind
 * its port again.
 */
function workerEntry(): { url: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return fromSource
    ? { url: new URL('./thread.ts', import.meta.url), execArgv: ['--conditions=stickyd-source', '--import', 'tsx'] }
    : { url: new URL('./thread.js', import.meta.url), execArgv: [] };
}

/** What a worker is started with now (the supervisor keeps it current across reloads). */
export interface Launch {
  config: Config;
  placements: Placements;
  listen: ListenConfig[];
  access: boolean;
  /** The TLS listeners' session ticket keys now. */
  tickets: TicketKeySnapshot;
}

export interface SupervisorOptions {
  count: number;
  board: Scoreboard;
  logger: Logger;
  /** Whole lines a worker posted (log.ts writeLines). */
  lines(channel: LineChannel, bytes: Buffer): void;
  /** Access records a worker posted (while observing). */
  records(records: AccessRecord[]): void;
}

interface Slot {
  id: number;
  worker: Worker | null;
  startedAt: number;
  /** Died soon after starting, this many times in a row. */
  quickDeaths: number;
  restartTimer: NodeJS.Timeout | null;
  /** The figures it sent last (kept in the totals if it dies). */
  figures: RequestFigures | null;
  /** The error it died of, if it reported one. */
  error: Error | null;
}

export class Supervisor {
  private readonly slots: Slot[];
  private launch: Launch | null = null;
  private figuresOn = false;
  private observeOn = false;
  private stopping = false;
  /** start() has not finished: a worker that ends now is a failure to start, not a death. */
  private starting = true;
  /** Figures of workers that died (their last report). */
  private retired: RequestFigures = emptyFigures();
  private collectId = 0;
  /** Workers that died and were started again (stickyd_worker_restarts_total). */
  restarts = 0;

  constructor(private readonly options: SupervisorOptions) {
    this.slots = Array.from({ length: options.count }, (_, i) => ({ id: i + 1, worker: null, startedAt: 0, quickDeaths: 0, restartTimer: null, figures: null, error: null }));
  }

  get count(): number {
    return this.slots.length;
  }

  /** The thread of worker `id` (1..count), while it runs. */
  worker(id: number): Worker | null {
    return this.slots[id - 1]?.worker ?? null;
  }

  /** Start every worker; resolves with the addresses once all listen, rejects (all stopped) if one cannot. */
  async start(launch: Launch): Promise<BoundAddress[]> {
    this.launch = launch;
    try {
      const bound = await Promise.all(this.slots.map((slot) => this.spawn(slot)));
      this.starting = false;
      return bound[0] ?? [];
    } catch (err) {
      await this.stop(0);
      throw err;
    }
  }

  /** Start the worker of `slot` on the current launch; resolves once it listens. */
  private spawn(slot: Slot): Promise<BoundAddress[]> {
    const launch = this.launch!;
    const entry = workerEntry();
    const start: WorkerStart = {
      id: slot.id,
      board: this.options.board.handle,
      config: launch.config,
      placements: launch.placements,
      listen: launch.listen,
      access: launch.access,
      figures: this.figuresOn,
      observe: this.observeOn,
      tickets: launch.tickets,
      clockBase: clockBase(),
    };
    const worker = new Worker(entry.url, { workerData: start, execArgv: entry.execArgv, name: `stickyd worker ${slot.id}` });
    slot.worker = worker;
    slot.startedAt = performance.now();
    slot.error = null;
    return new Promise<BoundAddress[]>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            ready = true;
            resolve(m.addresses);
            return;
          case 'failed':
            reject(new Error(m.message));
            return;
          case 'lines':
            this.options.lines(m.channel, Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
            return;
          case 'records':
            this.options.records(m.records);
            return;
          case 'figures':
            slot.figures = m.figures;
            worker.emit('stickyd:figures', m.id);
            return;
          case 'flushed':
            worker.emit('stickyd:flushed', m.id);
            return;
          default:
            worker.emit(`stickyd:${m.type}`);
        }
      });
      worker.on('error', (err) => {
        slot.error = err;
      });
      worker.once('exit', (code) => {
        if (!ready) reject(slot.error ?? new Error(`worker ${slot.id} exited (code ${code}) before it listened`));
        this.exited(slot, worker, code);
      });
    });
  }

  private exited(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    // Whatever it held in the scoreboard: busy counts of its requests, a lock it died holding.
    const held = this.options.board.reclaim(slot.id);
    if (slot.figures !== null) this.retired = addFigures([this.retired, slot.figures]);
    slot.figures = null;
    if (this.stopping || this.starting) return;
    this.restarts++;
    const lived = performance.now() - slot.startedAt;
    slot.quickDeaths = lived < QUICK_DEATH_MS ? slot.quickDeaths + 1 : 0;
    const delay = slot.quickDeaths <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 500 * 2 ** (slot.quickDeaths - 2));
    const err = slot.error;
    this.options.logger.error(
      { err, worker: slot.id, code, busyReclaimed: held.busy, locksReleased: held.locks },
      `worker ${slot.id} died (${err ? err.message : `exit code ${code}`}) after ${Math.round(lived)} ms; ` +
        `gave back ${held.busy} busy count(s); starting a new one${delay > 0 ? ` in ${delay} ms` : ''}`,
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.stopping) return;
      this.spawn(slot).then(
        () => this.options.logger.info(`worker ${slot.id} started again`),
        (e: unknown) => this.options.logger.error(`worker ${slot.id} could not start: ${(e as Error).message}`),
      );
    }, delay);
  }

  /** A TLS listener's new session ticket key, for every worker (and for workers started later). */
  ticketKey(listener: string, key: Buffer): void {
    if (this.launch !== null) {
      const had = this.launch.tickets[listener];
      this.launch = { ...this.launch, tickets: { ...this.launch.tickets, [listener]: { key: new Uint8Array(key), period: had?.period ?? 0 } } };
    }
    this.send({ type: 'ticket-key', listener, key: new Uint8Array(key) });
  }

  private send(message: ToWorker): void {
    for (const slot of this.slots) slot.worker?.postMessage(message);
  }

  /** Every worker runs on `launch` (each answers once it has reloaded; a worker started later starts on it). */
  async reload(launch: Launch): Promise<void> {
    this.launch = launch;
    const done = this.slots.map((slot) => (slot.worker === null ? Promise.resolve() : this.reply(slot.worker, 'stickyd:reloaded')));
    this.send({ type: 'reload', config: launch.config, placements: launch.placements, listen: launch.listen, access: launch.access, tickets: launch.tickets });
    await Promise.all(done);
  }

  /** Resolves on the worker's event, or when it exits. */
  private reply(worker: Worker, event: string, match?: (arg: unknown) => boolean, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        worker.off(event, onEvent);
        worker.off('exit', done);
        resolve();
      };
      const onEvent = (arg: unknown): void => {
        if (match === undefined || match(arg)) done();
      };
      worker.on(event, onEvent);
      worker.once('exit', done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }

  /** Keep request figures in every worker (for /metrics). */
  setFigures(on: boolean): void {
    this.figuresOn = on;
    this.send({ type: 'figures', on });
  }

  /** Post access records to the main thread. */
  setObserve(on: boolean): void {
    this.observeOn = on;
    this.send({ type: 'observe', on });
  }

  /** The request figures of every worker added up (those that died included, with what they reported last). */
  async collect(): Promise<RequestFigures> {
    const id = ++this.collectId;
    const waits = this.slots.map((slot) =>
      slot.worker === null ? Promise.resolve() : this.reply(slot.worker, 'stickyd:figures', (arg) => arg === id, COLLECT_WAIT_MS),
    );
    this.send({ type: 'collect', id });
    await Promise.all(waits);
    return addFigures([this.retired, ...this.slots.flatMap((s) => (s.figures === null ? [] : [s.figures]))]);
  }

  /**
   * Every worker hands over the log lines it has batched; resolves once they have all reached
   * this thread (before a reload switches log files: a request that ended before the reload is
   * logged where the configuration then said).
   */
  async flushLines(): Promise<void> {
    const id = ++this.collectId;
    const waits = this.slots.map((slot) =>
      slot.worker === null ? Promise.resolve() : this.reply(slot.worker, 'stickyd:flushed', (arg) => arg === id, COLLECT_WAIT_MS),
    );
    this.send({ type: 'flush', id });
    await Promise.all(waits);
  }

  /**
   * Every worker stops accepting and finishes what is in flight (at most `graceMs`, then its
   * connections are cut); resolves once every thread has ended.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const running = this.slots.flatMap((slot) => {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      return slot.worker === null ? [] : [slot.worker];
    });
    const ended = running.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
    this.send({ type: 'stop', graceMs });
    const limit = setTimeout(() => {
      // A worker that did not drain in time; its 'exit' settles `ended` either way.
      for (const w of running) w.terminate().catch(() => {});
    }, graceMs + STOP_MARGIN_MS);
    await Promise.all(ended);
    clearTimeout(limit);
  }
}

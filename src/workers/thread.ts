/**
 * A worker thread (server.workers > 1): its own listeners on every `listen` address (SO_REUSEPORT:
 * the kernel spreads new connections over the workers), its own member connection pools, access
 * log and counters, and the balancers as views of the scoreboard the main thread shares with every
 * worker. Its log lines go to the main thread, which owns every sink (log.ts, postedLines).
 *
 * The main thread starts it (supervisor.ts) and tells it to reload, to keep request figures for
 * /metrics, to send its figures, and to stop. An exception nothing catches ends the thread; the
 * supervisor logs it, gives back what the thread held in the scoreboard and starts a new one.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { newMemberConfig } from '../admin/changes.js';
import { emptyFigures, RequestSums, type FiguresSource, type RequestFigures } from '../admin/request-figures.js';
import { Balancer } from '../balancer/balancer.js';
import { Scoreboard } from '../balancer/scoreboard.js';
import type { Config } from '../config/types.js';
import { AccessLog, postedLines, type AccessRecord, type LineChannel } from '../log.js';
import { ConnectorStore } from '../members/connectors.js';
import { ProxyCounters } from '../proxy/counters.js';
import type { BalancerBuilder, ProcessState } from '../proxy/runtime.js';
import { SharedTicketKeys } from '../tls/tickets.js';
import type { FromWorker, Placements, ToWorker, WorkerStart } from './messages.js';
import { Serving } from './serving.js';

/** How long access records wait to be posted together to the main thread's observers. */
const RECORDS_MS = 10;

const port = parentPort!;
const start = workerData as WorkerStart;

function post(message: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

/** The one place a worker hands whole lines to the main thread: the batch's memory moves with it. */
function linesTo(channel: LineChannel): ReturnType<typeof postedLines> {
  return postedLines((bytes) => post({ type: 'lines', channel, bytes }, [bytes.buffer as ArrayBuffer]));
}

const board = Scoreboard.attach(start.board, start.id);
const logger = pino({ level: start.config.log.level, base: { name: 'stickyd', worker: start.id } }, linesTo('log'));
const accessLines = linesTo('access');

/** Balancers as views of what the main thread built; members the manager adds get the defaults the manager gave them. */
function attach(config: Config, placements: Placements): BalancerBuilder {
  return (bc, previous) => {
    const placement = placements[bc.name];
    if (placement === undefined) throw new Error(`no scoreboard placement for balancer ${bc.name}`);
    return Balancer.attach(bc, board, placement, (url) => newMemberConfig(url, config.proxy.timeout, bc.membertls), previous);
  };
}

const state: ProcessState = {
  board,
  connectors: new ConnectorStore(),
  access: new AccessLog(start.access ? start.config.log.access : null, accessLines, start.id),
  counters: new ProxyCounters(),
  logger,
  tunnels: new Set(),
  draining: false,
};
/** The TLS listeners' ticket keys: the main thread's, the same in every worker. */
const tickets = new SharedTicketKeys(start.tickets);
const serving = new Serving(start.config, state, true, tickets, attach(start.config, start.placements));
const source: FiguresSource = {
  get config() {
    return serving.runtime.config;
  },
  get balancers() {
    return serving.runtime.balancers;
  },
};

/** How often a worker keeping figures reports them unasked: what a worker that dies can lose. */
const FIGURES_REPORT_MS = 1000;

let sums: { sums: RequestSums; stop: () => void; report: NodeJS.Timeout } | null = null;
function keepFigures(on: boolean): void {
  if (on && sums === null) {
    const s = new RequestSums(source);
    const report = setInterval(() => post({ type: 'figures', id: 0, figures: figures() }), FIGURES_REPORT_MS).unref();
    sums = { sums: s, stop: state.access.subscribe(s.observe), report };
  } else if (!on && sums !== null) {
    sums.stop();
    clearInterval(sums.report);
    sums = null;
  }
}

/** This worker's request figures so far (its counters only while no figures are kept). */
function figures(): RequestFigures {
  const counters = structuredClone(state.counters);
  return sums === null ? { ...emptyFigures(), counters } : sums.sums.figures(counters);
}

/** A record as it can cross to the main thread: its `context` (node's request and response) stays here. */
function postable(record: AccessRecord): AccessRecord {
  if (record.context === undefined) return record;
  const { context: _context, ...data } = record;
  return data;
}

interface Observing {
  queue: AccessRecord[];
  stop: () => void;
  timer: NodeJS.Timeout | null;
}
let records: Observing | null = null;
function observe(on: boolean): void {
  if (on && records === null) {
    const r: Observing = { queue: [], timer: null, stop: () => {} };
    r.stop = state.access.subscribe((record) => {
      r.queue.push(record);
      r.timer ??= setTimeout(() => {
        r.timer = null;
        post({ type: 'records', records: r.queue.splice(0).map(postable) });
      }, RECORDS_MS);
    });
    records = r;
  } else if (!on && records !== null) {
    records.stop();
    if (records.timer !== null) clearTimeout(records.timer);
    records = null;
  }
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'ticket-key':
      tickets.apply(m.listener, m.key);
      return;
    case 'reload': {
      tickets.applyAll(m.tickets);
      const changes = await serving.reload(m.config, attach(m.config, m.placements), m.listen);
      state.access.configure(m.access ? m.config.log.access : null);
      logger.level = m.config.log.level;
      for (const f of changes.failed) logger.error({ err: f.error }, `cannot listen on ${f.entry.address}:${f.entry.port}: ${f.error.message}`);
      post({ type: 'reloaded' });
      return;
    }
    case 'figures':
      keepFigures(m.on);
      return;
    case 'observe':
      observe(m.on);
      return;
    case 'collect':
      post({ type: 'figures', id: m.id, figures: figures() });
      return;
    case 'flush':
      accessLines.handOver();
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      post({ type: 'flushed', id: m.id });
      return;
    case 'stop':
      await serving.stop(m.graceMs);
      if (records !== null && records.queue.length > 0) post({ type: 'records', records: records.queue.splice(0).map(postable) });
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      accessLines.handOver();
      post({ type: 'stopped' });
      process.exit(0);
  }
}

keepFigures(start.figures);
observe(start.observe);
/** Messages are handled one after the other, the first ones once the listeners are open. */
let queue: Promise<void> = serving.listen(start.listen).then(
  () => post({ type: 'ready', addresses: serving.addresses }),
  (err: unknown) => {
    post({ type: 'failed', message: (err as Error).message });
    process.exit(1);
  },
);

port.on('message', (m: ToWorker) => {
  queue = queue.then(() => handle(m)).catch((err: unknown) => {
    // A bug: end the thread as an uncaught exception would (the supervisor logs it and starts another).
    setImmediate(() => {
      throw err;
    });
  });
});

/**
 * What the main thread and a worker thread say to each other (structured-clone data only). The
 * balancer state itself is not in these messages: it is in the shared scoreboard.
 */
import type { BalancerPlacement } from '../balancer/balancer.js';
import type { ScoreboardHandle } from '../balancer/scoreboard.js';
import type { Config, ListenConfig } from '../config/types.js';
import type { AccessRecord, LineChannel } from '../log.js';
import type { RequestFigures } from '../admin/request-figures.js';
import type { TicketKeySnapshot } from '../tls/tickets.js';
import type { BoundAddress } from './serving.js';

/** Where each balancer of a configuration lives in the scoreboard, by name. */
export type Placements = Record<string, BalancerPlacement>;

/** What a worker is started with (workerData). */
export interface WorkerStart {
  /** 1..server.workers: the worker's thread id in the scoreboard and in access records. */
  id: number;
  board: ScoreboardHandle;
  config: Config;
  placements: Placements;
  /** The listen entries to open (the main thread checked they can be had). */
  listen: ListenConfig[];
  /** The main thread has a sink for access lines (they are written when log.access is on too). */
  access: boolean;
  /** Keep request figures for /metrics. */
  figures: boolean;
  /** Post every access record to the main thread (in-process observers). */
  observe: boolean;
  /** The session ticket key of every TLS listener (made and rotated on the main thread). */
  tickets: TicketKeySnapshot;
  /** The main thread's balancer clock (balancer/clock.ts), read when the worker loads. */
  clockBase: number;
}

export type ToWorker =
  | { type: 'reload'; config: Config; placements: Placements; listen: ListenConfig[]; access: boolean; tickets: TicketKeySnapshot }
  /** The main thread rotated the session ticket key of a TLS listener: every worker installs it. */
  | { type: 'ticket-key'; listener: string; key: Uint8Array }
  | { type: 'figures'; on: boolean }
  | { type: 'observe'; on: boolean }
  | { type: 'collect'; id: number }
  /** Hand over the lines batched so far now; answered with `flushed` (same id) after them. */
  | { type: 'flush'; id: number }
  | { type: 'stop'; graceMs: number };

export type FromWorker =
  /** Listening on every address it was given. */
  | { type: 'ready'; addresses: BoundAddress[] }
  /** Could not start (an address it could not listen on): the worker ends after this. */
  | { type: 'failed'; message: string }
  | { type: 'reloaded' }
  /** Whole lines for the main thread's sink of `channel` (log.ts: postedLines / writeLines). */
  | { type: 'lines'; channel: LineChannel; bytes: Uint8Array }
  | { type: 'records'; records: AccessRecord[] }
  /** An answer to `collect` (its id), or 0: the report a worker keeping figures sends every second. */
  | { type: 'figures'; id: number; figures: RequestFigures }
  /** Every line batched before the `flush` of this id has been posted (messages arrive in order). */
  | { type: 'flushed'; id: number }
  /** Drained and closed: the worker ends after this. */
  | { type: 'stopped' };

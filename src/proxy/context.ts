/**
 * What the request path needs from the running daemon: one configuration's view (mount table,
 * balancers, reverse rules, connectors) plus the process-wide log, counters and drain flag. A
 * reload builds a new context; requests in flight finish on the one they started with.
 */
import type { Balancer } from '../balancer/balancer.js';
import { clockOrigin } from '../balancer/clock.js';
import type { Member } from '../balancer/member.js';
import type { Config } from '../config/types.js';
import type { AccessLog, Logger } from '../log.js';
import type { MemberConnector } from '../members/connector.js';
import type { ProxyCounters } from './counters.js';
import type { MountTable } from './mounts.js';
import type { ReverseMap } from './reverse.js';

export interface ProxyContext {
  readonly config: Config;
  readonly mounts: MountTable;
  /** Live balancers by name (`balancer://name` without the scheme). */
  readonly balancers: ReadonlyMap<string, Balancer>;
  readonly reverse: ReverseMap;
  /** The transport to a member of a balancer. */
  connectorFor(b: Balancer, m: Member): MemberConnector;
  readonly access: AccessLog;
  readonly counters: ProxyCounters;
  readonly logger: Logger;
  /** The daemon is shutting down: answer with `Connection: close`. */
  readonly draining: boolean;
  /** Open tunnels (upgraded connections), so that shutdown can end them. */
  readonly tunnels: Set<{ destroy(): void }>;
}

/** This thread's clock origin (one clock for every thread: balancer/clock.ts), fixed for its life. */
const ORIGIN = clockOrigin();

/** The balancer clock: milliseconds with sub-millisecond resolution (select.ts explains why). */
export function balancerNow(): number {
  return ORIGIN + performance.now();
}

/**
 * One configuration, running: the balancers (built with the previous generation's, so member state
 * survives a reload), the mount table, the reverse rules, and the way to each member's connector.
 * This is the ProxyContext requests run on; a reload swaps it for a new one.
 */
import { Balancer } from '../balancer/balancer.js';
import type { Member } from '../balancer/member.js';
import type { Scoreboard } from '../balancer/scoreboard.js';
import type { BalancerConfig, Config } from '../config/types.js';
import type { AccessLog, Logger } from '../log.js';
import type { MemberConnector } from '../members/connector.js';
import type { ConnectorStore } from '../members/connectors.js';
import type { ProxyContext } from './context.js';
import type { ProxyCounters } from './counters.js';
import { MountTable } from './mounts.js';
import { ReverseMap } from './reverse.js';

/** What lives for the whole process (or worker thread), across reloads. */
export interface ProcessState {
  /** The balancers' shared runtime state. */
  board: Scoreboard;
  connectors: ConnectorStore;
  access: AccessLog;
  counters: ProxyCounters;
  logger: Logger;
  tunnels: Set<{ destroy(): void }>;
  draining: boolean;
}

/** Makes the balancer for a configuration (see ProxyRuntime's constructor). */
export type BalancerBuilder = (config: BalancerConfig, previous: Balancer | undefined) => Balancer;

/**
 * The balancers of a configuration, each built with its predecessor of the same name. Without
 * `build` they are built in `board` by this thread, which owns it: the members of balancers the
 * configuration dropped are retired (their slots are reused once no request holds them).
 */
export function buildBalancers(config: Config, board: Scoreboard, previous?: ReadonlyMap<string, Balancer>, build?: BalancerBuilder): Map<string, Balancer> {
  const balancers = new Map<string, Balancer>();
  for (const bc of config.balancers) {
    const before = previous?.get(bc.name);
    balancers.set(bc.name, build ? build(bc, before) : new Balancer(bc, before, board));
  }
  if (!build && previous) {
    for (const [name, b] of previous) if (!balancers.has(name)) b.retire();
  }
  return balancers;
}

export class ProxyRuntime implements ProxyContext {
  readonly config: Config;
  readonly mounts: MountTable;
  readonly balancers: ReadonlyMap<string, Balancer>;
  readonly reverse: ReverseMap;
  /** Connector per Member object of this generation (a lookup by object is cheap on the hot path). */
  private readonly connectors = new Map<Member, MemberConnector>();
  /** A reload replaced this generation; requests still running on it ask the store. */
  private superseded = false;

  /**
   * `build`: how a worker thread makes its balancers (views of what the main thread set up in the
   * scoreboard); by default they are built here, in the thread that owns the scoreboard, and the
   * members of balancers the new configuration dropped are retired.
   */
  constructor(config: Config, private readonly state: ProcessState, previous?: ProxyRuntime, build?: BalancerBuilder) {
    this.config = config;
    const balancers = buildBalancers(config, state.board, previous?.balancers, build);
    this.balancers = balancers;
    this.mounts = new MountTable(config.proxypass);
    this.reverse = new ReverseMap(config.proxypassreverse, config.cookiepath, config.cookiedomain, (name) => balancers.get(name)?.members);
    // Keep the connectors (and pooled connections) of members whose connection settings did not change.
    state.connectors.retain(this.memberConfigs());
  }

  private *memberConfigs(): Iterable<{ balancer: string; config: Member['config'] }> {
    for (const b of this.balancers.values()) for (const m of b.members) yield { balancer: b.name, config: m.config };
  }

  /** Called when a reload replaced this generation. */
  supersede(): void {
    this.superseded = true;
    this.connectors.clear();
  }

  connectorFor(b: Balancer, m: Member): MemberConnector {
    // A request that started before a reload and fails over after it must not use a connector the
    // reload closed: the store has the current one for the member's current settings.
    if (this.superseded) return this.state.connectors.get(b.name, m.config);
    let c = this.connectors.get(m);
    if (c === undefined) {
      c = this.state.connectors.get(b.name, m.config);
      this.connectors.set(m, c);
    }
    return c;
  }

  get access(): AccessLog {
    return this.state.access;
  }

  get counters(): ProxyCounters {
    return this.state.counters;
  }

  get logger(): Logger {
    return this.state.logger;
  }

  get draining(): boolean {
    return this.state.draining;
  }

  get tunnels(): Set<{ destroy(): void }> {
    return this.state.tunnels;
  }
}

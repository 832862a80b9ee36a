/**
 * One configuration, running: the balancers (built with the previous generation's, so member state
 * survives a reload), the mount table, the reverse rules, and the way to each member's connector.
 * This is the ProxyContext requests run on; a reload swaps it for a new one.
 */
import { Balancer } from '../balancer/balancer.js';
import type { Member } from '../balancer/member.js';
import type { Config } from '../config/types.js';
import type { AccessLog, Logger } from '../log.js';
import type { MemberConnector } from './connector.js';
import type { ConnectorStore } from './connectors.js';
import type { ProxyContext } from './context.js';
import type { ProxyCounters } from './counters.js';
import { MountTable } from './mounts.js';
import { ReverseMap } from './reverse.js';

/** What lives for the whole process, across reloads. */
export interface ProcessState {
  connectors: ConnectorStore;
  access: AccessLog;
  counters: ProxyCounters;
  logger: Logger;
  tunnels: Set<{ destroy(): void }>;
  draining: boolean;
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

  constructor(config: Config, private readonly state: ProcessState, previous?: ProxyRuntime) {
    this.config = config;
    const balancers = new Map<string, Balancer>();
    for (const bc of config.balancers) balancers.set(bc.name, new Balancer(bc, previous?.balancers.get(bc.name)));
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

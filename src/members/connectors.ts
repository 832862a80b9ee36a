/**
 * The one place that creates member connectors: HTTP (mod_proxy_http's role) or AJP/1.3
 * (mod_proxy_ajp's role) by the member URL's scheme, and the store that keeps them across
 * configuration reloads.
 */
import { AjpConnector } from './ajp/connector.js';
import type { MemberConfig } from '../config/types.js';
import type { MemberConnector } from './connector.js';
import { HttpConnector, httpConnectionSettings } from './http/connector.js';

/** A connector for one member, by scheme: http:// and https:// (TLS) share mod_proxy_http's. */
export function createConnector(config: MemberConfig): MemberConnector {
  if (config.scheme === 'http' || config.scheme === 'https') return new HttpConnector(config);
  return new AjpConnector(config);
}

/**
 * The settings that shape a member's connections. A reload keeps a member's connector (and its
 * pooled connections) unless one of these changed.
 */
export function connectionSettings(config: MemberConfig): string {
  return `${httpConnectionSettings(config)}|${config.ping}|${config.secret}`;
}

interface Entry {
  settings: string;
  connector: MemberConnector;
}

/**
 * Connectors by balancer and member URL. A member URL may appear in several balancers with
 * different settings, so the key is both.
 */
export class ConnectorStore {
  private entries = new Map<string, Entry>();

  private static key(balancer: string, url: string): string {
    return `${balancer}\u0000${url}`;
  }

  /** The connector for a member, created on first use or when its connection settings changed. */
  get(balancer: string, config: MemberConfig): MemberConnector {
    const key = ConnectorStore.key(balancer, config.url);
    const settings = connectionSettings(config);
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.settings === settings) return entry.connector;
    if (entry !== undefined) void entry.connector.close().catch(() => {});
    const connector = createConnector(config);
    this.entries.set(key, { settings, connector });
    return connector;
  }

  /**
   * After a reload: keep the connectors of members that still exist with the same connection
   * settings; close the others (gracefully: requests in flight on them finish).
   */
  retain(members: Iterable<{ balancer: string; config: MemberConfig }>): void {
    const keep = new Map<string, Entry>();
    for (const { balancer, config } of members) {
      const key = ConnectorStore.key(balancer, config.url);
      const entry = this.entries.get(key);
      if (entry !== undefined && entry.settings === connectionSettings(config)) keep.set(key, entry);
    }
    for (const [key, entry] of this.entries) {
      if (!keep.has(key)) void entry.connector.close().catch(() => {});
    }
    this.entries = keep;
  }

  /** Every connector, e.g. to close them at shutdown. */
  all(): MemberConnector[] {
    return [...this.entries.values()].map((e) => e.connector);
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(this.all().map((c) => c.close()));
  }

  async destroyAll(): Promise<void> {
    await Promise.allSettled(this.all().map((c) => c.destroy()));
  }
}

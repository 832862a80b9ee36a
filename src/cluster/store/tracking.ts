/**
 * Keeps the local session cache coherent with Redis through RESP3 client-side caching
 * (`CLIENT TRACKING`): Redis remembers which keys a connection read and pushes an `invalidate`
 * message on that connection when another client modifies one (or when it expires).
 *
 * Why tracking rather than keyspace notifications: tracking tells a node only about the keys it
 * read, so its traffic grows with what the node caches, not with the whole cluster's writes; it
 * needs no server configuration (`notify-keyspace-events`, often locked on managed Redis); and it
 * lives on the same connection as the reads and writes, so Redis Cluster (per-shard connections)
 * and Sentinel (the connection follows the promoted master) need nothing extra — keyspace
 * notifications are local to each Cluster node and would need a subscriber per master, re-made on
 * every fail-over.
 *
 * Why NOLOOP: every request renews the session's access time and TTL, a write. Without NOLOOP
 * Redis would answer each of this node's own writes with an invalidation of its own cached copy,
 * and no sticky request would ever hit the cache. With NOLOOP the node applies its own writes to
 * its cache itself (in the order it sends them, which is the order Redis applies them on the one
 * connection) and is told only about other nodes' writes. The scripts re-read each key they wrote
 * so the connection keeps tracking it (scripts.ts).
 *
 * node-redis implements tracking inside its client-side cache provider. We plug in a provider
 * that caches no replies itself (`cacheable: () => false`), turns tracking on with NOLOOP, and
 * forwards invalidations and connection losses (after which invalidations may have been missed:
 * everything is dropped) to our session cache.
 */
import type { BasicPooledClientSideCache } from '@redis/client';

export interface TrackingListener {
  /** Another client changed, deleted or expired this key. */
  invalidate(key: string): void;
  /** Coherence is lost (a connection closed or failed, a topology change, Redis flushed): forget everything. */
  flush(): void;
}

type CacheModule = { BasicPooledClientSideCache: typeof BasicPooledClientSideCache };

export function createTrackingBridge(mod: CacheModule, listener: TrackingListener): BasicPooledClientSideCache {
  class TrackingBridge extends mod.BasicPooledClientSideCache {
    constructor() {
      super({ cacheable: () => false, recordStats: false });
    }

    override trackingOn(): string[] {
      return ['CLIENT', 'TRACKING', 'ON', 'NOLOOP'];
    }

    override invalidate(key: Parameters<BasicPooledClientSideCache['invalidate']>[0], clientId?: string): void {
      super.invalidate(key, clientId);
      if (key === null) listener.flush();
      else listener.invalidate(key.toString());
    }

    override clear(resetStats?: boolean): void {
      super.clear(resetStats);
      listener.flush();
    }

    override onError(): void {
      super.onError();
      listener.flush();
    }

    override onClose(): void {
      super.onClose();
      listener.flush();
    }
  }
  return new TrackingBridge();
}

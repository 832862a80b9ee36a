/**
 * What the Redis store reports in `node.stats().store`: commands, errors, command latency, the
 * local cache's hits and misses, and whether Redis is reachable. Plain counters (cheap on the hot
 * path); latency percentiles over the last 1024 commands.
 */

export interface RedisStoreStats {
  type: 'redis';
  topology: 'standalone' | 'cluster' | 'sentinel';
  /** False while Redis cannot be reached (requests that need a session get 503). */
  available: boolean;
  /** Outages seen (available → unavailable transitions). */
  outages: number;
  /** Commands sent (scripts count once). */
  ops: number;
  /** Commands that failed (unreachable, timed out, refused). */
  errors: number;
  /** Writes that did not reach `store.wait.replicas` replicas within `store.wait.timeout`. */
  waitShortfalls: number;
  /** Command latency in ms, over the last 1024 commands. */
  latency: { p50: number; p99: number; max: number };
  cache: {
    /** Lookups answered from the local cache (no round trip). */
    hits: number;
    /** Lookups that read from Redis. */
    misses: number;
    /** hits / (hits + misses); 0 before the first lookup. */
    hitRate: number;
    /** Sessions cached now. */
    size: number;
    /** Entries dropped because another node changed the session (or it expired in Redis). */
    invalidations: number;
    /** Times the whole cache was dropped (connection lost, topology change). */
    flushes: number;
    /** Entries dropped to stay within `store.cache.maxEntries`. */
    evictions: number;
  };
}

const WINDOW = 1024;

export class StoreMetrics {
  ops = 0;
  errors = 0;
  waitShortfalls = 0;
  outages = 0;
  private readonly samples = new Float64Array(WINDOW);
  private count = 0;

  latency(ms: number): void {
    this.samples[this.count++ % WINDOW] = ms;
  }

  latencySummary(): RedisStoreStats['latency'] {
    const n = Math.min(this.count, WINDOW);
    if (n === 0) return { p50: 0, p99: 0, max: 0 };
    const xs = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    const at = (p: number) => xs[Math.min(n - 1, Math.floor(p * n))]!;
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return { p50: round(at(0.5)), p99: round(at(0.99)), max: round(xs[n - 1]!) };
  }
}

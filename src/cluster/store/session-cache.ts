/**
 * This node's local copies of sessions it served, so that a sticky request finds its session
 * without a round trip to Redis. Kept coherent with Redis by three rules:
 *
 * 1. This node's own writes are applied to the cached copy when they are SENT (the manager does
 *    that), in send order; Redis applies them in the same order (one connection per shard), so the
 *    copy equals what Redis will hold.
 * 2. Another node's write, a deletion or an expiry in Redis arrives as a tracking invalidation
 *    (tracking.ts): the copy is dropped; a connection loss drops everything.
 * 3. A load from Redis is only cached if nothing happened to that session between sending the
 *    read and receiving its reply — no write of ours was sent (the reply would predate it) and no
 *    invalidation arrived (the reply may be older than the change). Every such event bumps the
 *    session's epoch; a load compares the epoch from before and after.
 *
 * Bounded: beyond `maxEntries` the least recently used copy is dropped (Map order is the recency
 * order: a hit re-inserts). Dropping a copy never loses data — Redis has it.
 */
import type { ClusterSession } from '../session/session.js';

export class SessionCache {
  private readonly entries = new Map<string, ClusterSession>();
  /** Per-id change counter (rule 3); entries are removed when no load is in flight. */
  private readonly epochs = new Map<string, number>();
  /** Bumped by flush(): invalidates every load in flight at once. */
  private generation = 0;
  hits = 0;
  misses = 0;
  invalidations = 0;
  flushes = 0;
  evictions = 0;

  constructor(private readonly maxEntries: number) {}

  get enabled(): boolean {
    return this.maxEntries > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached copy, marked as most recently used (no hit/miss counting: see `lookup`). */
  get(id: string): ClusterSession | undefined {
    const s = this.entries.get(id);
    if (s) {
      this.entries.delete(id);
      this.entries.set(id, s);
    }
    return s;
  }

  /** Like `get`, counting a hit or a miss. */
  lookup(id: string): ClusterSession | undefined {
    const s = this.get(id);
    if (s) this.hits++;
    else this.misses++;
    return s;
  }

  peek(id: string): ClusterSession | undefined {
    return this.entries.get(id);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  values(): ClusterSession[] {
    return [...this.entries.values()];
  }

  /** A token to hand to `putIfUnchanged` once the load started now has its reply. */
  loadToken(id: string): { id: string; epoch: number; generation: number } {
    return { id, epoch: this.epochs.get(id) ?? 0, generation: this.generation };
  }

  /** Caches a loaded copy unless the session changed since `token` was taken (rule 3). */
  putIfUnchanged(token: { id: string; epoch: number; generation: number }, s: ClusterSession): boolean {
    if (!this.enabled || token.generation !== this.generation || (this.epochs.get(token.id) ?? 0) !== token.epoch) return false;
    this.put(s);
    return true;
  }

  /** Caches a copy this node made or changed itself (rule 1). */
  put(s: ClusterSession): void {
    if (!this.enabled) return;
    this.entries.delete(s.id);
    this.entries.set(s.id, s);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.evictions++;
    }
  }

  /** A write of ours to this session is being sent: a load in flight would return an older state. */
  touch(id: string): void {
    this.epochs.set(id, (this.epochs.get(id) ?? 0) + 1);
  }

  /** Drops one copy (invalidated, deleted, renamed away) and marks loads in flight stale. */
  delete(id: string): ClusterSession | undefined {
    const s = this.entries.get(id);
    this.entries.delete(id);
    this.touch(id);
    return s;
  }

  /** Another node changed the session (tracking invalidation). */
  invalidate(id: string): void {
    if (this.entries.has(id)) this.invalidations++;
    this.delete(id);
  }

  /** Coherence lost: forget every copy. */
  flush(): void {
    if (this.entries.size > 0) this.flushes++;
    this.entries.clear();
    this.epochs.clear();
    this.generation++;
  }

  /** Forgets epochs of sessions neither cached nor being loaded (keeps the map from growing). */
  forgetEpochs(loading: ReadonlySet<string>): void {
    for (const id of this.epochs.keys()) if (!this.entries.has(id) && !loading.has(id)) this.epochs.delete(id);
  }
}

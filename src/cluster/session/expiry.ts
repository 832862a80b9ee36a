/**
 * When a session dies of old age (cluster-semantics §2.6, DeltaSession.isValid): the primary expires it once idle
 * for `maxInactiveInterval` and tells the cluster; any other copy waits twice as long and then
 * disappears silently — that second rule exists for copies whose primary crashed. A session used by
 * a request in progress never expires. Pure function over plain data; the clock is the caller's.
 */

export type ExpiryDecision = 'keep' | 'expire' | 'expire-silently';

export interface ExpiryFacts {
  primary: boolean;
  lastAccessedTime: number;
  /** Seconds; ≤ 0 = never. */
  maxInactiveInterval: number;
  activeRequests: number;
}

export function expiryDecision(s: ExpiryFacts, now: number): ExpiryDecision {
  if (s.maxInactiveInterval <= 0 || s.activeRequests > 0) return 'keep';
  const idle = now - s.lastAccessedTime;
  const limit = s.maxInactiveInterval * 1000;
  if (s.primary) return idle >= limit ? 'expire' : 'keep';
  return idle >= 2 * limit ? 'expire-silently' : 'keep';
}

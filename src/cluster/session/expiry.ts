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

/** The longest session timeout we accept, in seconds (366 days): longer is "never" in disguise. */
export const MAX_INACTIVE_INTERVAL = 366 * 24 * 3600;

/**
 * Is `seconds` an acceptable session timeout? A positive number of seconds up to
 * MAX_INACTIVE_INTERVAL; "never expires" (≤ 0, Tomcat's convention) only where the node is
 * configured for it (its `maxInactiveInterval` option ≤ 0): an immortal session is a memory leak no
 * node can undo, so neither one request nor one peer may create it. Returns what is wrong, or null.
 */
export function timeoutProblem(seconds: unknown, neverAllowed: boolean): string | null {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return `maxInactiveInterval must be a number of seconds (got ${JSON.stringify(seconds) ?? typeof seconds})`;
  if (seconds <= 0) {
    return neverAllowed ? null : `maxInactiveInterval ${seconds} (never expires) is only allowed where the node's maxInactiveInterval option is ≤ 0`;
  }
  if (seconds > MAX_INACTIVE_INTERVAL) return `maxInactiveInterval ${seconds} exceeds ${MAX_INACTIVE_INTERVAL} s (366 days)`;
  return null;
}

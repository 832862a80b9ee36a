/**
 * Which messages, queued while a joining node waited for its state transfer, are replayed once the
 * transferred state is in (cluster-semantics §2.5 step 6, Tomcat's `stateTimestampDrop`).
 *
 * Tomcat drops every queued message older than the moment the sender listed its sessions (T). That
 * loses a change made on a third node just before T that had not reached the sender yet. We decide
 * per session instead, with the version (logical time of the last applied change) every transferred
 * session carries:
 * - the session is in the transferred state → replay only what is newer than its version (older
 *   changes are already part of it);
 * - it is not → replay a `create` (it may have been in flight to the sender at T), and anything
 *   stamped at or after T; drop older messages for sessions that were gone at T.
 * Replaying an already-contained change is harmless anyway (deltas set absolute values), so the
 * filter is about not resurrecting what the snapshot already removed and about not doing work twice.
 * Queued `get-all` requests are always dropped, as in Tomcat.
 */

export interface QueuedFacts {
  t: string;
  stamp?: number;
}

export function shouldReplay(
  msg: QueuedFacts,
  /** Version of the session in the transferred state; undefined when the state does not hold it. */
  sessionVersion: number | undefined,
  /** The transfer's reference time T (when the sender listed its sessions). */
  transferStamp: number,
  stateTimestampDrop: boolean,
): boolean {
  if (msg.t === 'get-all') return false;
  if (!stateTimestampDrop) return true;
  const stamp = msg.stamp ?? 0;
  if (sessionVersion !== undefined) return stamp > sessionVersion;
  return msg.t === 'create' || stamp >= transferStamp;
}

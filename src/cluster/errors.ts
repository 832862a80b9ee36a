/** Errors of the cluster library: each says what happened and what the user can do about it. */

/**
 * Tomcat's TooManyActiveSessionsException (cluster-semantics §2.7): a new session was refused because this node
 * holds `maxActiveSessions` already. Replicated sessions still arrive; only local creation fails.
 */
export class TooManyActiveSessionsError extends Error {
  override name = 'TooManyActiveSessionsError';
  readonly code = 'ETOOMANYSESSIONS';
  constructor(readonly maxActiveSessions: number) {
    super(
      `cannot create a session: this node already holds maxActiveSessions (${maxActiveSessions}) sessions; ` +
        'raise maxActiveSessions or lower maxInactiveInterval',
    );
  }
}

/**
 * Replication of a change did not complete on every live peer within the send mode's bounds.
 * Raised to the application only with `onReplicationFailure: 'error'` (default: logged and counted).
 */
export class ReplicationError extends Error {
  override name = 'ReplicationError';
  readonly code = 'EREPLICATION';
  /** HTTP status the middleware answers with under `onReplicationFailure: 'error'`. */
  readonly status = 503;
  constructor(
    message: string,
    /** jvmRoutes of the peers that did not confirm. */
    readonly routes: string[],
    /**
     * True when every failing peer received the change and refused it (it failed their validation:
     * a bad attribute name, an out-of-range value); false when it may not have arrived at all.
     */
    readonly refused = false,
  ) {
    super(message);
  }
}

/** A bad option passed to createClusterNode: the message names it and says what is expected. */
export class ClusterOptionsError extends Error {
  override name = 'ClusterOptionsError';
}

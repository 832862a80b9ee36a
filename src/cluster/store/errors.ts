/** Errors of the Redis session store. */
import { ReplicationError } from '../errors.js';

/**
 * Redis could not be reached, timed out, or did not confirm a write (WAIT). The request gets a
 * 503: it never continues with an empty session, and no new session is made in place of one that
 * could not be read. A subclass of ReplicationError, so `onReplicationFailure` and the store's
 * callbacks treat a failed write like a failed replication (`code` 'EREPLICATION', `status` 503).
 */
export class SessionStoreUnavailableError extends ReplicationError {
  override name = 'SessionStoreUnavailableError';

  constructor(message: string) {
    super(message, []);
  }
}

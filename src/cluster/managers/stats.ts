/**
 * DeltaManager-style statistics (Tomcat's counterSend_* / counterReceive_* per message type, plus
 * session counts). Plain counters: cheap on the hot path, read through `node.stats()`.
 */

export interface ManagerCounters {
  /** Sessions created on this node (by its own requests). */
  sessionsCreated: number;
  /** Sessions expired by idle timeout on this node (as primary, or silently as a stale copy). */
  sessionsExpired: number;
  /** Sessions invalidated by the application on this node. */
  sessionsInvalidated: number;
  /** Creations refused by maxActiveSessions (TooManyActiveSessionsError). */
  sessionsRejected: number;
  /** Session ids changed on this node (route binder or application). */
  sessionIdChanges: number;
  /** Replication sends that did not reach/complete on every live peer (logged; see onReplicationFailure). */
  replicationFailures: number;
  /** Inbound messages refused because their shape was wrong. */
  messagesDropped: number;
  /** Deltas/accesses for sessions this node does not know (Tomcat drops them silently). */
  unknownSession: number;
  /** Unknown sessions fetched in full from the sender instead of dropping the delta. */
  sessionsRepaired: number;
  /** Messages queued during state transfer and skipped because the transferred state already held them. */
  staleDropped: number;
  /** Sessions received through state transfer. */
  sessionsTransferred: number;
  /** BackupManager: sessions fetched from their backup/primary on demand. */
  sessionsFetched: number;
  /** BackupManager: sessions promoted here because their primary died. */
  sessionsPromoted: number;
  /** Sessions lost because every copy was gone (BackupManager: primary and backup both died). */
  sessionsLost: number;
}

export interface StateTransferStats {
  state: 'none' | 'pending' | 'done' | 'timeout' | 'no-context';
  /** jvmRoute of the member that sent the state. */
  from: string | null;
  sessions: number;
  ms: number;
}

export interface ManagerStats {
  manager: 'delta' | 'backup' | 'redis';
  sessions: {
    /** Sessions holding a value here (DeltaManager: all; BackupManager: primary + backup copies). */
    active: number;
    primary: number;
    /** DeltaManager: non-primary copies; BackupManager: backup copies. */
    replica: number;
    /** BackupManager proxy entries (key and location only). */
    proxy: number;
    maxActive: number;
  };
  counters: ManagerCounters;
  /** Messages sent, per type (per send, not per peer). */
  sent: Record<string, number>;
  /** Messages received, per type. */
  received: Record<string, number>;
  stateTransfer: StateTransferStats;
}

export function newCounters(): ManagerCounters {
  return {
    sessionsCreated: 0,
    sessionsExpired: 0,
    sessionsInvalidated: 0,
    sessionsRejected: 0,
    sessionIdChanges: 0,
    replicationFailures: 0,
    messagesDropped: 0,
    unknownSession: 0,
    sessionsRepaired: 0,
    staleDropped: 0,
    sessionsTransferred: 0,
    sessionsFetched: 0,
    sessionsPromoted: 0,
    sessionsLost: 0,
  };
}

/** Increments `record[key]`. */
export function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

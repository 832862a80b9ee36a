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
  /**
   * Inbound messages refused because something in them was wrong (shape, attribute names, types,
   * ranges): logged, and the sender told (FAIL-ACK, or a 'refused' notice for unacknowledged sends).
   */
  messagesDropped: number;
  /** Sessions refused individually inside a state-transfer page or a fetched copy (the rest was taken). */
  sessionsRefused: number;
  /** Messages or sessions of ours that a peer reported refusing (also counted in replicationFailures). */
  refusedByPeers: number;
  /** Unexpected exceptions caught in background work or event listeners (logged at error level, never fatal). */
  internalErrors: number;
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
  /** 'partial': the transfer completed but some sessions were refused or missing (logged as an error). */
  state: 'none' | 'pending' | 'done' | 'partial' | 'timeout' | 'no-context';
  /** jvmRoute of the member that sent the state. */
  from: string | null;
  /** Sessions (BackupManager: locations) taken. */
  sessions: number;
  /** Sessions (locations) refused because they failed validation. */
  refused: number;
  ms: number;
}

export interface ManagerStats {
  manager: 'delta' | 'backup' | 'redis';
  sessions: {
    /** Sessions holding a value here (DeltaManager: all; BackupManager: primary + backup copies). */
    active: number;
    /** Sessions this node is primary for: what `maxActiveSessions` limits (replicas never count). */
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
    sessionsRefused: 0,
    refusedByPeers: 0,
    internalErrors: 0,
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

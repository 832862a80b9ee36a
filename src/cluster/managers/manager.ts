/**
 * What the request side (middleware, express-session store, route binder) needs from a session
 * manager. Two implementations: DeltaManager (all-to-all, cluster-semantics §2.2–§2.6) and BackupManager
 * (primary + one backup, cluster-semantics §2.8).
 */
import type { EventEmitter } from 'node:events';
import type { ReplicationError } from '../errors.js';
import type { AttributeDelta } from '../session/attributes.js';
import type { ClusterSession, SessionInspection } from '../session/session.js';
import type { ManagerStats } from './stats.js';

/** How a replication attempt ended, for the request that triggered it. */
export type ReplicationOutcome = { ok: true } | { ok: false; error: ReplicationError };

export const REPLICATION_OK: ReplicationOutcome = Object.freeze({ ok: true });

/** The changes a request made to a session (request copy vs the copy it started with). */
export interface SessionChanges {
  attributes: AttributeDelta;
  /** New idle timeout in seconds, when the request changed it. */
  maxInactiveInterval?: number;
}

/**
 * Events (all synchronous, for observability; the node re-emits them):
 * - 'sessionCreated' ({ id, local }): local = created by a request here, else replicated/transferred.
 * - 'sessionExpired' ({ id, reason: 'timeout' | 'invalidated' | 'shutdown' | 'lost', local }).
 * - 'sessionChangedId' ({ oldId, newId, local }).
 * - 'sessionPrimary' ({ id, reason: 'request' | 'promoted' | 'fetched' }): BackupManager made this node primary.
 * - 'replicationFailed' ({ type, sessionId, routes, error }).
 * - 'stateTransferred' (StateTransferStats).
 */
export interface SessionManager extends EventEmitter {
  readonly kind: 'delta' | 'backup' | 'redis';
  /** Wire into the channel and fetch state; resolves when this node may accept requests (`node.ready`). */
  start(): Promise<void>;
  /** Stop timers; with expireSessionsOnShutdown expire everything cluster-wide first. */
  stop(): Promise<void>;
  /**
   * The live session for a presented id, or undefined (unknown, expired). BackupManager may fetch
   * it from its backup/primary here (and become its primary).
   */
  findSession(id: string): Promise<ClusterSession | undefined>;
  /** Local-only check, no network: does this node hold the session (a value or a location)? */
  knows(id: string): boolean;
  /** jvmRoutes of the live members (where another node may have renamed a session to). */
  peerRoutes(): string[];
  /**
   * A new session with a fresh id `<HEX>.<jvmRoute>` (or `id`, e.g. from express-session's genid);
   * throws TooManyActiveSessionsError.
   */
  createSession(id?: string): { session: ClusterSession; replication: Promise<ReplicationOutcome> };
  /** Rename (route binder, session fixation protection) and replicate the rename. */
  changeSessionId(session: ClusterSession, newId: string): Promise<ReplicationOutcome>;
  /** Invalidate now and tell the cluster at once (not at the next request, cluster-semantics §2.6, §4.7). */
  invalidate(session: ClusterSession): Promise<ReplicationOutcome>;
  /** A request starts using the session: it will not expire meanwhile. */
  beginRequest(session: ClusterSession): void;
  /** The request is over (whether or not it committed changes). */
  endRequest(session: ClusterSession): void;
  /**
   * End-of-request replication (ReplicationValve + requestCompleted, cluster-semantics §2.4): merge `changes`
   * into the session, then — unless `replicate` is false (filtered URL) — send the delta against
   * the last replicated state, or an access when nothing changed. The promise settles according to
   * the send mode (at once for 'async').
   */
  commit(session: ClusterSession, changes: SessionChanges | null, replicate: boolean): Promise<ReplicationOutcome>;
  /** rep(X) for tests and debugging; never changes anything. */
  inspect(id: string): SessionInspection | undefined;
  /** Ids of the sessions this node holds a value for. */
  sessionIds(): string[];
  /** A shared store's every session id (store: redis, by SCAN); absent for the peer managers. */
  allSessionIds?(): Promise<string[]>;
  stats(): ManagerStats;
  /** What is wrong with a session timeout set by the application (session/expiry.ts), or null. */
  timeoutProblem(seconds: unknown): string | null;
  /** An unexpected exception on the request side (a bug): logged and counted, never fatal. */
  reportError(where: string, err: unknown): void;
}

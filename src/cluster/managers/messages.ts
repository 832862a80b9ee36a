/**
 * The session managers' messages (JSON over the group channel) and their validation. Names follow
 * Tomcat's: DeltaManager's SessionMessage event types (cluster-semantics §2.2) and LazyReplicatedMap's map
 * messages (cluster-semantics §2.8). Every inbound message goes through `parse*Message`: anything that does not
 * have exactly the expected shape is refused (the caller drops and counts it), so no handler ever
 * sees malformed data.
 *
 * Attribute values travel as JSON *texts* inside the JSON message (see session/attributes.ts), and
 * attribute maps as [name, text] pairs, never as objects keyed by attribute name.
 */
import type { SessionData } from '../session/session.js';
import { isSafeAttributeText } from '../session/attributes.js';
import { isPlausibleSessionId } from '../session/id.js';

/** DeltaManager (cluster-semantics §2.2). `stamp` = sender's logical time of the change (clock.ts). */
export type DeltaMessage =
  /** EVT_SESSION_CREATED: sent the moment a session is created. */
  | { t: 'create'; id: string; creationTime: number; maxInactiveInterval: number; stamp: number; ack?: AckMode }
  /** EVT_SESSION_DELTA: the attribute changes of one or more requests (+ a new timeout, if changed). */
  | {
      t: 'delta';
      id: string;
      set: Array<[string, string]>;
      remove: string[];
      maxInactiveInterval?: number;
      stamp: number;
      ack?: AckMode;
    }
  /** EVT_SESSION_ACCESSED: a request used the session without changing it. */
  | { t: 'access'; id: string; stamp: number; maxInactiveInterval?: number; ack?: AckMode }
  /** EVT_SESSION_EXPIRED: expired or invalidated on the primary (`reason` is ours, for events). */
  | { t: 'expire'; id: string; stamp: number; reason?: ExpireReason; ack?: AckMode }
  /** EVT_CHANGE_SESSION_ID: `id` (old) is now `newId`. */
  | { t: 'change-id'; id: string; newId: string; stamp: number; ack?: AckMode }
  /** EVT_GET_ALL_SESSIONS: a joiner asks the oldest member for everything. */
  | { t: 'get-all' }
  /** EVT_ALL_SESSION_DATA: one page of the state transfer. */
  | { t: 'all-data'; page: number; sessions: SessionData[] }
  /** EVT_ALL_SESSION_TRANSFERCOMPLETE: `stamp` = when the sender listed its sessions. */
  | { t: 'transfer-complete'; stamp: number; count: number }
  /** EVT_ALL_SESSION_NOCONTEXTMANAGER: the asked member has no DeltaManager to answer with. */
  | { t: 'no-context' };

export type ExpireReason = 'timeout' | 'invalidated' | 'shutdown';

/**
 * How the receiver acknowledges (Tomcat's option 2 vs 2|4, cluster-semantics §2.1): 'receipt' = as soon as the
 * message is accepted into the ordered apply queue, 'applied' = after it took effect. Absent on
 * async sends (no acknowledgement is awaited).
 */
export type AckMode = 'receipt' | 'applied';

/** BackupManager (LazyReplicatedMap, cluster-semantics §2.8). Member ids are ClusterMember.id. */
export type BackupMessage =
  /** MSG_BACKUP: a full copy (new backup) or the diff of a request, to the backup node only. */
  | {
      t: 'backup';
      id: string;
      primary: string;
      full?: SessionData;
      set?: Array<[string, string]>;
      remove?: string[];
      maxInactiveInterval?: number;
      stamp: number;
      ack?: AckMode;
    }
  /** MSG_PROXY: where a session lives now (key and location only, no value). */
  | { t: 'proxy'; id: string; primary: string | null; backup: string | null; ack?: AckMode }
  /** MSG_REMOVE: the session is gone everywhere. */
  | { t: 'remove'; id: string; ack?: AckMode }
  /** MSG_ACCESS: the primary used the session; the backup refreshes its idle clock. */
  | { t: 'access'; id: string; maxInactiveInterval?: number; ack?: AckMode };

/**
 * Requests (channel.request). `retrieve` serves both managers: BackupManager's MSG_RETRIEVE_BACKUP
 * (the asker becomes primary) and DeltaManager's repair of a delta for a session it never saw.
 */
export type BackupRequest =
  /** Send me the session's full value (or null). */
  | { t: 'retrieve'; id: string }
  /** MSG_STATE: the keys and locations of every session (a joiner's state transfer). */
  | { t: 'state' };

export interface BackupStateReply {
  entries: Array<[id: string, primary: string | null, backup: string | null]>;
}

/* ---------------------------------------------------------------------------------------------- */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isId = (v: unknown): v is string => isStr(v) && isPlausibleSessionId(v);
const isAck = (v: unknown): v is AckMode | undefined => v === undefined || v === 'receipt' || v === 'applied';
const optNum = (v: unknown) => v === undefined || isNum(v);

/** [name, JSON text] pairs; a pair whose text could smuggle a prototype key refuses the message (attributes.ts). */
function isPairs(v: unknown): v is Array<[string, string]> {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && isStr(p[0]) && isStr(p[1]) && isSafeAttributeText(p[1]));
}
function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every(isStr);
}

export function isSessionData(v: unknown): v is SessionData {
  return (
    isObj(v) &&
    isId(v.id) &&
    isNum(v.creationTime) &&
    isNum(v.lastAccessedTime) &&
    isNum(v.maxInactiveInterval) &&
    isNum(v.version) &&
    isPairs(v.attributes)
  );
}

/** A DeltaMessage, or null when `msg` is anything else. */
export function parseDeltaMessage(msg: unknown): DeltaMessage | null {
  if (!isObj(msg) || !isAck(msg.ack)) return null;
  switch (msg.t) {
    case 'create':
      return isId(msg.id) && isNum(msg.creationTime) && isNum(msg.maxInactiveInterval) && isNum(msg.stamp)
        ? (msg as DeltaMessage)
        : null;
    case 'delta':
      return isId(msg.id) && isPairs(msg.set) && isStrings(msg.remove) && optNum(msg.maxInactiveInterval) && isNum(msg.stamp)
        ? (msg as DeltaMessage)
        : null;
    case 'access':
      return isId(msg.id) && isNum(msg.stamp) && optNum(msg.maxInactiveInterval) ? (msg as DeltaMessage) : null;
    case 'expire':
      return isId(msg.id) && isNum(msg.stamp) && (msg.reason === undefined || msg.reason === 'timeout' || msg.reason === 'invalidated' || msg.reason === 'shutdown')
        ? (msg as DeltaMessage)
        : null;
    case 'change-id':
      return isId(msg.id) && isId(msg.newId) && isNum(msg.stamp) ? (msg as DeltaMessage) : null;
    case 'get-all':
    case 'no-context':
      return msg as DeltaMessage;
    case 'all-data':
      return isNum(msg.page) && Array.isArray(msg.sessions) && msg.sessions.every(isSessionData) ? (msg as DeltaMessage) : null;
    case 'transfer-complete':
      return isNum(msg.stamp) && isNum(msg.count) ? (msg as DeltaMessage) : null;
    default:
      return null;
  }
}

/** A BackupMessage, or null. */
export function parseBackupMessage(msg: unknown): BackupMessage | null {
  if (!isObj(msg) || !isAck(msg.ack)) return null;
  const member = (v: unknown) => v === null || isStr(v);
  switch (msg.t) {
    case 'backup':
      if (!isId(msg.id) || !isStr(msg.primary) || !isNum(msg.stamp) || !optNum(msg.maxInactiveInterval)) return null;
      if (msg.full !== undefined) return isSessionData(msg.full) && msg.full.id === msg.id ? (msg as BackupMessage) : null;
      return isPairs(msg.set) && isStrings(msg.remove) ? (msg as BackupMessage) : null;
    case 'proxy':
      return isId(msg.id) && member(msg.primary) && member(msg.backup) ? (msg as BackupMessage) : null;
    case 'remove':
      return isId(msg.id) ? (msg as BackupMessage) : null;
    case 'access':
      return isId(msg.id) && optNum(msg.maxInactiveInterval) ? (msg as BackupMessage) : null;
    default:
      return null;
  }
}

export function parseBackupRequest(msg: unknown): BackupRequest | null {
  if (!isObj(msg)) return null;
  if (msg.t === 'retrieve') return isId(msg.id) ? (msg as BackupRequest) : null;
  if (msg.t === 'state') return msg as BackupRequest;
  return null;
}

export function parseBackupStateReply(v: unknown): BackupStateReply | null {
  if (!isObj(v) || !Array.isArray(v.entries)) return null;
  const ok = v.entries.every(
    (e) => Array.isArray(e) && e.length === 3 && isId(e[0]) && (e[1] === null || isStr(e[1])) && (e[2] === null || isStr(e[2])),
  );
  return ok ? (v as unknown as BackupStateReply) : null;
}

export function parseRetrieveReply(v: unknown): SessionData | null | undefined {
  if (v === null) return null;
  return isSessionData(v) ? v : undefined;
}

/**
 * The session managers' messages (JSON over the group channel) and their validation. Names follow
 * Tomcat's: DeltaManager's SessionMessage event types (cluster-semantics §2.2) and LazyReplicatedMap's map
 * messages (cluster-semantics §2.8). Every inbound message goes through `parse*Message`, which checks names,
 * types and ranges of everything a peer supplies: anything else is refused with a reason (the
 * manager logs and counts it and tells the sender), so no handler ever sees bad data. State-transfer
 * pages are checked per session (`checkSessions`): one bad session costs only itself.
 *
 * Attribute values travel as JSON *texts* inside the JSON message (see session/attributes.ts), and
 * attribute maps as [name, text] pairs, never as objects keyed by attribute name. A value is data
 * whatever keys it contains (`__proto__` included); attribute *names* are checked.
 */
import type { SessionData } from '../session/session.js';
import { attributeNameProblem } from '../session/attributes.js';
import { timeoutProblem } from '../session/expiry.js';
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

/**
 * Both managers: "I refused your message" — the answer to an unacknowledged message that failed
 * validation (an acknowledged one gets a FAIL-ACK instead). Never answered itself.
 */
export interface RefusedNotice {
  t: 'refused';
  /** Type of the refused message. */
  ref: string;
  /** Its session id, when it had a readable one. */
  id?: string;
  reason: string;
}

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

/** What the receiving node allows in peer-supplied values. */
export interface PeerValueRules {
  /** This node's maxInactiveInterval option is ≤ 0: sessions that never expire are configured here. */
  neverExpireAllowed: boolean;
}

/** A parsed message, or why it was refused (the text goes to the log and back to the sender). */
export type Parsed<T> = { ok: true; msg: T } | { ok: false; reason: string; id?: string };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isId = (v: unknown): v is string => isStr(v) && isPlausibleSessionId(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isMemberId = (v: unknown): v is string => isStr(v) && /^[0-9a-f]{32}$/.test(v);
const isAck = (v: unknown): v is AckMode | undefined => v === undefined || v === 'receipt' || v === 'applied';
/** A point in time (ms since the epoch) as a peer may state it. */
const isTime = (v: unknown): v is number => isNum(v) && v >= 0;

const ok = <T>(msg: unknown): Parsed<T> => ({ ok: true, msg: msg as T });
const no = <T>(reason: string, msg?: Obj): Parsed<T> => (msg && isId(msg.id) ? { ok: false, reason, id: msg.id } : { ok: false, reason });

/** [name, JSON text] pairs with acceptable names. */
function pairsProblem(v: unknown, field: string): string | null {
  if (!Array.isArray(v)) return `${field} must be an array of [name, text] pairs`;
  for (const p of v) {
    if (!Array.isArray(p) || p.length !== 2 || !isStr(p[1])) return `${field} must be an array of [name, text] pairs`;
    const bad = attributeNameProblem(p[0]);
    if (bad) return bad;
  }
  return null;
}

function namesProblem(v: unknown, field: string): string | null {
  if (!Array.isArray(v)) return `${field} must be an array of attribute names`;
  for (const n of v) {
    const bad = attributeNameProblem(n);
    if (bad) return bad;
  }
  return null;
}

function optTimeoutProblem(v: unknown, rules: PeerValueRules): string | null {
  return v === undefined ? null : timeoutProblem(v, rules.neverExpireAllowed);
}

/** What is wrong with a full session copy from a peer, or null. */
export function sessionDataProblem(v: unknown, rules: PeerValueRules): string | null {
  if (!isObj(v)) return 'session data must be an object';
  if (!isId(v.id)) return 'session data without a valid id';
  if (!isTime(v.creationTime) || !isTime(v.lastAccessedTime)) return 'session times must be non-negative numbers';
  if (!isNum(v.version)) return 'session version must be a number';
  return timeoutProblem(v.maxInactiveInterval, rules.neverExpireAllowed) ?? pairsProblem(v.attributes, 'attributes');
}

/** Splits a state-transfer page into the sessions we take and the ones we refuse (with why). */
export function checkSessions(
  list: unknown[],
  rules: PeerValueRules,
): { accepted: SessionData[]; refused: Array<{ id: string | null; reason: string }> } {
  const accepted: SessionData[] = [];
  const refused: Array<{ id: string | null; reason: string }> = [];
  for (const d of list) {
    const bad = sessionDataProblem(d, rules);
    if (bad) refused.push({ id: isObj(d) && isId(d.id) ? d.id : null, reason: bad });
    else accepted.push(d as SessionData);
  }
  return { accepted, refused };
}

function stampProblem(msg: Obj): string | null {
  return isNum(msg.stamp) ? null : 'stamp must be a number';
}

/** A DeltaMessage, or why not. `all-data` pages are checked per session by the handler (checkSessions). */
export function parseDeltaMessage(msg: unknown, rules: PeerValueRules): Parsed<DeltaMessage> {
  if (!isObj(msg) || !isStr(msg.t)) return no('not a cluster message');
  if (!isAck(msg.ack)) return no('ack must be "receipt" or "applied"', msg);
  const needId = (): string | null => (isId(msg.id) ? null : 'id is not a session id');
  let bad: string | null;
  switch (msg.t) {
    case 'create':
      bad = needId() ?? stampProblem(msg) ?? (isTime(msg.creationTime) ? null : 'creationTime must be a non-negative number') ??
        timeoutProblem(msg.maxInactiveInterval, rules.neverExpireAllowed);
      break;
    case 'delta':
      bad = needId() ?? stampProblem(msg) ?? pairsProblem(msg.set, 'set') ?? namesProblem(msg.remove, 'remove') ??
        optTimeoutProblem(msg.maxInactiveInterval, rules);
      break;
    case 'access':
      bad = needId() ?? stampProblem(msg) ?? optTimeoutProblem(msg.maxInactiveInterval, rules);
      break;
    case 'expire':
      bad = needId() ?? stampProblem(msg) ??
        (msg.reason === undefined || msg.reason === 'timeout' || msg.reason === 'invalidated' || msg.reason === 'shutdown' ? null : 'unknown expire reason');
      break;
    case 'change-id':
      bad = needId() ?? stampProblem(msg) ?? (isId(msg.newId) ? null : 'newId is not a session id');
      break;
    case 'get-all':
    case 'no-context':
      bad = null;
      break;
    case 'all-data':
      bad = isCount(msg.page) && Array.isArray(msg.sessions) ? null : 'all-data needs a page number and a sessions array';
      break;
    case 'transfer-complete':
      bad = isNum(msg.stamp) && isCount(msg.count) ? null : 'transfer-complete needs a stamp and a session count';
      break;
    default:
      bad = `unknown message type ${JSON.stringify(msg.t.slice(0, 40))}`;
  }
  return bad ? no(bad, msg) : ok(msg);
}

/** A BackupMessage, or why not. */
export function parseBackupMessage(msg: unknown, rules: PeerValueRules): Parsed<BackupMessage> {
  if (!isObj(msg) || !isStr(msg.t)) return no('not a cluster message');
  if (!isAck(msg.ack)) return no('ack must be "receipt" or "applied"', msg);
  if (!isId(msg.id)) return no('id is not a session id', msg);
  const member = (v: unknown) => v === null || isMemberId(v);
  let bad: string | null;
  switch (msg.t) {
    case 'backup':
      if (!isMemberId(msg.primary)) bad = 'primary must be a member id';
      else if (!isNum(msg.stamp)) bad = 'stamp must be a number';
      else if (msg.full !== undefined) {
        bad = sessionDataProblem(msg.full, rules) ?? ((msg.full as Obj).id === msg.id ? null : 'full copy of another session');
      } else {
        bad = pairsProblem(msg.set, 'set') ?? namesProblem(msg.remove, 'remove') ?? optTimeoutProblem(msg.maxInactiveInterval, rules);
      }
      break;
    case 'proxy':
      bad = member(msg.primary) && member(msg.backup) ? null : 'primary and backup must be member ids or null';
      break;
    case 'remove':
      bad = null;
      break;
    case 'access':
      bad = optTimeoutProblem(msg.maxInactiveInterval, rules);
      break;
    default:
      bad = `unknown message type ${JSON.stringify(msg.t.slice(0, 40))}`;
  }
  return bad ? no(bad, msg) : ok(msg);
}

/** A "refused" notice from a peer, or null when it is not a well-formed one. */
export function parseRefusedNotice(msg: unknown): RefusedNotice | null {
  if (!isObj(msg) || msg.t !== 'refused' || !isStr(msg.ref) || !isStr(msg.reason)) return null;
  if (msg.id !== undefined && !isId(msg.id)) return null;
  return { t: 'refused', ref: msg.ref.slice(0, 40), reason: msg.reason.slice(0, 1000), ...(msg.id !== undefined ? { id: msg.id } : {}) };
}

export function parseBackupRequest(msg: unknown): Parsed<BackupRequest> {
  if (!isObj(msg)) return no('not a request');
  if (msg.t === 'retrieve') return isId(msg.id) ? ok(msg) : no('retrieve needs a session id');
  if (msg.t === 'state') return ok(msg);
  return no(`unknown request type ${JSON.stringify(String(msg.t).slice(0, 40))}`);
}

/**
 * A state reply, entry by entry: malformed entries are refused individually (with why), the rest is
 * taken. Null when the reply as a whole is not one.
 */
export function parseBackupStateReply(v: unknown): { entries: BackupStateReply['entries']; refused: string[] } | null {
  if (!isObj(v) || !Array.isArray(v.entries)) return null;
  const entries: BackupStateReply['entries'] = [];
  const refused: string[] = [];
  for (const e of v.entries) {
    const member = (x: unknown) => x === null || isMemberId(x);
    if (Array.isArray(e) && e.length === 3 && isId(e[0]) && member(e[1]) && member(e[2])) entries.push(e as [string, string | null, string | null]);
    else refused.push(Array.isArray(e) && isId(e[0]) ? e[0] : '?');
  }
  return { entries, refused };
}

/** A retrieve reply: the session, null (not held there), or a refusal reason. */
export function parseRetrieveReply(v: unknown, rules: PeerValueRules): SessionData | null | { refused: string } {
  if (v === null) return null;
  const bad = sessionDataProblem(v, rules);
  return bad ? { refused: bad } : (v as SessionData);
}

/**
 * One session as a node holds it: Tomcat's DeltaSession reduced to data. The same class serves the
 * primary copy (the node that completed the last request for it) and replicas; BackupManager adds
 * its roles on top (managers/backup-manager.ts).
 */
import type { AttributeTexts } from './attributes.js';
import { decodeAttributes } from './attributes.js';

export class ClusterSession {
  /** `<32 HEX>.<jvmRoute>`; changes when the route binder or the application renames it. */
  id: string;
  /** ms since the epoch, on the node that created it. */
  readonly creationTime: number;
  /** ms since the epoch of the last request that used it (here, or as reported by replication). */
  lastAccessedTime: number;
  /** Idle timeout in seconds (Tomcat's `maxInactiveInterval`); ≤ 0 = never expires. */
  maxInactiveInterval: number;
  /**
   * True on the node that completed the latest request for this session (cluster-semantics §2.6). Only a primary
   * expires a session cluster-wide at 1× the timeout; other copies expire silently at 2×.
   */
  primary = false;
  /** name → JSON text. */
  attributes: AttributeTexts = new Map();
  /**
   * Primary only: the attribute texts the peers are known to have, i.e. the last replicated
   * snapshot the next delta is computed against. Texts are shared with `attributes`, so an
   * unchanged attribute costs a map slot, not a copy.
   */
  replicated: AttributeTexts | null = null;
  /** The `maxInactiveInterval` the peers have (so a change goes out in the next delta). */
  replicatedMaxInactiveInterval: number;
  /**
   * Logical time (see clock.ts) of the last change applied to this copy, on the clock of the node
   * that made the change. State transfer uses it to skip queued messages the snapshot already holds.
   */
  version = 0;
  /** Requests currently using this session on this node: a session in use never expires. */
  activeRequests = 0;
  /** False once expired or invalidated; requests still holding it then replicate nothing. */
  valid = true;

  constructor(id: string, creationTime: number, maxInactiveInterval: number) {
    this.id = id;
    this.creationTime = creationTime;
    this.lastAccessedTime = creationTime;
    this.maxInactiveInterval = maxInactiveInterval;
    this.replicatedMaxInactiveInterval = maxInactiveInterval;
  }

  /** Approximate payload size in bytes (attribute names and texts), for paging and memory figures. */
  byteSize(): number {
    let n = this.id.length + 64;
    for (const [k, v] of this.attributes) n += k.length + v.length + 8;
    return n;
  }
}

/** The wire and state-transfer form of a full session copy. */
export interface SessionData {
  id: string;
  creationTime: number;
  lastAccessedTime: number;
  maxInactiveInterval: number;
  version: number;
  /** [name, JSON text] pairs (pairs, not an object: attribute names are arbitrary strings). */
  attributes: Array<[string, string]>;
}

export function toSessionData(s: ClusterSession, replicable?: (name: string) => boolean): SessionData {
  const attributes: Array<[string, string]> = [];
  for (const entry of s.attributes) if (!replicable || replicable(entry[0])) attributes.push(entry);
  return {
    id: s.id,
    creationTime: s.creationTime,
    lastAccessedTime: s.lastAccessedTime,
    maxInactiveInterval: s.maxInactiveInterval,
    version: s.version,
    attributes,
  };
}

export function fromSessionData(d: SessionData): ClusterSession {
  const s = new ClusterSession(d.id, d.creationTime, d.maxInactiveInterval);
  s.lastAccessedTime = d.lastAccessedTime;
  s.version = d.version;
  s.attributes = new Map(d.attributes);
  return s;
}

/** What `node.inspect(id)` returns: rep(X) of cluster-semantics §6, for tests and debugging. */
export interface SessionInspection {
  id: string;
  /** DeltaManager: this node completed the last request. BackupManager: this node is the primary. */
  primary: boolean;
  /** BackupManager's role of this node for the session; DeltaManager: 'primary' or 'replica'. */
  role: 'primary' | 'replica' | 'backup' | 'proxy';
  creationTime: number;
  lastAccessedTime: number;
  maxInactiveInterval: number;
  /** Decoded attribute values (empty for a BackupManager proxy entry, which holds no value). */
  attributes: Record<string, unknown>;
  /** BackupManager: the jvmRoute of the primary and of the backup node (null when unknown/none). */
  primaryRoute?: string | null;
  backupRoute?: string | null;
}

export function inspectSession(s: ClusterSession, role: SessionInspection['role']): SessionInspection {
  return {
    id: s.id,
    primary: s.primary,
    role,
    creationTime: s.creationTime,
    lastAccessedTime: s.lastAccessedTime,
    maxInactiveInterval: s.maxInactiveInterval,
    attributes: { ...decodeAttributes(s.attributes) },
  };
}

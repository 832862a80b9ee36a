/**
 * The group channel: what the session managers (DeltaManager, BackupManager) need from membership
 * and transport. Tomcat's equivalent is Tribes' GroupChannel with McastService/static membership,
 * TcpFailureDetector and the NIO sender/receiver. The managers only ever talk to this interface.
 *
 * Guarantees the managers rely on:
 * - Per-peer FIFO: messages sent to one peer are delivered to that peer's handler in send order, and
 *   the receiver runs the handler for messages from one peer one at a time, in order (so a session's
 *   create is always applied before its deltas, in every send mode; cluster-semantics §4.3 is what we fix).
 * - `ack: true` resolves only after the peer's 'message' handler has finished (Tomcat's
 *   USE_ACK|SYNCHRONIZED_ACK, option 6); `ack: false` resolves once the frame is queued locally.
 * - Messages are JSON values, delivered as parsed (`__proto__` and friends are ordinary own
 *   properties, never a prototype). Frames are length-prefixed, size-limited and, when a secret is
 *   configured, authenticated by a challenge–response handshake and an HMAC per frame; anything
 *   malformed, forged, replayed or oversized is dropped and counted, never delivered.
 */
import type { EventEmitter } from 'node:events';

/** One cluster node as the membership sees it. Identity = `id` (random per start, like Tribes' uniqueId). */
export interface ClusterMember {
  /** 32 hex chars, random per process start: a restarted node is a new member. */
  id: string;
  /** The node's jvmRoute. */
  route: string;
  /** Replication address (the receiver's address and port). */
  host: string;
  port: number;
  /** Milliseconds since the epoch when the member started; the oldest member has the smallest value. */
  startedAt: number;
  /** Application domain/context name the member runs (Tomcat's manager name); "" = default. */
  domain: string;
}

export interface SendOptions {
  /** Wait until the peer processed the message (sync), else only until it is queued (async). */
  ack: boolean;
  /** For ack: give up after this long (Tomcat's sender timeout, default 3000 ms). */
  timeoutMs?: number;
}

/** Per peer result of a send: ok, or why not (the caller decides whether to log or fail). */
export interface SendResult {
  ok: ClusterMember[];
  failed: Array<{ member: ClusterMember; error: Error }>;
}

export interface ChannelStats {
  membersAdded: number;
  membersRemoved: number;
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /**
   * Frames and heartbeats dropped because they were malformed, oversized, forged, replayed, not valid
   * JSON, from another domain, or from a sender that could not be verified.
   */
  framesDropped: number;
  /** Suspected members kept because the TCP verification found them alive (false positives avoided). */
  suspectsKept: number;
  /** Unexpected exceptions caught in the channel's own callbacks (a bug: logged at error level, never fatal). */
  internalErrors: number;
  /** DNS membership: lookups that answered. */
  dnsRefreshes: number;
  /** DNS membership: lookups that failed (NXDOMAIN, SERVFAIL, timeout, no records); the last known addresses were kept. */
  dnsFailures: number;
}

/**
 * Events:
 * - 'memberAdded' (m: ClusterMember): verified alive and ready to receive.
 * - 'memberRemoved' (m: ClusterMember, reason: 'shutdown' | 'timeout' | 'send-failure' | 'dns'): gone;
 *   after a graceful leave at once; otherwise only once a TCP probe failed too, the probe prompted
 *   by missing heartbeats, a broken connection or failed send, or the address leaving the DNS answer.
 * - 'message' (from: ClusterMember, msg: unknown, done: Promise-returning handlers are awaited before
 *   the next message from that peer is delivered and before an ack is sent): see `onMessage`.
 * - 'dropped' (reason: string): a frame was dropped (also counted in stats()).
 */
export interface Channel extends EventEmitter {
  /** This node. */
  readonly local: ClusterMember;
  /** Start receiver, membership and failure detection; resolves once this node is announced. */
  start(): Promise<void>;
  /** Announce a graceful leave (peers remove us at once) and close everything. */
  stop(): Promise<void>;
  /** Live, verified members except this node, oldest first (Tribes' Membership order). */
  members(): ClusterMember[];
  /**
   * The message handler. A returned promise is awaited: messages from the same peer are handled one at
   * a time, in order, and an `ack: true` sender is answered after the handler settles (a rejected
   * handler answers with a failure, Tomcat's FAIL-ACK).
   */
  onMessage(handler: (from: ClusterMember, msg: unknown) => void | Promise<void>): void;
  /** Send to some members (all live members when `to` is omitted). */
  send(msg: unknown, options: SendOptions, to?: ClusterMember[]): Promise<SendResult>;
  /**
   * Request/response to one member (state transfer, BackupManager's retrieve): the peer's request
   * handler's return value comes back. Rejects on timeout or failure.
   */
  request(to: ClusterMember, msg: unknown, timeoutMs: number): Promise<unknown>;
  /** The handler for `request`; its resolved value is the reply (must be JSON-serialisable). */
  onRequest(handler: (from: ClusterMember, msg: unknown) => unknown | Promise<unknown>): void;
  stats(): ChannelStats;
}

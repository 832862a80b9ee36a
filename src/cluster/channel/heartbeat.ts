/**
 * The multicast heartbeat datagram (our counterpart of MemberImpl.getData(), cluster-semantics §1.1):
 *
 *   "STKDMB02" (8 bytes) | JSON { member, command, seq, at } | HMAC-SHA256 (32 bytes)
 *
 * `member` carries what a Tribes member advertises (id, route, receiver host:port, startedAt, domain),
 * `command` is "" or Tomcat's shutdown command, `seq` counts this member's heartbeats and `at` is the
 * sender's clock (ms) when it sent this one. Multicast membership always has a secret (options.ts),
 * so every datagram is authenticated; an unsigned or wrongly signed one is 'forged'.
 *
 * Datagrams have no handshake, so replay protection is a window (HeartbeatReplayGuard): a heartbeat
 * is accepted only if its `at` is within `window` of our clock and its `seq` is larger than the last
 * one accepted from that member id. The guard remembers ids for twice the window, so every replay is
 * caught by one rule or the other: a recent one by its sequence number, an old one by its time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAC_BYTES } from './auth.js';
import type { DropReason } from './counters.js';
import { memberFromWire, memberToWire } from './member.js';
import { parseClusterJson } from './safe-json.js';
import type { ClusterMember } from './types.js';

const MAGIC = Buffer.from('STKDMB02');
const LABEL = Buffer.from('stickyd/heartbeat\0');
/** Datagrams larger than this are not ours (a heartbeat is a few hundred bytes). */
export const MAX_HEARTBEAT_BYTES = 8192;

export interface Heartbeat {
  member: ClusterMember;
  command: string;
  seq: number;
  /** Sender's clock (ms since the epoch) when it sent the heartbeat. */
  at: number;
}

function mac(secret: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(LABEL).update(body).digest();
}

export function encodeHeartbeat(hb: Heartbeat, secret: Buffer | null): Buffer {
  const body = Buffer.concat([
    MAGIC,
    Buffer.from(JSON.stringify({ member: memberToWire(hb.member), command: hb.command, seq: hb.seq, at: hb.at })),
  ]);
  return secret ? Buffer.concat([body, mac(secret, body)]) : body;
}

export function decodeHeartbeat(datagram: Buffer, secret: Buffer | null): Heartbeat | { error: DropReason } {
  if (datagram.length > MAX_HEARTBEAT_BYTES) return { error: 'oversized' };
  if (datagram.length < MAGIC.length || !datagram.subarray(0, MAGIC.length).equals(MAGIC)) return { error: 'malformed' };
  let body = datagram;
  if (secret) {
    if (datagram.length < MAGIC.length + MAC_BYTES) return { error: 'forged' };
    body = datagram.subarray(0, datagram.length - MAC_BYTES);
    const expected = mac(secret, body);
    if (!timingSafeEqual(expected, datagram.subarray(datagram.length - MAC_BYTES))) return { error: 'forged' };
  }
  const parsed = parseClusterJson(body.toString('utf8', MAGIC.length));
  if (!parsed.ok) return { error: parsed.reason };
  const v = parsed.value as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object') return { error: 'malformed' };
  const member = memberFromWire(v.member);
  const { command, seq, at } = v;
  if (!member || typeof command !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return { error: 'malformed' };
  }
  if (typeof at !== 'number' || !Number.isFinite(at)) return { error: 'malformed' };
  return { member, command, seq, at };
}

/**
 * Replay protection for heartbeats: a time window plus increasing sequence numbers per member id
 * (see the module comment). Ids are forgotten `2 × window` after their last accepted heartbeat.
 */
export class HeartbeatReplayGuard {
  private readonly last = new Map<string, { seq: number; heard: number }>();

  /** @param window how far a heartbeat's `at` may be from our clock (covers clock skew between hosts). */
  constructor(readonly window: number) {}

  /** True if this heartbeat is fresh (and records it); false for a replay, a reordered old one, or one out of the window. */
  accept(id: string, seq: number, at: number, now: number): boolean {
    if (Math.abs(now - at) > this.window) return false;
    const prev = this.last.get(id);
    if (prev && seq <= prev.seq) return false;
    this.last.set(id, { seq, heard: now });
    return true;
  }

  prune(now: number): void {
    for (const [id, e] of this.last) if (now - e.heard > 2 * this.window) this.last.delete(id);
  }
}

/**
 * The multicast heartbeat datagram (our counterpart of MemberImpl.getData(), cluster-semantics §1.1):
 *
 *   "STKDMB01" (8 bytes) | JSON { member, command, seq } | HMAC-SHA256 (32 bytes, with a secret)
 *
 * `member` carries what a Tribes member advertises (id, route, receiver host:port, startedAt, domain),
 * `command` is "" or Tomcat's shutdown command, and `seq` counts this member's heartbeats. Datagrams
 * have no handshake, so replay protection is the sequence number: a receiver accepts a member's
 * heartbeat only with a larger `seq` than the last one it accepted from that id (HeartbeatReplayGuard).
 * A replayed heartbeat of a member we no longer track can at most trigger a TCP probe, which finds
 * the member dead or restarted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MAC_BYTES } from './auth.js';
import type { DropReason } from './counters.js';
import { memberFromWire, memberToWire } from './member.js';
import { parseClusterJson } from './safe-json.js';
import type { ClusterMember } from './types.js';

const MAGIC = Buffer.from('STKDMB01');
const LABEL = Buffer.from('stickyd/heartbeat\0');
/** Datagrams larger than this are not ours (a heartbeat is a few hundred bytes). */
export const MAX_HEARTBEAT_BYTES = 8192;

export interface Heartbeat {
  member: ClusterMember;
  command: string;
  seq: number;
}

function mac(secret: Buffer, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(LABEL).update(body).digest();
}

export function encodeHeartbeat(hb: Heartbeat, secret: Buffer | null): Buffer {
  const body = Buffer.concat([
    MAGIC,
    Buffer.from(JSON.stringify({ member: memberToWire(hb.member), command: hb.command, seq: hb.seq })),
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
  const { command, seq } = v;
  if (!member || typeof command !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
    return { error: 'malformed' };
  }
  return { member, command, seq };
}

/** Remembers the last accepted sequence number per member id; forgets ids silent for `forgetAfter` ms. */
export class HeartbeatReplayGuard {
  private readonly last = new Map<string, { seq: number; at: number }>();

  constructor(private readonly forgetAfter: number) {}

  /** True if this heartbeat is new (and records it); false for a replay or a reordered old one. */
  accept(id: string, seq: number, now: number): boolean {
    const prev = this.last.get(id);
    if (prev && seq <= prev.seq) return false;
    this.last.set(id, { seq, at: now });
    return true;
  }

  prune(now: number): void {
    for (const [id, e] of this.last) if (now - e.at > this.forgetAfter) this.last.delete(id);
  }
}

/**
 * Payloads of the connection handshake (HELLO / HELLO_ACK): protocol name and version, the sender's
 * member info (what a Tribes member advertises, cluster-semantics §1.1) and a fresh nonce (see auth.ts; the AUTH
 * frame that completes the handshake has no payload).
 */
import { NONCE_BYTES } from './auth.js';
import { memberFromWire, memberToWire } from './member.js';
import { parseClusterJson } from './safe-json.js';
import type { ClusterMember } from './types.js';

export const PROTOCOL = 'stickyd-cluster';
export const PROTOCOL_VERSION = 2;
/**
 * Frames before the handshake completes are tiny; an unauthenticated client cannot make us buffer
 * more (and without a secret, neither can a connection whose sender is not a verified member).
 */
export const MAX_HANDSHAKE_FRAME = 16 * 1024;

export interface Hello {
  member: ClusterMember;
  nonce: Buffer;
}

export function encodeHello(member: ClusterMember, nonce: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({ p: PROTOCOL, v: PROTOCOL_VERSION, member: memberToWire(member), nonce: nonce.toString('hex') }),
  );
}

/** Undefined for anything that is not a well-formed HELLO/HELLO_ACK of our protocol version. */
export function decodeHello(payload: Buffer): Hello | undefined {
  const parsed = parseClusterJson(payload.toString('utf8'));
  if (!parsed.ok || parsed.value === null || typeof parsed.value !== 'object') return undefined;
  const v = parsed.value as Record<string, unknown>;
  if (v.p !== PROTOCOL || v.v !== PROTOCOL_VERSION) return undefined;
  const member = memberFromWire(v.member);
  if (!member || typeof v.nonce !== 'string' || !/^[0-9a-f]+$/.test(v.nonce) || v.nonce.length !== NONCE_BYTES * 2) {
    return undefined;
  }
  return { member, nonce: Buffer.from(v.nonce, 'hex') };
}

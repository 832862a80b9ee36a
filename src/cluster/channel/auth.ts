/**
 * Frame authentication with a shared secret: a challenge–response handshake per TCP connection,
 * then HMAC-SHA256 on every frame with implicit sequence numbers.
 *
 * Handshake (docs/cluster.md, "Wire protocol"):
 *   1. client → HELLO      {member, client nonce}              MAC(secret, HELLO)
 *   2. server → HELLO_ACK  {member, server nonce}              MAC(secret, HELLO ‖ HELLO_ACK)
 *   3. client → AUTH       (empty)                             MAC(c2s key, seq 0)
 * The two directional keys are derived from the secret and the whole transcript (both payloads,
 * so both nonces and both member identities). HELLO_ACK proves the server knows the secret against
 * the client's fresh nonce; AUTH proves the client knows it against the server's fresh nonce (the
 * challenge). A captured HELLO can be replayed, but the replayer cannot answer the new challenge:
 * the receiver keeps the connection at the small handshake frame limit and hands it nothing until
 * AUTH verifies. HELLO's own MAC carries no freshness; it only turns away peers with a wrong secret
 * before the receiver says who it is.
 *
 * Every later frame's MAC covers an implicit sequence number (0, 1, 2, … per direction, AUTH being
 * frame 0 of the client's direction), so a frame replayed, reordered, dropped or copied from another
 * connection fails, is counted and closes the connection.
 *
 * Without a secret every MAC is empty and these functions check nothing (loopback-only clusters).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const MAC_BYTES = 32;
export const NONCE_BYTES = 16;

const LABEL_HELLO = Buffer.from('stickyd/hello\0');
const LABEL_HELLO_ACK = Buffer.from('stickyd/hello-ack\0');
const LABEL_PROBE_ACK = Buffer.from('stickyd/probe-ack\0');
const LABEL_C2S = Buffer.from('stickyd/c2s\0');
const LABEL_S2C = Buffer.from('stickyd/s2c\0');

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

function hmac(key: Buffer, parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function equalMac(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** MAC length on the wire for this configuration. */
export function macBytes(secret: Buffer | null): number {
  return secret ? MAC_BYTES : 0;
}

/** Splits a frame body into payload and MAC; undefined when the body is too short to hold a MAC. */
export function splitMac(body: Buffer, secret: Buffer | null): { payload: Buffer; mac: Buffer } | undefined {
  const n = macBytes(secret);
  if (body.length < n) return undefined;
  return { payload: body.subarray(0, body.length - n), mac: body.subarray(body.length - n) };
}

/** HELLO: no freshness (see the module comment); it filters out peers with another secret early. */
export function helloMac(secret: Buffer | null, payload: Buffer): Buffer | undefined {
  return secret ? hmac(secret, [LABEL_HELLO, payload]) : undefined;
}

/** HELLO_ACK, bound to the client's HELLO (its nonce included), so an old answer fits no new HELLO. */
export function helloAckMac(secret: Buffer | null, helloPayload: Buffer, payload: Buffer): Buffer | undefined {
  return secret ? hmac(secret, [LABEL_HELLO_ACK, u32(helloPayload.length), helloPayload, payload]) : undefined;
}

/** PROBE_ACK, bound to the prober's nonce. */
export function probeAckMac(secret: Buffer | null, probeNonce: Buffer, payload: Buffer): Buffer | undefined {
  return secret ? hmac(secret, [LABEL_PROBE_ACK, probeNonce, payload]) : undefined;
}

export function verifyMac(expected: Buffer | undefined, mac: Buffer): boolean {
  return expected === undefined ? mac.length === 0 : equalMac(expected, mac);
}

/** The two directional keys of one connection, from the secret and the handshake transcript. */
export function connectionKeys(
  secret: Buffer | null,
  helloPayload: Buffer,
  helloAckPayload: Buffer,
): { clientToServer: Buffer | null; serverToClient: Buffer | null } {
  if (!secret) return { clientToServer: null, serverToClient: null };
  const transcript = [u32(helloPayload.length), helloPayload, u32(helloAckPayload.length), helloAckPayload];
  return {
    clientToServer: hmac(secret, [LABEL_C2S, ...transcript]),
    serverToClient: hmac(secret, [LABEL_S2C, ...transcript]),
  };
}

/**
 * MACs (or checks) the frames of one direction of one connection. The sequence number is implicit:
 * both ends count frames, so it costs no bytes and TCP's ordering makes any gap or repeat a failure.
 */
export class FrameMac {
  private seq = 0n;
  private readonly header = Buffer.alloc(9);

  constructor(private readonly key: Buffer | null) {}

  private compute(type: number, payload: Buffer): Buffer {
    this.header.writeBigUInt64BE(this.seq, 0);
    this.header[8] = type;
    this.seq += 1n;
    return hmac(this.key!, [this.header, payload]);
  }

  /** MAC for the next outgoing frame (undefined without a secret). */
  sign(type: number, payload: Buffer): Buffer | undefined {
    return this.key ? this.compute(type, payload) : undefined;
  }

  /** Checks the next incoming frame. */
  verify(type: number, payload: Buffer, mac: Buffer): boolean {
    return this.key ? equalMac(this.compute(type, payload), mac) : mac.length === 0;
  }
}

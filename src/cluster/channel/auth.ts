/**
 * Frame authentication with a shared secret: HMAC-SHA256 on every frame, with replay protection.
 *
 * Handshake (one per TCP connection): the client's HELLO carries a fresh random nonce and is MAC'd
 * with the secret; the receiver's HELLO_ACK carries its own nonce and is MAC'd over the client nonce
 * too, so it cannot be replayed. Both sides then derive one key per direction from the two nonces,
 * and every later frame's MAC covers an implicit sequence number (0, 1, 2, … per direction). A frame
 * replayed, reordered, dropped or copied from another connection fails its MAC, is counted and the
 * connection is closed. A replayed HELLO gets nothing: it carries no liveness (only discovery, which
 * the TCP probe then checks) and the replayer cannot produce the MACs that follow it.
 *
 * Without a secret the MAC is empty and these functions do nothing (loopback-only clusters).
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

/** HELLO (no freshness: see the module comment). */
export function helloMac(secret: Buffer | null, payload: Buffer): Buffer | undefined {
  return secret ? hmac(secret, [LABEL_HELLO, payload]) : undefined;
}

/** HELLO_ACK, bound to the client's nonce. */
export function helloAckMac(secret: Buffer | null, clientNonce: Buffer, payload: Buffer): Buffer | undefined {
  return secret ? hmac(secret, [LABEL_HELLO_ACK, clientNonce, payload]) : undefined;
}

/** PROBE_ACK, bound to the prober's nonce. */
export function probeAckMac(secret: Buffer | null, probeNonce: Buffer, payload: Buffer): Buffer | undefined {
  return secret ? hmac(secret, [LABEL_PROBE_ACK, probeNonce, payload]) : undefined;
}

export function verifyMac(expected: Buffer | undefined, mac: Buffer): boolean {
  return expected === undefined ? mac.length === 0 : equalMac(expected, mac);
}

/** The two directional keys of one connection. */
export function connectionKeys(
  secret: Buffer | null,
  clientNonce: Buffer,
  serverNonce: Buffer,
): { clientToServer: Buffer | null; serverToClient: Buffer | null } {
  if (!secret) return { clientToServer: null, serverToClient: null };
  return {
    clientToServer: hmac(secret, [LABEL_C2S, clientNonce, serverNonce]),
    serverToClient: hmac(secret, [LABEL_S2C, clientNonce, serverNonce]),
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

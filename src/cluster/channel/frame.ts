/**
 * TCP framing of the replication transport (our counterpart of Tribes' `FLT2002 … TLF2003` frames,
 * cluster-semantics §1.5; not wire-compatible with Tomcat, which the spec does not require):
 *
 *   uint32 BE length | uint8 type | payload | MAC (32 bytes, only when a secret is configured)
 *
 * `length` counts everything after itself. The decoder checks it against the size limit as soon as
 * the 4 header bytes are in, before buffering any of the body, so an oversized frame costs nothing.
 */

export const FrameType = {
  /** Client → receiver, first frame: who I am + handshake nonce. */
  HELLO: 1,
  /** Receiver → client: who I am + nonce (the client's challenge); binds the connection's MAC keys. */
  HELLO_ACK: 2,
  /** TcpFailureDetector's probe (first and only frame of a probe connection); swallowed. */
  PROBE: 3,
  /** Receiver → prober: my member id, so a restarted process on the same port is told apart. */
  PROBE_ACK: 4,
  /** Static membership heartbeat (empty payload; the sender is the connection's HELLO identity). */
  HEARTBEAT: 5,
  /** Graceful leave (Tomcat's "BABY-ALEX" shutdown command). */
  LEAVE: 6,
  /** Application message: uint32 ack id (0 = no ack wanted) + JSON. */
  MESSAGE: 7,
  /** uint32 ack id: the handler settled (SYNCHRONIZED_ACK). */
  ACK: 8,
  /** uint32 ack id + UTF-8 reason: the handler failed (Tomcat's FAIL-ACK). */
  FAIL_ACK: 9,
  /** uint32 request id + JSON. */
  REQUEST: 10,
  /** uint32 request id + JSON reply. */
  RESPONSE: 11,
  /** uint32 request id + UTF-8 reason. */
  RESPONSE_ERROR: 12,
  /** Client → receiver, right after HELLO_ACK: empty, its MAC answers the receiver's challenge (auth.ts). */
  AUTH: 13,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_HEADER_BYTES = 5;

/** A decoded frame: `body` is payload + MAC; the auth layer splits them. */
export interface Frame {
  type: number;
  body: Buffer;
}

export type FrameErrorKind = 'oversized' | 'malformed' | 'truncated';

export class FrameError extends Error {
  override name = 'FrameError';
  constructor(
    readonly kind: FrameErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** One frame as a single buffer (one write, one syscall when uncorked). */
export function encodeFrame(type: number, payload: Buffer, mac?: Buffer): Buffer {
  const macLen = mac ? mac.length : 0;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length + macLen);
  out.writeUInt32BE(1 + payload.length + macLen, 0);
  out[4] = type;
  payload.copy(out, FRAME_HEADER_BYTES);
  if (mac) mac.copy(out, FRAME_HEADER_BYTES + payload.length);
  return out;
}

/** Payload of MESSAGE/REQUEST/RESPONSE: uint32 id + UTF-8 text, built with one allocation. */
export function idAndText(id: number, text: string): Buffer {
  const len = Buffer.byteLength(text);
  const out = Buffer.allocUnsafe(4 + len);
  out.writeUInt32BE(id, 0);
  out.write(text, 4, len, 'utf8');
  return out;
}

export function readId(payload: Buffer): number {
  if (payload.length < 4) throw new FrameError('malformed', 'frame payload shorter than its 4-byte id');
  return payload.readUInt32BE(0);
}

/**
 * Stream → frames. Chunks are kept as a list and joined once per frame, so a 16 MiB frame arriving
 * in 64 KiB pieces is copied once, not quadratically.
 *
 * Two limits: a length above `maxFrameSize` is an error (the connection must close); a length above
 * `holdAbove` (but within `maxFrameSize`) makes the decoder stop in front of that frame and report
 * it as `held` without buffering its body, so the caller can stop reading from the socket until it
 * decides (receiver.ts: large frames only from authenticated or verified senders). After raising
 * `holdAbove`, `next()` continues where it stopped.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length field of the frame being assembled, or -1 while its header is incomplete. */
  private frameLength = -1;
  /** Frames longer than this are held (see the class comment); Infinity = none. */
  holdAbove = Infinity;

  /** @param maxFrameSize largest accepted length field; may be raised later (after the handshake). */
  constructor(public maxFrameSize: number) {}

  /** Appends a chunk; returns the complete frames. Throws FrameError; the connection must then close. */
  push(chunk: Buffer): Frame[] {
    this.append(chunk);
    const frames: Frame[] = [];
    for (let f = this.next(); f; f = this.next()) frames.push(f);
    return frames;
  }

  /** Appends a chunk without decoding (decode with `next`, one frame at a time). */
  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete frame under the limits as they are now, or undefined (incomplete, or held).
   * One frame at a time lets the caller change the limits between frames (after the handshake).
   */
  next(): Frame | undefined {
    if (this.frameLength < 0) {
      if (this.buffered < 4) return undefined;
      const length = this.peekUInt32();
      if (length > this.maxFrameSize) {
        throw new FrameError('oversized', `frame of ${length} bytes exceeds the limit of ${this.maxFrameSize}`);
      }
      if (length < 1) throw new FrameError('malformed', 'frame without a type byte');
      this.frameLength = length;
    }
    if (this.frameLength > this.holdAbove) return undefined;
    if (this.buffered < 4 + this.frameLength) return undefined;
    const whole = this.take(4 + this.frameLength);
    this.frameLength = -1;
    return { type: whole[4]!, body: whole.subarray(FRAME_HEADER_BYTES) };
  }

  /** Length of the frame the decoder stopped in front of because it exceeds `holdAbove`, else 0. */
  heldLength(): number {
    return this.frameLength > this.holdAbove ? this.frameLength : 0;
  }

  /** Bytes of an incomplete frame still held (non-zero at close = a truncated frame). */
  pendingBytes(): number {
    return this.buffered;
  }

  private peekUInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 4));
    return head.readUInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const need = n - filled;
        if (c.length <= need) {
          c.copy(out, filled);
          filled += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, filled, 0, need);
          this.chunks[0] = c.subarray(need);
          filled += need;
        }
      }
    }
    this.buffered -= n;
    return out;
  }
}

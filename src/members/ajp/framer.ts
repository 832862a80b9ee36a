/**
 * Splits a TCP byte stream into AJP packets. TCP delivers bytes in arbitrary pieces: a packet can
 * arrive split over several 'data' events, and one event can carry several packets. The framer
 * checks each header before trusting its length: the magic must be the expected one and the
 * length must fit the 8192-byte packet limit, so a peer that sends garbage or a huge length is
 * rejected at once instead of making us buffer without bound.
 */
import { HEADER_SIZE, MAX_PAYLOAD } from './constants.js';
import { AjpProtocolError } from './packet.js';

export class PacketFramer {
  private pending: Buffer = Buffer.alloc(0);

  /** @param magic the magic every packet in this direction starts with. */
  constructor(private readonly magic: number) {}

  /** Bytes received that do not form a whole packet yet (a truncated packet if the stream ends now). */
  get buffered(): number {
    return this.pending.length;
  }

  /**
   * Adds received bytes and hands every packet now complete to `onPacket`, in order. Throws
   * AjpProtocolError on a bad header, after the packets before it were delivered; the stream is
   * then unusable (AJP has no way to resynchronise).
   */
  push(chunk: Buffer, onPacket: (payload: Buffer) => void): void {
    const data = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = Buffer.alloc(0);
    let off = 0;
    while (data.length - off >= HEADER_SIZE) {
      const magic = data.readUInt16BE(off);
      if (magic !== this.magic) {
        throw new AjpProtocolError(
          `bad AJP packet magic 0x${magic.toString(16).padStart(4, '0')} (expected 0x${this.magic.toString(16)})`,
        );
      }
      const len = data.readUInt16BE(off + 2);
      if (len > MAX_PAYLOAD) {
        throw new AjpProtocolError(`AJP packet length ${len} exceeds the ${MAX_PAYLOAD}-byte payload limit`);
      }
      if (data.length - off < HEADER_SIZE + len) break;
      // A copy: a payload kept by a consumer must not pin the whole receive buffer.
      const payload = Buffer.from(data.subarray(off + HEADER_SIZE, off + HEADER_SIZE + len));
      off += HEADER_SIZE + len;
      onPacket(payload);
    }
    // Keep the incomplete tail (a copy, for the same reason).
    if (off < data.length) this.pending = Buffer.from(data.subarray(off));
  }
}

/**
 * AJP/1.3 packet encoding primitives, with every byte count checked.
 *
 * Data types of the protocol: byte; int = 2 bytes big-endian unsigned; string = int length, the
 * bytes, then a NUL that the length does not count; length 0xFFFF = null string (nothing follows).
 * A packet is magic (2) + payload length (2) + payload, at most MAX_PACKET_SIZE bytes in all.
 *
 * Strings are carried as bytes. stickyd follows Node's convention for HTTP text: header values
 * and request targets arrive as latin1 strings (one char per byte), so encoding them as latin1
 * forwards the client's bytes unchanged, and decoding the container's bytes as latin1 lets
 * node:http write them back out unchanged. Text with characters above U+00FF (configuration
 * values such as a secret) is sent as UTF-8, as the container would read a UTF-8 config file.
 */
import { HEADER_SIZE, MAX_PAYLOAD, NULL_STRING_LENGTH } from './constants.js';

/** The peer sent bytes that are not a valid AJP packet (or not the one expected now). */
export class AjpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AjpProtocolError';
  }
}

/** What we were asked to send does not fit one AJP packet (mod_proxy_ajp: AJP_EOVERFLOW → 400). */
export class AjpOverflowError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AjpOverflowError';
  }
}

/** Bytes of an AJP string: latin1 when every char fits a byte (the HTTP-text convention), else UTF-8. */
export function stringBytes(value: string): Buffer {
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(value) ? Buffer.from(value, 'utf8') : Buffer.from(value, 'latin1');
}

/**
 * Builds one packet. The payload buffer has the protocol's maximum size; every append checks the
 * room left and throws AjpOverflowError instead of writing past it.
 */
export class PacketWriter {
  private readonly buf = Buffer.allocUnsafe(HEADER_SIZE + MAX_PAYLOAD);
  private pos = HEADER_SIZE;

  /** @param what names the packet in overflow messages ("forward request", ...). */
  constructor(private readonly what: string) {}

  /** Payload bytes written so far. */
  get length(): number {
    return this.pos - HEADER_SIZE;
  }

  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new AjpOverflowError(
        `the AJP ${this.what} needs more than ${MAX_PAYLOAD} bytes of payload (the 8192-byte AJP packet limit); ` +
          'shorten the request headers or URL',
      );
    }
  }

  byte(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`AJP byte out of range: ${value}`);
    this.room(1);
    this.buf[this.pos++] = value;
    return this;
  }

  bool(value: boolean): this {
    return this.byte(value ? 1 : 0);
  }

  int(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`AJP int out of range: ${value}`);
    this.room(2);
    this.buf.writeUInt16BE(value, this.pos);
    this.pos += 2;
    return this;
  }

  /** A string (length, bytes, NUL) or, for null, the null-string marker 0xFFFF. */
  string(value: string | null): this {
    if (value === null) return this.int(NULL_STRING_LENGTH);
    return this.stringOfBytes(stringBytes(value));
  }

  /** A string given as bytes. Lengths of 0xFFFF and up cannot be expressed (0xFFFF means null). */
  stringOfBytes(bytes: Buffer): this {
    if (bytes.length >= NULL_STRING_LENGTH) {
      throw new AjpOverflowError(`an AJP string cannot hold ${bytes.length} bytes`);
    }
    this.room(2 + bytes.length + 1);
    this.buf.writeUInt16BE(bytes.length, this.pos);
    bytes.copy(this.buf, this.pos + 2);
    this.pos += 2 + bytes.length;
    this.buf[this.pos++] = 0;
    return this;
  }

  /** Raw bytes, no length, no terminator. */
  raw(bytes: Buffer): this {
    this.room(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** The finished packet: magic, payload length, payload (a copy; the writer may be dropped). */
  finish(magic: number): Buffer {
    this.buf.writeUInt16BE(magic, 0);
    this.buf.writeUInt16BE(this.pos - HEADER_SIZE, 2);
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/**
 * Reads the payload of one packet. Every read checks the bytes left and throws AjpProtocolError,
 * so a packet whose counts lie (a header count larger than the headers present, a string length
 * past the end, a missing NUL) is rejected instead of read out of bounds.
 */
export class PacketReader {
  private pos = 0;

  constructor(
    private readonly payload: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.payload.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.pos + n > this.payload.length) {
      throw new AjpProtocolError(
        `truncated AJP ${this.what}: ${field} needs ${n} byte(s) at offset ${this.pos}, only ${this.remaining} left`,
      );
    }
  }

  byte(field: string): number {
    this.need(1, field);
    return this.payload[this.pos++]!;
  }

  bool(field: string): boolean {
    return this.byte(field) !== 0;
  }

  int(field: string): number {
    this.need(2, field);
    const v = this.payload.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** Peek at the next int without consuming it (header names: code or string length). */
  peekInt(field: string): number {
    this.need(2, field);
    return this.payload.readUInt16BE(this.pos);
  }

  /** A string's bytes, or null for the null marker. The NUL terminator must be there. */
  stringBytes(field: string): Buffer | null {
    const len = this.int(`${field} length`);
    if (len === NULL_STRING_LENGTH) return null;
    this.need(len + 1, `${field} (${len} bytes + NUL)`);
    const bytes = this.payload.subarray(this.pos, this.pos + len);
    if (this.payload[this.pos + len] !== 0) {
      throw new AjpProtocolError(`malformed AJP ${this.what}: ${field} is not NUL-terminated`);
    }
    this.pos += len + 1;
    return bytes;
  }

  /** A string decoded as latin1 (byte-preserving), or null. */
  string(field: string): string | null {
    const b = this.stringBytes(field);
    return b === null ? null : b.toString('latin1');
  }

  /** Exactly n raw bytes. */
  raw(n: number, field: string): Buffer {
    this.need(n, field);
    const b = this.payload.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** The packet must end here: trailing bytes mean the counts inside it were wrong. */
  end(): void {
    if (this.remaining !== 0) {
      throw new AjpProtocolError(`malformed AJP ${this.what}: ${this.remaining} unexpected byte(s) after the last field`);
    }
  }
}

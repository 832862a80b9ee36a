/**
 * A hand-made HTTP/2 client for attack tests: it writes frames exactly as a test says (RFC 9113
 * §4-6), including the ones a well-behaved client library never sends (HEADERS without
 * END_HEADERS followed by endless CONTINUATION, RST_STREAM right after HEADERS, PING and SETTINGS
 * floods, HPACK blocks that expand), and reads what the server sends back frame by frame.
 *
 *   const c = await RawH2.connect({ port, tls: true });       // ALPN h2, or h2c prior knowledge
 *   c.settings(); c.headers(1, [[':method','GET'], ...], { endStream: true });
 *   const goaway = await c.waitFor((f) => f.type === FRAME.GOAWAY);
 *
 * HPACK here is the encoder side only, without Huffman coding: literals with or without
 * indexing, and references to the static and dynamic table (RFC 7541 §6).
 */
import net from 'node:net';
import tls from 'node:tls';

export const FRAME = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** RFC 9113 §7 error codes. */
export const H2_ERROR = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1); `first` holds the bits above the prefix. */
export function hpackInt(value: number, prefixBits: number, first = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([first | value]);
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

function hpackString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return Buffer.concat([hpackInt(b.length, 7, 0), b]);
}

/** A header field as a literal with a new name: `index` adds it to the dynamic table (RFC 7541 §6.2.1), else without indexing (RFC 7541 §6.2.2). */
export function hpackLiteral(name: string, value: string | Buffer, index = false): Buffer {
  return Buffer.concat([Buffer.from([index ? 0x40 : 0x00]), hpackString(name), hpackString(value)]);
}

/** An indexed header field (RFC 7541 §6.1): 1..61 the static table, 62 the newest dynamic entry. */
export function hpackIndexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

/** A header block of literals without indexing. */
export function headerBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(headers.map(([n, v]) => hpackLiteral(n, v)));
}

export interface ConnectOptions {
  port: number;
  host?: string;
  /** TLS with ALPN h2 (default), or h2c by prior knowledge. */
  tls?: boolean;
  servername?: string;
  /** Trust anchors for TLS; default: accept any certificate (the tests check the frames, not the certificate). */
  ca?: string;
}

export class RawH2 {
  readonly frames: Frame[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  closed = false;
  /** Bytes the server sent in all. */
  received = 0;
  readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) {
        clearTimeout(w.timer);
        w.reject(new Error(`connection closed; frames seen: ${this.describe()}`));
      }
      resolve();
    }));
  }

  /** Connect and send the preface; the first SETTINGS is left to the test (`settings()`). */
  static connect(o: ConnectOptions): Promise<RawH2> {
    const host = o.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      let socket: net.Socket;
      const ready = (): void => {
        socket.off('error', reject);
        const c = new RawH2(socket);
        socket.write(PREFACE);
        resolve(c);
      };
      if (o.tls === false) {
        socket = net.connect({ port: o.port, host }, ready);
      } else {
        socket = tls.connect({ port: o.port, host, ALPNProtocols: ['h2'], servername: o.servername ?? 'localhost', ...(o.ca ? { ca: o.ca } : { rejectUnauthorized: false }) }, ready);
      }
      socket.once('error', reject);
    });
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 9) {
      const len = this.buffer.readUIntBE(0, 3);
      if (this.buffer.length < 9 + len) break;
      const f: Frame = { type: this.buffer[3]!, flags: this.buffer[4]!, stream: this.buffer.readUInt32BE(5) & 0x7fffffff, payload: this.buffer.subarray(9, 9 + len) };
      this.buffer = this.buffer.subarray(9 + len);
      this.frames.push(f);
      // Answer the server's SETTINGS, as every client must (RFC 9113 §6.5.3).
      if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0 && !this.socket.destroyed) this.socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      for (const w of [...this.waiters]) {
        if (w.match(f)) {
          clearTimeout(w.timer);
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(f);
        }
      }
    }
  }

  /** The first frame (seen already or to come) that matches, within `timeoutMs`. */
  waitFor(match: (f: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const seen = this.frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.closed) return Promise.reject(new Error(`connection closed; frames seen: ${this.describe()}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.findIndex((w) => w.timer === timer), 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms; frames seen: ${this.describe()}`));
      }, timeoutMs);
      this.waiters.push({ match, resolve, reject, timer });
    });
  }

  /** The GOAWAY the server sent, with its error code, or null when it closed without one. */
  async goaway(timeoutMs = 5000): Promise<{ lastStream: number; code: number } | null> {
    try {
      const f = await this.waitFor((x) => x.type === FRAME.GOAWAY, timeoutMs);
      return { lastStream: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
    } catch (err) {
      if (this.closed) return null;
      throw err;
    }
  }

  /** RST_STREAM frames the server sent: stream → error code. */
  resets(): Map<number, number> {
    const out = new Map<number, number>();
    for (const f of this.frames) if (f.type === FRAME.RST_STREAM) out.set(f.stream, f.payload.readUInt32BE(0));
    return out;
  }

  /** Streams the server answered with a HEADERS frame. */
  answered(): Set<number> {
    return new Set(this.frames.filter((f) => f.type === FRAME.HEADERS).map((f) => f.stream));
  }

  describe(): string {
    const names = Object.fromEntries(Object.entries(FRAME).map(([k, v]) => [v, k]));
    const counts = new Map<string, number>();
    for (const f of this.frames) {
      const extra = f.type === FRAME.GOAWAY ? `(${f.payload.readUInt32BE(4)})` : f.type === FRAME.RST_STREAM ? `(${f.payload.readUInt32BE(0)})` : '';
      const key = `${names[f.type] ?? f.type}${extra}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([k, n]) => `${k}×${n}`).join(' ') || 'none';
  }

  /** Write raw bytes; false when the socket is gone (the server closed it). */
  write(bytes: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    this.socket.write(bytes);
    return true;
  }

  settings(values: ReadonlyArray<readonly [number, number]> = []): boolean {
    const p = Buffer.alloc(values.length * 6);
    values.forEach(([id, v], i) => {
      p.writeUInt16BE(id, i * 6);
      p.writeUInt32BE(v, i * 6 + 2);
    });
    return this.write(frame(FRAME.SETTINGS, 0, 0, p));
  }

  headers(stream: number, block: Buffer | ReadonlyArray<readonly [string, string]>, o: { endStream?: boolean; endHeaders?: boolean } = {}): boolean {
    const payload = Buffer.isBuffer(block) ? block : headerBlock(block);
    const flags = (o.endStream ? FLAG.END_STREAM : 0) | (o.endHeaders === false ? 0 : FLAG.END_HEADERS);
    return this.write(frame(FRAME.HEADERS, flags, stream, payload));
  }

  continuation(stream: number, block: Buffer, endHeaders = false): boolean {
    return this.write(frame(FRAME.CONTINUATION, endHeaders ? FLAG.END_HEADERS : 0, stream, block));
  }

  data(stream: number, bytes: Buffer, endStream = false): boolean {
    return this.write(frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, stream, bytes));
  }

  rst(stream: number, code: number = H2_ERROR.CANCEL): boolean {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code, 0);
    return this.write(frame(FRAME.RST_STREAM, 0, stream, p));
  }

  ping(payload = Buffer.alloc(8)): boolean {
    return this.write(frame(FRAME.PING, 0, 0, payload));
  }

  windowUpdate(stream: number, increment: number): boolean {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(increment, 0);
    return this.write(frame(FRAME.WINDOW_UPDATE, 0, stream, p));
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A GET request's header block for `path` (pseudo-headers first, as RFC 9113 §8.3 requires). */
export function getRequest(path: string, authority = 'localhost', extra: ReadonlyArray<readonly [string, string]> = [], scheme = 'https'): Array<readonly [string, string]> {
  return [[':method', 'GET'], [':scheme', scheme], [':authority', authority], [':path', path], ...extra];
}

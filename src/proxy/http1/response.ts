/**
 * The response to one HTTP/1.x request on the lean server (connection.ts): the part of node:http's
 * ServerResponse the request path, the redirect, the compression and the access log use, written
 * the way node writes it, byte for byte:
 *
 * - writeHead(status, [reason], headers): flat list, list of pairs or object. Names must be
 *   tokens and values free of CR, LF and other controls (node's own checks and errors; a member's
 *   header that fails them becomes a 502 in responses.ts). Then, as node adds them: `Date`,
 *   `Connection: keep-alive` with `Keep-Alive: timeout=N` (or `Connection: close` when the
 *   connection ends after this response), and `Transfer-Encoding: chunked` when there is neither
 *   Content-Length nor Transfer-Encoding, or no framing at all (the body ends with the
 *   connection) for an HTTP/1.0 client that did not offer TE: chunked.
 * - HEAD, 1xx, 204 and 304 responses have no body: what is written is dropped. A 204 or 304 with
 *   Transfer-Encoding: chunked closes the connection after it.
 * - write() returns false when the socket (or, for a pipelined response waiting its turn, this
 *   response's own buffer) is full; 'drain' follows once it is empty.
 * - 'finish' once the last bytes were handed to the socket (writableFinished), 'close' after it,
 *   or when the connection closes first (then writableFinished stays false).
 * - `_header` (the head as written) and `_last` (the connection closes after this response) are
 *   node's names, which the access log reads (%{…}o, %X).
 */
import { EventEmitter } from 'node:events';
import { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import type { Socket } from 'node:net';
import { checkInvalidHeaderChar, checkIsHttpToken } from './llhttp-request.js';
import type { Http1Request } from './request.js';

/** What a response asks of its connection. */
export interface ResponseSink {
  readonly socket: Socket;
  /** `keepAliveTimeout` of the listener when the request arrived (the Keep-Alive header). */
  readonly keepAliveTimeout: number;
  /** Strict-Transport-Security for every response (a TLS listener with `hsts`), or null. */
  readonly hsts: string | null;
  /** Bytes buffered by responses waiting their turn changed by `delta`. */
  pendingData(delta: number): void;
  /** This response is the one writing to the socket now. */
  isActive(res: Http1Response): boolean;
  /** The response finished (its last bytes are with the socket). */
  finished(res: Http1Response): void;
  /** A response that was counted as handed to the handler closed. */
  closed(): void;
}

const RE_CONN_CLOSE = /(?:^|\W)close(?:$|\W)/i;
/** node's rule for "chunked" in a Transfer-Encoding or TE value (connection.ts uses it for TE). */
export const RE_TE_CHUNKED = /(?:^|\W)chunked(?:$|\W)/i;
const CRLF = Buffer.from('\r\n', 'latin1');

/** The Date header's value, made once per second (node caches its own for up to a second). */
let dateSecond = -1;
let dateText = '';
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

function codedError(Base: typeof Error, code: string, message: string): Error {
  const err = new Base(message) as Error & { code: string };
  err.code = code;
  return err;
}

type Chunk = string | Buffer | Uint8Array;
type Callback = (err?: Error | null) => void;

/** Data written while the response waits for its turn on a pipelined connection. */
interface Pending {
  data: Chunk;
  encoding: BufferEncoding | undefined;
  callback: Callback | undefined;
}

/** The header fields that change how the head is finished. */
interface HeadState {
  head: string;
  connection: boolean;
  contentLength: boolean;
  transferEncoding: boolean;
  date: boolean;
  expect: boolean;
  trailer: boolean;
}

export class Http1Response extends EventEmitter {
  statusCode = 200;
  statusMessage: string | undefined = undefined;
  /** The connection may stay open after this response (the request's, then MaxKeepAliveRequests'). */
  shouldKeepAlive: boolean;
  /** The connection closes after this response (node's name; the access log reads it). */
  _last = false;
  /** The head as written (node's name; the access log reads it). */
  _header: string | null = null;
  /** end() was called. */
  finished = false;
  /** Everything was handed to the socket ('finish'). */
  writableFinished = false;
  destroyed = false;
  /** The socket, while this response is the one writing to it. */
  socket: Socket | null = null;
  /** The client sent Expect: 100-continue, and whether the 100 went out. */
  expectContinue = false;
  sent100 = false;
  /** The handler was given this response (its 'close' ends the request for ClientInput). */
  counted = false;
  private hasBody: boolean;
  private chunked = false;
  private readonly chunkedByDefault: boolean;
  private contentLength: number | null = null;
  private headerSent = false;
  private defaultKeepAlive = true;
  private pending: Pending[] = [];
  private pendingSize = 0;
  private needDrain = false;
  private closed = false;

  constructor(
    private readonly sink: ResponseSink,
    readonly req: Http1Request,
    keepAlive: boolean,
    chunkedByDefault: boolean,
  ) {
    super();
    this.hasBody = req.method !== 'HEAD';
    this.shouldKeepAlive = keepAlive;
    this.chunkedByDefault = chunkedByDefault;
  }

  get headersSent(): boolean {
    return this._header !== null;
  }

  get writableEnded(): boolean {
    return this.finished;
  }

  get writableLength(): number {
    return this.pendingSize + (this.socket !== null ? this.socket.writableLength : 0);
  }

  get writableNeedDrain(): boolean {
    return !this.destroyed && !this.finished && this.needDrain;
  }

  /** node's `100 Continue`, written at once (or queued behind the responses before it). */
  writeContinue(): void {
    if (this._header !== null) throw codedError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
    this.writeRaw('HTTP/1.1 100 Continue\r\n\r\n', 'latin1', undefined);
    this.sent100 = true;
  }

  writeHead(statusCode: number, reason?: unknown, headers?: unknown): this {
    if (this._header !== null) throw codedError(Error, 'ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
    const status = statusCode | 0;
    if (status < 100 || status > 999) throw codedError(RangeError, 'ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${String(statusCode)}`);
    if (typeof reason === 'string') this.statusMessage = reason;
    else {
      this.statusMessage ||= STATUS_CODES[status] ?? 'unknown';
      headers ??= reason;
    }
    this.statusCode = status;
    if (checkInvalidHeaderChar(this.statusMessage)) throw codedError(TypeError, 'ERR_INVALID_CHAR', 'Invalid character in statusMessage');
    if (status === 204 || status === 304 || (status >= 100 && status <= 199)) this.hasBody = false;
    // A client that expects 100 Continue and got a final status instead may send its body anyway.
    if (this.expectContinue && !this.sent100) this.shouldKeepAlive = false;
    this.storeHeader(`HTTP/1.1 ${status} ${this.statusMessage}\r\n`, headers);
    return this;
  }

  /** node's _storeHeader: the head from the fields given plus what node adds. */
  private storeHeader(firstLine: string, headers: unknown): void {
    const state: HeadState = { head: firstLine, connection: false, contentLength: false, transferEncoding: false, date: false, expect: false, trailer: false };
    const hsts = this.sink.hsts;
    if (headers !== null && headers !== undefined) {
      if (Array.isArray(headers)) {
        if (headers.length > 0 && Array.isArray(headers[0])) {
          for (const entry of headers as unknown[][]) this.processHeader(state, entry[0], entry[1], hsts);
        } else {
          if (headers.length % 2 !== 0) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', "The argument 'headers' is invalid.");
          for (let i = 0; i < headers.length; i += 2) this.processHeader(state, headers[i], headers[i + 1], hsts);
        }
      } else {
        const obj = headers as Record<string, unknown>;
        for (const key in obj) if (Object.hasOwn(obj, key)) this.processHeader(state, key, obj[key], hsts);
      }
    }
    // HSTS (edge/messages.ts): after the fields given, in place of any they had, before what node adds.
    if (hsts !== null) this.storeField(state, 'Strict-Transport-Security', hsts);
    let head = state.head;
    if (!state.date) head += `Date: ${utcDate()}\r\n`;
    if (this.chunked && (this.statusCode === 204 || this.statusCode === 304)) {
      this.chunked = false;
      this.shouldKeepAlive = false;
    }
    if (!state.connection) {
      if (this.shouldKeepAlive && (state.contentLength || this.chunkedByDefault)) {
        head += 'Connection: keep-alive\r\n';
        const timeout = this.sink.keepAliveTimeout;
        if (timeout > 0 && this.defaultKeepAlive) head += `Keep-Alive: timeout=${Math.floor(timeout / 1000)}\r\n`;
      } else {
        this._last = true;
        head += 'Connection: close\r\n';
      }
    }
    if (!state.contentLength && !state.transferEncoding) {
      if (!this.hasBody) this.chunked = false;
      else if (!this.chunkedByDefault) this._last = true;
      else if (!state.trailer && this.contentLength !== null) head += `Content-Length: ${this.contentLength}\r\n`;
      else {
        head += 'Transfer-Encoding: chunked\r\n';
        this.chunked = true;
      }
    }
    if (!this.chunked && state.trailer) throw codedError(Error, 'ERR_HTTP_TRAILER_INVALID', 'Trailers are invalid with this transfer encoding');
    this._header = `${head}\r\n`;
    this.headerSent = false;
    if (state.expect) this.send('', 'latin1', undefined);
  }

  private processHeader(state: HeadState, name: unknown, value: unknown, hsts: string | null): void {
    if (hsts !== null && typeof name === 'string' && name.length === 25 && name.toLowerCase() === 'strict-transport-security') return; // the listener's replaces it
    if (typeof name !== 'string' || name === '' || !checkIsHttpToken(name)) validateHeaderName(name as string);
    const key = name as string;
    // node sends a Content-Disposition that follows a Content-Length as its bytes decoded as UTF-8
    // (nodejs/node#46528); kept, so that such a header is refused or sent exactly as before.
    if (this.contentLength && key.length === 19 && key.toLowerCase() === 'content-disposition') {
      value = Array.isArray(value) ? value.map((v) => Buffer.from(String(v), 'latin1').toString()) : Buffer.from(String(value), 'latin1').toString();
    }
    if (Array.isArray(value)) {
      if (value.length < 2 || !(key.length === 6 && key.toLowerCase() === 'cookie')) {
        for (const v of value) this.storeField(state, key, v);
        return;
      }
      value = value.join('; ');
    }
    this.storeField(state, key, value);
  }

  private storeField(state: HeadState, key: string, value: unknown): void {
    if (value === undefined || checkInvalidHeaderChar(value as string)) validateHeaderValue(key, value as string);
    const text = String(value);
    state.head += `${key}: ${text}\r\n`;
    const n = key.length;
    if (n < 4 || n > 17) return;
    switch (key.toLowerCase()) {
      case 'connection':
        state.connection = true;
        if (RE_CONN_CLOSE.test(text)) this._last = true;
        else this.shouldKeepAlive = true;
        break;
      case 'transfer-encoding':
        state.transferEncoding = true;
        if (RE_TE_CHUNKED.test(text)) this.chunked = true;
        break;
      case 'content-length':
        state.contentLength = true;
        this.contentLength = +text;
        break;
      case 'date':
        state.date = true;
        break;
      case 'expect':
        state.expect = true;
        break;
      case 'trailer':
        state.trailer = true;
        break;
      case 'keep-alive':
        this.defaultKeepAlive = false;
        break;
    }
  }

  write(chunk: Chunk, encoding?: BufferEncoding | Callback, callback?: Callback): boolean {
    if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    const ok = this.writeBody(chunk, encoding, callback, false);
    if (!ok) this.needDrain = true;
    return ok;
  }

  private writeBody(chunk: Chunk, encoding: BufferEncoding | undefined, callback: Callback | undefined, fromEnd: boolean): boolean {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array.');
    }
    if (this.finished || this.destroyed) {
      const err = this.finished ? codedError(Error, 'ERR_STREAM_WRITE_AFTER_END', 'write after end') : codedError(Error, 'ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed');
      if (!this.destroyed) {
        process.nextTick(() => {
          callback?.(err);
          if (!this.destroyed) this.emit('error', err);
        });
      } else if (callback !== undefined) process.nextTick(callback, err);
      return false;
    }
    if (this._header === null) {
      if (fromEnd) this.contentLength = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.byteLength;
      this.writeHead(this.statusCode);
    }
    if (!this.hasBody) {
      // HEAD, 1xx, 204, 304: node drops the body.
      if (callback !== undefined) process.nextTick(callback);
      return true;
    }
    const len = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.byteLength;
    if (this.chunked && len !== 0) {
      const socket = this.activeSocket();
      socket?.cork();
      this.send(`${len.toString(16)}\r\n`, 'latin1', undefined);
      this.send(chunk, encoding, undefined);
      const ok = this.send(CRLF, undefined, callback);
      socket?.uncork();
      return ok;
    }
    return this.send(chunk, encoding, callback);
  }

  end(chunk?: Chunk | Callback | null, encoding?: BufferEncoding | Callback, callback?: Callback): this {
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = null;
      encoding = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    const socket = this.activeSocket();
    let onFinish: Callback | null = null;
    if (chunk !== null && chunk !== undefined && (typeof chunk !== 'string' || chunk !== '')) {
      if (this.finished) {
        this.writeBody(chunk, encoding, callback, true);
        return this;
      }
      socket?.cork();
      if (this._header === null) {
        this.contentLength = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk.byteLength;
        this.writeHead(this.statusCode);
      }
      // One write with the last bytes, whose completion is the response's 'finish'.
      if (!this.destroyed && this.hasBody && !this.chunked) onFinish = this.onFinish;
      this.writeBody(chunk, encoding, onFinish ?? undefined, true);
    } else if (this.finished) {
      return this;
    } else if (this._header === null) {
      socket?.cork();
      this.contentLength = 0;
      this.writeHead(this.statusCode);
    }
    if (callback !== undefined) this.once('finish', () => callback());
    if (onFinish === null) {
      if (this.hasBody && this.chunked) this.send('0\r\n\r\n', 'latin1', this.onFinish);
      else if (!this.headerSent || this.writableLength > 0 || chunk) this.send('', 'latin1', this.onFinish);
      else process.nextTick(this.onFinish);
    }
    if (socket !== null) while (socket.writableCorked > 0) socket.uncork();
    this.finished = true;
    return this;
  }

  /** The last write completed: 'finish', unless the socket failed under it. */
  private readonly onFinish = (err?: Error | null): void => {
    if (err || this.writableFinished) return;
    const socket = this.sink.socket;
    if ((socket as Socket & { _hadError?: boolean })._hadError === true || socket.errored !== null) return;
    this.writableFinished = true;
    // The connection's part first (node registers it before anyone else can listen).
    this.sink.finished(this);
    this.emit('finish');
  };

  /** The socket when this response is the one writing to it. */
  private activeSocket(): Socket | null {
    return this.socket !== null && this.sink.isActive(this) ? this.socket : null;
  }

  /** node's _send: the head goes out with the first bytes after it (in one string when it can). */
  private send(data: Chunk, encoding: BufferEncoding | undefined, callback: Callback | undefined): boolean {
    if (this.headerSent || this._header === null) return this.writeRaw(data, encoding, callback);
    this.headerSent = true;
    if (typeof data === 'string' && (encoding === undefined || encoding === 'utf8' || encoding === 'latin1')) {
      return this.writeRaw(this._header + data, encoding, callback);
    }
    const socket = this.activeSocket();
    socket?.cork();
    this.writeRaw(this._header, 'latin1', undefined);
    const ok = this.writeRaw(data, encoding, callback);
    socket?.uncork();
    return ok;
  }

  /** To the socket when it is this response's turn, else into this response's buffer. */
  private writeRaw(data: Chunk, encoding: BufferEncoding | undefined, callback: Callback | undefined): boolean {
    const socket = this.socket;
    if (socket !== null && socket.destroyed) return false;
    if (socket !== null && this.sink.isActive(this) && socket.writable) {
      if (this.pending.length > 0) this.flushPending(socket);
      return socket.write(data, encoding as BufferEncoding, callback);
    }
    this.pending.push({ data, encoding, callback });
    const len = typeof data === 'string' ? data.length : data.byteLength;
    this.pendingSize += len;
    this.sink.pendingData(len);
    return this.pendingSize < this.sink.socket.writableHighWaterMark;
  }

  private flushPending(socket: Socket): boolean {
    const pending = this.pending;
    this.pending = [];
    let ok = true;
    socket.cork();
    for (const p of pending) ok = socket.write(p.data, p.encoding as BufferEncoding, p.callback);
    socket.uncork();
    const size = this.pendingSize;
    this.pendingSize = 0;
    this.sink.pendingData(-size);
    return ok;
  }

  /** It is this response's turn on the connection (node's assignSocket). */
  assign(socket: Socket): void {
    this.socket = socket;
    if (!socket.writable) return;
    const ok = this.pending.length > 0 ? this.flushPending(socket) : undefined;
    if (!this.finished && this.needDrain && ok !== false) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /** The socket drained: tell a writer that waits. */
  drained(): void {
    if (!this.finished && this.needDrain && this.writableLength === 0) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /** The response is over on the connection (finished, or its turn will never come). */
  detach(): void {
    this.socket = null;
  }

  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (this.socket !== null && this.sink.isActive(this)) this.socket.destroy(err);
    else process.nextTick(() => this.emitClose());
    return this;
  }

  /** 'close', once. */
  emitClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.destroyed = true;
    this.emit('close');
    if (this.counted) this.sink.closed();
  }
}

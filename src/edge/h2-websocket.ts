/**
 * WebSocket over HTTP/2 (RFC 8441), as mod_http2's `H2WebSockets on` serves it: the listener
 * announces SETTINGS_ENABLE_CONNECT_PROTOCOL, a client opens a WebSocket with an extended CONNECT
 * on one stream (`:method CONNECT`, `:protocol websocket`, `:path`), and stickyd turns it into the
 * HTTP/1.1 Upgrade request a member understands:
 *
 *   h2 stream: CONNECT :protocol websocket :path /chat
 *     → member: GET /chat HTTP/1.1, Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Key: <new>
 *     ← member: 101 Switching Protocols, Sec-WebSocket-Accept (checked against the key)
 *   h2 stream: :status 200 (no Accept: RFC 8441 §5 has no key), then the WebSocket frames both
 *   ways as DATA, untouched (the frames are the same in both: RFC 8441 §5).
 *
 * The request goes through the same path as an HTTP/1.1 Upgrade (proxy/upgrade.ts: mount table,
 * sticky route, failover while nothing was sent, idle timeout, access log), which writes an
 * HTTP/1.1 answer to what it takes for the client's socket. Here that socket is
 * ExtendedConnectSocket: it reads the answer's head and sends it as the stream's HEADERS (101
 * becomes 200; any other answer, a refusal or stickyd's own error page, keeps its status and body),
 * then carries the bytes both ways on the stream.
 */
import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import { resetStream } from './messages.js';

/** RFC 6455 §1.3: the Accept value a member must answer to `key`. */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** Fields of the member's answer that mean nothing on an HTTP/2 stream (connection-specific, or the key's answer). */
const DROPPED = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'sec-websocket-accept', 'content-length']);

/**
 * The HTTP/1.1 Upgrade request an extended CONNECT stands for, shaped as the upgrade path reads
 * a request (method, url, version, rawHeaders, socket). `rawHeaders` are the stream's fields as
 * EdgeH2Request translates them (Host from :authority, cookies joined, X-Forwarded-Proto on TLS).
 */
export function upgradeRequestOf(req: http2.Http2ServerRequest, rawHeaders: readonly string[], key: string): http.IncomingMessage {
  const raw: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    // A client's own key or framing fields have no meaning here: the key is ours (RFC 8441 §5).
    if (name === 'sec-websocket-key' || name === 'content-length' || name === 'transfer-encoding' || name === 'connection' || name === 'upgrade') continue;
    raw.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  raw.push('Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', key);
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? raw[i + 1]! : `${headers[name]}, ${raw[i + 1]!}`;
  }
  return {
    method: 'GET',
    url: req.headers[':path'] ?? '/',
    // The client's protocol, for the access log's %H; the member gets HTTP/1.1 whatever it says.
    httpVersion: '2.0',
    httpVersionMajor: 2,
    httpVersionMinor: 0,
    headers,
    rawHeaders: raw,
    rawTrailers: [],
    socket: req.socket,
  } as unknown as http.IncomingMessage;
}

/** A new Sec-WebSocket-Key (RFC 6455 §4.1: 16 random bytes, base64). */
export function newWebsocketKey(): string {
  return randomBytes(16).toString('base64');
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** The most of an HTTP/1.1 answer's head read before giving up on it. */
const MAX_HEAD = 64 * 1024;

/**
 * What the upgrade path writes to as the client's socket, over one HTTP/2 stream: the HTTP/1.1
 * answer's head becomes the stream's HEADERS, everything after it the stream's DATA; the stream's
 * DATA is what this socket reads.
 */
export class ExtendedConnectSocket extends Duplex {
  private head: Buffer | null = Buffer.alloc(0);

  constructor(
    private readonly req: http2.Http2ServerRequest,
    private readonly res: http2.Http2ServerResponse,
    private readonly key: string,
  ) {
    super({ allowHalfOpen: true });
    req.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) req.pause();
    });
    req.once('end', () => this.push(null));
    // A reset by the client, or the session gone: the tunnel ends.
    res.once('close', () => this.destroy());
    req.pause();
  }

  // For the tunnel's idle timer and logs: the client's addresses.
  get remoteAddress(): string | undefined {
    return this.req.socket?.remoteAddress;
  }

  override _read(): void {
    this.req.resume();
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk;
    if (this.head === null) {
      this.forward(data, callback);
      return;
    }
    this.head = Buffer.concat([this.head, data]);
    const end = this.head.indexOf(HEAD_END);
    if (end < 0) {
      if (this.head.length > MAX_HEAD) callback(new Error('the answer to an extended CONNECT has no end of head'));
      else callback();
      return;
    }
    const text = this.head.subarray(0, end).toString('latin1');
    const rest = this.head.subarray(end + HEAD_END.length);
    this.head = null;
    this.respond(text);
    if (rest.length > 0) this.forward(rest, callback);
    else callback();
  }

  private forward(data: Buffer, callback: (err?: Error | null) => void): void {
    if (this.res.stream.destroyed) {
      callback();
      return;
    }
    // Backpressure: the callback waits for the stream (HTTP/2 flow control) to take the bytes.
    if (this.res.stream.write(data)) callback();
    else this.res.stream.once('drain', () => callback());
  }

  /** The HTTP/1.1 status line and fields as the stream's HEADERS. */
  private respond(text: string): void {
    const lines = text.split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 502);
    const headers: string[] = [];
    let accept: string | null = null;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'sec-websocket-accept') accept = value;
      if (DROPPED.has(name)) continue;
      headers.push(name, value);
    }
    if (status === 101) {
      // The member must have answered our key (RFC 6455 §4.1); else it is not speaking WebSocket.
      if (accept !== websocketAccept(this.key)) {
        this.res.writeHead(502, {});
        this.res.end();
        this.destroy();
        return;
      }
      // RFC 8441 §5: a successful extended CONNECT is a 2xx.
      this.res.writeHead(200, headers as unknown as http2.OutgoingHttpHeaders);
      return;
    }
    this.res.writeHead(status, headers as unknown as http2.OutgoingHttpHeaders);
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.head !== null && !this.res.headersSent) this.respond('HTTP/1.1 502 Bad Gateway');
    if (!this.res.stream.destroyed) this.res.stream.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    const stream = this.res.stream;
    // Ended by the upgrade path before our end went out, or cut: cancel the stream (RST_STREAM).
    if (!stream.writableFinished) resetStream(stream, http2.constants.NGHTTP2_CANCEL);
    callback(err);
  }
}

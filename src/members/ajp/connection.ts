/**
 * One TCP connection to an AJP container. AJP does not multiplex: a connection carries one
 * request/response cycle at a time, then (if the container allows) the next one. Whoever runs the
 * current cycle attaches a listener and gets every complete packet; while no one is attached (the
 * connection sits idle in the pool) any packet from the container is a protocol violation and the
 * connection is destroyed.
 *
 * Nothing here throws out of a socket event handler: framing errors, listener errors and socket
 * errors all end in destroy() and one `closed(error)` call to the listener.
 */
import net from 'node:net';
import { BackendError, isDnsFailure } from '../connector.js';
import { MAGIC_FROM_CONTAINER } from './constants.js';
import { PacketFramer } from './framer.js';
import { AjpProtocolError } from './packet.js';

export interface ConnectionListener {
  /** A complete packet payload (after the 4-byte header). */
  packet(payload: Buffer): void;
  /** The connection is gone. `error` is an AjpProtocolError for bad bytes, else the socket error or null (peer closed). */
  closed(error: Error | null): void;
}

let nextId = 1;

export class AjpConnection {
  readonly id = nextId++;
  /** Request/response cycles completed on this connection; > 0 means a reused connection. */
  cycles = 0;
  private listener: ConnectionListener | null = null;
  private readonly framer = new PacketFramer(MAGIC_FROM_CONTAINER);
  private ended = false;
  /** Called once when the connection is gone (the pool uses it to free the slot of an idle connection). */
  onGone: ((conn: AjpConnection) => void) | null = null;

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.gone(err));
    socket.on('end', () => this.gone(null));
    socket.on('close', () => this.gone(null));
  }

  get alive(): boolean {
    return !this.ended && !this.socket.destroyed;
  }

  /** A truncated packet is pending: bytes of a packet whose rest never came. */
  get partialPacket(): boolean {
    return this.framer.buffered > 0;
  }

  attach(listener: ConnectionListener): void {
    this.listener = listener;
  }

  detach(): void {
    this.listener = null;
  }

  /** Writes bytes; false means the socket buffer is full (wait for 'drain'). */
  write(bytes: Buffer): boolean {
    if (!this.alive) return false;
    return this.socket.write(bytes);
  }

  /** Closes the connection now; the listener (if any) hears `closed(error ?? null)`. */
  destroy(error?: Error): void {
    this.gone(error ?? null);
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    try {
      this.framer.push(chunk, (payload) => {
        if (this.ended) return;
        if (this.listener === null) {
          throw new AjpProtocolError(`the container sent an AJP packet (type ${payload[0]}) on an idle connection`);
        }
        this.listener.packet(payload);
      });
    } catch (err) {
      this.gone(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private gone(error: Error | null): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.destroy();
    const listener = this.listener;
    this.listener = null;
    try {
      listener?.closed(error);
    } finally {
      this.onGone?.(this);
    }
  }
}

export interface ConnectOptions {
  host: string;
  port: number;
  /** `connectiontimeout` in ms. */
  connectTimeout: number;
  /** `keepalive`: TCP SO_KEEPALIVE. */
  keepAlive: boolean;
  /** Name resolution; node's dns.lookup unless given (tests inject failures without a resolver). */
  lookup?: net.LookupFunction;
}

/**
 * Opens a connection. Rejects with BackendError kind 'dns' when the host name does not resolve
 * (httpd: 500, member in error, no failover — apache-semantics §4.1), else 'connect' (refused, unreachable,
 * connect timeout: nothing sent, failover).
 */
export function connect(opts: ConnectOptions): Promise<AjpConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      ...(opts.lookup ? { lookup: opts.lookup } : {}),
    });
    const fail = (message: string, cause?: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      const code = (cause as NodeJS.ErrnoException | undefined)?.code;
      reject(new BackendError(isDnsFailure(code) ? 'dns' : 'connect', message, { cause }));
    };
    const timer = setTimeout(
      () => fail(`connect to ajp://${opts.host}:${opts.port} timed out after ${opts.connectTimeout} ms`),
      opts.connectTimeout,
    );
    socket.once('error', (err) => fail(`connect to ajp://${opts.host}:${opts.port} failed: ${err.message}`, err));
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      if (opts.keepAlive) socket.setKeepAlive(true);
      resolve(new AjpConnection(socket));
    });
  });
}

/**
 * A small AJP/1.3 container for tests, listening on 127.0.0.1: it decodes what the connector
 * sends, records it, and lets each test script the answer, including misbehaviour (garbage,
 * truncated packets, huge lengths, closing mid-response, slow or missing CPong).
 *
 * Body reading follows Tomcat's AjpProcessor: with Content-Length > 0 the first body packet comes
 * unasked; further data is requested with GET_BODY_CHUNK (8186 bytes); an empty packet ends the
 * body. A first body packet the handler did not read is swallowed before the next request, as
 * Tomcat does, so the connection stays in step.
 */
import net from 'node:net';
import { MAGIC_TO_CONTAINER, MAX_BODY_CHUNK, ServerPacket } from '../../src/members/ajp/constants.js';
import { PacketFramer } from '../../src/members/ajp/framer.js';
import { decodeBodyChunk, decodeForwardRequest, type ForwardRequest } from '../../src/members/ajp/request.js';
import {
  encodeCPong,
  encodeEndResponse,
  encodeGetBodyChunk,
  encodeSendBodyChunk,
  encodeSendHeaders,
} from '../../src/members/ajp/response.js';

/** The most body bytes one SEND_BODY_CHUNK carries from Tomcat (packetSize - 8). */
const MAX_SEND_CHUNK = 8192 - 8;

export interface AjpExchange {
  /** The decoded Forward Request. */
  request: ForwardRequest;
  /** Which connection (1-based, in accept order) carried it, and its n-th request (1-based). */
  connection: number;
  cycle: number;
  /** Reads the whole request body the way Tomcat does. */
  readBody(): Promise<Buffer>;
  /** Asks for one body chunk (GET_BODY_CHUNK size) and returns it; null = the empty end packet. */
  readChunk(size?: number): Promise<Buffer | null>;
  sendHeaders(status: number, headers?: Array<[string, string]>, message?: string | null): void;
  /** Sends body bytes in SEND_BODY_CHUNK packets of at most 8184 bytes; resolves when written. */
  sendBody(data: Buffer | string): Promise<void>;
  end(reuse?: boolean): void;
  /** Arbitrary bytes. */
  raw(bytes: Buffer): void;
  /** Closes the connection now. */
  destroy(): void;
  socket: net.Socket;
}

export type AjpHandler = (ex: AjpExchange) => void | Promise<void>;

export type CPongMode = 'answer' | 'ignore' | 'garbage' | { delayMs: number };

export interface AjpTestServer {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Every Forward Request received, in order. */
  readonly requests: ForwardRequest[];
  /** CPINGs received. */
  readonly cpings: number;
  /** Bodies read by readBody(), in order. */
  readonly bodies: Buffer[];
  /** Replace the handler for the next requests. */
  setHandler(h: AjpHandler): void;
  cpong: CPongMode;
  /** Connections currently open. */
  openConnections(): number;
  close(): Promise<void>;
}

/** A handler answering 200 with a small JSON description of the request. */
export const echoHandler: AjpHandler = async (ex) => {
  const body = await ex.readBody();
  const text = JSON.stringify({
    method: ex.request.method,
    uri: ex.request.uri,
    query: ex.request.queryString,
    bodyLength: body.length,
    connection: ex.connection,
    cycle: ex.cycle,
  });
  ex.sendHeaders(200, [['Content-Type', 'application/json'], ['Content-Length', String(Buffer.byteLength(text))]]);
  await ex.sendBody(text);
  ex.end(true);
};

class PacketQueue {
  private readonly packets: Buffer[] = [];
  private waiter: { resolve: (p: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  put(p: Buffer): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve(p);
    } else this.packets.push(p);
  }

  fail(e: Error): void {
    this.failure ??= e;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(e);
    }
  }

  next(): Promise<Buffer> {
    const p = this.packets.shift();
    if (p) return Promise.resolve(p);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }
}

export async function startAjpServer(handler: AjpHandler = echoHandler): Promise<AjpTestServer> {
  let current = handler;
  let connections = 0;
  let cpings = 0;
  const requests: ForwardRequest[] = [];
  const bodies: Buffer[] = [];
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const framer = new PacketFramer(MAGIC_TO_CONTAINER);
    const queue = new PacketQueue();
    socket.on('data', (chunk: Buffer) => {
      try {
        framer.push(chunk, (p) => queue.put(p));
      } catch (e) {
        queue.fail(e as Error);
        socket.destroy();
      }
    });
    socket.on('close', () => queue.fail(new Error('connection closed')));
    void serve(socket, queue, connection).catch(() => socket.destroy());
  });

  async function serve(socket: net.Socket, queue: PacketQueue, connection: number): Promise<void> {
    for (let cycle = 1; ; ) {
      const p = await queue.next();
      if (p[0] === ServerPacket.CPING) {
        cpings++;
        const mode = api.cpong;
        if (mode === 'answer') socket.write(encodeCPong());
        else if (mode === 'garbage') socket.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
        else if (typeof mode === 'object') setTimeout(() => socket.writable && socket.write(encodeCPong()), mode.delayMs);
        continue;
      }
      if (p[0] !== ServerPacket.FORWARD_REQUEST) throw new Error(`unexpected packet type ${p[0]}`);
      const request = decodeForwardRequest(p);
      requests.push(request);
      const cl = contentLength(request);
      let firstPending = cl !== null && cl > 0;
      let ended = cl === 0;
      const readChunk = async (size = MAX_BODY_CHUNK): Promise<Buffer | null> => {
        if (ended) return null;
        if (firstPending) firstPending = false;
        else socket.write(encodeGetBodyChunk(size));
        const data = decodeBodyChunk(await queue.next());
        if (data === null) ended = true;
        return data;
      };
      const ex: AjpExchange = {
        request,
        connection,
        cycle,
        socket,
        readChunk,
        async readBody() {
          const parts: Buffer[] = [];
          let n = 0;
          for (;;) {
            if (cl !== null && n >= cl) break;
            const d = await readChunk();
            if (d === null) break;
            parts.push(d);
            n += d.length;
          }
          const body = Buffer.concat(parts);
          bodies.push(body);
          return body;
        },
        sendHeaders(status, headers = [], message = String(status)) {
          socket.write(encodeSendHeaders(status, message, headers));
        },
        async sendBody(data) {
          const buf = typeof data === 'string' ? Buffer.from(data) : data;
          for (let off = 0; off < buf.length; off += MAX_SEND_CHUNK) {
            const ok = socket.write(encodeSendBodyChunk(buf.subarray(off, off + MAX_SEND_CHUNK)));
            if (!ok) await new Promise<void>((resolve) => {
              const done = () => { socket.off('drain', done); socket.off('close', done); resolve(); };
              socket.on('drain', done);
              socket.on('close', done);
            });
            if (socket.destroyed) return;
          }
        },
        end(reuse = true) {
          socket.write(encodeEndResponse(reuse));
          if (!reuse) socket.end();
        },
        raw(bytes) {
          socket.write(bytes);
        },
        destroy() {
          socket.destroy();
        },
      };
      await current(ex);
      if (socket.destroyed || socket.writableEnded) return;
      // Tomcat swallows an unread first body packet before reading the next request.
      if (firstPending) await queue.next();
      cycle++;
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const api: AjpTestServer = {
    port: (server.address() as net.AddressInfo).port,
    get connections() { return connections; },
    requests,
    get cpings() { return cpings; },
    bodies,
    setHandler(h) { current = h; },
    cpong: 'answer',
    openConnections: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}

function contentLength(r: ForwardRequest): number | null {
  const h = r.headers.find(([n]) => n.toLowerCase() === 'content-length');
  return h ? Number(h[1]) : null;
}

/** Builders for connector tests: a request, member settings with sensible defaults, bodies as streams. */
import { Readable } from 'node:stream';
import type { AjpMemberConfig } from '../../src/members/ajp/connector.js';
import { SignalClient, type Attempt, type ClientInfo, type MemberConnector, type MemberResponse } from '../../src/members/connector.js';

/** A request as a test writes it: headers as pairs (Host among them), an AbortSignal. */
export interface BackendRequest {
  method: string;
  httpVersion: string;
  path: string;
  headers: Array<[string, string]>;
  body: Readable | null;
  bodyLength: number | null;
  client: ClientInfo;
  route: string;
  signal: AbortSignal;
}

/**
 * The Attempt a connector gets for `r`: HTTP members get its Host first (preservehost) and the
 * other headers in order, AJP members its headers as they are.
 */
export function attemptOf(r: BackendRequest): Attempt {
  const clientHeaders = r.headers.flat();
  const host = r.headers.find(([n]) => n.toLowerCase() === 'host');
  return {
    method: r.method,
    httpVersion: r.httpVersion,
    path: r.path,
    headers: r.headers.filter((h) => h !== host).flat(),
    clientHost: host === undefined ? null : host[1],
    preserveHost: true,
    clientHeaders,
    body: r.body,
    bodyLength: r.bodyLength,
    client: new SignalClient(r.signal),
    info: r.client,
    route: r.route,
    traffic: null,
  };
}

/** A member response whose body is a Readable, for tests that read it as a stream. */
export type StreamedResponse = Omit<MemberResponse, 'body'> & { body: Readable };

/** `connector.send()`, with the body as a Readable. */
export async function request(connector: MemberConnector, r: BackendRequest): Promise<StreamedResponse> {
  const res = await connector.send(attemptOf(r));
  const source = res.body;
  const body = new Readable({
    read: () => source.resume(),
    destroy: (err, cb) => {
      source.destroy(err ?? undefined);
      cb(err);
    },
  });
  source.attach({
    write: (chunk) => body.push(chunk),
    end: () => body.push(null),
    fail: (err) => body.destroy(err),
  });
  return { ...res, body };
}

export function backendRequest(over: Partial<BackendRequest> = {}): BackendRequest {
  return {
    method: 'GET',
    httpVersion: '1.1',
    path: '/',
    headers: [['Host', 'www.example.org']],
    body: null,
    bodyLength: null,
    client: {
      remoteAddress: '127.0.0.9',
      remotePort: 54321,
      localAddress: '127.0.0.1',
      localPort: 8080,
      secure: false,
      serverName: 'proxy.example.org',
    },
    route: 'jvm_a',
    signal: new AbortController().signal,
    ...over,
  };
}

export function ajpMember(port: number, over: Partial<AjpMemberConfig> = {}): AjpMemberConfig {
  return {
    host: '127.0.0.1',
    port,
    timeout: 5_000,
    connectiontimeout: 2_000,
    max: 16,
    ttl: 4_000,
    disablereuse: false,
    acquire: null,
    keepalive: false,
    ping: 0,
    secret: '',
    ...over,
  };
}

/** Reads a whole stream into one Buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(parts);
}

/** Deterministic pseudo-random bytes (so a corrupted or reordered byte shows up). */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** A Readable giving `data` in pieces of `piece` bytes, one per tick (a client uploading). */
export function trickle(data: Buffer, piece = 16 * 1024): Readable {
  let off = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (off >= data.length) this.push(null);
        else {
          this.push(data.subarray(off, off + piece));
          off += piece;
        }
      });
    },
  });
}

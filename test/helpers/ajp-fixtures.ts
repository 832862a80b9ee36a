/** Builders for AJP connector tests: a BackendRequest and member settings with sensible defaults. */
import { Readable } from 'node:stream';
import type { AjpMemberConfig } from '../../src/members/ajp/connector.js';
import type { BackendRequest } from '../../src/members/connector.js';

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

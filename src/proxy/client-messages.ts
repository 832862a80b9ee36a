/**
 * What the request path (handler, responses, relay, upgrade, redirect) and the access log use of
 * a client's request and its response, whichever server made them: the lean HTTP/1.x server of
 * every listener, plain or TLS (http1/), or node:http2's compatibility API (edge/messages.ts,
 * which makes its objects read like these).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/** A client request: its line and fields as received; the body is the stream. */
export interface ClientRequest extends Readable {
  method?: string | undefined;
  url?: string | undefined;
  readonly httpVersion: string;
  readonly rawHeaders: string[];
  readonly rawTrailers: string[];
  /** Made from rawHeaders on first use (node's rules for repeated fields). */
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
}

/** The response to a client request, written as with node:http's ServerResponse. */
export interface ClientResponse {
  readonly req: ClientRequest;
  readonly headersSent: boolean;
  /** The last bytes were handed to the connection ('finish' came). */
  readonly writableFinished: boolean;
  /** The connection may stay open after this response. */
  shouldKeepAlive: boolean;
  writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  /** false: wait for 'drain'. */
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): this;
  destroy(error?: Error): this;
  on(event: 'close' | 'drain' | 'finish', listener: () => void): this;
  once(event: 'close' | 'drain' | 'finish', listener: () => void): this;
}

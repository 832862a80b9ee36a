/**
 * A response body compressed on its way to the client, chunk by chunk — never buffered whole:
 *
 * - every chunk the member sends is written to the compressor and *flushed* through it
 *   (Z_SYNC_FLUSH, BROTLI_OPERATION_FLUSH, ZSTD_e_flush), so what the member sent is on its way
 *   to the client at once: a `text/event-stream` arrives event by event, a page the application
 *   flushes early starts rendering early. httpd's mod_proxy flushes likewise whenever a read
 *   from the member would block. On a fast member the chunks are socket reads of up to 64 KiB,
 *   so the flushes cost little ratio (bench/compression.ts measures it);
 * - back-pressure is kept end to end: a client that reads slowly pauses the compressor's output,
 *   the compressor's input then fills, and the member's socket is paused (write() returns false)
 *   until the compressor drains. What is held in between is bounded by the two stream buffers;
 * - zlib works on libuv's thread pool, so compressing does not block the event loop.
 *
 * Levels come from the configuration; Brotli's window is mod_brotli's default (2^18 bytes), which
 * keeps a compressor's memory near that of gzip's.
 */
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import type { CompressionAlgorithm, CompressionConfig } from '../../config/types.js';

/** Where the compressed bytes go: the response relay. */
export interface EncoderSink {
  /** Compressed bytes; false: the client is full, call `resume()` when it has drained. */
  data(chunk: Buffer): boolean;
  /** The compressed body is complete. */
  finished(): void;
  /** The compressor failed: the response cannot be completed. */
  error(err: Error): void;
  /** The compressor has room for more input again (after write() returned false). */
  drain(): void;
}

/** Input a compressor may hold before the member is paused (one socket read fits). */
const INPUT_HIGH_WATER_MARK = 128 * 1024;

/** mod_brotli's BrotliCompressionWindow default: 18 (256 KiB). */
const BROTLI_WINDOW_BITS = 18;

type ZstdFactory = (options: Record<string, unknown>) => Transform;

/** The compressor for a coding at the configured level, flushing every write. */
export function createCompressor(coding: CompressionAlgorithm, settings: CompressionConfig, sizeHint: number | null): Transform {
  const base = { writableHighWaterMark: INPUT_HIGH_WATER_MARK };
  switch (coding) {
    case 'gzip':
      return zlib.createGzip({ ...base, level: settings.gziplevel, flush: zlib.constants.Z_SYNC_FLUSH });
    case 'br': {
      const params: Record<number, number> = {
        [zlib.constants.BROTLI_PARAM_QUALITY]: settings.brotliquality,
        [zlib.constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      };
      if (sizeHint !== null) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = Math.min(sizeHint, 2 ** 30);
      return zlib.createBrotliCompress({ ...base, params, flush: zlib.constants.BROTLI_OPERATION_FLUSH });
    }
    case 'zstd': {
      // node ≥ 22.15 (the config loader refuses zstd where it is missing).
      const z = zlib as unknown as { createZstdCompress: ZstdFactory; constants: Record<string, number> };
      return z.createZstdCompress({ ...base, params: { [z.constants.ZSTD_c_compressionLevel!]: settings.zstdlevel }, flush: z.constants.ZSTD_e_flush });
    }
  }
}

/** One response's compressor between the member's chunks and the client. */
export class ResponseEncoder {
  private readonly stream: Transform;
  private ended = false;
  private destroyed = false;

  constructor(
    readonly coding: CompressionAlgorithm,
    settings: CompressionConfig,
    sizeHint: number | null,
    private readonly sink: EncoderSink,
  ) {
    const stream = createCompressor(coding, settings, sizeHint);
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      if (!this.sink.data(chunk)) stream.pause();
    });
    stream.on('end', () => {
      if (!this.destroyed) this.sink.finished();
    });
    stream.on('error', (err: Error) => {
      if (!this.destroyed) this.sink.error(err);
    });
    stream.on('drain', () => {
      if (!this.destroyed) this.sink.drain();
    });
  }

  /** Compress and flush a chunk of the member's body; false: wait for the sink's `drain()`. */
  write(chunk: Buffer): boolean {
    if (this.ended || this.destroyed) return true;
    return this.stream.write(chunk);
  }

  /** The client has room again: let the compressed bytes flow. */
  resume(): void {
    if (!this.destroyed) this.stream.resume();
  }

  /** The member's body is complete: finish the compressed stream (the sink's finished() follows). */
  end(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.stream.end();
  }

  /** Drop everything (client gone, member failed). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stream.destroy();
  }
}

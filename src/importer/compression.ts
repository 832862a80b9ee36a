/**
 * mod_deflate and mod_brotli → `compression:`.
 *
 * `AddOutputFilterByType DEFLATE text/html …` (mod_filter) names the filters and the media types
 * they compress; `BROTLI_COMPRESS;DEFLATE` chains both, and the first filter that the client
 * accepts wins (the second then sees the body encoded and leaves it), so the filter order is the
 * order of `compression.algorithms`. DeflateCompressionLevel and BrotliCompressionQuality become
 * the levels. stickyd has one list of types for every coding and every path, so types set in
 * several places are merged (with a note where they differ).
 */
import type { ApacheDirective } from './parser.js';
import { ApacheValueError, atoi, isPlainInteger } from './values.js';

export type CompressionReading =
  | { kind: 'filters'; algorithms: string[]; types: string[]; dropped: string[] }
  | { kind: 'level'; key: 'gziplevel' | 'brotliquality'; value: number }
  | { kind: 'skip'; message: string }
  | { kind: 'silent' };

const FILTERS: Record<string, string> = { deflate: 'gzip', brotli_compress: 'br' };

const REASONS: Record<string, string> = {
  deflatealteretag: 'stickyd weakens the ETag of a compressed response (W/"…", as nginx does) so that If-None-Match still reaches the member\'s 304; see README',
  deflatebuffersize: 'stickyd compresses each chunk as it arrives (flushed), with no buffer to size',
  deflatememlevel: 'stickyd uses zlib\'s default memory level',
  deflatewindowsize: 'stickyd uses zlib\'s default window',
  deflatefilternote: 'the access log has no compression ratio; it counts the compressed bytes sent',
  brotlicompressionwindow: 'stickyd uses mod_brotli\'s default window (18)',
  brotlicompressionmaxinputblock: 'stickyd uses brotli\'s default input block',
  brotlialteretag: 'stickyd weakens the ETag of a compressed response (W/"…", as nginx does); see README',
  brotlifilternote: 'the access log has no compression ratio; it counts the compressed bytes sent',
};

export function isCompressionDirective(lower: string): boolean {
  return lower === 'addoutputfilterbytype' || lower === 'setoutputfilter' || lower === 'addoutputfilter' || lower.startsWith('deflate') || lower.startsWith('brotli');
}

/** Read one mod_deflate / mod_brotli / mod_filter directive (its name lower-cased in `lower`). */
export function readCompressionDirective(d: ApacheDirective, lower: string): CompressionReading {
  switch (lower) {
    case 'addoutputfilterbytype': {
      const [filters, ...types] = d.args;
      if (filters === undefined || types.length === 0) throw new ApacheValueError('AddOutputFilterByType takes filter[;filter...] and media types');
      const algorithms: string[] = [];
      const dropped: string[] = [];
      for (const f of filters.split(';').filter(Boolean)) {
        const coding = FILTERS[f.toLowerCase()];
        if (coding !== undefined) algorithms.push(coding);
        else dropped.push(f);
      }
      return { kind: 'filters', algorithms, types: types.map((t) => t.toLowerCase()), dropped };
    }
    case 'deflatecompressionlevel': {
      const text = d.args[0] ?? '';
      const n = atoi(text);
      if (!isPlainInteger(text) || n < 1 || n > 9) throw new ApacheValueError('Compression Level must be between 1 and 9');
      return { kind: 'level', key: 'gziplevel', value: n };
    }
    case 'brotlicompressionquality': {
      const text = d.args[0] ?? '';
      const n = atoi(text);
      if (!isPlainInteger(text) || n < 0 || n > 11) throw new ApacheValueError('BrotliCompressionQuality must be between 0 and 11');
      return { kind: 'level', key: 'brotliquality', value: n };
    }
    case 'setoutputfilter':
    case 'addoutputfilter':
      return { kind: 'skip', message: 'stickyd compresses by media type only: list the types with AddOutputFilterByType (compression.types)' };
  }
  const why = REASONS[lower];
  return why ? { kind: 'skip', message: why } : { kind: 'skip', message: 'no stickyd equivalent' };
}

/**
 * Response compression (mod_deflate / mod_brotli): the one call the request path makes for a
 * member's response head, and what the response relay needs to compress its body.
 *
 *   negotiate.ts  Accept-Encoding → a coding (RFC 9110 §12.5.3)
 *   policy.ts     which responses, and how their head changes (Vary, ETag, Content-Length ...)
 *   encoder.ts    the streaming compressor with per-chunk flushes and back-pressure
 *
 * Off unless `compression` is configured (as in Apache); the access log then counts the
 * compressed bytes, which is what went to the client.
 */
import type { CompressionAlgorithm, CompressionConfig } from '../../config/types.js';
import { applyPolicy, requestFacts, type ResponseHead } from './policy.js';

export { ResponseEncoder, type EncoderSink } from './encoder.js';
export { chooseEncoding, parseAcceptEncoding } from './negotiate.js';
export { applyPolicy, requestFacts, type Decision, type RequestFacts, type ResponseHead } from './policy.js';

/** A response to compress: the coding, the settings (levels), and the member's Content-Length as a size hint. */
export interface CompressionPlan {
  coding: CompressionAlgorithm;
  settings: CompressionConfig;
  sizeHint: number | null;
}

/**
 * Decide for one response and edit its head in place (Vary, Content-Encoding, ETag, no
 * Content-Length when compressing). `settings`: the proxypass rule's (undefined = off);
 * `requestHeaders`: the client's raw headers. Returns the plan for the relay, or null when the
 * body goes out as it is.
 */
export function planCompression(settings: CompressionConfig | undefined, method: string, requestHeaders: readonly string[], head: ResponseHead): CompressionPlan | null {
  if (settings === undefined) return null;
  const decision = applyPolicy(settings, requestFacts(method, requestHeaders), head);
  return decision.kind === 'compress' ? { coding: decision.coding, settings, sizeHint: decision.length } : null;
}

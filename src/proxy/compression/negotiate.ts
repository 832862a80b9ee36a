/**
 * Which content coding a client gets, from its Accept-Encoding (RFC 9110 §12.5.3):
 *
 * - each entry is a coding with an optional weight `q` (0..1, three decimals at most); an entry
 *   whose weight does not parse is ignored (it says nothing reliable);
 * - `q=0` refuses a coding; `*` stands for every coding the header does not name; `x-gzip` is
 *   `gzip` (RFC 9110 §8.4.1.3);
 * - the coding with the highest weight among the ones offered wins; equal weights are broken by
 *   the order of `compression.algorithms` (the server's preference);
 * - `identity` (no coding) is always acceptable unless refused; it wins only when the client
 *   gives it a *higher* weight than the best coding (`gzip;q=0.5, identity` alone does not make
 *   identity preferred: an implicit identity has no weight);
 * - no Accept-Encoding at all: no coding. RFC 9110 would allow any, but clients that can decode
 *   always say so, and Apache (mod_deflate) and nginx do the same.
 */
import type { CompressionAlgorithm } from '../../config/types.js';

/** Weights by coding (lower-cased) as the header gives them; `*` under "*". */
export type AcceptEncoding = Map<string, number>;

const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Parse an Accept-Encoding value (repeated headers joined with ","). The first entry for a coding counts. */
export function parseAcceptEncoding(value: string): AcceptEncoding {
  const weights: AcceptEncoding = new Map();
  for (const element of value.split(',')) {
    const parts = element.split(';');
    let coding = parts[0]!.trim().toLowerCase();
    if (coding === '') continue;
    if (coding === 'x-gzip') coding = 'gzip';
    let q = 1;
    let valid = true;
    for (let i = 1; i < parts.length; i++) {
      const param = parts[i]!.trim();
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const text = param.slice(eq + 1).trim();
      if (!QVALUE.test(text)) valid = false;
      else q = Number(text);
    }
    if (!valid || weights.has(coding)) continue;
    weights.set(coding, q);
  }
  return weights;
}

/**
 * The coding to use for a client with this Accept-Encoding (null: send the response as it is).
 * `offered` is the server's order of preference.
 */
export function chooseEncoding(acceptEncoding: string | null, offered: readonly CompressionAlgorithm[]): CompressionAlgorithm | null {
  if (acceptEncoding === null) return null;
  const weights = parseAcceptEncoding(acceptEncoding);
  const star = weights.get('*');
  let best: CompressionAlgorithm | null = null;
  let bestQ = 0;
  for (const coding of offered) {
    const q = weights.get(coding) ?? star ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  if (best === null) return null;
  const identity = weights.get('identity') ?? star;
  if (identity !== undefined && identity > bestQ) return null;
  return best;
}

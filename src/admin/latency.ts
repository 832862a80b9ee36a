/**
 * A response-time histogram fine enough for percentiles: the dashboard's p50 and p99.
 *
 * The Prometheus buckets (DURATION_BUCKETS, 0.5 ms … 60 s in 1-2.5-5 steps) are Prometheus's to
 * aggregate; from them a p50 of a proxy answering in 0.8 ms could only be said to lie between 0.5
 * and 1 ms. These buckets grow by a quarter octave (× 2^¼ ≈ 1.19), from 50 µs to about 90 s: a
 * bucket's index is a binary search of seven comparisons away from the duration, a percentile
 * read from them is off by at most 19 % before interpolation, and the whole histogram
 * is LATENCY_BUCKET_COUNT numbers, small enough to post between threads every second.
 */

/** Upper bound of bucket 0, in milliseconds. */
const FIRST_MS = 0.05;
/** Buckets per doubling of the duration. */
const PER_OCTAVE = 4;
/** Bucket i holds durations in (FIRST_MS·2^((i-1)/4), FIRST_MS·2^(i/4)]; the last one everything above. */
export const LATENCY_BUCKET_COUNT = 4 * 21 + 1;
const LAST = LATENCY_BUCKET_COUNT - 1;

/** The upper bound of every bucket but the last (which has none). */
const UPPER = Float64Array.from({ length: LAST }, (_, i) => FIRST_MS * 2 ** (i / PER_OCTAVE));

/**
 * The bucket a duration (milliseconds) falls into: the first whose upper bound holds it. A binary
 * search over the bounds (seven comparisons) costs a fraction of Math.log2 on the request path.
 */
export function latencyBucket(ms: number): number {
  if (!(ms > FIRST_MS)) return 0;
  if (ms > UPPER[LAST - 1]!) return LAST;
  let lo = 1;
  let hi = LAST - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ms > UPPER[mid]!) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The upper bound of bucket i in milliseconds (the last bucket has none: its lower bound is returned). */
export function latencyUpperMs(i: number): number {
  return UPPER[Math.max(0, Math.min(i, LAST - 1))]!;
}

/** A histogram with no observations. */
export function emptyLatency(): number[] {
  return new Array<number>(LATENCY_BUCKET_COUNT).fill(0);
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram given as (bucket, count) pairs in increasing bucket
 * order, in milliseconds; null when it holds nothing. Within the bucket that holds the quantile
 * the value is interpolated geometrically (the buckets are evenly spaced on a log scale), as
 * Prometheus's histogram_quantile interpolates linearly within its linear buckets.
 */
export function quantileOfPairs(pairs: readonly number[], q: number): number | null {
  let total = 0;
  for (let k = 1; k < pairs.length; k += 2) total += pairs[k]!;
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let k = 0; k < pairs.length; k += 2) {
    const i = pairs[k]!;
    const n = pairs[k + 1]!;
    if (seen + n >= rank) {
      const upper = latencyUpperMs(i);
      if (i === 0) return upper;
      const lower = latencyUpperMs(i - 1);
      if (i === LAST) return lower;
      const within = n === 0 ? 1 : (rank - seen) / n;
      return lower * (upper / lower) ** within;
    }
    seen += n;
  }
  return latencyUpperMs(pairs[pairs.length - 2]!);
}

/** The non-zero buckets of a dense histogram as (bucket, count) pairs: what the dashboard keeps per second. */
export function toPairs(dense: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < dense.length; i++) if (dense[i]! > 0) out.push(i, dense[i]!);
  return out;
}

/** dense += the pairs (merging several seconds into one window). */
export function addPairs(dense: number[], pairs: readonly number[]): void {
  for (let k = 0; k < pairs.length; k += 2) dense[pairs[k]!]! += pairs[k + 1]!;
}

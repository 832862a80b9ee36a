/** "Did you mean ...?" for unknown keys and words: the closest candidate by edit distance. */

/** Levenshtein distance (insertions, deletions, substitutions), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[t.length] as number;
}

/**
 * The candidate closest to `input`, if it is close enough to be a plausible typo: at most a third
 * of the input's length away (at least one edit allowed) and not a complete rewrite, so
 * `stickysesion` finds `stickysession`, `INFO` finds `info`, but `PUT` does not find `GET` nor `d`
 * find `c`. Ties go to the earlier candidate.
 */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  const limit = Math.min(Math.max(1, Math.floor(input.length / 3)), input.length - 1);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(input, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

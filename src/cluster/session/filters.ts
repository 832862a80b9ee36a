/**
 * The two replication filters, with Java's `Pattern.matcher(x).matches()` semantics (the whole text
 * must match, not a substring):
 * - ReplicationValve `filter` (cluster-semantics §2.4): requests whose decoded path fully matches replicate
 *   nothing (static resources); their session changes wait for the next unfiltered request.
 * - `sessionAttributeNameFilter` (cluster-semantics §2.7): attributes whose name does NOT fully match stay on the
 *   node that set them (never replicated, not in state transfer).
 */

/** Compiles a filter given as RegExp or source text into a whole-string matcher; null/'' = none. */
export function compileFullMatch(filter: RegExp | string | null | undefined, optionName: string): RegExp | null {
  if (filter === null || filter === undefined || filter === '') return null;
  const source = typeof filter === 'string' ? filter : filter.source;
  const flags = typeof filter === 'string' ? '' : filter.flags.replace(/[gy]/g, '');
  try {
    // Anchoring a group keeps alternations (`a|b`) whole: ^(?:a|b)$, not ^a|b$.
    return new RegExp(`^(?:${source})$`, flags);
  } catch (err) {
    throw new TypeError(`${optionName} is not a valid regular expression: ${(err as Error).message}`);
  }
}

/** The decoded path of a request URL (no query), as ReplicationValve matches it. */
export function decodedPath(url: string): string {
  const q = url.indexOf('?');
  const raw = q < 0 ? url : url.slice(0, q);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // malformed %-escapes: match the raw path rather than fail the request
  }
}

/** True when the request must not replicate (its path fully matches the ReplicationValve filter). */
export function isFilteredRequest(filter: RegExp | null, url: string): boolean {
  return filter !== null && filter.test(decodedPath(url));
}

/** True when an attribute may be replicated under `sessionAttributeNameFilter`. */
export function isReplicableAttribute(filter: RegExp | null, name: string): boolean {
  return filter === null || filter.test(name);
}

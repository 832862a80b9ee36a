/**
 * Cluster payloads are JSON and nothing else: foreign data is never eval'd or structured-cloned.
 * A message containing a `__proto__`, `constructor` or `prototype` key is refused as a whole, because
 * the managers merge replicated attributes into session objects and such keys are how prototype
 * pollution gets in.
 */

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; reason: 'invalid-json' | 'forbidden-key' };

class ForbiddenKey extends Error {}

function reviver(this: unknown, key: string, value: unknown): unknown {
  if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(key);
  return value;
}

/**
 * Parses untrusted JSON text. The reviver (which slows parsing down) runs only when the raw text could
 * contain a forbidden key: every such key contains "proto" or "constructor" literally unless written
 * with a `\u` escape, so text without those substrings and without `\u` cannot hold one.
 */
export function parseClusterJson(text: string): JsonParseResult {
  const suspicious = text.includes('proto') || text.includes('constructor') || text.includes('\\u');
  try {
    return { ok: true, value: suspicious ? JSON.parse(text, reviver) : JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: err instanceof ForbiddenKey ? 'forbidden-key' : 'invalid-json' };
  }
}

/** Serialises an outgoing payload; throws a TypeError the caller sees when it is not JSON. */
export function toClusterJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`cluster message is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (text === undefined) throw new TypeError(`cluster message is not JSON-serialisable (got ${typeof value})`);
  return text;
}

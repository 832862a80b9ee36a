/**
 * Cluster payloads are JSON and nothing else: foreign data is never eval'd or structured-cloned.
 *
 * Keys such as `__proto__`, `constructor` and `prototype` are data. `JSON.parse` defines every key
 * as an own property of a fresh object (CreateDataProperty), so `{"__proto__": {...}}` becomes an
 * object with an own property named "__proto__" and the ordinary Object prototype — it never sets a
 * prototype. What keeps prototypes safe is how parsed values are used: the library reads the fields
 * it knows, builds its own objects from them, and never copies parsed objects by assignment
 * (`Object.assign`, `target[key] = …` on ordinary objects). Refusing such keys instead would make a
 * session value that contains one (an app storing a parsed form) impossible to replicate.
 */

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; reason: 'invalid-json' };

/** Parses untrusted JSON text; keys are kept as own properties at any depth (see the module comment). */
export function parseClusterJson(text: string): JsonParseResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'invalid-json' };
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

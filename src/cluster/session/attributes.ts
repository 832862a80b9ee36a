/**
 * Session attributes are JSON values. Each node keeps every attribute as its JSON text: texts are
 * compact (one byte per ASCII char), compare with `===`, go on the wire without re-serialising, and
 * every request works on its own freshly parsed copy. That copy is what makes in-place mutations
 * replicate (cluster-semantics §2.3: Tomcat misses `list.add(x)` without `setAttribute`; we compare texts, so we
 * do not) and what gives concurrent requests a defined outcome (see `mergeRequestChanges`).
 */

/** name → JSON text of the value. */
export type AttributeTexts = Map<string, string>;

/** The change of one request or one replication: attributes set (name → text) and removed. */
export interface AttributeDelta {
  set: Array<[name: string, text: string]>;
  remove: string[];
}

/** Thrown by `encodeAttribute` for a value that would not survive replication. */
export class AttributeNotSerializableError extends TypeError {
  override name = 'AttributeNotSerializableError';
  constructor(readonly attribute: string, reason: string) {
    super(
      `session attribute "${attribute}" cannot be replicated: ${reason}. ` +
        'Session attributes must be JSON values (objects, arrays, strings, numbers, booleans, null).',
    );
  }
}

/**
 * The JSON text of an attribute value, or an AttributeNotSerializableError (Tomcat rejects
 * non-Serializable values at `setAttribute` in a distributable app, cluster-semantics §2.3). `undefined` means
 * "remove" and yields null, like Tomcat's `setAttribute(name, null)`.
 */
export function encodeAttribute(name: string, value: unknown): string | null {
  if (value === undefined) return null;
  const kind = typeof value;
  if (kind === 'function' || kind === 'symbol' || kind === 'bigint') {
    throw new AttributeNotSerializableError(name, `a ${kind} is not JSON`);
  }
  if (kind === 'number' && !Number.isFinite(value as number)) {
    throw new AttributeNotSerializableError(name, `${String(value)} is not JSON`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new AttributeNotSerializableError(name, (err as Error).message);
  }
  if (text === undefined) throw new AttributeNotSerializableError(name, 'it serialises to nothing');
  return text;
}

/**
 * A request's own copy of the attributes: a null-prototype object of freshly parsed values. A text
 * that is not JSON (only a faulty peer could have sent one) is left out and reported, so one bad
 * attribute never makes the whole session unusable.
 */
export function decodeAttributes(texts: AttributeTexts, onBad?: (name: string) => void): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null);
  for (const [name, text] of texts) {
    try {
      out[name] = JSON.parse(text);
    } catch {
      onBad?.(name);
    }
  }
  return out;
}

/**
 * Attribute names that are not attributes: the keys through which an object's prototype is reached
 * (`obj.__proto__ = x` sets a prototype on an ordinary object; `constructor` and `prototype` are
 * what pollution gadgets look for). They cannot be set on `req.session` or through the store, and a
 * peer that sends one is refused. Values are different: inside a value any key is data (safe-json.ts).
 */
export const FORBIDDEN_ATTRIBUTE_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** What is wrong with an attribute name (local or from a peer), or null. */
export function attributeNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return `attribute name must be a string (got ${typeof name})`;
  if (FORBIDDEN_ATTRIBUTE_NAMES.has(name)) return `attribute name ${JSON.stringify(name)} is not allowed`;
  return null;
}

/**
 * The per-attribute difference between two states, in `to`'s key order: every name whose text
 * differs (or is new) is set, every name that disappeared is removed. Texts are compared as strings,
 * so a nested change anywhere inside a value marks that top-level attribute as changed.
 */
export function diffAttributes(from: AttributeTexts, to: AttributeTexts, replicable?: (name: string) => boolean): AttributeDelta {
  const set: Array<[string, string]> = [];
  const remove: string[] = [];
  for (const [name, text] of to) {
    if (replicable && !replicable(name)) continue;
    if (from.get(name) !== text) set.push([name, text]);
  }
  for (const name of from.keys()) {
    if (replicable && !replicable(name)) continue;
    if (!to.has(name)) remove.push(name);
  }
  return { set, remove };
}

export function isEmptyDelta(d: AttributeDelta): boolean {
  return d.set.length === 0 && d.remove.length === 0;
}

/** Applies a delta in place (set first, then remove, as both never name the same attribute). */
export function applyDelta(target: AttributeTexts, delta: AttributeDelta): void {
  for (const [name, text] of delta.set) target.set(name, text);
  for (const name of delta.remove) target.delete(name);
}

/**
 * What one request changed, comparing the copy it started with (`base`) against the values it ends
 * with (`current`, the request's object, possibly mutated in place). Also returns `texts`, the
 * request's full state as texts (the base for a further save in the same request). Values that can
 * no longer be serialised are reported in `errors` and left out (the session keeps its old value).
 */
export function requestChanges(
  base: AttributeTexts,
  current: Record<string, unknown>,
): { delta: AttributeDelta; texts: AttributeTexts; errors: AttributeNotSerializableError[] } {
  const set: Array<[string, string]> = [];
  const remove: string[] = [];
  const errors: AttributeNotSerializableError[] = [];
  const texts: AttributeTexts = new Map();
  for (const name of Object.keys(current)) {
    let text: string | null;
    try {
      const badName = attributeNameProblem(name);
      if (badName) throw new AttributeNotSerializableError(name, badName);
      text = encodeAttribute(name, current[name]);
    } catch (err) {
      errors.push(err as AttributeNotSerializableError);
      const old = base.get(name);
      if (old !== undefined) texts.set(name, old);
      continue;
    }
    if (text === null) continue; // undefined: removed below if it existed
    texts.set(name, text);
    if (base.get(name) !== text) set.push([name, text]);
  }
  for (const name of base.keys()) if (!texts.has(name)) remove.push(name);
  return { delta: { set, remove }, texts, errors };
}

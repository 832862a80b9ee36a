/**
 * The kinds of values the balancer file is made of (text, boolean, integer, duration, list,
 * mapping, ...). Each kind knows how to read itself from the YAML document (reporting problems with
 * positions), what it looks like in the JSON Schema, and how its default is written in YAML. The
 * table in schema.ts is built from these, so validation, defaults, the JSON Schema and the key
 * reference cannot disagree.
 */
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { DURATION_HINT, DurationSyntaxError, formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
import { ENV_REFERENCE_PATTERN } from './env.js';
import { childPath, type Reader, type ScalarValue } from './reader.js';
import { didYouMean } from './suggest.js';

/** A value that failed validation; its problem was already reported. */
export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export type JsonSchema = { [key: string]: unknown };

export interface ValueType<T> {
  readonly kind: 'scalar' | 'section' | 'list' | 'map' | 'either' | 'nullable';
  /** For "expected ..." messages: "an integer", "a duration", "a mapping". */
  readonly expected: string;
  /** For the key reference: "integer 0..99", "duration", "list". */
  readonly summary: string;
  jsonSchema(): JsonSchema;
  /**
   * Read the value at `path`. `at` is the offset to report at when the node is empty (the key's).
   * Returns INVALID after reporting why.
   */
  read(node: Node | null, path: string, at: number, r: Reader): T | Invalid;
  /** The value as written in YAML, for defaults in the JSON Schema and the key reference. */
  toYaml(value: T): unknown;
  /** section: its keys; list: its item; map: its values; either/nullable: the alternatives. */
  readonly keys?: Readonly<Record<string, KeyDef<unknown>>>;
  readonly item?: ValueType<unknown>;
  readonly alternatives?: ReadonlyArray<ValueType<unknown>>;
}

/** One key of a section: its value type, whether it is required, its default and documentation. */
export interface KeyDef<T> {
  readonly type: ValueType<T>;
  readonly required: boolean;
  /** The default (a function for defaults computed at load time, e.g. the host name). */
  readonly default?: T | (() => T);
  /** How the key reference and JSON Schema describe a default that is not a constant. */
  readonly defaultDoc?: string;
  /** One line: what the key does. */
  readonly doc: string;
  /** The Apache directive or parameter it corresponds to (for the "Apache → stickyd" table). */
  readonly apache?: string;
}

interface Meta {
  doc: string;
  apache?: string;
}

export function required<T>(type: ValueType<T>, meta: Meta): KeyDef<T> {
  return { type, required: true, ...meta };
}

export function withDefault<T>(type: ValueType<T>, value: T | (() => T), meta: Meta & { defaultDoc?: string }): KeyDef<T> {
  return { type, required: false, default: value, ...meta };
}

/** A key whose absence the loader resolves from other keys (`defaultDoc` says how). */
export function optional<T>(type: ValueType<T>, meta: Meta & { defaultDoc: string }): KeyDef<T | undefined> {
  return { type: type as ValueType<T | undefined>, required: false, ...meta };
}

export function defaultOf<T>(def: KeyDef<T>): T | undefined {
  return typeof def.default === 'function' ? (def.default as () => T)() : def.default;
}

/** The value of a section that is left out entirely: every key at its default. */
export function defaultsOf<T>(type: ValueType<T>): () => T {
  return () => Object.fromEntries(Object.entries(type.keys ?? {}).map(([k, def]) => [k, defaultOf(def)])) as T;
}

// ---------------------------------------------------------------------------------------------
// Scalars

/** What a scalar parser returns to refuse a value, with the message for the user. */
export class Reject {
  constructor(readonly message: string) {}
}

/** "string \"abc\"", "number 5", "a list" ... for "(got ...)" in messages. */
export function describeValue(v: ScalarValue | Node): string {
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isSeq(v)) return 'a list';
  if (isMap(v)) return 'a mapping';
  return 'a value of another kind';
}

function offsetOf(node: Node | null, at: number): number {
  const range = node?.range;
  return range && range[1] > range[0] ? range[0] : at;
}

export interface ScalarSpec<T> {
  expected: string;
  summary: string;
  /** The JSON Schema of the value as written. */
  json: JsonSchema;
  /** Check and convert a value; `${VAR}` references were already expanded. */
  parse(v: ScalarValue): T | Reject;
  toYaml?(v: T): unknown;
}

export function scalar<T>(spec: ScalarSpec<T>): ValueType<T> {
  return {
    kind: 'scalar',
    expected: spec.expected,
    summary: spec.summary,
    jsonSchema: () => withEnvAlternative(spec.json),
    read(node, path, at, r) {
      const where = offsetOf(node, at);
      if (node !== null && !isScalar(node)) {
        r.report(path, where, `expected ${spec.expected} (got ${describeValue(node)})`);
        return INVALID;
      }
      const v = node === null ? null : r.scalar(node, path);
      if (v === undefined) return INVALID;
      const result = spec.parse(v);
      if (result instanceof Reject) {
        r.report(path, where, result.message);
        return INVALID;
      }
      return result;
    },
    toYaml: spec.toYaml ?? ((v) => v),
  };
}

/**
 * A value that is not text may also be written as a `${VAR}` reference (it is typed after
 * expansion), so the JSON Schema accepts that form too; editors would flag it otherwise.
 */
function withEnvAlternative(json: JsonSchema): JsonSchema {
  const unconstrainedText = json.type === 'string' && Object.keys(json).length === 1;
  if (unconstrainedText) return json;
  const env: JsonSchema = { type: 'string', pattern: ENV_REFERENCE_PATTERN };
  if (Array.isArray(json.anyOf) && Object.keys(json).length === 1) return { anyOf: [...json.anyOf, env] };
  return { anyOf: [json, env] };
}

function typeError(expected: string, v: ScalarValue): Reject {
  const hint = typeof v === 'number' || typeof v === 'boolean' ? ` (got ${v}; quote it to make it text: "${v}")` : ` (got ${describeValue(v)})`;
  return new Reject(`expected ${expected}${hint}`);
}

export interface StrOptions {
  /** Longest allowed length (Apache's fixed-size fields: route and redirect < 64, so 63). */
  maxLength?: number;
  minLength?: number;
  /** A check beyond the length; returns the problem, or null when fine. */
  check?: (s: string) => string | null;
  /** JSON Schema pattern equivalent to `check`, when there is one. */
  pattern?: string;
  summary?: string;
}

export function str(options: StrOptions = {}): ValueType<string> {
  const { maxLength, minLength, check, pattern } = options;
  const json: JsonSchema = { type: 'string' };
  if (minLength !== undefined) json.minLength = minLength;
  if (maxLength !== undefined) json.maxLength = maxLength;
  if (pattern !== undefined) json.pattern = pattern;
  return scalar({
    expected: 'text',
    summary: options.summary ?? (maxLength !== undefined ? `text (≤ ${maxLength} chars)` : 'text'),
    json,
    parse(v) {
      if (v === null) v = '';
      if (typeof v !== 'string') return typeError('text', v);
      if (minLength !== undefined && v.length < minLength) return new Reject(v.length === 0 ? 'must not be empty' : `must be at least ${minLength} characters long (got "${v}")`);
      if (maxLength !== undefined) {
        const tooLong = lengthProblem(v, maxLength);
        if (tooLong) return new Reject(tooLong);
      }
      const problem = check?.(v);
      return problem ? new Reject(problem) : v;
    },
  });
}

/**
 * Apache's text parameters live in fixed-size fields (route, redirect: 64 bytes with the NUL), so
 * the limit is in UTF-8 bytes, which is the character count for the ASCII names in practice.
 */
export function lengthProblem(v: string, max: number): string | null {
  const bytes = Buffer.byteLength(v);
  if (bytes <= max) return null;
  return `must be at most ${max} characters long (got ${bytes}${bytes === v.length ? '' : ' bytes in UTF-8'})`;
}

/** YAML booleans and Apache's On/Off, case-insensitive (apache-semantics §7). */
export function bool(): ValueType<boolean> {
  return scalar({
    expected: 'true/false or On/Off',
    summary: 'boolean (On/Off)',
    json: { anyOf: [{ type: 'boolean' }, { type: 'string', pattern: '^([Oo][Nn]|[Oo][Ff][Ff])$' }] },
    parse(v) {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^on$/i.test(v)) return true;
      if (typeof v === 'string' && /^off$/i.test(v)) return false;
      return new Reject(`expected true/false or On/Off (got ${describeValue(v)})`);
    },
  });
}

function range(min: number, max: number | undefined, unit = ''): string {
  return max === undefined ? `at least ${min}${unit}` : `between ${min}${unit} and ${max}${unit}`;
}

export function int(min: number, max?: number): ValueType<number> {
  const json: JsonSchema = { type: 'integer', minimum: min };
  if (max !== undefined) json.maximum = max;
  return scalar({
    expected: 'an integer',
    summary: max === undefined ? `integer ≥ ${min}` : `integer ${min}..${max}`,
    json,
    parse(v) {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        if (typeof v === 'number') return new Reject(`must be a whole number (got ${v})`);
        // Only quotes make digits text (a plain value, also one from ${VAR}, is typed as YAML types it).
        if (typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v)) return new Reject(`expected an integer (got the text "${v}": leave out the quotes; a \${VAR} reference works unquoted, also inside { } and [ ])`);
        return new Reject(`expected an integer (got ${describeValue(v)})`);
      }
      if (v < min || (max !== undefined && v > max)) return new Reject(`must be ${range(min, max)} (got ${v})`);
      return v;
    },
  });
}

export interface DurationOptions {
  /** Smallest value in ms (Apache: timeouts ≥ 1 ms, retry ≥ 0). */
  min: number;
  /**
   * Refuse a bare number: used where Apache reads a bare number in another unit than seconds
   * (`acquire` is milliseconds there), so that a copied value cannot silently mean 1000× more.
   */
  requireUnit?: string;
}

const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d*)?|\\.\\d+)(ms|s|m|h)?\\s*$';

export function duration(options: DurationOptions): ValueType<number> {
  const { min, requireUnit } = options;
  const json: JsonSchema = requireUnit
    ? { type: 'string', pattern: DURATION_PATTERN.replace('(ms|s|m|h)?', '(ms|s|m|h)') }
    : { anyOf: [{ type: 'number', minimum: min / 1000 }, { type: 'string', pattern: DURATION_PATTERN }] };
  return scalar({
    expected: DURATION_HINT,
    summary: min > 0 ? `duration ≥ ${min} ms` : 'duration',
    json,
    parse(v) {
      if (typeof v !== 'number' && typeof v !== 'string') return new Reject(`expected ${DURATION_HINT} (got ${describeValue(v)})`);
      let ms: number;
      try {
        ms = parseDuration(v, requireUnit !== undefined);
      } catch (e) {
        if (!(e instanceof DurationSyntaxError)) throw e;
        return new Reject(requireUnit && /unit/.test(e.message) ? `${e.message} (${requireUnit})` : e.message);
      }
      if (ms < min) return new Reject(`must be at least ${min === 0 ? '0' : formatDuration(min)} (got ${typeof v === 'string' ? v : `${v}s`})`);
      if (ms > MAX_DURATION_MS) return new Reject(`must be at most ${formatDuration(MAX_DURATION_MS)} (about 24 days; got ${typeof v === 'string' ? v : `${v}s`})`);
      return ms;
    },
    toYaml: (ms) => formatDuration(ms),
  });
}

/** One of a fixed set of words; `caseInsensitive` maps any spelling to the listed one. */
export function oneOf<const V extends string>(values: readonly V[], options: { caseInsensitive?: boolean; rejected?: Record<string, string> } = {}): ValueType<V> {
  const list = values.join(', ');
  return scalar({
    expected: `one of ${list}`,
    summary: values.join(' | '),
    json: options.caseInsensitive
      ? { type: 'string', pattern: `^(${values.map((v) => [...v].map((c) => (/[a-z]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c)).join('')).join('|')})$` }
      : { enum: [...values] },
    parse(v) {
      if (typeof v === 'string') {
        const hit = values.find((x) => (options.caseInsensitive ? x.toLowerCase() === v.toLowerCase() : x === v));
        if (hit) return hit;
        const why = options.rejected?.[v.toLowerCase()];
        if (why) return new Reject(why);
        const guess = didYouMean(v, values);
        return new Reject(`must be one of ${list} (got "${v}")${guess ? ` — did you mean "${guess}"?` : ''}`);
      }
      return new Reject(`must be one of ${list} (got ${describeValue(v)})`);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Compound values

type SectionValue<S extends Record<string, KeyDef<any>>> = { [K in keyof S]: S[K] extends KeyDef<infer T> ? T : never };

/**
 * A mapping with a fixed set of keys. Unknown keys are reported at the key with a did-you-mean
 * suggestion; absent keys get their default; a missing required key is reported at the mapping.
 * An invalid value is replaced by the key's default so that later cross-checks do not repeat the
 * problem; the section is INVALID only when a required key is missing or invalid.
 */
export function section<S extends Record<string, KeyDef<any>>>(
  keys: S,
  what = 'a mapping',
  /** Keys that existed once, with what to write instead (reported in place of "unknown key"). */
  retired: Readonly<Record<string, string>> = {},
): ValueType<SectionValue<S>> {
  const names = Object.keys(keys);
  return {
    kind: 'section',
    expected: what,
    summary: 'mapping',
    keys,
    jsonSchema() {
      const properties: JsonSchema = {};
      const requiredKeys: string[] = [];
      for (const [name, def] of Object.entries(keys)) {
        const schema: JsonSchema = { ...def.type.jsonSchema() };
        schema.description = def.apache ? `${def.doc} (Apache: ${def.apache})` : def.doc;
        if (def.required) requiredKeys.push(name);
        else if (def.defaultDoc === undefined && def.default !== undefined && typeof def.default !== 'function') {
          schema.default = def.type.toYaml(def.default);
        }
        properties[name] = schema;
      }
      const out: JsonSchema = { type: 'object', properties, additionalProperties: false };
      if (requiredKeys.length) out.required = requiredKeys;
      return out;
    },
    read(node, path, at, r) {
      const where = offsetOf(node, at);
      if (!isMap(node)) {
        r.report(path, where, `expected ${what} with keys ${names.join(', ')} (got ${node ? describeValue(isScalar(node) ? (node.value as ScalarValue) : node) : 'an empty value'})`);
        return INVALID;
      }
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      let valid = true;
      for (const pair of node.items) {
        const keyNode = r.resolve(pair.key as Node | null);
        const keyAt = keyNode?.range?.[0] ?? where;
        if (!isScalar(keyNode) || typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number') {
          r.report(path, keyAt, 'keys must be plain names');
          valid = false;
          continue;
        }
        const name = String(keyNode.value);
        const keyPath = childPath(path, name);
        const def = keys[name];
        if (!def) {
          if (Object.hasOwn(retired, name)) {
            r.report(keyPath, keyAt, retired[name]!);
            continue;
          }
          const guess = didYouMean(name, names);
          r.report(keyPath, keyAt, `unknown key "${name}"${guess ? ` — did you mean "${guess}"?` : ` (known keys: ${names.join(', ')})`}`);
          continue;
        }
        seen.add(name);
        const valueNode = r.resolve(pair.value as Node | null);
        r.mark(keyPath, offsetOf(valueNode, keyAt), keyAt);
        const value = def.type.read(valueNode, keyPath, keyAt, r);
        if (value !== INVALID) out[name] = value;
        else if (def.required) valid = false;
        else out[name] = defaultOf(def);
      }
      for (const name of names) {
        if (seen.has(name)) continue;
        const def = keys[name] as KeyDef<unknown>;
        if (def.required) {
          r.report(childPath(path, name), where, `missing required key "${name}" (${def.doc})`);
          valid = false;
        } else {
          out[name] = defaultOf(def);
        }
      }
      r.mark(path, where);
      return valid ? (out as SectionValue<S>) : INVALID;
    },
    toYaml: (v) => v,
  };
}

/** A YAML sequence. Invalid items stay in place (as INVALID) so indexes keep matching the file. */
export function list<T>(item: ValueType<T>, options: { minItems?: number; tooFew?: string } = {}): ValueType<Array<T | Invalid>> {
  const { minItems = 0, tooFew = `must have at least ${minItems} ${minItems === 1 ? 'entry' : 'entries'}` } = options;
  return {
    kind: 'list',
    expected: 'a list',
    summary: 'list',
    item: item as ValueType<unknown>,
    jsonSchema: () => ({ type: 'array', items: item.jsonSchema(), ...(minItems ? { minItems } : {}) }),
    read(node, path, at, r) {
      const where = offsetOf(node, at);
      if (!isSeq(node)) {
        r.report(path, where, `expected a list (got ${node ? describeValue(isScalar(node) ? (node.value as ScalarValue) : node) : 'an empty value'})`);
        return INVALID;
      }
      if (node.items.length < minItems) {
        r.report(path, where, tooFew);
      }
      return node.items.map((itemNode, i) => {
        const resolved = r.resolve(itemNode as Node | null);
        const itemPath = `${path}[${i}]`;
        r.mark(itemPath, offsetOf(resolved, where));
        return item.read(resolved, itemPath, offsetOf(resolved, where), r);
      });
    },
    toYaml: (v) => v,
  };
}

/** A mapping of names chosen by the user (balancer names) to values of one type, in file order. */
export function map<T>(value: ValueType<T>, checkName: (name: string) => string | null, keyPattern: string): ValueType<Array<[string, T | Invalid]>> {
  return {
    kind: 'map',
    expected: 'a mapping',
    summary: 'mapping of names',
    item: value as ValueType<unknown>,
    jsonSchema: () => ({ type: 'object', propertyNames: { pattern: keyPattern }, additionalProperties: value.jsonSchema() }),
    read(node, path, at, r) {
      const where = offsetOf(node, at);
      if (node === null || (isScalar(node) && node.value === null)) return [];
      if (!isMap(node)) {
        r.report(path, where, `expected a mapping of names to ${value.expected}s (got ${describeValue(isScalar(node) ? (node.value as ScalarValue) : node)})`);
        return INVALID;
      }
      const out: Array<[string, T | Invalid]> = [];
      for (const pair of node.items) {
        const keyNode = r.resolve(pair.key as Node | null);
        const keyAt = keyNode?.range?.[0] ?? where;
        const name = isScalar(keyNode) ? String(keyNode.value) : '';
        const keyPath = childPath(path, name);
        const valueNode = r.resolve(pair.value as Node | null);
        r.mark(keyPath, offsetOf(valueNode, keyAt), keyAt);
        const problem = isScalar(keyNode) && keyNode.value !== null ? checkName(name) : 'expected a name';
        if (problem) r.report(keyPath, keyAt, problem);
        const v = value.read(valueNode, keyPath, keyAt, r);
        out.push([name, problem ? INVALID : v]);
      }
      return out;
    },
    toYaml: (v) => v,
  };
}

/** One of several shapes, chosen by the YAML node: text, a list or a mapping. */
export function either<A, B>(first: ValueType<A>, second: ValueType<B>): ValueType<A | B> {
  const shapeOf = (t: ValueType<unknown>) => (t.kind === 'list' ? 'seq' : t.kind === 'section' || t.kind === 'map' ? 'map' : 'scalar');
  const alternatives = [first, second] as ValueType<unknown>[];
  return {
    kind: 'either',
    expected: `${first.expected} or ${second.expected}`,
    summary: `${first.summary} or ${second.summary}`,
    alternatives,
    jsonSchema: () => ({ anyOf: [first.jsonSchema(), second.jsonSchema()] }),
    read(node, path, at, r) {
      const shape = isSeq(node) ? 'seq' : isMap(node) ? 'map' : 'scalar';
      const pick = alternatives.find((t) => shapeOf(t) === shape);
      if (!pick) {
        r.report(path, offsetOf(node, at), `expected ${first.expected} or ${second.expected} (got ${node ? describeValue(isScalar(node) ? (node.value as ScalarValue) : node) : 'an empty value'})`);
        return INVALID;
      }
      return pick.read(node, path, at, r) as A | B | Invalid;
    },
    toYaml: (v) => v,
  };
}

/** `key: ~` (or an empty value) means null: "off" for optional sections, "unset" for some values. */
export function nullable<T>(inner: ValueType<T>): ValueType<T | null> {
  return {
    kind: 'nullable',
    expected: inner.expected,
    summary: inner.summary,
    alternatives: [inner as ValueType<unknown>],
    jsonSchema: () => ({ anyOf: [inner.jsonSchema(), { type: 'null' }] }),
    read(node, path, at, r) {
      if (node === null || (isScalar(node) && node.value === null)) return null;
      return inner.read(node, path, at, r);
    },
    toYaml: (v) => (v === null ? null : inner.toYaml(v)),
  };
}

/**
 * A small JSON Schema (draft-07) checker for the keywords config/stickyd.schema.json uses. It
 * refuses any other keyword, so the generator cannot start emitting something this check would
 * silently ignore. Test-only: the product does not need a JSON Schema validator.
 */

type Schema = { [k: string]: unknown };

const ANNOTATIONS = new Set(['$schema', '$id', 'title', 'description', 'default']);
const KEYWORDS = new Set([
  'type', 'enum', 'const', 'minimum', 'maximum', 'exclusiveMaximum', 'minLength', 'maxLength', 'pattern', 'anyOf',
  'properties', 'required', 'additionalProperties', 'propertyNames', 'items', 'minItems',
]);

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function isType(v: unknown, t: string): boolean {
  const actual = typeOf(v);
  return actual === t || (t === 'number' && actual === 'integer');
}

/** The list of violations of `value` against `schema` ("" = valid), each with a JSON path. */
export function validate(schema: Schema, value: unknown, at = '$'): string[] {
  for (const k of Object.keys(schema)) {
    if (!KEYWORDS.has(k) && !ANNOTATIONS.has(k)) throw new Error(`${at}: schema keyword "${k}" is not supported by this check`);
  }
  const errors: string[] = [];
  const fail = (msg: string) => errors.push(`${at}: ${msg}`);
  if (typeof schema.type === 'string' && !isType(value, schema.type)) return [`${at}: expected ${schema.type}, got ${typeOf(value)}`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) fail(`not one of ${JSON.stringify(schema.enum)}`);
  if ('const' in schema && schema.const !== value) fail(`not ${JSON.stringify(schema.const)}`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail(`${value} < minimum ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail(`${value} > maximum ${schema.maximum}`);
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) fail(`${value} >= exclusiveMaximum ${schema.exclusiveMaximum}`);
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.minLength === 'number' && length < schema.minLength) fail(`shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) fail(`longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) fail(`${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (Array.isArray(schema.anyOf)) {
    const results = (schema.anyOf as Schema[]).map((s) => validate(s, value, at));
    if (!results.some((r) => r.length === 0)) fail(`matches none of the alternatives (${results.map((r) => r.join('; ')).join(' | ')})`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((v, i) => errors.push(...validate(schema.items as Schema, v, `${at}[${i}]`)));
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) fail(`missing required "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      if (schema.propertyNames) errors.push(...validate(schema.propertyNames as Schema, k, `${at}.${k} (name)`));
      if (props[k]) errors.push(...validate(props[k], v, `${at}.${k}`));
      else if (schema.additionalProperties === false) fail(`unknown property "${k}"`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        errors.push(...validate(schema.additionalProperties as Schema, v, `${at}.${k}`));
      }
    }
  }
  return errors;
}

/**
 * Markdown renderings of the key table for the README: every key with its type, default and
 * Apache equivalent, and the reverse view "Apache directive → stickyd key".
 */
import { defaultOf, type KeyDef, type ValueType } from './kinds.js';
import { configSchema } from './schema.js';

interface Row {
  path: string;
  def: KeyDef<unknown>;
}

/** Every key of the file in table order, with dotted paths: `balancers.<name>.members[].route`. */
export function allKeys(): Row[] {
  const rows: Row[] = [];
  const walk = (type: ValueType<unknown>, prefix: string): void => {
    switch (type.kind) {
      case 'section':
        for (const [name, def] of Object.entries(type.keys ?? {})) {
          const path = prefix ? `${prefix}.${name}` : name;
          rows.push({ path, def });
          walk(def.type, path);
        }
        break;
      case 'list':
        if (type.item) walk(type.item, `${prefix}[]`);
        break;
      case 'map':
        if (type.item) walk(type.item, `${prefix}.<name>`);
        break;
      case 'either':
      case 'nullable':
        for (const alt of type.alternatives ?? []) walk(alt, prefix);
        break;
      case 'scalar':
        break;
    }
  };
  walk(configSchema as ValueType<unknown>, '');
  return rows;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${text}\``;
}

function defaultText(def: KeyDef<unknown>): string {
  if (def.required) return 'required';
  if (def.defaultDoc !== undefined) return def.defaultDoc;
  if (typeof def.default === 'function') return 'defaults of its keys';
  const v = def.type.toYaml(defaultOf(def));
  if (v === null) return 'none';
  if (v === '') return code('""');
  if (Array.isArray(v)) return code(JSON.stringify(v));
  return code(String(v));
}

export function renderKeyReference(): string {
  const lines = ['| key | type | default | Apache | meaning |', '| --- | --- | --- | --- | --- |'];
  for (const { path, def } of allKeys()) {
    lines.push(`| ${cell(code(path))} | ${cell(def.type.summary)} | ${cell(defaultText(def))} | ${def.apache ? cell(code(def.apache)) : ''} | ${cell(def.doc)} |`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderApacheMapping(): string {
  const lines = ['| Apache directive or parameter | stickyd key |', '| --- | --- |'];
  for (const { path, def } of allKeys()) {
    if (def.apache) lines.push(`| ${cell(code(def.apache))} | ${cell(code(path))} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** Markers around the generated key reference in README.md (`npm run gen-schema` rewrites what is between). */
export const README_BEGIN = '<!-- key-reference: generated from src/config/schema.ts by `npm run gen-schema`; do not edit by hand -->';
export const README_END = '<!-- /key-reference -->';

/** The README's key section: every key, then the Apache directive → key table. */
export function renderReadmeKeySection(): string {
  return `${README_BEGIN}\n${renderKeyReference()}\n#### Apache directive → stickyd key\n\n${renderApacheMapping()}${README_END}`;
}

/** `readme` with its key section replaced by the current one (null when the markers are missing). */
export function withReadmeKeySection(readme: string): string | null {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin === -1 || end < begin) return null;
  return readme.slice(0, begin) + renderReadmeKeySection() + readme.slice(end + README_END.length);
}

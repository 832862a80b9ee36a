/**
 * The JSON Schema of the balancer file (config/stickyd.schema.json), generated from the key table
 * in schema.ts so that editors (yaml-language-server) complete and check keys with the same names,
 * ranges and defaults as `stickyd check`. Regenerate with `node --import tsx scripts/gen-schema.ts`.
 *
 * It describes the file as written: values may also be `${VAR}` references, and the checks that
 * involve several keys (duplicate routes, unknown balancers, ...) are only made by `stickyd check`.
 */
import { configSchema } from './schema.js';

export const SCHEMA_ID = 'https://github.com/stickyd/stickyd/config/stickyd.schema.json';

export function jsonSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'stickyd balancer file',
    description: "stickyd's YAML configuration: Apache mod_proxy_balancer's keys, lower-cased. Generated from src/config/schema.ts.",
    ...configSchema.jsonSchema(),
  };
}

/** The committed file's exact text. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}

/**
 * The balancer file: YAML → validated, typed Config (types.ts) with defaults; errors carry
 * file:line:col and the key path. The key table (schema.ts) also yields the JSON Schema and the
 * README's key reference.
 */
export type * from './types.js';
export { ConfigError, formatProblem, formatWarning, type ConfigProblem } from './errors.js';
export { loadConfig, parseConfig } from './load.js';
export { renderApacheMapping, renderKeyReference, renderReadmeKeySection, withReadmeKeySection } from './reference.js';
export { jsonSchema, renderJsonSchema } from './json-schema.js';
export { formatDuration, parseDuration } from './duration.js';
export { expandEnv } from './env.js';
export { parseMemberUrl, type MemberAddress } from './url.js';

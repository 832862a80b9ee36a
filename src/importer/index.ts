/**
 * `stickyd import-apache`: an Apache httpd configuration (mod_proxy / mod_proxy_balancer) → a
 * stickyd balancer file. Read (parser.ts), convert per server (convert.ts), merge the virtual
 * hosts (merge.ts), write YAML (emit.ts). What cannot be expressed is returned as diagnostics,
 * `FILE:LINE: Directive: why`, in file order.
 */
import { Converter } from './convert.js';
import { ImportError, type Diagnostic } from './diagnostics.js';
import { renderYaml } from './emit.js';
import { mergeDrafts, type YamlDocument } from './merge.js';
import { parseApacheConfig, type ParseOptions } from './parser.js';

export { ImportError, formatDiagnostic, type Diagnostic, type Origin } from './diagnostics.js';
export { GENERATED_BY } from './emit.js';
export type { ParseOptions } from './parser.js';
export type { YamlDocument } from './merge.js';

export interface ImportResult {
  /** The balancer file's text. */
  yaml: string;
  /** The same content as data. */
  document: YamlDocument;
  /** What was not converted, sorted by file (in reading order) and line. */
  diagnostics: Diagnostic[];
  /** The Apache files read, as shown in messages. */
  files: string[];
}

/**
 * Convert the Apache configuration in `file` (and what it includes). Throws ImportError when no
 * configuration can be produced: unreadable file, syntax error, Include cycle, no ProxyPass.
 */
export function importApache(file: string, options: ParseOptions = {}): ImportResult {
  const parsed = parseApacheConfig(file, options);
  const converter = new Converter();
  const drafts = converter.convert(parsed.nodes);
  const shownMain = parsed.files[0] as string;
  const merged = mergeDrafts(drafts, shownMain);
  const order = new Map(parsed.files.map((f, i) => [f, i]));
  const diagnostics = [...parsed.diagnostics, ...converter.diagnostics, ...merged.diagnostics]
    .map((d, i) => ({ d, i }))
    .sort((a, b) => (order.get(a.d.file) ?? 0) - (order.get(b.d.file) ?? 0) || a.d.line - b.d.line || a.i - b.i)
    .map(({ d }) => d);
  if (merged.document.proxypass.length === 0) {
    const why = converter.proxyPassSeen === 0
      ? 'no ProxyPass directive: there is nothing for stickyd to proxy'
      : `none of the ${converter.proxyPassSeen} ProxyPass directives could be converted`;
    throw new ImportError(null, `${shownMain}: ${why}`, diagnostics);
  }
  return { yaml: renderYaml(merged.document, shownMain), document: merged.document, diagnostics, files: parsed.files };
}

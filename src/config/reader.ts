/**
 * Walks the parsed YAML document for the value types of kinds.ts: resolves aliases, expands
 * `${VAR}` in scalars, remembers where each key path sits in the file and collects problems with
 * their line and column. Positions are those of the original text, before any expansion.
 */
import { isAlias, parse as parseYaml, Scalar, type Document, type LineCounter, type Node } from 'yaml';
import { expandEnv } from './env.js';
import type { ConfigProblem } from './errors.js';

/** A scalar's value as the value types see it (after `${VAR}` expansion). */
export type ScalarValue = string | number | boolean | null;

export interface Position {
  line: number;
  col: number;
}

export class Reader {
  readonly problems: ConfigProblem[] = [];
  /** What is valid but deserves attention (Config.warnings), with the same positions. */
  readonly warnings: ConfigProblem[] = [];
  /** Where each key path's value starts (and, under `path#key`, where its key starts). */
  private readonly positions = new Map<string, number>();

  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  position(offset: number): Position {
    const { line, col } = this.lines.linePos(Math.min(Math.max(offset, 0), this.text.length));
    return { line, col };
  }

  /** A problem at a byte offset of the file. */
  report(path: string, offset: number, message: string): void {
    this.problems.push({ file: this.file, ...this.position(offset), path, message });
  }

  /**
   * A problem about a key path read earlier (cross-field checks): at its value, or, when the key
   * was absent, at the nearest enclosing value that was present.
   */
  reportAt(path: string, message: string, atKey = false): void {
    this.report(path, this.offsetOf(path, atKey), message);
  }

  /** A warning about a key path read earlier, positioned like reportAt. */
  warnAt(path: string, message: string): void {
    this.warnings.push({ file: this.file, ...this.position(this.offsetOf(path)), path, message });
  }

  offsetOf(path: string, atKey = false): number {
    for (let p = path; ; p = parentPath(p)) {
      const at = (atKey && p === path ? this.positions.get(`${p}#key`) : undefined) ?? this.positions.get(p);
      if (at !== undefined) return at;
      if (p === '') return 0;
    }
  }

  /** Remember where a path's value (and optionally its key) starts. */
  mark(path: string, valueOffset: number, keyOffset?: number): void {
    this.positions.set(path, valueOffset);
    if (keyOffset !== undefined) this.positions.set(`${path}#key`, keyOffset);
  }

  /** The node an alias points to (`*name`), or the node itself. */
  resolve(node: Node | null | undefined): Node | null {
    if (!node) return null;
    if (isAlias(node)) return (node.resolve(this.doc) as Node | undefined) ?? null;
    return node;
  }

  /**
   * The value of a scalar node with `${VAR}` references expanded (problems reported at the
   * reference). A plain (unquoted) scalar is typed again after expansion the way YAML types it,
   * so `port: ${PORT}` is a number and `readonly: ${RO:-false}` a boolean; a quoted one stays text.
   * Returns undefined when an expansion failed.
   */
  scalar(node: Scalar, path: string): ScalarValue | undefined {
    const value = node.value as unknown;
    // A bare `!` is YAML's non-specific tag on an empty value; in this file it can only mean the
    // ProxyPass exclusion `url: !`, so read it as the text "!".
    if (value === '' && node.tag === '!') return '!';
    if (typeof value !== 'string') return value as ScalarValue;
    const expansion = expandEnv(value, this.env);
    if (!expansion.changed) return value;
    const start = node.range?.[0] ?? 0;
    const source = this.text.slice(start, node.range?.[1] ?? start);
    for (const problem of expansion.problems) {
      // Point at the reference itself when it appears verbatim in the source (it does unless escapes hid it).
      const ref = /^\$\{[^}]*\}?/.exec(value.slice(problem.index))?.[0] ?? '${';
      const inSource = source.indexOf(ref);
      this.report(path, inSource >= 0 ? start + inSource : start, problem.message);
    }
    if (expansion.problems.length > 0) return undefined;
    if (node.type !== Scalar.PLAIN) return expansion.text;
    return retype(expansion.text);
  }
}

/** YAML's own typing of a plain scalar's text: numbers and booleans become such; the rest stays text. */
function retype(text: string): ScalarValue {
  if (text.trim() === '') return text;
  try {
    const v = parseYaml(text) as unknown;
    if (typeof v === 'number' || typeof v === 'boolean') return v;
  } catch {
    // Not valid YAML on its own (e.g. "a: b: c"): it is text.
  }
  return text;
}

/** `a.b[2].c` → `a.b[2]` → `a.b` → `a` → "". */
export function parentPath(path: string): string {
  const m = /^(.*)(?:\.[^.[\]]*|\[\d+\])$/.exec(path);
  return m ? (m[1] as string) : '';
}

export function childPath(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

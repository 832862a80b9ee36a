/**
 * `${VAR}` and `${VAR:-default}` in scalar values of the balancer file, expanded from the
 * environment (the usual way to keep a secret such as the admin token out of the file).
 *
 * - `${VAR}`: the variable's value; an unset variable is an error naming it (an empty one is fine).
 * - `${VAR:-default}`: the default when VAR is unset or empty (as in the shell).
 * - `$${` stands for a literal `${`.
 * Names are `[A-Za-z_][A-Za-z0-9_]*`; the default runs to the first `}`.
 */

export interface EnvProblem {
  /** Offset of the `${` in the input text. */
  index: number;
  message: string;
}

export interface Expansion {
  text: string;
  /** Whether any `${...}` or `$${` was present (then the value is no longer the literal YAML text). */
  changed: boolean;
  problems: EnvProblem[];
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export function expandEnv(input: string, env: NodeJS.ProcessEnv): Expansion {
  const problems: EnvProblem[] = [];
  let changed = false;
  const text = input.replace(REFERENCE, (match: string, inner: string | undefined, index: number) => {
    changed = true;
    if (match === '$${') return '${';
    if (inner === undefined) {
      problems.push({ index, message: 'unterminated "${": close it with "}" (write "$${" for a literal "${")' });
      return match;
    }
    const m = NAME_AND_DEFAULT.exec(inner);
    if (!m) {
      problems.push({ index, message: `malformed reference "${match}": expected \${NAME} or \${NAME:-default}` });
      return match;
    }
    const [, name, fallback] = m as unknown as [string, string, string | undefined];
    const value = env[name];
    if (fallback !== undefined) return value ? value : fallback;
    if (value === undefined) {
      problems.push({ index, message: `environment variable ${name} is not set (write \${${name}:-default} to give a default)` });
      return match;
    }
    return value;
  });
  return { text, changed, problems };
}

/** Whether a text holds a `${...}` reference that expandEnv would replace (for the JSON Schema). */
export const ENV_REFERENCE_PATTERN = '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}';

/**
 * YAML ends a plain value at `{`, `}`, `[`, `]` and `,` inside a flow collection, so
 * `{ address: 127.0.0.1, port: ${PORT} }` would be a syntax error although the author means the
 * obvious. Before parsing, the characters YAML gives a meaning to inside each one-line `${...}`
 * reference are swapped for private-use characters of the same length (positions stay exact);
 * unshieldReferences puts them back in every scalar after parsing, before expansion. A text that
 * already holds one of those private-use characters is left as it is.
 */
const SHIELD: Readonly<Record<string, string>> = { '{': '\uE000', '}': '\uE001', '[': '\uE002', ']': '\uE003', ',': '\uE004', ':': '\uE005', '#': '\uE006' };
const UNSHIELD: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(SHIELD).map(([c, p]) => [p, c]));
const SHIELDED = /[\uE000-\uE006]/g;

export function shieldReferences(text: string): string {
  if (/[\uE000-\uE006]/.test(text)) return text;
  return text.replace(/\$\{[^}\n]*\}/g, (ref) => `$${ref.slice(1).replace(/[{}[\],:#]/g, (c) => SHIELD[c]!)}`);
}

/** The original text of a scalar that went through shieldReferences. */
export function unshieldReferences(value: string): string {
  return value.replace(SHIELDED, (p) => UNSHIELD[p]!);
}

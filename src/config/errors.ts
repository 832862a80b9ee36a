/**
 * Configuration problems and the error that carries them. Every problem names the file, the
 * 1-based line and column of the offending value (or of the key, for an unknown key) and the
 * dotted key path, so that `stickyd check` prints lines an editor can jump to:
 *
 *   stickyd.yaml:12:21: balancers.cluster.members[1].loadfactor: must be between 1 and 100 (got 0)
 */

export interface ConfigProblem {
  file: string;
  /** 1-based; 0 when the problem concerns the whole file (e.g. it cannot be read). */
  line: number;
  /** 1-based; 0 together with line 0. */
  col: number;
  /** Dotted key path such as `balancers.cluster.members[1].loadfactor`; "" for YAML syntax errors. */
  path: string;
  message: string;
}

/** One problem as one line: `FILE:LINE:COL: path: message` (parts that are unknown are left out). */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** A warning (Config.warnings) as one line: `FILE:LINE:COL: path: warning: message`. */
export function formatWarning(p: ConfigProblem): string {
  return formatProblem({ ...p, message: `warning: ${p.message}` });
}

function byPosition(list: ConfigProblem[]): ConfigProblem[] {
  return [...list].sort((a, b) => a.line - b.line || a.col - b.col);
}

/** Thrown by parseConfig/loadConfig; `message` lists every problem, one per line, in file order. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: ConfigProblem[];
  /** Warnings found next to the problems (a certificate about to expire ...), in file order. */
  readonly warnings: ConfigProblem[];

  constructor(problems: ConfigProblem[], warnings: ConfigProblem[] = []) {
    const sorted = byPosition(problems);
    super(sorted.map(formatProblem).join('\n'));
    this.problems = sorted;
    this.warnings = byPosition(warnings);
  }
}

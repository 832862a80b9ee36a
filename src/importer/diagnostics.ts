/**
 * What `stickyd import-apache` tells the user besides the YAML: one line per Apache directive (or
 * parameter) it did not carry over, in the form `FILE:LINE: Directive: why`, so that an editor can
 * jump to it; and the fatal error that stops the import (exit 1).
 */

/** Where a directive was written: the file as shown to the user, and its 1-based line. */
export interface Origin {
  file: string;
  line: number;
}

export interface Diagnostic extends Origin {
  /** The directive as written in the file (`ProxyPassMatch`, `BalancerMember`, `<Directory>`). */
  directive: string;
  /** Why it was not converted (or what was done instead). */
  message: string;
}

/** `FILE:LINE: Directive: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}: ${d.directive}: ${d.message}`;
}

/** `FILE:LINE` for naming the other side of a conflict inside a message. */
export function at(o: Origin): string {
  return `${o.file}:${o.line}`;
}

/**
 * The configuration cannot be imported at all: unreadable file, syntax error, Include cycle, no
 * ProxyPass. `origin` is null when no line is to blame (e.g. the main file cannot be read).
 */
export class ImportError extends Error {
  override name = 'ImportError';
  readonly origin: Origin | null;
  /** What was not converted before the import gave up (printed before the error). */
  readonly diagnostics: Diagnostic[];

  constructor(origin: Origin | null, message: string, diagnostics: Diagnostic[] = []) {
    super(origin ? `${at(origin)}: ${message}` : message);
    this.origin = origin;
    this.diagnostics = diagnostics;
  }
}

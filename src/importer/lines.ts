/**
 * The line layer of Apache's configuration language, as httpd's ap_cfg_getline() reads it
 * (server/util.c in 2.4.62):
 *
 * - A backslash immediately before the end of a physical line (before `\n` or `\r\n`, with no
 *   white space after it) joins the next physical line to this one; the backslash is removed and
 *   nothing is inserted, so `a\` + `  b` gives `a  b`. A comment line can be continued as well.
 * - Leading and trailing white space of the joined line is removed.
 * - Empty lines and lines whose first character is `#` are skipped. `#` anywhere else is ordinary
 *   text: httpd 2.4 has no trailing comments.
 *
 * The line number of a logical line is the physical line where it starts (httpd reports the last
 * one; the first is where a reader looks for the directive).
 */

export interface LogicalLine {
  text: string;
  /** 1-based physical line where this logical line starts. */
  line: number;
}

export function logicalLines(source: string): LogicalLine[] {
  const physical = source.split('\n');
  // A final newline ends the last line; it does not start an empty one.
  if (physical.length > 0 && physical[physical.length - 1] === '') physical.pop();
  const out: LogicalLine[] = [];
  let pending: string | null = null;
  let start = 0;
  for (let i = 0; i < physical.length; i++) {
    let text = physical[i] as string;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (pending === null) {
      pending = '';
      start = i + 1;
    }
    const continued = text.endsWith('\\');
    pending += continued ? text.slice(0, -1) : text;
    // A backslash on the last line has nothing to join; it is dropped all the same.
    if (continued && i + 1 < physical.length) continue;
    const trimmed = pending.trim();
    if (trimmed !== '' && !trimmed.startsWith('#')) out.push({ text: trimmed, line: start });
    pending = null;
  }
  return out;
}

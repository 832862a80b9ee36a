/**
 * Text helpers of the admin pages: HTML escaping, and the number formats Apache's
 * balancer-manager prints (so the page reads like the one an Apache operator knows).
 */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * apr_strfsize: a byte count in four characters, binary multiples: "  0 ", "972 ", "1.0K",
 * "9.9K", " 10K", "973K" → "1.0M"... (the To and From columns).
 */
export function strfsize(size: number): string {
  if (size < 0) return '  - ';
  if (size < 973) return `${String(Math.trunc(size)).padStart(3)} `;
  const units = 'KMGTPE';
  let unit = 0;
  let n = Math.trunc(size);
  for (;;) {
    let remain = n % 1024;
    n = Math.floor(n / 1024);
    if (n >= 973) {
      unit++;
      continue;
    }
    if (n < 9 || (n === 9 && remain < 973)) {
      remain = Math.floor((remain * 5 + 256) / 512);
      if (remain >= 10) {
        n++;
        remain = 0;
      }
      return `${n}.${remain}${units[unit]}`;
    }
    if (remain >= 512) n++;
    return `${String(n).padStart(3)}${units[unit]}`;
  }
}

/** The Factor column: lbfactor / 100 with two decimals (`%.2f`). */
export function factor(lbfactor: number): string {
  return (lbfactor / 100).toFixed(2);
}

/** A duration in ms as the manager shows it: whole seconds for the balancer timeout. */
export function seconds(ms: number): string {
  return String(Math.floor(ms / 1000));
}

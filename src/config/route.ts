/**
 * What a member `route` or `redirect` may be: ONE rule for the balancer file (schema.ts) and for
 * runtime changes through the balancer-manager and the JSON API (admin/changes.ts), so a value the
 * API refuses can never come in through the file, and the other way round.
 *
 * - At most 63 bytes in UTF-8: httpd keeps both in 64-byte fields (NUL included).
 * - No control characters (C0, DEL, C1): a route is compared with text cut out of a cookie or a
 *   URL, shown on the manager page, written to the access log and to Prometheus labels; a control
 *   character can never arrive in a session id, and in the other places it only hides or forges
 *   text. httpd takes any byte; refusing is deliberate.
 * - "" is allowed: no route (the member is only load-balanced) or no redirect.
 */
import { lengthProblem } from './kinds.js';

/** httpd's field size minus the NUL. */
export const MAX_ROUTE_BYTES = 63;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;

/** JSON Schema pattern of the same rule (for editors; the length is a separate maxLength). */
export const ROUTE_PATTERN = '^[^\\u0000-\\u001f\\u007f-\\u009f]*$';

/** The problem with a route or redirect value ("must …"), or null when it is fine. */
export function routeProblem(value: string): string | null {
  const tooLong = lengthProblem(value, MAX_ROUTE_BYTES);
  if (tooLong) return tooLong;
  const bad = CONTROL.exec(value);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return `must not contain control characters (U+${code} at position ${bad.index + 1})`;
  }
  return null;
}

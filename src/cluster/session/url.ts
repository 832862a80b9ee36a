/**
 * Session ids in URLs: the `;jsessionid=<id>` path parameter of URL rewriting (Tomcat's
 * `CoyoteAdapter.parsePathParameters`). Path parameters are read from the raw path, before
 * %-decoding, so `%3B` is not a separator; a parameter runs to the next `;` or `/`. When the same
 * parameter appears twice the last one wins (Tomcat keeps path parameters in a map).
 */

/**
 * Tomcat's `SessionConfig.getSessionUriParamName`: `jsessionid` for the default cookie name,
 * otherwise the configured cookie name itself.
 */
export function sessionUriParamName(cookieName: string): string {
  return cookieName === 'JSESSIONID' ? 'jsessionid' : cookieName;
}

export interface UrlSessionId {
  /** The id, or null when the path has no such parameter (or it is empty). */
  id: string | null;
  /** The URL with that path parameter removed, so the application's router sees the plain path. */
  url: string;
}

/** Finds `;<param>=<id>` in the path part of `url` (never in the query) and strips it. */
export function extractUrlSessionId(url: string, param: string): UrlSessionId {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.includes(';')) return { id: null, url };
  let id: string | null = null;
  let kept = '';
  let i = 0;
  while (i < path.length) {
    const semi = path.indexOf(';', i);
    if (semi < 0) {
      kept += path.slice(i);
      break;
    }
    kept += path.slice(i, semi);
    // The parameter ends at the next ';' or '/' (whichever comes first).
    let end = path.length;
    for (let j = semi + 1; j < path.length; j++) {
      if (path[j] === ';' || path[j] === '/') {
        end = j;
        break;
      }
    }
    const pv = path.slice(semi + 1, end);
    const eq = pv.indexOf('=');
    if (eq >= 0 && pv.slice(0, eq) === param) {
      const value = pv.slice(eq + 1);
      id = value === '' ? id : value;
    } else {
      kept += `;${pv}`;
    }
    i = end;
  }
  return { id, url: kept + (q < 0 ? '' : url.slice(q)) };
}

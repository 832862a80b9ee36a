/**
 * The Apache route-cookie recipe (mod_proxy_balancer docs, "Examples of a balancer
 * configuration"):
 *
 *   Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
 *   ProxySet stickysession=ROUTEID
 *
 * stickyd has it built in as a balancer's `routecookie`; this recognizes the Header line. Any
 * other use of Header is not converted.
 */

export interface RouteCookieRecipe {
  name: string;
  path: string;
  domain: string | null;
  secure: boolean;
  httponly: boolean;
  /** Cookie attributes routecookie cannot carry (Max-Age, SameSite...), as written. */
  dropped: string[];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseRouteCookieHeader(args: string[]): RouteCookieRecipe | null {
  const words = [...args];
  if (/^(always|onsuccess)$/i.test(words[0] ?? '')) words.shift();
  const [action, header, value, ...rest] = words;
  if (!action || !/^(add|append|set)$/i.test(action)) return null;
  if (!header || header.toLowerCase() !== 'set-cookie' || value === undefined) return null;
  // Only when the route changed: otherwise the cookie would be set on every response.
  if (rest.length !== 1 || rest[0] !== 'env=BALANCER_ROUTE_CHANGED') return null;

  const [pair, ...attributes] = value.split(';').map((s) => s.trim());
  const m = /^([^=]+)=\.%\{BALANCER_WORKER_ROUTE\}e$/.exec(pair ?? '');
  if (!m || !TOKEN.test(m[1] as string)) return null;

  const recipe: RouteCookieRecipe = { name: m[1] as string, path: '/', domain: null, secure: false, httponly: false, dropped: [] };
  let sawPath = false;
  for (const attribute of attributes) {
    if (attribute === '') continue;
    const eq = attribute.indexOf('=');
    const key = (eq < 0 ? attribute : attribute.slice(0, eq)).trim().toLowerCase();
    const v = eq < 0 ? '' : attribute.slice(eq + 1).trim();
    if (key === 'path' && v.startsWith('/')) {
      recipe.path = v;
      sawPath = true;
    } else if (key === 'domain' && v !== '') {
      recipe.domain = v;
    } else if (key === 'secure' && eq < 0) {
      recipe.secure = true;
    } else if (key === 'httponly' && eq < 0) {
      recipe.httponly = true;
    } else {
      recipe.dropped.push(attribute);
    }
  }
  // Without a Path a browser scopes the cookie to the request's directory; routecookie always sets one.
  if (!sawPath) recipe.dropped.push('(no Path: stickyd sets Path=/)');
  return recipe;
}

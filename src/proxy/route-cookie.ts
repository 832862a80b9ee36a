/**
 * The route cookie: Apache's documented recipe for stickiness without a session cookie of the
 * application (mod_proxy_balancer docs, "Examples of a balancer configuration"):
 *
 *   Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
 *
 * built in: when the balancer has `routecookie` and the final choice set BALANCER_ROUTE_CHANGED,
 * the response carries `<name>=<sep><member route>`. The leading separator matters: a value
 * without it yields no route at all (apache-semantics §2.3), which is why the recipe has its leading dot.
 */
import type { RouteCookieConfig } from '../config/types.js';

/**
 * The Set-Cookie value. `separator` is the balancer's stickysessionsep (null = Off: the whole
 * value is the route, so no separator is written).
 */
export function routeCookie(rc: RouteCookieConfig, separator: string | null, route: string): string {
  let v = `${rc.name}=${separator ?? ''}${route}; Path=${rc.path}`;
  if (rc.domain !== null && rc.domain !== '') v += `; Domain=${rc.domain}`;
  if (rc.secure) v += '; Secure';
  if (rc.httponly) v += '; HttpOnly';
  return v;
}

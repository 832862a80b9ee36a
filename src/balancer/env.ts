/**
 * The BALANCER_* environment variables (B:317, B:595, B:604-630; apache-semantics §2.7) that Apache exposes to
 * logs and headers, built from the choices of a request's attempts. httpd keeps them in the request's
 * environment table, so each attempt overwrites the NAME, WORKER and SESSION variables, a
 * ROUTE_CHANGED set by any attempt stays set, and a refused or unavailable attempt sets nothing and
 * leaves earlier values alone.
 */
import { balancerUrl, type Balancer } from './balancer.js';
import type { Chosen } from './select.js';

export interface BalancerVariables {
  /** `balancer://name`. */
  BALANCER_NAME: string;
  /** The member's normalized URL. */
  BALANCER_WORKER_NAME: string;
  /** The member's route, "" when it has none (defined but empty). */
  BALANCER_WORKER_ROUTE: string;
  /** The stickysession name that produced the route; only when a route was extracted. */
  BALANCER_SESSION_STICKY?: string;
  /** The extracted route (may be ""); only when a route was extracted. */
  BALANCER_SESSION_ROUTE?: string;
  /** "1" once any attempt changed the route. */
  BALANCER_ROUTE_CHANGED?: '1';
}

/**
 * The variables after one more attempt got `chosen`. `previous` is what earlier attempts of the same
 * request left (null before the first); it is not modified. An implicit balancer (a direct worker)
 * sets none, as mod_proxy_balancer declines URLs that are not balancer:// ones.
 */
export function recordChoice(previous: BalancerVariables | null, b: Balancer, chosen: Chosen): BalancerVariables | null {
  if (b.config.implicit) return previous;
  const env: BalancerVariables = { ...previous, BALANCER_NAME: balancerUrl(b), BALANCER_WORKER_NAME: chosen.member.name, BALANCER_WORKER_ROUTE: chosen.member.route };
  if (chosen.sessionRoute !== null && chosen.stickyName !== null) {
    env.BALANCER_SESSION_STICKY = chosen.stickyName;
    env.BALANCER_SESSION_ROUTE = chosen.sessionRoute;
  }
  if (chosen.routeChanged) env.BALANCER_ROUTE_CHANGED = '1';
  return env;
}

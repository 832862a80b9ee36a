/**
 * JvmRouteBinderValve (cluster-semantics §3.2): a request that presents another node's route for a session this
 * node holds takes the session over — same hex, our route — so the proxy sends the client here from
 * now on. Decision table (cluster-semantics §3.2 steps 3–5, §6.2 "Binder edge cases"):
 *
 * | presented id                      | this node holds             | result                               |
 * |-----------------------------------|-----------------------------|--------------------------------------|
 * | no dot (no route)                 | —                           | untouched                            |
 * | `<hex>.<ours>`                    | `<hex>.<ours>`              | untouched (the ordinary case)        |
 * | `<hex>.<other>` (known or not)    | `<hex>.<other>`             | renamed to `<hex>.<ours>`, replicated |
 * | `<hex>.<other>`                   | only `<hex>.<ours>`         | rewritten (a concurrent request already renamed it) |
 * | `<hex>.<any>`                     | only `<hex>.<third>`        | renamed from `<hex>.<third>` to `<hex>.<ours>` (ours only) |
 * | `<hex>.<any>`                     | none of these               | untouched: the app gets a new session |
 *
 * The fifth row is ours, not Tomcat's: after a fail-over, concurrent requests of one client can
 * reach different survivors; one renames the session to its route, and Tomcat's valve on another
 * node, knowing neither the presented id nor `<hex>.<its route>`, lets the app start a new session
 * — the client loses its session (also when the id it presents carries this node's own route and
 * another node has just taken the session over). We look for the hex under the routes of the live
 * members as well and take the session over from there.
 *
 * Renaming replicates as DeltaManager CHANGE_SESSION_ID or BackupManager remove + put (the
 * manager's changeSessionId). The caller sets the new cookie and exposes the original id.
 */
import type { ReplicationOutcome, SessionManager } from '../managers/manager.js';
import { splitSessionId, withRoute } from '../session/id.js';
import type { ClusterSession } from '../session/session.js';

export type BinderResult =
  | { kind: 'none' }
  | { kind: 'renamed'; session: ClusterSession; originalId: string; replication: Promise<ReplicationOutcome> }
  | { kind: 'rewritten'; session: ClusterSession; originalId: string };

export async function bindRoute(manager: SessionManager, requestedId: string, localRoute: string): Promise<BinderResult> {
  const { route } = splitSessionId(requestedId);
  if (route === null) return { kind: 'none' };
  const newId = withRoute(requestedId, localRoute);
  if (route !== localRoute) {
    const session = await manager.findSession(requestedId);
    if (session) {
      return { kind: 'renamed', session, originalId: requestedId, replication: manager.changeSessionId(session, newId) };
    }
    const moved = await manager.findSession(newId);
    if (moved) return { kind: 'rewritten', session: moved, originalId: requestedId };
  } else if (manager.knows(requestedId)) {
    return { kind: 'none' }; // ours and here: the ordinary case
  }
  // Renamed elsewhere meanwhile (see the module comment): the same hex under a live member's route.
  for (const other of manager.peerRoutes()) {
    if (other === route || other === localRoute) continue;
    const renamedId = withRoute(requestedId, other);
    if (!manager.knows(renamedId)) continue;
    const renamed = await manager.findSession(renamedId);
    if (renamed) {
      return { kind: 'renamed', session: renamed, originalId: requestedId, replication: manager.changeSessionId(renamed, newId) };
    }
  }
  return { kind: 'none' };
}

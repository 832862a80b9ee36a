/**
 * JvmRouteBinderValve (cluster-semantics §3.2): a request that presents another node's route for a session this
 * node holds takes the session over — same hex, our route — so the proxy sends the client here from
 * now on. Decision table (cluster-semantics §3.2 steps 3–5, §6.2 "Binder edge cases"):
 *
 * | presented id                      | this node holds             | result                               |
 * |-----------------------------------|-----------------------------|--------------------------------------|
 * | no dot (no route) or our route    | —                           | untouched                            |
 * | `<hex>.<other>` (known or not)    | `<hex>.<other>`             | renamed to `<hex>.<ours>`, replicated |
 * | `<hex>.<other>`                   | only `<hex>.<ours>`         | rewritten (a concurrent request already renamed it) |
 * | `<hex>.<other>`                   | neither                     | untouched: the app gets a new session |
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
  if (route === null || route === localRoute) return { kind: 'none' };
  const newId = withRoute(requestedId, localRoute);
  const session = await manager.findSession(requestedId);
  if (session) {
    return { kind: 'renamed', session, originalId: requestedId, replication: manager.changeSessionId(session, newId) };
  }
  const moved = await manager.findSession(newId);
  if (moved) return { kind: 'rewritten', session: moved, originalId: requestedId };
  return { kind: 'none' };
}

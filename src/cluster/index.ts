/**
 * stickyd/cluster: Tomcat-style session replication for Node.js backends.
 *
 *   import { createClusterNode } from 'stickyd/cluster';
 *   const node = createClusterNode({
 *     jvmRoute: 'jvm_a',
 *     membership: { type: 'static', members: ['127.0.0.1:4001'] },
 *     receiver: { address: '127.0.0.1', port: 4000 },
 *     manager: 'delta', sendOptions: 'sync', secret: process.env.CLUSTER_SECRET,
 *   });
 *   app.use(node.middleware());
 *   await node.ready;
 *   app.listen(8081);
 */
import { createChannel } from './channel/index.js';
import { ClusterNode } from './node.js';
import { resolveNodeOptions, type ClusterNodeOptions } from './options.js';
import { NoChannel } from './store/no-channel.js';
import { RedisSessionManager } from './store/redis-manager.js';

/**
 * Creates a cluster node and starts it: `node.ready` resolves once it is a member and has the
 * cluster's sessions. Throws ClusterOptionsError / ChannelConfigError for bad options.
 */
export function createClusterNode(options: ClusterNodeOptions): ClusterNode {
  const resolved = resolveNodeOptions(options); // fail fast on our options before any socket is opened
  if (resolved.store) {
    // Redis is the shared state: no peers, so no channel; the manager talks to Redis.
    const store = resolved.store;
    return new ClusterNode(options, new NoChannel(options.jvmRoute), (ctx) => new RedisSessionManager({ ...ctx, store }));
  }
  const logger = options.logger;
  const channel = createChannel({
    jvmRoute: options.jvmRoute,
    receiver: options.receiver!,
    membership: options.membership!,
    ...(options.domain !== undefined ? { domain: options.domain } : {}),
    ...(options.secret !== undefined ? { secret: options.secret } : {}),
    ...(options.sender !== undefined ? { sender: options.sender } : {}),
    ...(options.failureDetector !== undefined ? { failureDetector: options.failureDetector } : {}),
    ...(logger ? { logger: logger.child({ jvmRoute: options.jvmRoute }) } : {}),
    // One time source for the whole library: the channel reads the same clock as the managers.
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return new ClusterNode(options, channel);
}

export { ClusterNode, type ClusterNodeStats } from './node.js';
export { NODE_DEFAULTS, type ClusterNodeOptions, type SendMode } from './options.js';
export { TooManyActiveSessionsError, ReplicationError, ClusterOptionsError } from './errors.js';
export { SessionStoreUnavailableError } from './store/errors.js';
export type { RedisStoreOptions } from './store/options.js';
export type { RedisStoreStats } from './store/stats.js';
export { AttributeNotSerializableError } from './session/attributes.js';
export type { HttpSession } from './middleware/http-session.js';
export type { ClusterRequest, Middleware, NextFunction } from './middleware/middleware.js';
export type { ClusterStore, ExpressSessionModule, StoreSessionData } from './middleware/express-session-store.js';
export type { CookieAdapterOptions } from './middleware/express-session-adapter.js';
export type { SessionInspection } from './session/session.js';
export type { ManagerStats, ManagerCounters, StateTransferStats } from './managers/stats.js';
export { generateSessionId, splitSessionId } from './session/id.js';
export type { Channel, ClusterMember, ChannelStats } from './channel/index.js';
export type { DnsMembershipOptions, MulticastMembershipOptions, StaticMembershipOptions } from './channel/index.js';
export { ChannelConfigError } from './channel/index.js';

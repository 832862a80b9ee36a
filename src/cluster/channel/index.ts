/**
 * stickyd/cluster's group channel: membership (static, DNS or multicast), TCP failure detection and the
 * authenticated TCP transport the session managers replicate over. See types.ts for the contract
 * and options.ts for every option with its Tomcat name and default.
 */
import { GroupChannel } from './group-channel.js';
import { resolveChannelOptions, type ChannelOptions } from './options.js';
import type { Channel } from './types.js';

export type { Channel, ChannelStats, ClusterMember, SendOptions, SendResult } from './types.js';
export type { ChannelOptions, DnsMembershipOptions, MulticastMembershipOptions, StaticMembershipOptions } from './options.js';
export { CHANNEL_DEFAULTS, ChannelConfigError } from './options.js';
export { ChannelError, RemoteHandlerError, type ChannelErrorCode } from './errors.js';
export type { DropReason } from './counters.js';

/**
 * Creates a cluster channel; nothing is opened until `start()`. Throws ChannelConfigError for bad
 * options (e.g. "secret is required when the receiver binds beyond loopback").
 */
export function createChannel(options: ChannelOptions): Channel {
  return new GroupChannel(resolveChannelOptions(options), options.logger);
}

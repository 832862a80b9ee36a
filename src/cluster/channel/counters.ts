/**
 * The counters behind `channel.stats()` and the single place a dropped frame is reported, so every
 * drop is counted, emitted as 'dropped' and logged the same way.
 */
import type { ChannelStats } from './types.js';

/** Why an incoming frame or datagram was dropped (the 'dropped' event's argument). */
export type DropReason =
  | 'oversized'
  | 'malformed'
  | 'truncated'
  | 'forged'
  | 'replayed'
  | 'invalid-json'
  | 'domain'
  | 'unverified'
  | 'unauthenticated';

export interface Counters {
  readonly stats: ChannelStats;
  /** Counts a dropped frame; `detail` says where from, for the log. */
  drop(reason: DropReason, detail: string): void;
}

export function emptyStats(): ChannelStats {
  return {
    membersAdded: 0,
    membersRemoved: 0,
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    framesDropped: 0,
    suspectsKept: 0,
    internalErrors: 0,
    dnsRefreshes: 0,
    dnsFailures: 0,
  };
}

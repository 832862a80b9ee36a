/**
 * ChannelOptions: the configuration contract of the group channel, with Tomcat's names and defaults
 * (cluster-semantics §1.1 McastService, §1.2 TcpFailureDetector, §2.1 sender). `resolveChannelOptions` is the one
 * place that applies defaults and rejects bad input with an error that says what to change.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { addressOf } from './member.js';

/** Static membership (no multicast): for clouds, containers and laptops; the demo uses it. */
export interface StaticMembershipOptions {
  type: 'static';
  /**
   * `"host:port"` of the other nodes' receivers (IPv6 as `"[::1]:4000"`). Listing this node's own
   * receiver is harmless (it is skipped), so every node may share one list. Nodes that are not up
   * yet simply fail to connect until they come up.
   */
  members: string[];
  /** Heartbeat interval in ms (Tomcat's mcastFrequency). Default 500. */
  frequency?: number;
  /** A member that sent no heartbeat for this long is suspected and TCP-verified (memberDropTime). Default 3000. */
  dropTime?: number;
}

/** Multicast membership (Tomcat's McastService). Only on networks that carry multicast. */
export interface MulticastMembershipOptions {
  type: 'multicast';
  /** Multicast group address. Default `228.0.0.4` (Tomcat's). Address and port together define the cluster. */
  address?: string;
  /** UDP port of the group. Default 45564 (Tomcat's). */
  port?: number;
  /** Heartbeat interval in ms (mcastFrequency). Default 500. */
  frequency?: number;
  /** Silence after which a member is suspected and TCP-verified (memberDropTime). Default 3000. */
  dropTime?: number;
  /** IP_MULTICAST_TTL of the heartbeats. Default: the OS default (1). */
  ttl?: number;
  /** Local interface address used to send (IP_MULTICAST_IF) and to join the group. Default: the OS's choice. */
  bind?: string;
}

export interface ChannelOptions {
  /** This node's jvmRoute (the session id suffix the proxy routes on). */
  jvmRoute: string;
  /**
   * Tomcat's manager name / application context. Members advertising a different domain are
   * ignored and their messages dropped (DomainFilterInterceptor). Default `""`.
   */
  domain?: string;
  /**
   * Where this node receives replication traffic: TCP `address:port` (Tomcat's Receiver). The address
   * is also what peers connect to, so it must be a concrete address (not 0.0.0.0). `port: 0` picks a
   * free port; `channel.local.port` holds it after `start()`.
   */
  receiver: {
    address: string;
    port: number;
    /** Largest accepted frame in bytes, checked from the length header before buffering. Default 16 MiB. */
    maxFrameSize?: number;
  };
  membership: StaticMembershipOptions | MulticastMembershipOptions;
  /**
   * Shared secret (the same on every node): connections are authenticated by a challenge–response
   * handshake and every frame and heartbeat carries an HMAC-SHA256 with replay protection. Required
   * whenever the membership can reach other hosts — multicast, a static member that is not a
   * loopback address, or a receiver beyond loopback — since the cluster would otherwise accept
   * anyone's members and sessions.
   */
  secret?: string;
  sender?: {
    /** Ack and request timeout in ms (Tomcat's sender `timeout`). Default 3000. */
    timeout?: number;
    /** Bytes queued per peer before further sends to it fail (Tomcat's dispatch queue limit). Default 64 MiB. */
    maxQueueBytes?: number;
  };
  failureDetector?: {
    /** TCP verification probe: connect (and answer) timeout in ms (TcpFailureDetector `connectTimeout`). Default 1000. */
    connectTimeout?: number;
  };
  /** pino logger for membership changes and dropped frames (debug/info/warn). Default: silent. */
  logger?: Logger;
  /**
   * Time source in ms since the epoch (tests inject one): member start times, heartbeat timestamps,
   * dropTime, replay windows, start-up waits and back-off all read it. Default Date.now.
   */
  clock?: () => number;
}

/** Tomcat's defaults, one object (cluster-semantics §1.1, §1.2, §2.1). */
export const CHANNEL_DEFAULTS = {
  domain: '',
  maxFrameSize: 16 * 1024 * 1024,
  frequency: 500,
  dropTime: 3000,
  multicastAddress: '228.0.0.4',
  multicastPort: 45564,
  senderTimeout: 3000,
  maxQueueBytes: 64 * 1024 * 1024,
  connectTimeout: 1000,
} as const;

export interface HostPort {
  host: string;
  port: number;
}

/** Options after defaults and validation: what the channel's parts are built from. */
export interface ResolvedChannelOptions {
  jvmRoute: string;
  domain: string;
  receiver: { address: string; port: number; maxFrameSize: number };
  membership:
    | { type: 'static'; members: HostPort[]; frequency: number; dropTime: number }
    | {
        type: 'multicast';
        address: string;
        port: number;
        frequency: number;
        dropTime: number;
        ttl: number | undefined;
        bind: string | undefined;
      };
  secret: Buffer | null;
  senderTimeout: number;
  maxQueueBytes: number;
  connectTimeout: number;
  now: () => number;
}

/** A configuration error: the message names the option and what to do. */
export class ChannelConfigError extends Error {
  override name = 'ChannelConfigError';
}

function fail(msg: string): never {
  throw new ChannelConfigError(msg);
}

function positiveInt(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    fail(`${name} must be a positive integer (got ${JSON.stringify(value)})`);
  }
  return value;
}

function portNumber(value: unknown, name: string, allowZero: boolean): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    fail(`${name} must be an integer port ${allowZero ? '0' : '1'}..65535 (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** `"host:port"` or `"[v6]:port"` → HostPort, with an error naming the bad entry. */
export function parseHostPort(text: string, name: string): HostPort {
  if (typeof text !== 'string') fail(`${name} must be a "host:port" string (got ${JSON.stringify(text)})`);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text);
  if (!m) fail(`${name} must look like "host:port" or "[ipv6]:port" (got ${JSON.stringify(text)})`);
  return { host: m[1]!, port: portNumber(Number(m[2]), `${name} port`, false) };
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(address: string): boolean {
  if (address === 'localhost' || address === '::1') return true;
  if (net.isIPv4(address)) return address.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]!.startsWith('127.') : false;
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** Applies defaults and validates; throws ChannelConfigError with a message that says what to fix. */
export function resolveChannelOptions(options: ChannelOptions): ResolvedChannelOptions {
  if (options === null || typeof options !== 'object') fail('createChannel needs an options object');
  const { jvmRoute } = options;
  if (typeof jvmRoute !== 'string' || jvmRoute === '' || /[\s;,=]/.test(jvmRoute)) {
    fail(`jvmRoute must be a non-empty string without spaces, ';', ',' or '=' (got ${JSON.stringify(jvmRoute)})`);
  }
  const domain = options.domain ?? CHANNEL_DEFAULTS.domain;
  if (typeof domain !== 'string') fail(`domain must be a string (got ${JSON.stringify(domain)})`);

  const r = options.receiver;
  if (!r || typeof r !== 'object') fail('receiver { address, port } is required');
  if (typeof r.address !== 'string' || isWildcard(r.address)) {
    fail(
      `receiver.address must be the concrete address peers connect to, e.g. "127.0.0.1" or this host's IP ` +
        `(got ${JSON.stringify(r.address)})`,
    );
  }
  const receiver = {
    address: r.address,
    port: portNumber(r.port, 'receiver.port', true),
    maxFrameSize: positiveInt(r.maxFrameSize, 'receiver.maxFrameSize', CHANNEL_DEFAULTS.maxFrameSize),
  };
  if (receiver.maxFrameSize < 1024) fail('receiver.maxFrameSize must be at least 1024 bytes');

  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret === '')) {
    fail('secret must be a non-empty string');
  }
  const secret = options.secret ? Buffer.from(options.secret, 'utf8') : null;
  if (options.clock !== undefined && typeof options.clock !== 'function') fail('clock must be a function returning ms since the epoch');

  const m = options.membership;
  if (!m || typeof m !== 'object') fail("membership { type: 'static' | 'multicast', ... } is required");
  const frequency = positiveInt(m.frequency, 'membership.frequency', CHANNEL_DEFAULTS.frequency);
  const dropTime = positiveInt(m.dropTime, 'membership.dropTime', CHANNEL_DEFAULTS.dropTime);
  if (dropTime <= frequency) {
    fail(`membership.dropTime (${dropTime}) must be larger than membership.frequency (${frequency})`);
  }
  let membership: ResolvedChannelOptions['membership'];
  if (m.type === 'static') {
    if (!Array.isArray(m.members)) fail('membership.members must be an array of "host:port" strings');
    membership = {
      type: 'static',
      members: m.members.map((s, i) => parseHostPort(s, `membership.members[${i}]`)),
      frequency,
      dropTime,
    };
  } else if (m.type === 'multicast') {
    const address = m.address ?? CHANNEL_DEFAULTS.multicastAddress;
    if (!net.isIPv4(address) || Number(address.split('.')[0]) < 224 || Number(address.split('.')[0]) > 239) {
      fail(`membership.address must be an IPv4 multicast address 224.0.0.0-239.255.255.255 (got ${JSON.stringify(address)})`);
    }
    if (m.ttl !== undefined && (!Number.isInteger(m.ttl) || m.ttl < 0 || m.ttl > 255)) {
      fail(`membership.ttl must be an integer 0..255 (got ${JSON.stringify(m.ttl)})`);
    }
    if (m.bind !== undefined && !net.isIPv4(m.bind)) {
      fail(`membership.bind must be the IPv4 address of a local interface (got ${JSON.stringify(m.bind)})`);
    }
    membership = {
      type: 'multicast',
      address,
      port: m.port === undefined ? CHANNEL_DEFAULTS.multicastPort : portNumber(m.port, 'membership.port', false),
      frequency,
      dropTime,
      ttl: m.ttl,
      bind: m.bind,
    };
  } else {
    fail(`membership.type must be 'static' or 'multicast' (got ${JSON.stringify((m as { type?: unknown }).type)})`);
  }

  // Tomcat assumes a trusted network; we refuse to exchange members and sessions with other hosts
  // without authenticating them.
  const reach = reachBeyondLoopback(receiver.address, membership);
  if (!secret && reach) {
    fail(`secret is required: ${reach} reaches beyond this host; set the same secret on every node`);
  }

  return {
    jvmRoute,
    domain,
    receiver,
    membership,
    secret,
    senderTimeout: positiveInt(options.sender?.timeout, 'sender.timeout', CHANNEL_DEFAULTS.senderTimeout),
    maxQueueBytes: positiveInt(options.sender?.maxQueueBytes, 'sender.maxQueueBytes', CHANNEL_DEFAULTS.maxQueueBytes),
    connectTimeout: positiveInt(
      options.failureDetector?.connectTimeout,
      'failureDetector.connectTimeout',
      CHANNEL_DEFAULTS.connectTimeout,
    ),
    now: options.clock ?? Date.now,
  };
}

/** What makes this configuration reach other hosts (for the error message), or null for loopback only. */
function reachBeyondLoopback(receiverAddress: string, membership: ResolvedChannelOptions['membership']): string | null {
  if (membership.type === 'multicast') return "membership.type 'multicast'";
  if (!isLoopback(receiverAddress)) return `receiver.address ${JSON.stringify(receiverAddress)}`;
  const i = membership.members.findIndex((t) => !isLoopback(t.host));
  if (i >= 0) return `membership.members[${i}] ${JSON.stringify(addressOf(membership.members[i]!))}`;
  return null;
}

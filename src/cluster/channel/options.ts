/**
 * ChannelOptions: the configuration contract of the group channel, with Tomcat's names and defaults
 * (cluster-semantics §1.1 McastService, §1.2 TcpFailureDetector, §2.1 sender). `resolveChannelOptions` is the one
 * place that applies defaults and rejects bad input with an error that says what to change.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { DurationSyntaxError, parseDuration } from '../../config/duration.js';
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

/**
 * DNS membership (Tomcat's DNSMembershipProvider, cloud membership): the members are the addresses
 * a name resolves to, looked up again every `interval` — a Kubernetes headless Service, a compose
 * network alias, or any A/AAAA/SRV record. DNS says where to look for members; the heartbeats and
 * TCP probes say who is alive (see dns-membership.ts). Always needs a secret: DNS can name any host.
 */
export interface DnsMembershipOptions {
  type: 'dns';
  /** The name to resolve, e.g. `app-headless.default.svc.cluster.local` or `_cluster._tcp.app.example`. */
  name: string;
  /**
   * Receiver port of the members: then `name`'s A and AAAA records are the members' addresses.
   * Without `port`, `name` is looked up as an SRV record, which gives every member's host and port.
   */
  port?: number;
  /** How often the name is resolved again: ms, or a duration such as `'5s'`. Default 5000. */
  interval?: number | string;
  /** DNS servers to ask (`"ip"` or `"ip:port"`, `"[v6]:port"`), instead of the system's (/etc/resolv.conf). */
  servers?: string[];
  /** Per-try timeout of a lookup in ms (node:dns Resolver `timeout`). Default 2000. */
  timeout?: number;
  /** Tries per server before a lookup fails (node:dns Resolver `tries`). Default 2. */
  tries?: number;
  /** Heartbeat interval in ms (Tomcat's mcastFrequency). Default 500. */
  frequency?: number;
  /** Silence after which a member is suspected and TCP-verified (memberDropTime). Default 3000. */
  dropTime?: number;
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
   * Where this node receives replication traffic: TCP `address:port` (Tomcat's Receiver). A concrete
   * address is also what peers connect to. `0.0.0.0` or `::` (every interface) is allowed with a
   * secret; peers then connect to `advertise`. `port: 0` picks a free port; `channel.local.port`
   * holds it after `start()`.
   */
  receiver: {
    address: string;
    port: number;
    /**
     * The address peers reach this node at, when `address` is `0.0.0.0`/`::` (e.g. a pod's IP from
     * the downward API). Default: with DNS membership the address of the DNS answer that belongs to
     * one of this host's interfaces, else the host's first non-internal IPv4 (then IPv6) address.
     */
    advertise?: string;
    /** Largest accepted frame in bytes, checked from the length header before buffering. Default 16 MiB. */
    maxFrameSize?: number;
  };
  membership: StaticMembershipOptions | MulticastMembershipOptions | DnsMembershipOptions;
  /**
   * Shared secret (the same on every node): connections are authenticated by a challenge–response
   * handshake and every frame and heartbeat carries an HMAC-SHA256 with replay protection. Required
   * whenever the membership can reach other hosts — multicast, DNS, a static member that is not a
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
  dnsInterval: 5000,
  dnsTimeout: 2000,
  dnsTries: 2,
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
  /** `advertise` is the address peers connect to: set, or undefined for a wildcard bind (found at start). */
  receiver: { address: string; port: number; advertise: string | undefined; maxFrameSize: number };
  membership:
    | { type: 'static'; members: HostPort[]; frequency: number; dropTime: number }
    | {
        type: 'dns';
        name: string;
        /** A/AAAA port, or undefined for SRV. */
        port: number | undefined;
        interval: number;
        servers: string[] | undefined;
        timeout: number;
        tries: number;
        frequency: number;
        dropTime: number;
      }
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

export function isWildcard(address: string): boolean {
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

  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret === '')) {
    fail('secret must be a non-empty string');
  }
  const secret = options.secret ? Buffer.from(options.secret, 'utf8') : null;

  const r = options.receiver;
  if (!r || typeof r !== 'object') fail('receiver { address, port } is required');
  if (typeof r.address !== 'string' || r.address === '') {
    fail(`receiver.address must be an address such as "127.0.0.1", this host's IP, or "0.0.0.0" (got ${JSON.stringify(r.address)})`);
  }
  const wildcard = isWildcard(r.address);
  if (wildcard && !secret) {
    // Every interface means other hosts: and without a concrete address, peers need `advertise`.
    fail(
      `secret is required: receiver.address ${JSON.stringify(r.address)} listens on every interface; set the same ` +
        `secret on every node, or bind the concrete address peers connect to`,
    );
  }
  if (r.advertise !== undefined) {
    if (typeof r.advertise !== 'string' || !net.isIP(r.advertise) || isWildcard(r.advertise)) {
      fail(`receiver.advertise must be the IP address peers connect to, e.g. "10.1.2.3" (got ${JSON.stringify(r.advertise)})`);
    }
    if (!wildcard && r.advertise !== r.address) {
      fail(`receiver.advertise is only for a receiver bound to 0.0.0.0 or ::; with a concrete address peers connect to receiver.address`);
    }
  }
  const receiver = {
    address: r.address,
    port: portNumber(r.port, 'receiver.port', true),
    advertise: wildcard ? r.advertise : r.address,
    maxFrameSize: positiveInt(r.maxFrameSize, 'receiver.maxFrameSize', CHANNEL_DEFAULTS.maxFrameSize),
  };
  if (receiver.maxFrameSize < 1024) fail('receiver.maxFrameSize must be at least 1024 bytes');
  if (options.clock !== undefined && typeof options.clock !== 'function') fail('clock must be a function returning ms since the epoch');

  const m = options.membership;
  if (!m || typeof m !== 'object') fail("membership { type: 'static' | 'multicast' | 'dns', ... } is required");
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
  } else if (m.type === 'dns') {
    membership = { type: 'dns', ...resolveDns(m), frequency, dropTime };
  } else {
    fail(`membership.type must be 'static', 'multicast' or 'dns' (got ${JSON.stringify((m as { type?: unknown }).type)})`);
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

/** A DNS name as a resolver takes it: labels of letters, digits, '-' and '_' (SRV), dot-separated. */
const DNS_NAME = /^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;

function resolveDns(m: DnsMembershipOptions): Omit<Extract<ResolvedChannelOptions['membership'], { type: 'dns' }>, 'type' | 'frequency' | 'dropTime'> {
  if (typeof m.name !== 'string' || !DNS_NAME.test(m.name) || net.isIP(m.name)) {
    fail(`membership.name must be a DNS name such as "app-headless.default.svc.cluster.local" (got ${JSON.stringify(m.name)})`);
  }
  let interval: number = CHANNEL_DEFAULTS.dnsInterval;
  if (typeof m.interval === 'string') {
    try {
      interval = parseDuration(m.interval, true);
    } catch (err) {
      if (!(err instanceof DurationSyntaxError)) throw err;
      fail(`membership.interval: ${err.message}`);
    }
    if (interval <= 0) fail(`membership.interval must be positive (got ${JSON.stringify(m.interval)})`);
  } else {
    interval = positiveInt(m.interval, 'membership.interval', CHANNEL_DEFAULTS.dnsInterval);
  }
  let servers: string[] | undefined;
  if (m.servers !== undefined) {
    if (!Array.isArray(m.servers) || m.servers.length === 0) fail('membership.servers must be a non-empty array of "ip" or "ip:port" strings');
    servers = m.servers.map((s, i) => {
      const hp = typeof s === 'string' && net.isIP(s) ? { host: s, port: 53 } : parseHostPort(s, `membership.servers[${i}]`);
      if (!net.isIP(hp.host)) fail(`membership.servers[${i}] must be an IP address, not a name (got ${JSON.stringify(s)})`);
      return addressOf(hp);
    });
  }
  return {
    name: m.name.replace(/\.$/, ''),
    port: m.port === undefined ? undefined : portNumber(m.port, 'membership.port', false),
    interval,
    servers,
    timeout: positiveInt(m.timeout, 'membership.timeout', CHANNEL_DEFAULTS.dnsTimeout),
    tries: positiveInt(m.tries, 'membership.tries', CHANNEL_DEFAULTS.dnsTries),
  };
}

/** What makes this configuration reach other hosts (for the error message), or null for loopback only. */
function reachBeyondLoopback(receiverAddress: string, membership: ResolvedChannelOptions['membership']): string | null {
  if (membership.type === 'multicast') return "membership.type 'multicast'";
  if (membership.type === 'dns') return "membership.type 'dns' (DNS can name any host)";
  if (!isLoopback(receiverAddress)) return `receiver.address ${JSON.stringify(receiverAddress)}`;
  const i = membership.members.findIndex((t) => !isLoopback(t.host));
  if (i >= 0) return `membership.members[${i}] ${JSON.stringify(addressOf(membership.members[i]!))}`;
  return null;
}

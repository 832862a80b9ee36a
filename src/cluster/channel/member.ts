/**
 * Member identity and ordering (cluster-semantics §1.1, MemberImpl/Membership): a member is identified by a
 * 16-byte random id drawn at every start, so a restarted process is a new member even with the same
 * host:port and jvmRoute; the member list is ordered oldest first, because DeltaManager asks the
 * oldest member for state.
 */
import { randomBytes } from 'node:crypto';
import type { ClusterMember } from './types.js';

/** Tomcat's `Member.SHUTDOWN_PAYLOAD`: the command of a graceful-leave heartbeat. */
export const SHUTDOWN_COMMAND = 'BABY-ALEX';

export function createLocalMember(route: string, host: string, port: number, domain: string, startedAt: number): ClusterMember {
  return { id: randomBytes(16).toString('hex'), route, host, port, startedAt, domain };
}

/** Oldest first (smallest startedAt), ties broken by id so every node sees the same order. */
export function compareMembers(a: ClusterMember, b: ClusterMember): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function addressOf(m: { host: string; port: number }): string {
  return m.host.includes(':') ? `[${m.host}]:${m.port}` : `${m.host}:${m.port}`;
}

export function describeMember(m: ClusterMember): string {
  return `${m.route}@${addressOf(m)}#${m.id.slice(0, 8)}`;
}

/**
 * Member info from the network (handshake, heartbeat datagram), already JSON-parsed: returns a clean
 * ClusterMember built from known fields only, or undefined when anything is missing or malformed.
 */
export function memberFromWire(value: unknown): ClusterMember | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const { id, route, host, port, startedAt, domain } = v;
  if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id)) return undefined;
  if (typeof route !== 'string' || route === '' || route.length > 256) return undefined;
  if (typeof host !== 'string' || host === '' || host.length > 255) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof startedAt !== 'number' || !Number.isFinite(startedAt)) return undefined;
  if (typeof domain !== 'string' || domain.length > 1024) return undefined;
  return { id, route, host, port, startedAt, domain };
}

/** The fields of a member that go on the wire (a copy, so later mutation cannot leak). */
export function memberToWire(m: ClusterMember): ClusterMember {
  return { id: m.id, route: m.route, host: m.host, port: m.port, startedAt: m.startedAt, domain: m.domain };
}

/**
 * How sessions are laid out in Redis: one hash per session, key `<prefix>{<HEX>}.<route>`.
 *
 * - The hash tag is the part of the id before its first dot (the 32 hex chars), so in a Redis
 *   Cluster every route of one session — `{HEX}.jvm_a` and, after a fail-over, `{HEX}.jvm_b` —
 *   lives in the same slot and the route binder's rename is one atomic RENAME.
 * - Fields: attributes as `a:<name>` (value: the attribute's JSON text), metadata as `m:<name>`:
 *   `m:ctime` creation time, `m:atime` last access (ms since the epoch), `m:mii` the idle timeout
 *   in seconds. Prefixing both keeps any attribute name (they are arbitrary strings) apart from
 *   the metadata.
 * - The key's TTL is the session's maxInactiveInterval, renewed by every request: Redis expires
 *   the whole hash at once.
 */
import { splitSessionId } from '../session/id.js';

export const ATTR = 'a:';
export const META_CTIME = 'm:ctime';
export const META_ATIME = 'm:atime';
export const META_MII = 'm:mii';

export function sessionKey(prefix: string, id: string): string {
  const { base, route } = splitSessionId(id);
  return route === null ? `${prefix}{${base}}` : `${prefix}{${base}}.${route}`;
}

/** The session id of one of our keys, or null for any other key. */
export function idFromKey(prefix: string, key: string): string | null {
  if (!key.startsWith(prefix) || key[prefix.length] !== '{') return null;
  const close = key.indexOf('}', prefix.length);
  if (close < 0) return null;
  return key.slice(prefix.length + 1, close) + key.slice(close + 1);
}

/** SCAN pattern for every session key under `prefix` (optionally only those of one route). */
export function scanPattern(prefix: string, route?: string): string {
  const escaped = prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  return route === undefined ? `${escaped}{*` : `${escaped}{*}.${route.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}`;
}

/* -------------------------------------------------------------- Redis Cluster hash slots */

/** CRC16/XMODEM, the checksum Redis Cluster maps keys to its 16384 slots with. */
const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

function crc16(bytes: ArrayLike<number>, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** The cluster slot of a session id's keys (the slot of its hash tag, the part before the first dot). */
export function sessionSlot(id: string): number {
  return crc16(Buffer.from(splitSessionId(id).base, 'latin1')) & 0x3fff;
}

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');

/**
 * A new `<32 HEX>` whose cluster slot is `slot`: drawn at random among such ids (random bytes
 * until one lands in the slot, about 16384 draws). changeSessionId uses it in a Redis Cluster so
 * that the old and the new id share a slot and the rename stays one atomic script; the new id
 * keeps 114 random bits given the old one (Tomcat's ids have 128), far beyond guessing.
 */
export function randomHexInSlot(slot: number, random: (size: number) => Buffer): string {
  const text = Buffer.alloc(32);
  // 2^20 draws: a working random source fails this with probability e^-64.
  for (let round = 0; round < 2048; round++) {
    const batch = random(16 * 512);
    for (let off = 0; off < batch.length; off += 16) {
      for (let i = 0; i < 16; i++) {
        const b = batch[off + i]!;
        text[2 * i] = HEX[b >> 4]!;
        text[2 * i + 1] = HEX[b & 15]!;
      }
      if ((crc16(text) & 0x3fff) === slot) return text.toString('latin1');
    }
  }
  throw new Error('the random source never produced an id in the session\'s cluster slot');
}

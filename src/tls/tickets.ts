/**
 * Session ticket keys, rotated on a schedule. A TLS server encrypts the session state it hands a
 * client (a ticket) with this key, and whoever holds the key can decrypt every session resumed
 * with such a ticket: a key that lives as long as the process undoes forward secrecy for all its
 * traffic. So the key is replaced every `period` (default 1 hour, RFC 8446 §4.6.1 lets a ticket
 * live at most 7 days; Mozilla's guidance is to rotate at least daily).
 *
 * The rotator keeps the key of the previous period too (`previous`), as Caddy and nginx with two
 * ticket key files do. node's TLS server takes exactly one 48-byte key per context
 * (`setTicketKeys`) and decrypts only with it, so today a ticket issued in the previous period is
 * not resumed after a rotation: that client makes one full handshake and gets a new ticket. The
 * previous key is kept for the listener code that hands keys to several workers (a worker that
 * starts late must not install an older key than its siblings).
 *
 * The 48 bytes are node's layout: 16 bytes key name, 16 bytes HMAC secret, 16 bytes AES key.
 */
import { randomBytes } from 'node:crypto';

export const TICKET_KEY_LENGTH = 48;
export const DEFAULT_TICKET_ROTATION_MS = 60 * 60 * 1000;

export interface TicketKeyRotatorOptions {
  /** How long one key encrypts new tickets, in ms. */
  period?: number;
  /** Told the new current key at every rotation (e.g. `server.setTicketKeys`). */
  onRotate?: (current: Buffer, previous: Buffer | null) => void;
  /** Where keys come from (tests inject a counter). */
  random?: (n: number) => Buffer;
}

export class TicketKeyRotator {
  readonly period: number;
  private currentKey: Buffer;
  private previousKey: Buffer | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners: Array<(current: Buffer, previous: Buffer | null) => void> = [];
  private readonly random: (n: number) => Buffer;

  constructor(options: TicketKeyRotatorOptions = {}) {
    this.period = options.period ?? DEFAULT_TICKET_ROTATION_MS;
    if (!(this.period >= 1000)) throw new RangeError(`the ticket key rotation period must be at least 1 s (got ${this.period} ms)`);
    this.random = options.random ?? randomBytes;
    this.currentKey = this.newKey();
    if (options.onRotate) this.listeners.push(options.onRotate);
  }

  /** The key that encrypts new tickets now. */
  get current(): Buffer {
    return this.currentKey;
  }

  /** The key of the previous period, null before the first rotation. */
  get previous(): Buffer | null {
    return this.previousKey;
  }

  /** Be told of each rotation (and once at once with the current key). */
  subscribe(listener: (current: Buffer, previous: Buffer | null) => void): () => void {
    this.listeners.push(listener);
    listener(this.currentKey, this.previousKey);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Rotate every `period` from now on. The timer does not keep the process alive. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.rotate(), this.period);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Make a new current key now; the current one becomes the previous one. */
  rotate(): void {
    this.previousKey = this.currentKey;
    this.currentKey = this.newKey();
    for (const l of [...this.listeners]) l(this.currentKey, this.previousKey);
  }

  private newKey(): Buffer {
    const key = this.random(TICKET_KEY_LENGTH);
    if (key.length !== TICKET_KEY_LENGTH) throw new RangeError(`a ticket key is ${TICKET_KEY_LENGTH} bytes (got ${key.length})`);
    return key;
  }
}

/**
 * Session ticket keys, rotated on a schedule. A TLS server encrypts the session state it hands a
 * client (a ticket) with this key, and whoever holds the key can decrypt every session resumed
 * with such a ticket: a key that lives as long as the process undoes forward secrecy for all its
 * traffic. So the key is replaced every `period` (default 1 hour, RFC 8446 §4.6.1 lets a ticket
 * live at most 7 days; Mozilla's guidance is to rotate at least daily).
 *
 * The rotator keeps the key of the previous period too (`previous`), as Caddy and nginx with two
 * ticket key files do. node's TLS server takes exactly one 48-byte key per context
 * (`setTicketKeys`) and decrypts only with it, so a ticket issued in the previous period is not
 * resumed after a rotation: that client makes one full handshake and gets a new ticket.
 *
 * With worker threads every worker must hold the same key, or a client that comes back on another
 * worker (the kernel spreads connections over them, SO_REUSEPORT) could not resume. So the keys
 * are made and rotated on the main thread only (TicketKeyStore, one rotator per TLS listener), and
 * each rotation is posted to the workers, which install it (SharedTicketKeys). A worker started
 * later gets the current keys with its start message.
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

export class TicketKeyRotator implements TicketKeySource {
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

/** Where a TLS listener gets its ticket key: a rotator of its own, or one on the main thread (SharedTicketKeys). */
export interface TicketKeySource {
  /** The key that encrypts new tickets now. */
  readonly current: Buffer;
  /** How long one key lives, in ms (the tickets' lifetime hint). */
  readonly period: number;
  /** Be told of each new key (and once at once with the current one); returns the unsubscribe function. */
  subscribe(listener: (current: Buffer) => void): () => void;
}

/** Hands out a ticket key source for each TLS listener, by the listener's key (address|port). */
export interface TicketKeyProvider {
  source(listener: string, period: number): TicketKeySource;
  /** Keep the sources of these listeners, stop the others (after a reload). */
  retain(listeners: ReadonlySet<string>): void;
}

/**
 * The main thread's keys: one TicketKeyRotator per TLS listener, started when first asked for,
 * replaced when the listener's rotation period changes. `onRotate` hears every new key (the
 * supervisor posts it to the workers).
 */
export class TicketKeyStore implements TicketKeyProvider {
  private readonly rotators = new Map<string, { rotator: TicketKeyRotator; stop: () => void }>();

  constructor(private readonly onRotate: (listener: string, current: Buffer) => void = () => {}, private readonly random?: (n: number) => Buffer) {}

  source(listener: string, period: number): TicketKeySource {
    const had = this.rotators.get(listener);
    if (had !== undefined && had.rotator.period === period) return had.rotator;
    had?.rotator.stop();
    const rotator = new TicketKeyRotator({ period, ...(this.random ? { random: this.random } : {}) });
    let first = true;
    const stop = rotator.subscribe((current) => {
      if (first) {
        first = false;
        return;
      }
      this.onRotate(listener, current);
    });
    rotator.start();
    this.rotators.set(listener, { rotator, stop });
    return rotator;
  }

  retain(listeners: ReadonlySet<string>): void {
    for (const [key, r] of this.rotators) {
      if (listeners.has(key)) continue;
      r.stop();
      r.rotator.stop();
      this.rotators.delete(key);
    }
  }

  /** Every listener's current key and period, for a worker that starts or reloads. */
  snapshot(): TicketKeySnapshot {
    const out: TicketKeySnapshot = {};
    for (const [key, { rotator }] of this.rotators) out[key] = { key: new Uint8Array(rotator.current), period: rotator.period };
    return out;
  }

  /** Rotate every listener's key now (tests; an operator's "forget every ticket"). */
  rotateAll(): void {
    for (const { rotator } of this.rotators.values()) rotator.rotate();
  }

  stop(): void {
    this.retain(new Set());
  }
}

/** The keys of every TLS listener, as posted to a worker thread (structured-clone data). */
export type TicketKeySnapshot = Record<string, { key: Uint8Array; period: number }>;

/** A key a worker got from the main thread; `set` installs the next one. */
class RemoteTicketKey implements TicketKeySource {
  private readonly listeners: Array<(current: Buffer) => void> = [];
  constructor(public current: Buffer, public period: number) {}

  subscribe(listener: (current: Buffer) => void): () => void {
    this.listeners.push(listener);
    listener(this.current);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  set(current: Buffer): void {
    if (current.equals(this.current)) return;
    this.current = current;
    for (const l of [...this.listeners]) l(current);
  }
}

/**
 * A worker thread's view of the main thread's TicketKeyStore: the keys come in messages
 * (`apply`), never from this thread's own random numbers, so that every worker holds the same key.
 */
export class SharedTicketKeys implements TicketKeyProvider {
  private readonly keys = new Map<string, RemoteTicketKey>();

  constructor(snapshot: TicketKeySnapshot = {}) {
    this.applyAll(snapshot);
  }

  /** The key of `listener` changed (a rotation on the main thread). */
  apply(listener: string, key: Uint8Array, period?: number): void {
    const current = Buffer.from(key);
    const had = this.keys.get(listener);
    if (had === undefined) this.keys.set(listener, new RemoteTicketKey(current, period ?? DEFAULT_TICKET_ROTATION_MS));
    else {
      if (period !== undefined) had.period = period;
      had.set(current);
    }
  }

  applyAll(snapshot: TicketKeySnapshot): void {
    for (const [listener, { key, period }] of Object.entries(snapshot)) this.apply(listener, key, period);
  }

  source(listener: string, period: number): TicketKeySource {
    const had = this.keys.get(listener);
    if (had !== undefined) return had;
    // The main thread names every TLS listener's key before a worker opens it; a key of this
    // thread's own would only make resumption fail across workers, never break a handshake.
    const own = new RemoteTicketKey(randomBytes(TICKET_KEY_LENGTH), period);
    this.keys.set(listener, own);
    return own;
  }

  retain(listeners: ReadonlySet<string>): void {
    for (const key of [...this.keys.keys()]) if (!listeners.has(key)) this.keys.delete(key);
  }
}

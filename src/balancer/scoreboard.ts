/**
 * The balancers' runtime state in shared memory: what httpd keeps in its scoreboard / slotmem so
 * that every child process sees one set of figures. stickyd's worker threads (server.workers) all
 * map the same SharedArrayBuffer; Member and Balancer objects are views over a slot of it, so the
 * decision code (select.ts, lbmethod.ts, sticky.ts) reads and writes plain-looking fields.
 *
 * Layout: one growable SharedArrayBuffer of fixed-size slots (SLOT_BYTES). Slot 0 is the header;
 * every other slot is free, a member (httpd's proxy_worker_shared), a retired member, or a
 * balancer record (proxy_balancer_shared plus the balancer's mutex). Strings live in fixed-size
 * fields like httpd's: route and redirect 64 bytes, a manager-added member's URL 384 bytes.
 *
 * Who writes what:
 * - Slots are allocated, retired and reused by one thread only (the main thread: configuration
 *   loads and the balancer-manager); the other threads attach to slots they are told about.
 * - The pick and its accounting, manager changes, health-check results and error marking run
 *   under the balancer's lock (`lock`/`unlock`: compareExchange, then Atomics.wait/notify).
 * - busy, transferred and read are also changed outside the lock (a request ends, bytes flow), so
 *   they change only through Atomics. Each thread also keeps its own busy contribution per member:
 *   when a worker dies, the supervisor gives back what it held (`reclaim`), and a retired slot is
 *   reused only when no thread holds a request on it.
 *
 * Views are fixed-length typed arrays over the growable buffer (length-tracking views are far
 * slower in V8); `refresh()` makes new ones once the buffer has grown.
 */

/** Bytes per slot. */
export const SLOT_BYTES = 1024;
const INTS = SLOT_BYTES / 4;
const DOUBLES = SLOT_BYTES / 8;

/** Thread ids: 0 is the main thread, workers are 1..MAX_WORKERS. */
export const MAX_WORKERS = 64;
const THREADS = MAX_WORKERS + 1;

/** Initial and largest size, in slots (the largest is reserved address space, not memory). */
const INITIAL_SLOTS = 64;
const MAX_SLOTS = 128 * 1024;

/** A lock held this long is taken over: its owner died or hangs (critical sections take microseconds). */
const LOCK_STEAL_MS = 5000;
const LOCK_WAIT_SLICE_MS = 100;

/** Slot kinds (int 0 of a slot). */
export const Kind = {
  FREE: 0,
  MEMBER: 1,
  /** A member no configuration uses any more; reusable once no thread holds a request on it. */
  RETIRED: 2,
  BALANCER: 3,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Int32 fields, as indexes within a slot. */
export const I = {
  KIND: 0,
  /** Bumped each time the slot is reused: views of the previous occupant go stale. */
  INCARNATION: 1,
  // member
  BALANCER: 2,
  /** Order of a member the manager added (1, 2, ...); 0 for members from the file. */
  ADDED: 3,
  STATUS: 4,
  LBSTATUS: 5,
  LBFACTOR: 6,
  LBSET: 7,
  BUSY: 8,
  OVERRIDDEN: 9,
  /** Seqlock of the string fields: odd while they are being written. */
  TEXT_VERSION: 10,
  ROUTE_LEN: 11,
  REDIRECT_LEN: 12,
  // balancer (same indexes, other meaning)
  LOCK: 2,
  LBMETHOD: 3,
  NEED_RESET: 4,
  NOFAILOVER: 5,
  MAX_ATTEMPTS: 6,
  MAX_ATTEMPTS_SET: 7,
  B_OVERRIDDEN: 8,
  STICKY: 9,
  B_TEXT_VERSION: 10,
  COOKIE_LEN: 11,
  PARAM_LEN: 12,
  /** Bumped when the manager adds a member (httpd's wupdated). */
  MEMBERS_VERSION: 13,
  /** The last ADDED number given out. */
  ADDED_SEQ: 14,
  // both: length of the NAME text (a manager-added member's URL, the balancer's name)
  NAME_LEN: 15,
  /** First per-thread busy cell of a member (THREADS cells). */
  THREAD_BUSY: 160,
} as const;

/** Float64 fields (slot-relative indexes of a Float64Array). */
export const F = {
  ELECTED: 8,
  ERROR_TIME: 9,
  RETRIES: 10,
  /** balancer: timeout in ms. */
  TIMEOUT: 8,
} as const;

/** BigInt64 fields. */
export const G = {
  TRANSFERRED: 11,
  READ: 12,
} as const;

/** Byte fields: offset and size within a slot. */
export const Text = {
  ROUTE: [104, 64],
  REDIRECT: [168, 64],
  /** Member URL (manager-added members) or balancer name. */
  NAME: [232, 384],
  COOKIE: [104, 64],
  PARAM: [168, 64],
} as const satisfies Record<string, readonly [number, number]>;

/** Header fields (slot 0). */
const H = {
  MAGIC: 0,
} as const;
const MAGIC = 0x5354_4b44; // "STKD"

/** ES2024's growable SharedArrayBuffer (node ≥ 20; the project's TypeScript lib is ES2023). */
type Growable = SharedArrayBuffer & { grow(byteLength: number): void };
type GrowableConstructor = new (byteLength: number, options: { maxByteLength: number }) => Growable;

/** What a thread needs to attach to a scoreboard another thread created. */
export interface ScoreboardHandle {
  buffer: SharedArrayBuffer;
}

export class Scoreboard {
  readonly buffer: SharedArrayBuffer;
  /** This thread's id (lock owner, per-thread busy cell). */
  thread: number;
  i32!: Int32Array;
  f64!: Float64Array;
  i64!: BigInt64Array;
  u8!: Uint8Array;
  /** Slots covered by the views. */
  capacity = 0;
  /** Allocation: every slot below this one is in use (the allocating thread keeps it). */
  private scanFrom = 1;

  private constructor(buffer: SharedArrayBuffer, thread: number) {
    this.buffer = buffer;
    this.thread = thread;
    this.refresh();
  }

  /** A new, empty scoreboard; this thread is its main thread (the one that allocates). */
  static create(): Scoreboard {
    const buffer = new (SharedArrayBuffer as unknown as GrowableConstructor)(INITIAL_SLOTS * SLOT_BYTES, { maxByteLength: MAX_SLOTS * SLOT_BYTES });
    const board = new Scoreboard(buffer, 0);
    board.i32[H.MAGIC] = MAGIC;
    return board;
  }

  /** Another thread's view of a scoreboard (`thread`: its worker id, 1..MAX_WORKERS). */
  static attach(handle: ScoreboardHandle, thread: number): Scoreboard {
    if (thread < 1 || thread > MAX_WORKERS) throw new RangeError(`worker id ${thread} is outside 1..${MAX_WORKERS}`);
    const board = new Scoreboard(handle.buffer, thread);
    if (board.i32[H.MAGIC] !== MAGIC) throw new Error('not a stickyd scoreboard');
    return board;
  }

  get handle(): ScoreboardHandle {
    return { buffer: this.buffer };
  }

  /** Make views over the whole buffer if it has grown since they were made. */
  refresh(): void {
    const slots = this.buffer.byteLength / SLOT_BYTES;
    if (slots === this.capacity) return;
    this.i32 = new Int32Array(this.buffer, 0, slots * INTS);
    this.f64 = new Float64Array(this.buffer, 0, slots * DOUBLES);
    this.i64 = new BigInt64Array(this.buffer, 0, slots * DOUBLES);
    this.u8 = new Uint8Array(this.buffer, 0, slots * SLOT_BYTES);
    this.capacity = slots;
  }

  /** Make sure `slot` is covered by the views (it was allocated by another thread). */
  reach(slot: number): void {
    if (slot >= this.capacity) this.refresh();
    if (slot >= this.capacity || slot < 1) throw new RangeError(`scoreboard slot ${slot} does not exist`);
  }

  // ---- allocation (the main thread only) ----

  /** A zeroed slot of `kind`: a free one, a retired member nobody holds, or a new one. */
  allocate(kind: typeof Kind.MEMBER | typeof Kind.BALANCER): number {
    this.refresh();
    let slot = -1;
    /** A retired slot still held: the next allocation looks at it again. */
    let held = -1;
    for (let s = this.scanFrom; s < this.capacity; s++) {
      const k = this.i32[s * INTS + I.KIND]!;
      if (k === Kind.RETIRED && held === -1 && this.heldBy(s) > 0) held = s;
      else if (k === Kind.FREE || (k === Kind.RETIRED && this.heldBy(s) === 0)) {
        slot = s;
        break;
      }
    }
    if (slot === -1) {
      slot = this.capacity;
      if (slot >= MAX_SLOTS) throw new Error(`the balancer scoreboard is full (${MAX_SLOTS - 1} members and balancers)`);
      (this.buffer as Growable).grow(Math.min(MAX_SLOTS, this.capacity * 2) * SLOT_BYTES);
      this.refresh();
    }
    this.scanFrom = held === -1 ? slot + 1 : held;
    const base = slot * INTS;
    const incarnation = this.i32[base + I.INCARNATION]! + 1;
    // Zero the slot (per-thread busy cells are zero already: heldBy() was 0), then publish it.
    this.u8.fill(0, slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
    this.i32[base + I.INCARNATION] = incarnation;
    Atomics.store(this.i32, base + I.KIND, kind);
    return slot;
  }

  /** A member slot no configuration uses any more: reusable once no request holds it. */
  retire(slot: number): void {
    const base = slot * INTS;
    if (this.i32[base + I.KIND] !== Kind.MEMBER) return;
    Atomics.store(this.i32, base + I.KIND, Kind.RETIRED);
    if (slot < this.scanFrom) this.scanFrom = slot;
  }

  kind(slot: number): Kind {
    return this.i32[slot * INTS + I.KIND] as Kind;
  }

  incarnation(slot: number): number {
    return this.i32[slot * INTS + I.INCARNATION]!;
  }

  /** Requests in flight on a member slot, counted per thread (exact, unlike `busy`, which an lbmethod reset zeroes). */
  heldBy(slot: number): number {
    const base = slot * INTS + I.THREAD_BUSY;
    let n = 0;
    for (let t = 0; t < THREADS; t++) n += Atomics.load(this.i32, base + t);
    return n;
  }

  // ---- busy: changed with Atomics, also outside the lock ----

  /** busy++ on a member, and on this thread's share of it. */
  takeBusy(slot: number): void {
    const base = slot * INTS;
    Atomics.add(this.i32, base + I.BUSY, 1);
    Atomics.add(this.i32, base + I.THREAD_BUSY + this.thread, 1);
  }

  /** decrement_busy_count (B:450-459): busy-- unless an lbmethod reset zeroed it meanwhile; this thread's share--. */
  releaseBusy(slot: number): void {
    const base = slot * INTS;
    decrementIfPositive(this.i32, base + I.BUSY, 1);
    decrementIfPositive(this.i32, base + I.THREAD_BUSY + this.thread, 1);
  }

  /**
   * A thread died: give back the busy counts it held and release the locks it held (httpd has
   * the same problem when a child dies with requests in flight). Run by the supervisor once the
   * thread is gone.
   */
  reclaim(thread: number): { busy: number; locks: number } {
    this.refresh();
    let busy = 0;
    let locks = 0;
    for (let s = 1; s < this.capacity; s++) {
      const base = s * INTS;
      const kind = this.i32[base + I.KIND];
      if (kind === Kind.MEMBER || kind === Kind.RETIRED) {
        const held = Atomics.exchange(this.i32, base + I.THREAD_BUSY + thread, 0);
        if (held > 0) {
          busy += held;
          decrementIfPositive(this.i32, base + I.BUSY, held);
        }
      } else if (kind === Kind.BALANCER) {
        const word = Atomics.load(this.i32, base + I.LOCK);
        if (word !== 0 && word >>> 1 === thread + 1 && Atomics.compareExchange(this.i32, base + I.LOCK, word, 0) === word) {
          Atomics.notify(this.i32, base + I.LOCK);
          locks++;
        }
      }
    }
    return { busy, locks };
  }

  // ---- the balancer lock ----

  /**
   * Take a balancer's lock (the int32 index of its LOCK field). The lock word is 0 when free, else
   * (owner thread + 1) << 1, with bit 0 set when another thread may be waiting (Drepper's
   * "futexes are tricky" mutex, with the owner kept in the word so a dead owner's lock can be
   * found and released). Not reentrant.
   */
  lock(at: number): void {
    const me = (this.thread + 1) << 1;
    let c = Atomics.compareExchange(this.i32, at, 0, me);
    if (c === 0) return;
    if (c >>> 1 === this.thread + 1) throw new Error('a balancer lock was taken twice by the same thread');
    let waited = 0;
    for (;;) {
      if (c === 0) {
        // Free again: take it, marked contended (others may still be waiting).
        c = Atomics.compareExchange(this.i32, at, 0, me | 1);
        if (c === 0) return;
        continue;
      }
      if ((c & 1) === 0) {
        const seen = Atomics.compareExchange(this.i32, at, c, c | 1);
        if (seen !== c) {
          c = seen;
          continue;
        }
        c |= 1;
      }
      if (Atomics.wait(this.i32, at, c, LOCK_WAIT_SLICE_MS) === 'timed-out') {
        waited += LOCK_WAIT_SLICE_MS;
        if (waited >= LOCK_STEAL_MS && Atomics.compareExchange(this.i32, at, c, me | 1) === c) return;
      }
      c = Atomics.load(this.i32, at);
    }
  }

  unlock(at: number): void {
    if ((Atomics.exchange(this.i32, at, 0) & 1) !== 0) Atomics.notify(this.i32, at, 1);
  }

  // ---- fixed-size strings ----

  /** Write `text` (UTF-8, already checked to fit) into a string field; `len` is the int32 index of its length. */
  writeText(slot: number, field: readonly [number, number], len: number, text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > field[1]) throw new RangeError(`"${text}" does not fit a ${field[1]}-byte field`);
    this.u8.set(bytes, slot * SLOT_BYTES + field[0]);
    this.i32[slot * INTS + len] = bytes.length;
  }

  readText(slot: number, field: readonly [number, number], len: number): string {
    const n = this.i32[slot * INTS + len]!;
    if (n === 0) return '';
    return Buffer.from(this.buffer, slot * SLOT_BYTES + field[0], n).toString('utf8');
  }

  /** Start changing a slot's strings (under its balancer's lock): readers outside the lock retry. */
  beginText(at: number): void {
    Atomics.add(this.i32, at, 1);
  }

  endText(at: number): void {
    Atomics.add(this.i32, at, 1);
  }

  /** The seqlock version of a slot's strings; odd while a writer is at work. */
  textVersion(at: number): number {
    return Atomics.load(this.i32, at);
  }
}

/** Atomically subtract `n` from a cell, never below 0. */
function decrementIfPositive(a: Int32Array, at: number, n: number): void {
  let v = Atomics.load(a, at);
  while (v > 0) {
    const seen = Atomics.compareExchange(a, at, v, Math.max(0, v - n));
    if (seen === v) return;
    v = seen;
  }
}

/** Int32 index of field `field` of `slot`. */
export function intAt(slot: number, field: number): number {
  return slot * INTS + field;
}

/** Float64/BigInt64 index of field `field` of `slot`. */
export function wideAt(slot: number, field: number): number {
  return slot * DOUBLES + field;
}

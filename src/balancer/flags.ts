/**
 * Member status flags (apache-semantics §5; httpd mod_proxy.h). The bit values and the manager's status names
 * are Apache's, so the balancer-manager and the JSON API show what an Apache operator knows.
 */

export const Flag = {
  /** O: set when the member starts; required for usability. */
  INITIALIZED: 0x001,
  /** I: never put in error; retry() clears E at once. */
  IGNORE_ERRORS: 0x002,
  /** N: drain: only existing sticky sessions. */
  DRAIN: 0x004,
  GENERIC: 0x008,
  IN_SHUTDOWN: 0x010,
  /** D: disabled. */
  DISABLED: 0x020,
  /** S: stopped: like D, never retried out of E, never health-checked. */
  STOPPED: 0x040,
  /** E: in error until `retry` has passed. */
  IN_ERROR: 0x080,
  /** H: hot standby. */
  HOT_STANDBY: 0x100,
  FREE: 0x200,
  /** C: failed its health checks (mod_proxy_hcheck). */
  HC_FAIL: 0x400,
  /** R: hot spare. */
  HOT_SPARE: 0x800,
} as const;

/** The flags whose presence makes a member unusable (MH:347-359): D S E C and "shutting down". */
const NOT_USABLE = Flag.DISABLED | Flag.STOPPED | Flag.IN_ERROR | Flag.HC_FAIL | Flag.IN_SHUTDOWN;

/** Usable = initialized and none of D, S, E, C, U. N, H, R and I do not make a member unusable. */
export function isUsable(status: number): boolean {
  return (status & Flag.INITIALIZED) !== 0 && (status & NOT_USABLE) === 0;
}

/** Letter, bit and manager name, in the order the manager prints them (U:4311-4327). */
const TABLE: ReadonlyArray<readonly [letter: string, bit: number, name: string]> = [
  ['O', Flag.INITIALIZED, 'Init'],
  ['I', Flag.IGNORE_ERRORS, 'Ign'],
  ['N', Flag.DRAIN, 'Drn'],
  ['G', Flag.GENERIC, 'Gen'],
  ['U', Flag.IN_SHUTDOWN, 'Shut'],
  ['D', Flag.DISABLED, 'Dis'],
  ['S', Flag.STOPPED, 'Stop'],
  ['E', Flag.IN_ERROR, 'Err'],
  ['H', Flag.HOT_STANDBY, 'Stby'],
  ['R', Flag.HOT_SPARE, 'Spar'],
  ['F', Flag.FREE, 'Free'],
  ['C', Flag.HC_FAIL, 'HcFl'],
];

/** The letters a configuration (or the manager) may set: the ones with a meaning for an operator. */
export const SETTABLE_LETTERS = 'INDSEHRC';

export function flagBit(letter: string): number | undefined {
  const row = TABLE.find(([l]) => l === letter.toUpperCase());
  return row && SETTABLE_LETTERS.includes(row[0]) ? row[1] : undefined;
}

/**
 * The manager's status text: the names of the set flags in table order, each followed by a space,
 * then "Ok " when usable. E.g. "Init Ok ", "Init Drn Ok ", "Init Err ", "Init HcFl ".
 */
export function statusText(status: number): string {
  let s = '';
  for (const [, bit, name] of TABLE) if (status & bit) s += `${name} `;
  if (isUsable(status)) s += 'Ok ';
  return s;
}

/** The set flags as letters in table order, e.g. "ON" for an initialized draining member. */
export function statusLetters(status: number): string {
  return TABLE.filter(([, bit]) => status & bit).map(([l]) => l).join('');
}

export class StatusSyntaxError extends Error {
  override name = 'StatusSyntaxError';
}

/**
 * Apply a `status=` value (P:261-280, U:4293-4309) to `initial`: letters are case-insensitive;
 * `+` selects "set" and `-` "clear", and the choice persists for the following letters (`-DS`
 * clears D and S; `S-E` sets S and clears E). An unknown letter or a trailing sign is an error.
 */
export function applyStatus(spec: string, initial: number): number {
  let status = initial;
  let set = true;
  let pendingSign = false;
  for (const ch of spec) {
    if (ch === '+' || ch === '-') {
      set = ch === '+';
      pendingSign = true;
      continue;
    }
    const bit = flagBit(ch);
    if (bit === undefined) {
      throw new StatusSyntaxError(`unknown status flag "${ch}" (expected letters of ${SETTABLE_LETTERS}, each optionally after + or -)`);
    }
    status = set ? status | bit : status & ~bit;
    pendingSign = false;
  }
  if (pendingSign) throw new StatusSyntaxError(`status "${spec}" ends with "${spec.at(-1)}" but no flag letter follows`);
  return status;
}

/**
 * The load-balancing methods (lbmethod) and the member scan they share (apache-semantics §3). Each method is
 * an `is_best` test run over the candidates the scan offers, plus a `reset` for the balancer-manager's
 * lbmethod change. All of them are O(members × lbsets) per pick and allocate two short arrays.
 */
import type { LbMethod } from '../config/types.js';
import { Flag } from './flags.js';
import { retry, type Member } from './member.js';

/** One pick: `isBest(candidate, best)` may update per-pick totals; `done(best)` runs after the scan. */
interface Pick {
  isBest(m: Member, best: Member | null): boolean;
  done(best: Member): void;
}

interface Method {
  pick(): Pick;
  /** What the method zeroes when the manager switches to it (its `reset` hook, run via need_reset). */
  reset(members: readonly Member[]): void;
}

/**
 * byrequests' bookkeeping, which bybusyness shares (R:28-36, BB:28-59): every candidate the scan
 * examines earns its lbfactor in lbstatus before it is compared, and the winner pays back the sum
 * of what was handed out. `better` compares a candidate with the best so far.
 */
function weightedCounting(better: (m: Member, best: Member) => boolean): () => Pick {
  return () => {
    let total = 0;
    return {
      isBest(m, best) {
        m.lbstatus += m.lbfactor;
        total += m.lbfactor;
        return best === null || better(m, best);
      },
      done(best) {
        best.lbstatus -= total;
      },
    };
  };
}

/**
 * byrequests (R:28-36, R:83-94): weighted request counting. The candidate with the highest lbstatus
 * wins (strict >, so ties go to the earlier member). Over a cycle each member gets picks in
 * proportion to its lbfactor: 1,2,3 gives `c b a c b c` repeating.
 */
const byrequests: Method = {
  pick: weightedCounting((m, best) => m.lbstatus > best.lbstatus),
  reset(members) {
    for (const m of members) m.lbstatus = 0;
  },
};

/**
 * bybusyness (BB:28-59): the candidate with the fewest requests in flight (`busy`) wins; among equally
 * busy candidates byrequests' lbstatus decides (same bookkeeping). Sequential traffic therefore gives
 * exactly the byrequests order.
 */
const bybusyness: Method = {
  pick: weightedCounting((m, best) => m.busy < best.busy || (m.busy === best.busy && m.lbstatus > best.lbstatus)),
  reset(members) {
    for (const m of members) {
      m.lbstatus = 0;
      m.busy = 0;
    }
  },
};

/**
 * bytraffic (BT:28-71): the candidate with the least traffic weighted by lbfactor wins, traffic being
 * transferred/lbfactor + read/lbfactor in integer division; ties go to the earlier member. lbstatus is
 * not used.
 */
const bytraffic: Method = {
  pick() {
    let min = 0;
    return {
      isBest(m, best) {
        const traffic = Math.floor(m.transferred / m.lbfactor) + Math.floor(m.read / m.lbfactor);
        if (best === null || traffic < min) {
          min = traffic;
          return true;
        }
        return false;
      },
      done() {},
    };
  },
  reset(members) {
    for (const m of members) {
      m.lbstatus = 0;
      m.busy = 0;
      m.transferred = 0;
      m.read = 0;
    }
  },
};

const METHODS: Record<LbMethod, Method> = { byrequests, bybusyness, bytraffic };

export const LB_METHODS = Object.keys(METHODS) as LbMethod[];

export function isLbMethod(name: string): name is LbMethod {
  return Object.hasOwn(METHODS, name);
}

/** The lbmethod's reset hook (R:97-106, BB, BT): what the manager's lbmethod change zeroes. */
export function resetLbMethod(method: LbMethod, members: readonly Member[]): void {
  METHODS[method].reset(members);
}

/**
 * proxy_balancer_get_best_worker (U:1375-1490, apache-semantics §3.1) with the given lbmethod. Does not count
 * `elected`; the caller does.
 *
 * lbsets are tried in order 0, 1, 2, … up to the highest lbset seen (empty ones included) until one
 * yields a member. Within an lbset: draining (N) members are never load-balanced and count as gaps
 * unless they are spares or standbys; every other unusable member gets retry() (which may clear E
 * even when another member is then chosen) and counts as a gap if still unusable; usable regular
 * members are offered to the method; usable hot spares (R) are offered one per gap, in order; usable
 * hot standbys (H) only when nothing else in the lbset was chosen.
 */
export function findBestMember(members: readonly Member[], method: LbMethod, now: number): Member | null {
  const pick = METHODS[method].pick();
  let best: Member | null = null;
  let maxLbset = 0;
  for (let cur = 0; best === null && cur <= maxLbset; cur++) {
    let gaps = 0;
    const spares: Member[] = [];
    const standbys: Member[] = [];
    for (const m of members) {
      if (m.lbset > maxLbset) maxLbset = m.lbset;
      if (m.lbset !== cur) continue;
      if (m.has(Flag.DRAIN)) {
        if (!m.has(Flag.HOT_SPARE) && !m.has(Flag.HOT_STANDBY)) gaps++;
        continue;
      }
      if (!m.usable) retry(m, now);
      if (m.has(Flag.HOT_SPARE)) {
        if (m.usable) spares.push(m);
      } else if (m.has(Flag.HOT_STANDBY)) {
        if (m.usable) standbys.push(m);
      } else if (m.usable) {
        if (pick.isBest(m, best)) best = m;
      } else {
        gaps++;
      }
    }
    for (let i = 0; i < spares.length && i < gaps; i++) {
      if (pick.isBest(spares[i]!, best)) best = spares[i]!;
    }
    if (best === null) {
      for (const s of standbys) if (pick.isBest(s, best)) best = s;
    }
  }
  if (best !== null) pick.done(best);
  return best;
}

/**
 * The dashboard's documents (model.ts) from the live balancers, the request figures and the
 * samples: what each member's colour is, its error age and next retry, its figures over the
 * windows and since the start, and its share of the balancer's new sessions and sticky traffic.
 */
import { Flag, statusLetters, statusText } from '../../balancer/flags.js';
import type { Member } from '../../balancer/member.js';
import type { HealthChecker } from '../../health/checker.js';
import { buildInfo } from '../../version.js';
import type { AdminTarget } from '../context.js';
import { mountPaths, stickyName } from '../view.js';
import type { BalancerDoc, DaemonDoc, MemberDoc, MemberState, SeriesDoc, WindowFigures } from './model.js';
import { sampleColumns, type Sample, type Totals, type Windows } from './series.js';
import { wallTime } from '../wall-time.js';

/** The colour of a member: the worst thing about it (stopped and disabled first: nobody sends there anyway). */
export function memberState(status: number): MemberState {
  if (status & Flag.STOPPED) return 'stopped';
  if (status & Flag.DISABLED) return 'disabled';
  if (status & Flag.IN_ERROR) return 'error';
  if (status & Flag.HC_FAIL) return 'hcfail';
  if (status & Flag.DRAIN) return 'draining';
  if (status & (Flag.HOT_STANDBY | Flag.HOT_SPARE)) return 'standby';
  return 'ok';
}

const STARTED = Date.now() - process.uptime() * 1000;

export function daemonDoc(target: AdminTarget): DaemonDoc {
  const build = buildInfo();
  const last = target.reloads?.status().last;
  return {
    version: build.version,
    node: build.node,
    pid: process.pid,
    started: Math.round(STARTED),
    workers: target.workers?.count ?? 1,
    workerRestarts: target.workers?.restarts ?? 0,
    reload: last === undefined ? null : { time: last.time, trigger: last.trigger, successful: last.successful, errors: last.errors },
  };
}

function emptyWindow(): WindowFigures {
  return { rate: 0, requests: 0, sticky: 0, balanced: 0, errors: {}, p50: null, p99: null };
}

/** Since when a member has been in error, as the timeline's watcher saw it (null: it did not see the start). */
export type ErrorSince = (balancer: string, url: string) => number | null;

function memberDoc(m: Member, window: WindowFigures, totals: Totals | null, balancer: string, health: HealthChecker | null, since: ErrorSince): MemberDoc {
  const status = m.status;
  const inError = (status & Flag.IN_ERROR) !== 0;
  const t = totals?.members.get(balancer)?.get(m.name);
  const hc = health?.status(m)?.last;
  const errorSince = inError ? (since(balancer, m.name) ?? (m.errorTime > 0 ? wallTime(m.errorTime) : null)) : null;
  return {
    url: m.name,
    route: m.route,
    state: memberState(status),
    status: statusText(status),
    flags: statusLetters(status),
    usable: m.usable,
    loadfactor: m.lbfactor / 100,
    lbset: m.lbset,
    busy: m.busy,
    elected: m.elected,
    errorTime: inError && m.errorTime > 0 ? Math.round(wallTime(m.errorTime)) : null,
    errorSince: errorSince === null ? null : Math.round(errorSince),
    // ap_proxy_retry_worker: with I the next request retries at once; S is never retried.
    retryAt: !inError || (status & Flag.STOPPED) !== 0 ? null : (status & Flag.IGNORE_ERRORS) !== 0 ? Math.round(wallTime(m.errorTime)) : Math.round(wallTime(m.errorTime + m.config.retry)),
    retry: m.config.retry,
    totals: { requests: t?.requests ?? 0, sticky: t?.sticky ?? 0, errors: t?.errors ?? {} },
    window,
    balancedShare: null,
    stickyShare: null,
    health: m.config.hcmethod === 'None' || hc === undefined || hc === null ? null : { ok: hc.ok, detail: hc.detail, at: new Date(hc.at).toISOString() },
  };
}

export function balancerDocs(target: AdminTarget, windows: Windows, totals: Totals | null, health: HealthChecker | null, since: ErrorSince): BalancerDoc[] {
  const out: BalancerDoc[] = [];
  for (const b of target.balancers.values()) {
    if (b.config.implicit) continue;
    const mw = windows.members.get(b.name);
    const members = b.members.map((m) => memberDoc(m, mw?.get(m.name) ?? emptyWindow(), totals, b.name, health, since));
    const balancedAll = members.reduce((n, m) => n + m.window.balanced, 0);
    const stickyAll = members.reduce((n, m) => n + m.window.sticky, 0);
    for (const m of members) {
      m.balancedShare = balancedAll > 0 ? m.window.balanced / balancedAll : null;
      m.stickyShare = stickyAll > 0 ? m.window.sticky / stickyAll : null;
    }
    const bt = totals?.balancers.get(b.name);
    out.push({
      name: b.name,
      lbmethod: b.lbmethod,
      stickysession: stickyName(b),
      paths: mountPaths(target.config, b),
      usableMembers: b.members.filter((m) => m.usable).length,
      totals: {
        requests: bt?.requests ?? 0,
        stickyHits: bt?.stickyHits ?? 0,
        failovers: bt?.failovers ?? 0,
        unavailable: bt?.unavailable ?? 0,
      },
      window: windows.balancers.get(b.name) ?? { ...emptyWindow(), failovers: 0, unavailable: 0 },
      members,
    });
  }
  return out;
}

/** The samples as columns: one array per figure, one entry per second (0 where a member was quiet). */
export function seriesDoc(samples: readonly Sample[], balancers: readonly BalancerDoc[]): SeriesDoc {
  // Keyed by balancer name and member URL, which are data: no prototype to collide with.
  const doc: SeriesDoc = { t: [], balancers: Object.create(null) as SeriesDoc['balancers'] };
  const columns = samples.map(sampleColumns);
  const length = columns.length;
  const zeros = (): number[] => new Array<number>(length).fill(0);
  const nulls = (): Array<number | null> => new Array<number | null>(length).fill(null);
  // The live balancers and members, and whatever else the samples name (members removed since).
  for (const b of balancers) {
    doc.balancers[b.name] = { n: zeros(), e: zeros(), p50: nulls(), p99: nulls(), members: Object.create(null) as SeriesDoc['balancers'][string]['members'] };
    for (const m of b.members) doc.balancers[b.name]!.members[m.url] = { n: zeros(), e: zeros(), busy: zeros() };
  }
  columns.forEach((c, i) => {
    doc.t.push(c.t);
    for (const [name, b] of Object.entries(c.balancers)) {
      const db = (doc.balancers[name] ??= { n: zeros(), e: zeros(), p50: nulls(), p99: nulls(), members: Object.create(null) as SeriesDoc['balancers'][string]['members'] });
      db.n[i] = b.n;
      db.e[i] = b.e;
      db.p50[i] = b.p50;
      db.p99[i] = b.p99;
      for (const [url, m] of Object.entries(b.members)) {
        const dm = (db.members[url] ??= { n: zeros(), e: zeros(), busy: zeros() });
        dm.n[i] = m.n;
        dm.e[i] = m.e;
        dm.busy[i] = m.busy;
      }
    }
  });
  return doc;
}

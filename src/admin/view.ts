/**
 * What the balancer-manager shows, as plain data: the JSON API's documents, and the values the
 * HTML page renders. Names follow Apache's manager XML (apache-semantics §6) where it has one.
 */
import type { Balancer } from '../balancer/balancer.js';
import { Flag, statusLetters, statusText } from '../balancer/flags.js';
import type { Member } from '../balancer/member.js';
import type { Config } from '../config/types.js';
import type { HealthChecker, HealthStatus } from '../health/checker.js';
import { wallTime } from './wall-time.js';

export interface HealthView {
  method: string;
  /** Milliseconds. */
  interval: number;
  uri: string;
  expr: string | null;
  passes: number;
  fails: number;
  /** Consecutive passes / failures counted so far. */
  passCount: number;
  failCount: number;
  last: { ok: boolean; detail: string; at: string; durationMs: number } | null;
}

export interface MemberView {
  /** BALANCER_WORKER_NAME. */
  url: string;
  route: string;
  redirect: string;
  /** lbfactor / 100. */
  loadfactor: number;
  lbset: number;
  /** The manager's status text, e.g. "Init Drn Ok ". */
  status: string;
  /** Every flag that is set, as letters in Apache's order, e.g. "ON". */
  flags: string;
  usable: boolean;
  elected: number;
  busy: number;
  /** lbstatus (the manager's Load column). */
  lbstatus: number;
  /** Bytes sent to the member (To) and read from it (From). */
  transferred: number;
  read: number;
  retries: number;
  /** ISO time the member was last put in error; null when never (or since its last successful connect). */
  errorTime: string | null;
  /** Settings changed at runtime (they survive a reload). */
  overridden: string[];
  health: HealthView | null;
}

export interface BalancerView {
  name: string;
  /** `balancer://name`. */
  url: string;
  /** `C`, `C|P`, or null. */
  stickysession: string | null;
  nofailover: boolean;
  /** Seconds. */
  timeout: number;
  maxattempts: number;
  /** False when maxattempts is not set (one member, none in the file): it has no effect then (apache-semantics §4.5). */
  maxattemptsSet: boolean;
  lbmethod: string;
  growth: number;
  /** Configured members + growth, and the slots in use (the manager's MaxMembers `N [k Used]`). */
  maxMembers: number;
  usedMembers: number;
  /** The ProxyPass paths that mount this balancer. */
  paths: string[];
  /** Changes refused for this balancer: admin.readonly, or nonce None (apache-semantics §6). */
  readonly: boolean;
  overridden: string[];
  members: MemberView[];
}

/** Wall-clock ISO time of a balancer-clock timestamp (performance.timeOrigin based, see proxy/context.ts). */
function isoTime(t: number): string | null {
  return t > 0 ? new Date(t).toISOString() : null;
}

export function healthView(m: Member, status: HealthStatus | undefined): HealthView | null {
  const c = m.config;
  if (c.hcmethod === 'None') return null;
  return {
    method: c.hcmethod,
    interval: c.hcinterval,
    uri: c.hcuri,
    expr: c.hcexpr,
    passes: c.hcpasses,
    fails: c.hcfails,
    passCount: status?.counts.passes ?? 0,
    failCount: status?.counts.fails ?? 0,
    last: status?.last ? { ok: status.last.ok, detail: status.last.detail, at: new Date(status.last.at).toISOString(), durationMs: status.last.durationMs } : null,
  };
}

export function memberView(m: Member, health: HealthChecker | null): MemberView {
  return {
    url: m.name,
    route: m.route,
    redirect: m.redirect,
    loadfactor: m.lbfactor / 100,
    lbset: m.lbset,
    status: statusText(m.status),
    flags: statusLetters(m.status),
    usable: m.usable,
    elected: m.elected,
    busy: m.busy,
    lbstatus: m.lbstatus,
    transferred: m.transferred,
    read: m.read,
    retries: m.retries,
    errorTime: m.has(Flag.IN_ERROR) || m.errorTime > 0 ? isoTime(m.errorTime > 0 ? wallTime(m.errorTime) : 0) : null,
    overridden: [...m.overridden],
    health: healthView(m, health?.status(m)),
  };
}

/** `C`, or `C|P` when the names differ; null without stickiness. */
export function stickyName(b: Balancer): string | null {
  if (b.sticky === null) return null;
  return b.sticky.cookie === b.sticky.param ? b.sticky.cookie : `${b.sticky.cookie}|${b.sticky.param}`;
}

/** The ProxyPass paths that send requests to a balancer. */
export function mountPaths(config: Config, b: Balancer): string[] {
  return config.proxypass.filter((r) => !r.exclude && r.balancer === b.name).map((r) => r.path);
}

export function balancerView(b: Balancer, config: Config, readonly: boolean, health: HealthChecker | null): BalancerView {
  return {
    name: b.name,
    url: b.url,
    stickysession: stickyName(b),
    nofailover: b.nofailover,
    timeout: Math.floor(b.timeout / 1000),
    maxattempts: b.maxAttempts,
    maxattemptsSet: b.maxAttemptsSet,
    lbmethod: b.lbmethod,
    growth: b.config.growth,
    maxMembers: b.config.members.length + b.config.growth,
    usedMembers: b.members.length,
    paths: mountPaths(config, b),
    readonly,
    overridden: [...b.overridden],
    members: b.members.map((m) => memberView(m, health)),
  };
}

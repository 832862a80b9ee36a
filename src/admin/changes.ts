/**
 * Runtime changes to balancers and members (apache-semantics §6, "What can be changed"), shared by the
 * balancer-manager form and the JSON API: validate everything first, then apply the values that
 * differ from the current ones through the balancer core's setters (which record them as
 * overrides that survive a reload).
 *
 * Deliberate difference from httpd: httpd silently ignores an out-of-range value (w_lf 0.5,
 * w_ls 100, b_tmo -1, ...) and still answers with the page. stickyd refuses the whole request
 * with a message naming the field and changes nothing, so an operator never believes a change was
 * made when it was not. Likewise `b_max` on a balancer whose maxattempts is not set (httpd stores
 * it without effect, apache-semantics §4.5) is refused with an explanation. Values equal to the current ones
 * are not changes: submitting the form unchanged neither resets lbstatus (recalc_factors) nor pins
 * the file's settings against a reload.
 */
import type { Balancer } from '../balancer/balancer.js';
import { ManagerError } from '../balancer/balancer.js';
import { flagBit } from '../balancer/flags.js';
import { isLbMethod, LB_METHODS } from '../balancer/lbmethod.js';
import { MANAGER_FLAGS, lbfactorOf, type ManagerFlag, type Member } from '../balancer/member.js';
import { defaultsOf } from '../config/kinds.js';
import { memberSchema } from '../config/schema.js';
import type { MemberConfig, MemberTlsConfig, StickySessionConfig } from '../config/types.js';
import { routeProblem } from '../config/route.js';
import { parseMemberUrl, UrlError } from '../config/url.js';
import { factor } from './format.js';

/** Why a change was refused; `status` is the JSON API's answer, the form always answers 400. */
export class ChangeError extends Error {
  override name = 'ChangeError';

  constructor(
    message: string,
    /** The field at fault, in the JSON API's names (loadfactor, route, status, url...). */
    readonly field: string,
    readonly status: 400 | 403 | 404 | 409 = 400,
  ) {
    super(message);
  }
}

/** A member change request; form values arrive as text, JSON values as numbers and booleans. */
export interface MemberChanges {
  loadfactor?: string | number;
  lbset?: string | number;
  route?: string;
  redirect?: string;
  /** Flags to set (true) or clear (false). */
  flags?: Partial<Record<string, boolean>>;
}

/** A balancer change request. */
export interface BalancerChanges {
  lbmethod?: string;
  /** Seconds. */
  timeout?: string | number;
  maxattempts?: string | number;
  nofailover?: string | number | boolean;
  /** `C`, `C|P`, or `-` / null to remove stickiness. */
  stickysession?: string | null;
}

/** httpd keeps sticky names in a 64-byte field (NUL included); route and redirect: config/route.ts. */
const MAX_FIELD_BYTES = 63;
/** Cookie and URL parameter names are RFC 6265 tokens (as the config loader requires). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function isText(v: unknown): v is string {
  return typeof v === 'string';
}

/** A whole number from JSON (a number) or the form (digits only). */
function wholeNumber(v: string | number, field: string, min: number, max: number, what: string): number {
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ChangeError(`${field} must be a whole number from ${min} to ${max}${what} (got ${JSON.stringify(v)})`, field);
  }
  return n;
}

/** `w_lf` / loadfactor: 1..100, decimals allowed; lbfactor = trunc(v × 100) must be 100..10000 (apache-semantics §7.2). */
export function parseLoadfactor(v: string | number): number {
  const n = typeof v === 'number' ? v : /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(v) ? Number(v) : NaN;
  const lbfactor = Number.isFinite(n) ? lbfactorOf(n) : NaN;
  if (!(lbfactor >= 100 && lbfactor <= 10000)) {
    throw new ChangeError(`loadfactor must be a number from 1 to 100 (got ${JSON.stringify(v)})`, 'loadfactor');
  }
  return n;
}

/** `w_wr` / `w_rr` / route, redirect: the balancer file's rule (config/route.ts). */
function routeText(v: unknown, field: 'route' | 'redirect'): string {
  if (!isText(v)) throw new ChangeError(`${field} must be text (got ${JSON.stringify(v)})`, field);
  const problem = routeProblem(v);
  if (problem) throw new ChangeError(`${field} ${problem}`, field);
  return v;
}

/** A form's `0`/`1` or a JSON boolean. */
function onOff(v: string | number | boolean, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (v === '0' || v === '1') return v === '1';
  throw new ChangeError(`${field} must be 0 or 1 (got ${JSON.stringify(v)})`, field);
}

/**
 * A status change as text, e.g. "+N-D" or "D": letters of I N D H R S C, case-insensitive; `+`
 * sets and `-` clears, and the sign persists for the following letters (apache-semantics §5 syntax; a letter
 * without a sign sets). E cannot be changed here (apache-semantics §6).
 */
export function parseStatusChange(text: string): Partial<Record<ManagerFlag, boolean>> {
  const flags: Partial<Record<ManagerFlag, boolean>> = {};
  let set = true;
  let pending = false;
  for (const ch of text.replace(/\s+/g, '')) {
    if (ch === '+' || ch === '-') {
      set = ch === '+';
      pending = true;
      continue;
    }
    flags[managerFlag(ch)] = set;
    pending = false;
  }
  if (pending) throw new ChangeError(`status "${text}" ends with a sign but no flag letter follows`, 'status');
  if (Object.keys(flags).length === 0) throw new ChangeError('status names no flag (use letters of I N D H R S C, e.g. "+N" or "-D")', 'status');
  return flags;
}

function managerFlag(letter: string): ManagerFlag {
  const upper = letter.toUpperCase();
  if (upper === 'E') {
    throw new ChangeError('the E flag (in error) cannot be set or cleared by hand: it is cleared by a successful retry or a passing health check', 'status');
  }
  if (!(MANAGER_FLAGS as readonly string[]).includes(upper)) {
    throw new ChangeError(`unknown status flag "${letter}" (use I, N, D, H, R, S or C)`, 'status');
  }
  return upper as ManagerFlag;
}

/** A validated member change, ready to apply. */
interface MemberPlan {
  loadfactor?: number;
  lbset?: number;
  route?: string;
  redirect?: string;
  flags: Array<[ManagerFlag, boolean]>;
}

function planMember(b: Balancer, m: Member | null, c: MemberChanges): MemberPlan {
  const plan: MemberPlan = { flags: [] };
  if (c.loadfactor !== undefined) {
    const lf = parseLoadfactor(c.loadfactor);
    if (m === null || lbfactorOf(lf) !== m.lbfactor) plan.loadfactor = lf;
  }
  if (c.lbset !== undefined) {
    const ls = wholeNumber(c.lbset, 'lbset', 0, 99, '');
    if (m === null || ls !== m.lbset) plan.lbset = ls;
  }
  if (c.route !== undefined) {
    const route = routeText(c.route, 'route');
    if (m === null || route !== m.route) {
      const other = route === '' ? undefined : b.members.find((x) => x !== m && x.route === route);
      if (other) throw new ChangeError(`route "${route}" is already the route of ${other.name}: a session could not tell them apart`, 'route', 409);
      plan.route = route;
    }
  }
  if (c.redirect !== undefined) {
    const redirect = routeText(c.redirect, 'redirect');
    if (m === null || redirect !== m.redirect) plan.redirect = redirect;
  }
  // A redirect is looked up like a session route (apache-semantics §2.4): it must name a route of this balancer.
  const redirect = plan.redirect ?? m?.redirect ?? '';
  if (redirect !== '') {
    const routes = new Set(b.members.filter((x) => x !== m).map((x) => x.route));
    routes.add(plan.route ?? m?.route ?? '');
    if (!routes.has(redirect) && plan.redirect !== undefined) {
      throw new ChangeError(`redirect "${redirect}" is not the route of a member of balancer://${b.name}`, 'redirect');
    }
  }
  for (const [letter, value] of Object.entries(c.flags ?? {})) {
    if (value === undefined) continue;
    const flag = managerFlag(letter);
    if (typeof value !== 'boolean') throw new ChangeError(`status.${letter} must be true or false`, 'status');
    if (m === null || m.has(flagBit(flag)!) !== value) plan.flags.push([flag, value]);
  }
  return plan;
}

/** What changed, for the log and the API's answer. */
export type ChangeList = string[];

function applyMember(b: Balancer, m: Member, plan: MemberPlan): ChangeList {
  const done: ChangeList = [];
  if (plan.loadfactor !== undefined) {
    const before = factor(m.lbfactor);
    b.setLoadfactor(m, plan.loadfactor);
    done.push(`loadfactor ${before} → ${factor(m.lbfactor)}`);
  }
  if (plan.lbset !== undefined) {
    done.push(`lbset ${m.lbset} → ${plan.lbset}`);
    m.setLbset(plan.lbset);
  }
  if (plan.route !== undefined) {
    done.push(`route "${m.route}" → "${plan.route}"`);
    m.setRoute(plan.route);
  }
  if (plan.redirect !== undefined) {
    done.push(`redirect "${m.redirect}" → "${plan.redirect}"`);
    m.setRedirect(plan.redirect);
  }
  for (const [flag, value] of plan.flags) {
    m.setFlag(flag, value);
    done.push(`${value ? '+' : '-'}${flag}`);
  }
  return done;
}

/** Validate, then apply a member change; throws ChangeError and changes nothing when a value is refused. */
export function changeMember(b: Balancer, m: Member, c: MemberChanges): ChangeList {
  return applyMember(b, m, planMember(b, m, c));
}

interface BalancerPlan {
  lbmethod?: Balancer['lbmethod'];
  timeout?: number;
  maxattempts?: number;
  nofailover?: boolean;
  stickysession?: { text: string; value: StickySessionConfig | null };
}

function stickyText(s: StickySessionConfig | null): string {
  return s === null ? '-' : s.cookie === s.param ? s.cookie : `${s.cookie}|${s.param}`;
}

/** `b_ss`: `C`, `C|P` (blanks around the bar allowed: the page shows "C | P"), or `-` to remove. */
export function parseStickysession(v: string | null): StickySessionConfig | null {
  if (v === null) return null;
  if (!isText(v)) throw new ChangeError(`stickysession must be text or null (got ${JSON.stringify(v)})`, 'stickysession');
  const text = v.trim();
  if (text === '-') return null;
  if (text === '') throw new ChangeError('stickysession must name a cookie, COOKIE|PARAM, or be "-" to remove stickiness', 'stickysession');
  if (Buffer.byteLength(text) > MAX_FIELD_BYTES - 1) throw new ChangeError(`stickysession must be shorter than ${MAX_FIELD_BYTES} bytes`, 'stickysession');
  const bar = text.indexOf('|');
  const cookie = (bar < 0 ? text : text.slice(0, bar)).trim();
  const param = (bar < 0 ? text : text.slice(bar + 1)).trim();
  for (const name of [cookie, param]) {
    if (!TOKEN.test(name)) {
      throw new ChangeError(name === '' ? `stickysession "${text}" needs both names in COOKIE|PARAM` : `"${name}" is not a valid cookie or parameter name`, 'stickysession');
    }
  }
  return { cookie, param };
}

function planBalancer(b: Balancer, c: BalancerChanges): BalancerPlan {
  const plan: BalancerPlan = {};
  if (c.lbmethod !== undefined) {
    if (!isText(c.lbmethod) || !isLbMethod(c.lbmethod)) {
      throw new ChangeError(`lbmethod must be one of ${LB_METHODS.join(', ')} (got ${JSON.stringify(c.lbmethod)})`, 'lbmethod');
    }
    if (c.lbmethod !== b.lbmethod) plan.lbmethod = c.lbmethod;
  }
  if (c.timeout !== undefined) {
    const t = wholeNumber(c.timeout, 'timeout', 0, 7200, ' seconds');
    if (t * 1000 !== b.timeout) plan.timeout = t;
  }
  if (c.maxattempts !== undefined) {
    const n = wholeNumber(c.maxattempts, 'maxattempts', 0, 99, '');
    if (n !== b.maxAttempts) {
      if (!b.maxAttemptsSet) {
        throw new ChangeError(
          `maxattempts is not set for balancer://${b.name} (one member and no maxattempts in the file), so a runtime value would have no effect (httpd 2.4 ignores it too); set maxattempts in the balancer file`,
          'maxattempts',
        );
      }
      plan.maxattempts = n;
    }
  }
  if (c.nofailover !== undefined) {
    const on = onOff(c.nofailover, 'nofailover');
    if (on !== b.nofailover) plan.nofailover = on;
  }
  if (c.stickysession !== undefined) {
    const value = parseStickysession(c.stickysession);
    const text = stickyText(value);
    if (text !== stickyText(b.sticky)) plan.stickysession = { text, value };
  }
  return plan;
}

/** Validate, then apply a balancer change; throws ChangeError and changes nothing when a value is refused. */
export function changeBalancer(b: Balancer, c: BalancerChanges): ChangeList {
  return prepareBalancerChange(b, c)();
}

/**
 * Validate a balancer change now and return the function that applies it (so that a form which
 * also adds a member can refuse both before doing either). Throws ChangeError.
 */
export function prepareBalancerChange(b: Balancer, c: BalancerChanges): () => ChangeList {
  const plan = planBalancer(b, c);
  return () => applyBalancer(b, plan);
}

function applyBalancer(b: Balancer, plan: BalancerPlan): ChangeList {
  const done: ChangeList = [];
  if (plan.lbmethod !== undefined) {
    done.push(`lbmethod ${b.lbmethod} → ${plan.lbmethod}`);
    b.setLbmethod(plan.lbmethod);
  }
  if (plan.timeout !== undefined) {
    done.push(`timeout ${b.timeout / 1000} → ${plan.timeout}`);
    b.setTimeout(plan.timeout);
  }
  if (plan.maxattempts !== undefined) {
    done.push(`maxattempts ${b.maxAttempts} → ${plan.maxattempts}`);
    b.setMaxAttempts(plan.maxattempts);
  }
  if (plan.nofailover !== undefined) {
    done.push(`nofailover ${b.nofailover ? 'On' : 'Off'} → ${plan.nofailover ? 'On' : 'Off'}`);
    b.setNofailover(plan.nofailover);
  }
  if (plan.stickysession !== undefined) {
    done.push(`stickysession ${stickyText(b.sticky)} → ${plan.stickysession.text}`);
    b.setStickysession(plan.stickysession.text);
  }
  return done;
}

/**
 * The configuration of a member added at runtime: the URL with every other parameter at its
 * default, as httpd gives a `b_nwrkr` member its defaults (timeouts from `proxy.timeout`).
 */
export function newMemberConfig(url: string, proxyTimeout: number, tls?: MemberTlsConfig): MemberConfig {
  let address;
  try {
    address = parseMemberUrl(url);
  } catch (e) {
    if (e instanceof UrlError) throw new ChangeError(e.message, 'url');
    throw e;
  }
  const { url: _url, timeout: _timeout, connectiontimeout: _ct, ...defaults } = defaultsOf(memberSchema)();
  const config: MemberConfig = { ...defaults, ...address, timeout: proxyTimeout, connectiontimeout: proxyTimeout };
  // An https:// member added at run time trusts what its balancer's file-given members trust.
  if (address.scheme === 'https' && tls !== undefined) config.tls = tls;
  return config;
}

/**
 * `b_nwrkr` + `b_wyes=1` / POST members: add a member (it starts disabled, apache-semantics §6), then apply
 * `changes` to it. Everything is validated before the member is added. A duplicate URL or a
 * balancer without free slot (`growth`) is a 409.
 */
export function addMember(b: Balancer, url: unknown, proxyTimeout: number, changes: MemberChanges = {}): { member: Member; changes: ChangeList } {
  if (!isText(url) || url.trim() === '') throw new ChangeError('url must be a member URL such as http://10.0.0.5:8080', 'url');
  const config = newMemberConfig(url, proxyTimeout, b.config.membertls);
  const plan = planMember(b, null, changes);
  if (b.freeSlots === 0) {
    throw new ChangeError(`balancer://${b.name} has no free member slot (growth ${b.config.growth}, ${b.members.length} members); raise its growth setting to add members`, 'url', 409);
  }
  let member: Member;
  try {
    member = b.addMember(config);
  } catch (e) {
    if (e instanceof ManagerError) throw new ChangeError(e.message, 'url', 409);
    throw e;
  }
  // The new member's plan was checked as if it had no settings yet: drop what equals its defaults.
  const done = applyMember(b, member, {
    ...(plan.loadfactor !== undefined && lbfactorOf(plan.loadfactor) !== member.lbfactor ? { loadfactor: plan.loadfactor } : {}),
    ...(plan.lbset !== undefined && plan.lbset !== member.lbset ? { lbset: plan.lbset } : {}),
    ...(plan.route !== undefined && plan.route !== '' ? { route: plan.route } : {}),
    ...(plan.redirect !== undefined && plan.redirect !== '' ? { redirect: plan.redirect } : {}),
    flags: plan.flags.filter(([flag, value]) => member.has(flagBit(flag)!) !== value),
  });
  return { member, changes: [`added ${member.name} (disabled)`, ...done] };
}

/**
 * `/balancer-manager` (apache-semantics §6): GET shows the page; POST changes a member or a balancer and
 * answers 303 back to the page (post/redirect/get), so a browser reload never repeats a change.
 *
 * A POST changes something only when all of these hold, checked in this order (apache-semantics §6,
 * "Protection", made visible: each refusal is shown on the page with its reason):
 *   1. the admin listener is not read-only (admin.readonly);
 *   2. it comes from this page: Origin (or Referer) names the request's Host (403);
 *   3. `b` names a balancer (404 page otherwise) whose nonce is not None and equals `nonce` (403);
 *   4. every value is valid (400 with the page and the message; nothing changed; changes.ts).
 * The token was checked before (server.ts). Adding a member that fails answers 400, as httpd does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer } from '../balancer/balancer.js';
import type { Member } from '../balancer/member.js';
import { sameOrigin } from './auth.js';
import { addMember, changeMember, ChangeError, prepareBalancerChange, type BalancerChanges, type MemberChanges } from './changes.js';
import type { AdminContext } from './context.js';
import { BodyTooLarge, mediaType, readBody, sendHtml } from './http.js';
import { MANAGER_PATH, renderManagerPage, type PageModel } from './page.js';
import { balancerView } from './view.js';

/** httpd reads the first 1024 bytes of a manager POST; a form of ours is far smaller than this. */
const MAX_FORM_BYTES = 16 * 1024;

/** The balancers the manager shows: implicit ones (direct ProxyPass URLs) stay hidden, as in httpd. */
export function managedBalancers(ctx: AdminContext): Balancer[] {
  return [...ctx.target.balancers.values()].filter((b) => !b.config.implicit);
}

function page(ctx: AdminContext, req: IncomingMessage, selected: PageModel['selected'], error: string | null): string {
  const readonlyReason = ctx.admin.readonly ? 'The admin listener is read-only (admin.readonly): the manager shows the balancers but changes nothing.' : null;
  return renderManagerPage({
    host: req.headers.host ?? 'stickyd',
    balancers: managedBalancers(ctx).map((b) => {
      const nonce = ctx.nonces.of(b);
      const readonly = ctx.admin.readonly || nonce === '';
      return { view: balancerView(b, ctx.target.config, readonly, ctx.health), nonce: readonly ? null : nonce };
    }),
    selected,
    error,
    readonlyReason,
  });
}

/** `w` names a member by its URL (httpd's worker name). */
function findMember(b: Balancer, w: string): Member | undefined {
  return b.members.find((m) => m.name === w);
}

/** GET: the page; `b`, `w` (and `nonce`) select the edit form, as httpd's links do. */
export function showManager(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const b = query.get('b');
  const w = query.get('w');
  const selected = b === null ? null : { balancer: b.toLowerCase(), member: w };
  sendHtml(res, 200, page(ctx, req, selected, null));
}

function memberChanges(form: URLSearchParams): MemberChanges {
  const c: MemberChanges = {};
  const lf = form.get('w_lf');
  if (lf !== null) c.loadfactor = lf;
  const ls = form.get('w_ls');
  if (ls !== null) c.lbset = ls;
  const wr = form.get('w_wr');
  if (wr !== null) c.route = wr;
  const rr = form.get('w_rr');
  if (rr !== null) c.redirect = rr;
  const flags: Record<string, boolean> = {};
  for (const [key, value] of form) {
    const m = /^w_status_(.)$/.exec(key);
    if (m === null) continue;
    if (value !== '0' && value !== '1') throw new ChangeError(`${key} must be 0 or 1 (got ${JSON.stringify(value)})`, 'status');
    flags[m[1]!] = value === '1';
  }
  c.flags = flags;
  return c;
}

function balancerChanges(form: URLSearchParams): BalancerChanges {
  const c: BalancerChanges = {};
  const lbm = form.get('b_lbm');
  if (lbm !== null) c.lbmethod = lbm;
  const tmo = form.get('b_tmo');
  if (tmo !== null) c.timeout = tmo;
  const max = form.get('b_max');
  if (max !== null) c.maxattempts = max;
  const sforce = form.get('b_sforce');
  if (sforce !== null) c.nofailover = sforce;
  const ss = form.get('b_ss');
  // An empty field means "leave it"; "-" removes stickiness (the form's own hint).
  if (ss !== null && ss.trim() !== '') c.stickysession = ss;
  return c;
}

/** POST: apply one form, then 303 to the page (or the page with the refusal). */
export async function changeFromManager(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refuse = (status: number, selected: PageModel['selected'], message: string): void => {
    sendHtml(res, status, page(ctx, req, selected, message));
  };
  if (ctx.admin.readonly) return refuse(403, null, 'the admin listener is read-only (admin.readonly): changes are refused');
  if (!sameOrigin(req)) {
    return refuse(403, null, 'the change did not come from this page (its Origin or Referer does not name this host); open the page and submit its form');
  }
  const type = mediaType(req);
  if (type !== 'application/x-www-form-urlencoded') {
    return refuse(415, null, `the form must be sent as application/x-www-form-urlencoded (got ${type || 'no content type'})`);
  }
  let form: URLSearchParams;
  try {
    form = new URLSearchParams((await readBody(req, MAX_FORM_BYTES)).toString('utf8'));
  } catch (err) {
    if (err instanceof BodyTooLarge) return refuse(413, null, err.message);
    throw err;
  }
  const name = (form.get('b') ?? '').toLowerCase();
  const b = managedBalancers(ctx).find((x) => x.name === name);
  if (b === undefined) return refuse(404, null, `there is no balancer named "${form.get('b') ?? ''}"`);
  const w = form.get('w');
  const selected = { balancer: b.name, member: w };
  if (ctx.nonces.of(b) === '') return refuse(403, selected, `balancer://${b.name} has nonce None: the manager cannot change it`);
  if (!ctx.nonces.accepts(b, form.get('nonce'))) {
    return refuse(403, selected, `the nonce does not match balancer://${b.name}'s (the page is out of date, or the daemon restarted): reload the page and try again`);
  }

  let done: string[];
  try {
    if (w !== null) {
      const m = findMember(b, w);
      if (m === undefined) return refuse(404, { balancer: b.name, member: null }, `balancer://${b.name} has no member ${w}`);
      done = changeMember(b, m, memberChanges(form));
    } else {
      const changes = balancerChanges(form);
      const url = (form.get('b_nwrkr') ?? '').trim();
      if (url !== '' && form.get('b_wyes') !== '1') {
        throw new ChangeError('to add a member, also tick "Are you sure?"', 'url');
      }
      // Validate the settings first and apply them only once the add (if any) succeeded: a
      // refused form changes nothing at all.
      const apply = prepareBalancerChange(b, changes);
      const added = url === '' ? [] : addMember(b, url, ctx.target.config.proxy.timeout).changes;
      done = [...apply(), ...added];
    }
  } catch (err) {
    if (!(err instanceof ChangeError)) throw err;
    return refuse(400, selected, err.message);
  }
  if (done.length > 0) ctx.logger?.info(`balancer-manager: balancer://${b.name}${w === null ? '' : ` member ${w}`}: ${done.join(', ')}`);
  ctx.dashboard?.changed('balancer-manager', b.name, w, done);
  const q = new URLSearchParams({ b: b.name });
  if (w !== null) q.set('w', w);
  q.set('nonce', ctx.nonces.of(b));
  res.writeHead(303, { Location: `${MANAGER_PATH}?${q.toString()}`, 'Content-Length': '0', 'Cache-Control': 'no-store' });
  res.end();
}

/**
 * The runtime JSON API (what httpd's manager XML and form fields do, for scripts):
 *
 *   GET   /api/balancers                          every (non-implicit) balancer with its members
 *   GET   /api/balancers/:name                    one balancer
 *   PATCH /api/balancers/:name                    lbmethod, timeout, maxattempts, nofailover, stickysession
 *   GET   /api/balancers/:name/members/:member    one member
 *   PATCH /api/balancers/:name/members/:member    loadfactor, lbset, route, redirect, status
 *   POST  /api/balancers/:name/members            add: url (+ the PATCH fields); starts disabled
 *   GET   /api/status                             version, Node.js, pid, start time, the last reload
 *   GET   /api/reload                             the last reload: time, result, errors
 *   POST  /api/reload                             re-read the balancer file, as SIGHUP does; 422 with
 *                                                 the file's problems when it is refused
 *
 * `:member` is the member's route, or its URL percent-encoded (the way to name a member without
 * route). `status` is `{ "D": true, "N": false }` or a string such as `"+N-D"`.
 *
 * Errors are `{ "error": "...", "field": "..." }`: 400 invalid value or body, 401 no or wrong
 * token, 403 read-only (admin.readonly or nonce None), 404 unknown balancer or member, 405 wrong
 * method, 409 duplicate member or route / no free slot, 413 body too large, 415 not JSON, 421
 * a Host that is not the listener's (server.ts, host.ts).
 * Only `Authorization: Bearer` is accepted here (checked in server.ts), so a browser cannot be
 * made to call the API with credentials it holds for the manager page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Balancer } from '../balancer/balancer.js';
import type { Member } from '../balancer/member.js';
import { addMember, changeBalancer, changeMember, ChangeError, parseStatusChange, type BalancerChanges, type MemberChanges } from './changes.js';
import type { AdminContext } from './context.js';
import { BodyTooLarge, mediaType, readBody, sendJson, sendJsonError } from './http.js';
import { managedBalancers } from './manager.js';
import { balancerView, memberView } from './view.js';
import { buildInfo } from '../version.js';

/** API bodies are a handful of fields. */
const MAX_JSON_BYTES = 64 * 1024;

export const API_PREFIX = '/api/balancers';
export const STATUS_PATH = '/api/status';
export const RELOAD_PATH = '/api/reload';

/** The paths the JSON API answers (Bearer token only). */
export function isApiPath(path: string): boolean {
  return path === API_PREFIX || path.startsWith(`${API_PREFIX}/`) || path === STATUS_PATH || path === RELOAD_PATH;
}

/** When this process started (ISO 8601), for /api/status. */
const STARTED = new Date(Date.now() - process.uptime() * 1000).toISOString();

const MEMBER_FIELDS = new Set(['loadfactor', 'lbset', 'route', 'redirect', 'status']);
const BALANCER_FIELDS = new Set(['lbmethod', 'timeout', 'maxattempts', 'nofailover', 'stickysession']);

class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** A member by route, else by URL (members without a route can only be named by URL). */
export function findMemberByKey(b: Balancer, key: string): Member | undefined {
  return b.members.find((m) => m.route !== '' && m.route === key) ?? b.members.find((m) => m.name === key);
}

function decodeSegment(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ApiError(400, `the ${what} in the path is not valid percent-encoding`, what);
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = mediaType(req);
  if (type !== 'application/json') throw new ApiError(415, `send the body as application/json (got ${type || 'no content type'})`);
  let text: string;
  try {
    text = (await readBody(req, MAX_JSON_BYTES)).toString('utf8');
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new ApiError(413, err.message);
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ApiError(400, `the body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ApiError(400, 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

function refuseUnknown(body: Record<string, unknown>, known: Set<string>, extra: string[] = []): void {
  for (const key of Object.keys(body)) {
    if (!known.has(key) && !extra.includes(key)) {
      throw new ApiError(400, `unknown field "${key}" (known: ${[...known, ...extra].join(', ')})`, key);
    }
  }
}

function memberChanges(body: Record<string, unknown>): MemberChanges {
  const c: MemberChanges = {};
  const num = (key: string): string | number | undefined => {
    const v = body[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' && typeof v !== 'string') throw new ChangeError(`${key} must be a number (got ${JSON.stringify(v)})`, key);
    return v;
  };
  const lf = num('loadfactor');
  if (lf !== undefined) c.loadfactor = lf;
  const ls = num('lbset');
  if (ls !== undefined) c.lbset = ls;
  if (body.route !== undefined) c.route = body.route as string;
  if (body.redirect !== undefined) c.redirect = body.redirect as string;
  const status = body.status;
  if (status !== undefined) {
    if (typeof status === 'string') c.flags = parseStatusChange(status);
    else if (status !== null && typeof status === 'object' && !Array.isArray(status)) c.flags = status as Record<string, boolean>;
    else throw new ChangeError('status must be an object such as {"D": true} or a string such as "+N-D"', 'status');
  }
  return c;
}

function balancerChanges(body: Record<string, unknown>): BalancerChanges {
  const c: BalancerChanges = {};
  if (body.lbmethod !== undefined) c.lbmethod = body.lbmethod as string;
  for (const key of ['timeout', 'maxattempts'] as const) {
    const v = body[key];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw new ChangeError(`${key} must be a number (got ${JSON.stringify(v)})`, key);
    c[key] = v;
  }
  if (body.nofailover !== undefined) {
    if (typeof body.nofailover !== 'boolean') throw new ChangeError(`nofailover must be true or false (got ${JSON.stringify(body.nofailover)})`, 'nofailover');
    c.nofailover = body.nofailover;
  }
  if (body.stickysession !== undefined) c.stickysession = body.stickysession as string | null;
  return c;
}

/** Changes are refused everywhere (admin.readonly) or for this balancer (nonce None). */
function checkWritable(ctx: AdminContext, b: Balancer): void {
  if (ctx.admin.readonly) throw new ApiError(403, 'the admin listener is read-only (admin.readonly)');
  if (ctx.nonces.of(b) === '') throw new ApiError(403, `balancer://${b.name} has nonce None: it cannot be changed at runtime`);
}

function allow(methods: string): never {
  throw new ApiError(405, `method not allowed here; allowed: ${methods}`, undefined, { Allow: methods });
}

/** Routes /api/balancers[...]. `path` is the request path without the query. */
export async function handleApi(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  try {
    await route(ctx, req, res, path);
  } catch (err) {
    if (err instanceof ApiError) return sendJsonError(res, err.status, err.message, err.field, err.headers);
    if (err instanceof ChangeError) return sendJsonError(res, err.status, err.message, err.field);
    throw err;
  }
}

/** GET /api/status: what runs, and the last reload. */
function status(ctx: AdminContext): Record<string, unknown> {
  const b = buildInfo();
  const reloads = ctx.target.reloads?.status();
  return {
    version: b.version,
    commit: b.commit,
    built: b.built,
    node: b.node,
    pid: process.pid,
    started: STARTED,
    config: reloads?.file ?? ctx.target.config.file,
    reload: reloads === undefined ? null : { ...reloads.last, lastSuccess: reloads.lastSuccess },
  };
}

/** /api/reload: GET shows the last reload, POST reloads and answers with how it went. */
async function reload(ctx: AdminContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const reloads = ctx.target.reloads;
  if (method === 'GET' || method === 'HEAD') {
    if (!reloads) throw new ApiError(404, 'this daemon was not started from a balancer file: nothing to reload');
    const s = reloads.status();
    return sendJson(res, 200, { ...s.last, lastSuccess: s.lastSuccess, file: s.file });
  }
  if (method !== 'POST') allow('GET, HEAD, POST');
  req.resume();
  if (ctx.admin.readonly) throw new ApiError(403, 'the admin listener is read-only (admin.readonly); send the daemon SIGHUP to reload');
  if (!reloads) throw new ApiError(404, 'this daemon was not started from a balancer file: nothing to reload');
  const record = await reloads.reload('api');
  const s = reloads.status();
  const body = { ...record, lastSuccess: s.lastSuccess, file: s.file };
  if (record.successful) return sendJson(res, 200, body);
  return sendJson(res, 422, { error: `${s.file} was not loaded; the running configuration stays`, ...body });
}

async function route(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (path === STATUS_PATH) {
    if (req.method !== 'GET' && req.method !== 'HEAD') allow('GET, HEAD');
    return sendJson(res, 200, status(ctx));
  }
  if (path === RELOAD_PATH) return reload(ctx, req, res);
  const parts = path.slice(API_PREFIX.length).split('/').filter((p, i) => i > 0 || p !== '');
  const method = req.method ?? 'GET';
  const config = ctx.target.config;
  const view = (b: Balancer) => balancerView(b, config, ctx.admin.readonly || ctx.nonces.of(b) === '', ctx.health);

  if (parts.length === 0 || (parts.length === 1 && parts[0] === '')) {
    if (method !== 'GET' && method !== 'HEAD') allow('GET, HEAD');
    return sendJson(res, 200, { balancers: managedBalancers(ctx).map(view) });
  }
  const name = decodeSegment(parts[0]!, 'balancer').toLowerCase();
  const b = managedBalancers(ctx).find((x) => x.name === name);
  if (b === undefined) throw new ApiError(404, `there is no balancer named "${name}"`, 'balancer');

  if (parts.length === 1) {
    if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, view(b));
    if (method !== 'PATCH') allow('GET, HEAD, PATCH');
    const body = await jsonBody(req);
    checkWritable(ctx, b);
    refuseUnknown(body, BALANCER_FIELDS);
    const changes = changeBalancer(b, balancerChanges(body));
    if (changes.length > 0) ctx.logger?.info(`admin API: balancer://${b.name}: ${changes.join(', ')}`);
    ctx.dashboard?.changed('admin API', b.name, null, changes);
    return sendJson(res, 200, { balancer: view(b), changes });
  }
  if (parts[1] !== 'members' || parts.length > 3) throw new ApiError(404, `no such API path: ${path}`);

  if (parts.length === 2) {
    if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, { members: view(b).members });
    if (method !== 'POST') allow('GET, HEAD, POST');
    const body = await jsonBody(req);
    checkWritable(ctx, b);
    refuseUnknown(body, MEMBER_FIELDS, ['url']);
    const added = addMember(b, body.url, config.proxy.timeout, memberChanges(body));
    ctx.logger?.info(`admin API: balancer://${b.name}: ${added.changes.join(', ')}`);
    ctx.dashboard?.changed('admin API', b.name, added.member.name, added.changes);
    return sendJson(res, 201, { member: memberView(added.member, ctx.health), changes: added.changes }, {
      Location: `${API_PREFIX}/${encodeURIComponent(b.name)}/members/${encodeURIComponent(added.member.name)}`,
    });
  }

  const key = decodeSegment(parts[2]!, 'member');
  const m = findMemberByKey(b, key);
  if (m === undefined) throw new ApiError(404, `balancer://${b.name} has no member with route or URL "${key}"`, 'member');
  if (method === 'GET' || method === 'HEAD') return sendJson(res, 200, memberView(m, ctx.health));
  if (method !== 'PATCH') allow('GET, HEAD, PATCH');
  const body = await jsonBody(req);
  checkWritable(ctx, b);
  refuseUnknown(body, MEMBER_FIELDS);
  const changes = changeMember(b, m, memberChanges(body));
  if (changes.length > 0) ctx.logger?.info(`admin API: balancer://${b.name} member ${m.name}: ${changes.join(', ')}`);
  ctx.dashboard?.changed('admin API', b.name, m.name, changes);
  return sendJson(res, 200, { member: memberView(m, ctx.health), changes });
}

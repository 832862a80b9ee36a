/**
 * The differential driver: one scenario (an Apache configuration fragment), run by real httpd and
 * by stickyd over the same backends, with the same request sequence. Each request becomes an
 * Observation (status, which member answered, which backends were reached, the six BALANCER_*
 * variables) so a test compares the two lists with one `toEqual` and the diff names the step.
 *
 * One start of each front per scenario; many requests per start. The sequence runs on httpd first
 * and then on stickyd (never interleaved), so the backends' logs belong to one front at a time.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { freePorts } from '../../helpers/ports.js';
import { apacheMissing, BALANCER_VARS, envHeader, startApache, type ApacheServer, type BalancerVar } from './apache.js';
import type { Backend, Received } from './backends.js';
import type { AccessRecord } from '../../../src/log.js';
import { startStickyd, type StickydServer } from './stickyd.js';

export type Env = Record<BalancerVar, string | null>;

export interface Step {
  /** Names the step in a diff. */
  label: string;
  path: string;
  method?: string;
  /** Request headers in order; repeat a name to send it twice. */
  headers?: Array<[string, string]>;
  /** The Host header; default `127.0.0.1:<the front's port>`. */
  host?: string;
  body?: Buffer;
  /**
   * Steps with the same key share one keep-alive client connection (per front); without a key
   * each step has a connection of its own and sends `Connection: close`.
   */
  connection?: string;
}

export interface Observation {
  step: string;
  /** 0: the connection was closed without any response. */
  status: number;
  /** The response's X-Backend: the member that answered; null when the proxy answered itself. */
  servedBy: string | null;
  /** Backends whose handler got the request, in order (a refused connect leaves no trace). */
  reached: string[];
  env: Env;
}

export interface Exchange {
  observation: Observation;
  /** Response headers, names lower-cased, in order. */
  headers: Array<[string, string]>;
  body: Buffer;
  /** What the backends received for this request. */
  received: Array<Received & { backend: string }>;
}

/** A member as the balancer-manager shows it (the fields both fronts can be compared on). */
export interface MemberState {
  name: string;
  route: string;
  /** The manager's status text, e.g. "Init Drn Ok ". */
  status: string;
  lbstatus: number;
  elected: number;
  busy: number;
  retries: number;
  lbset: number;
  loadfactor: number;
}

/** A member's byte counters as the balancer-manager shows them (apache-semantics §3.4). */
export interface MemberTraffic {
  name: string;
  transferred: number;
  read: number;
}

export type Front = 'apache' | 'stickyd';

export interface Pair {
  apache: ApacheServer;
  stickyd: StickydServer;
  /** Run the steps on httpd, then on stickyd. */
  run(steps: Step[]): Promise<Record<Front, Observation[]>>;
  /** Like run, with the full responses and what the backends received. */
  exchange(steps: Step[]): Promise<Record<Front, Exchange[]>>;
  /**
   * One step on one front, for tests that need requests in flight at the same time (the others
   * run everything in order). What the backends received while a step was in flight is in its
   * `received`, so a step that overlaps others sees theirs too.
   */
  send(front: Front, step: Step): Promise<Exchange>;
  /** The members of `balancer://name` on each front (httpd's manager XML, stickyd's JSON API). */
  members(name: string): Promise<Record<Front, MemberState[]>>;
  /** The bytraffic counters (`transferred`, `read`) of the members of `balancer://name` on each front. */
  traffic(name: string): Promise<Record<Front, MemberTraffic[]>>;
  stop(): Promise<void>;
}

/**
 * `describe` for a conformance suite: skipped, loudly, when httpd is not installed (CI installs
 * it; see README "Tests").
 */
export function describeConformance(name: string, fn: () => void): void {
  const missing = apacheMissing();
  if (missing !== null) {
    console.warn(`\n!!! CONFORMANCE TESTS SKIPPED (${name}): Apache httpd is not available: ${missing}\n`);
  }
  describe.skipIf(missing !== null)(name, fn);
}

function unwrap(v: string | undefined): string | null {
  if (v === undefined) throw new Error('httpd sent no env header: is mod_headers loaded?');
  const inner = v.replace(/^\[/, '').replace(/\]$/, '');
  return inner === '(null)' ? null : inner;
}

function send(port: number, step: Step, agent: http.Agent | false): Promise<{ status: number; headers: Array<[string, string]>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // An array of headers keeps repeated names apart; node then adds no Host of its own.
    const flat: string[] = ['Host', step.host ?? `127.0.0.1:${port}`];
    for (const [k, v] of step.headers ?? []) flat.push(k, v);
    if (step.body !== undefined) flat.push('Content-Length', String(step.body.length));
    let answered = false;
    const req = http.request({ host: '127.0.0.1', port, path: step.path, method: step.method ?? 'GET', headers: flat, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) headers.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The proxy closed the connection without any response (httpd does that on purpose, §9.9).
      if (err.code === 'ECONNRESET' && !answered) resolve({ status: 0, headers: [], body: Buffer.alloc(0) });
      else reject(err);
    });
    req.end(step.body);
  });
}

function header(headers: Array<[string, string]>, name: string): string | undefined {
  return headers.find(([k]) => k === name)?.[1];
}

const xmlField = (block: string, name: string): string => new RegExp(`<httpd:${name}>([^<]*)</httpd:${name}>`).exec(block)?.[1] ?? '';

/** The `<httpd:worker>` blocks of one balancer in httpd's manager XML. */
function workerBlocks(xml: string, balancer: string): string[] {
  for (const b of xml.split('<httpd:balancer>').slice(1)) {
    if (xmlField(b, 'name') === `balancer://${balancer}`) return b.split('<httpd:worker>').slice(1);
  }
  throw new Error(`balancer://${balancer} is not in httpd's manager XML:\n${xml}`);
}

/** httpd's manager XML → the byte counters of one balancer's members. */
export function parseManagerTraffic(xml: string, balancer: string): MemberTraffic[] {
  return workerBlocks(xml, balancer).map((w) => ({ name: xmlField(w, 'name'), transferred: Number(xmlField(w, 'transferred')), read: Number(xmlField(w, 'read')) }));
}

/** httpd's manager XML → member states of one balancer. */
export function parseManagerXml(xml: string, balancer: string): MemberState[] {
  const field = xmlField;
  return workerBlocks(xml, balancer).map((w) => ({
    name: field(w, 'name'),
    route: field(w, 'route'),
    status: field(w, 'status'),
    lbstatus: Number(field(w, 'lbstatus')),
    elected: Number(field(w, 'elected')),
    busy: Number(field(w, 'busy')),
    retries: Number(field(w, 'retries')),
    lbset: Number(field(w, 'lbset')),
    loadfactor: Number(field(w, 'loadfactor')),
  }));
}

interface ApiMember {
  url: string;
  transferred: number;
  read: number;
  route: string;
  status: string;
  lbstatus: number;
  elected: number;
  busy: number;
  retries: number;
  lbset: number;
  loadfactor: number;
}

/**
 * Start httpd and stickyd on `scenario` (Apache directives, without Listen). The backends are the
 * ones the scenario's BalancerMembers point at.
 */
export async function startPair(scenario: string, backends: Backend[]): Promise<Pair> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stickyd-conformance-'));
  // httpd's worker runs as nobody when the tests run as root: it must be able to read the directory.
  chmodSync(dir, 0o755);
  const scenarioFile = path.join(dir, 'scenario.conf');
  writeFileSync(scenarioFile, `${scenario.trim()}\n`);
  const [apachePort, stickydPort, adminPort] = (await freePorts(3)) as [number, number, number];
  const started = await Promise.allSettled([
    startApache(path.join(dir), apachePort, scenarioFile),
    startStickyd(dir, stickydPort, adminPort, scenarioFile),
  ]);
  const [a, s] = started;
  if (a.status === 'rejected' || s.status === 'rejected') {
    if (a.status === 'fulfilled') await a.value.stop();
    if (s.status === 'fulfilled') await s.value.stop();
    rmSync(dir, { recursive: true, force: true });
    throw a.status === 'rejected' ? a.reason : (s as PromiseRejectedResult).reason;
  }
  const apache = a.value;
  const stickyd = s.value;
  // Access records already matched to a request (they come in the order requests finish).
  const consumed = new Set<number>();
  const agents = new Map<string, http.Agent>();
  const agentFor = (front: Front, key: string | undefined): http.Agent | false => {
    if (key === undefined) return false;
    const id = `${front} ${key}`;
    let agent = agents.get(id);
    if (agent === undefined) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.set(id, agent);
    }
    return agent;
  };
  const recordFor = async (step: Step): Promise<AccessRecord> => {
    for (let n = 1; ; n++) {
      const rec = await stickyd.record(n);
      if (!consumed.has(n) && rec.url === step.path && rec.method === (step.method ?? 'GET')) {
        consumed.add(n);
        return rec;
      }
    }
  };

  const exchangeOne = async (front: Front, step: Step): Promise<Exchange> => {
    const before = backends.map((b) => b.received.length);
    const port = front === 'apache' ? apache.port : stickyd.port;
    const r = await send(port, step, agentFor(front, step.connection));
    let env: Env;
    if (front === 'apache' && r.status === 0) {
      // No response, so no headers to read the variables from.
      env = Object.fromEntries(BALANCER_VARS.map((v) => [v, null])) as Env;
    } else if (front === 'apache') {
      env = Object.fromEntries(BALANCER_VARS.map((v) => [v, unwrap(header(r.headers, envHeader(v).toLowerCase()))])) as Env;
      r.headers = r.headers.filter(([k]) => !k.startsWith('x-env-'));
    } else {
      const rec = await recordFor(step);
      // The log's `balancer` field names the mounted balancer even when no member was chosen;
      // BALANCER_NAME is set only together with a member (§2.7).
      env = {
        BALANCER_NAME: rec.member === null ? null : rec.balancer,
        BALANCER_WORKER_NAME: rec.member,
        BALANCER_WORKER_ROUTE: rec.memberRoute,
        BALANCER_SESSION_STICKY: rec.stickyName,
        BALANCER_SESSION_ROUTE: rec.sessionRoute,
        BALANCER_ROUTE_CHANGED: rec.routeChanged ? '1' : null,
      };
    }
    const received: Exchange['received'] = [];
    backends.forEach((b, i) => {
      for (const x of b.received.slice(before[i])) received.push({ ...x, backend: b.name });
    });
    return {
      observation: {
        step: step.label,
        status: r.status,
        servedBy: header(r.headers, 'x-backend') ?? null,
        reached: received.map((x) => x.backend),
        env,
      },
      headers: r.headers,
      body: r.body,
      received,
    };
  };

  const exchange = async (steps: Step[]): Promise<Record<Front, Exchange[]>> => {
    const out: Record<Front, Exchange[]> = { apache: [], stickyd: [] };
    for (const front of ['apache', 'stickyd'] as const) {
      for (const step of steps) out[front].push(await exchangeOne(front, step));
    }
    return out;
  };

  return {
    apache,
    stickyd,
    exchange,
    send: exchangeOne,
    async run(steps) {
      const x = await exchange(steps);
      return { apache: x.apache.map((e) => e.observation), stickyd: x.stickyd.map((e) => e.observation) };
    },
    async members(name) {
      const apacheMembers = parseManagerXml(await apache.managerXml(), name);
      const view = (await stickyd.api(`/api/balancers/${encodeURIComponent(name)}`)) as { members: ApiMember[] } | null;
      if (view === null) throw new Error(`stickyd runs no admin listener: the member states of balancer://${name} cannot be compared`);
      const stickydMembers = view.members.map((m) => ({
        name: m.url,
        route: m.route,
        status: m.status,
        lbstatus: m.lbstatus,
        elected: m.elected,
        busy: m.busy,
        retries: m.retries,
        lbset: m.lbset,
        loadfactor: m.loadfactor,
      }));
      return { apache: apacheMembers, stickyd: stickydMembers };
    },
    async traffic(name) {
      const apacheTraffic = parseManagerTraffic(await apache.managerXml(), name);
      const view = (await stickyd.api(`/api/balancers/${encodeURIComponent(name)}`)) as { members: ApiMember[] } | null;
      if (view === null) throw new Error(`stickyd runs no admin listener: the byte counters of balancer://${name} cannot be compared`);
      return { apache: apacheTraffic, stickyd: view.members.map((m) => ({ name: m.url, transferred: m.transferred, read: m.read })) };
    },
    async stop() {
      for (const agent of agents.values()) agent.destroy();
      await Promise.all([apache.stop(), stickyd.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The seed experiment, run INSIDE a private network namespace (failover.test.ts starts it with
 * `unshare -rnpf --kill-child`): two real Tomcat nodes in a multicast cluster, stickyd in front
 * of them over AJP and over HTTP, one node killed with SIGKILL and brought back.
 *
 * It reports what it observes as JSON lines on stdout ({"type": ...}); the vitest file decides
 * what is right. It is PID 1 of its own PID namespace, so when it exits, for whatever reason, the
 * kernel kills every Tomcat and stickyd it started; it also stops them by PID itself.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AjpConnector } from '../../src/members/ajp/connector.js';
import { ajpMember, backendRequest, pattern, readAll, request } from '../helpers/ajp-fixtures.js';
import { freePorts, waitForPort } from '../helpers/ports.js';
import { spawnStickyd, stopAll, type Proc } from '../helpers/spawn.js';
import { get, sessionPage, type SessionPage } from './client.js';
import { createBase, MEMBER_ADDED, STARTED, startNode, type TomcatNode, type TomcatNodeConfig } from './harness.js';

const CONTEXT = '/myweb';
const SECRET = 'stickyd-test-secret';
const t0 = Date.now();

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...event, atMs: Date.now() - t0 })}\n`);
}

/**
 * Multicast must never leave this machine's loopback: refuse to run unless this is a private
 * network namespace whose only interface is lo, then give lo multicast and a route for it.
 */
function setUpNamespace(): void {
  const links = execFileSync('ip', ['-o', 'link']).toString().trim().split('\n');
  if (links.length !== 1 || !/^\d+: lo:/.test(links[0]!)) {
    throw new Error(`refusing to run: not a private network namespace (interfaces: ${links.map((l) => l.split(':')[1]).join(',')})`);
  }
  execFileSync('ip', ['link', 'set', 'lo', 'up', 'multicast', 'on']);
  execFileSync('ip', ['route', 'add', '224.0.0.0/4', 'dev', 'lo']);
}

const nodes: TomcatNode[] = [];
const procs: Proc[] = [];

async function startCluster(dir: string, configs: TomcatNodeConfig[]): Promise<void> {
  const started = Date.now();
  // One after the other: a node that joins while its peer is still deploying asks it for the
  // sessions and waits out DeltaManager's 60 s stateTransferTimeout (cluster-semantics §4.6).
  for (const c of configs) {
    const node = startNode(await createBase(dir, c), c);
    nodes.push(node);
    await node.waitFor(STARTED, 90_000);
  }
  // Each node must have seen the other before a session is made, or it would not be replicated.
  await Promise.all(nodes.map((n) => n.waitFor(MEMBER_ADDED, 30_000)));
  emit({ type: 'cluster-started', ms: Date.now() - started, pids: nodes.map((n) => n.pid) });
}

// ---- phase 1: AjpConnector straight against a real Tomcat (no daemon involved) ----

async function connectorChecks(node: TomcatNode): Promise<void> {
  const port = node.config.ajpPort;
  const good = new AjpConnector(ajpMember(port, { secret: SECRET, ping: 2_000, timeout: 20_000 }));
  const wrong = new AjpConnector(ajpMember(port, { secret: 'not-the-secret' }));
  try {
    const echo = await request(good, backendRequest({ path: `${CONTEXT}/echo.jsp?x=1&y=%20`, headers: [['Host', 'shop.example:8051']] }));
    const echoBody = await json<Record<string, unknown>>('GET echo.jsp over AJP', echo);
    const denied = await request(wrong, backendRequest({ path: `${CONTEXT}/echo.jsp` }));
    await readAll(denied.body);

    const up = pattern(1_500_000, 3);
    const sha = createHash('sha256').update(up).digest('hex');
    const post = async (chunked: boolean) => {
      const r = await request(good, backendRequest({
        method: 'POST', path: `${CONTEXT}/echo.jsp`, body: Readable.from(chunkify(up, 50_000)), bodyLength: chunked ? null : up.length,
        headers: [['Host', 'shop.example'], ['Content-Type', 'application/octet-stream']],
      }));
      return json<{ length: number; sha256: string; contentLength: number }>(`POST echo.jsp over AJP (${chunked ? 'chunked' : 'Content-Length'})`, r);
    };
    const withLength = await post(false);
    const chunked = await post(true);

    const n = 2_000_000;
    const big = await request(good, backendRequest({ path: `${CONTEXT}/big.jsp?n=${n}` }));
    const got = await readAll(big.body);
    let firstBad = -1;
    for (let i = 0; i < got.length; i++) if (got[i] !== 97 + ((i * 7) % 26)) { firstBad = i; break; }

    const session = await request(good, backendRequest({ path: `${CONTEXT}/index.jsp` }));
    const sessionBody = await json<SessionPage>('GET index.jsp over AJP', session);

    emit({
      type: 'connector',
      echo: { status: echo.status, body: echoBody },
      wrongSecretStatus: denied.status,
      upload: { expected: { length: up.length, sha256: sha }, withLength, chunked },
      download: { status: big.status, length: got.length, expected: n, firstBad },
      session: { status: session.status, setCookie: session.headers.flatMap((h, i) => (i % 2 === 0 && h.toLowerCase() === 'set-cookie' ? [session.headers[i + 1]!] : [])), body: sessionBody },
      pool: good.stats(),
    });
  } finally {
    await good.destroy();
    await wrong.destroy();
  }
}

/** The JSON a page printed, or an error that says which request got what instead. */
async function json<T>(what: string, res: { status: number; body: Readable }): Promise<T> {
  const text = (await readAll(res.body)).toString();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what}: expected JSON, got status ${res.status}: ${text.slice(0, 300)}`);
  }
}

function* chunkify(b: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

// ---- phase 2: the failover scenario through stickyd ----

interface Member { url: string; route: string; secret?: string }

async function startStickyd(dir: string, name: string, port: number, members: Member[]): Promise<Proc> {
  const file = path.join(dir, `${name}.yaml`);
  const yaml = [
    '# The seed deployment (config/stickyd.yaml) on loopback, retry shortened so the restarted node',
    '# is used again within the test.',
    'listen:',
    `  - address: 127.0.0.1`,
    `    port: ${port}`,
    'server:',
    '  servername: localhost',
    '  workers: 2 # AJP and HTTP members from two worker threads, one balancer state',
    'proxy:',
    '  preservehost: true',
    'balancers:',
    '  cluster:',
    '    stickysession: JSESSIONID|jsessionid',
    '    lbmethod: byrequests',
    '    timeout: 5s',
    '    maxattempts: 3',
    '    members:',
    ...members.flatMap((m) => [
      `      - url: ${m.url}`,
      `        route: ${m.route}`,
      '        retry: 1s',
      ...(m.secret ? [`        secret: ${m.secret}`] : []),
    ]),
    'proxypass:',
    `  - path: ${CONTEXT}`,
    `    url: balancer://cluster${CONTEXT}`,
    'proxypassreverse:',
    '  - path: /',
    '    url: balancer://cluster',
    'log:',
    '  level: warn',
    '  access: false',
    '',
  ].join('\n');
  await writeFile(file, yaml);
  const proc = spawnStickyd(['-c', file]);
  procs.push(proc);
  try {
    // Two worker threads load src/ through tsx: on a loaded machine that takes a while.
    await waitForPort(port, 60_000);
  } catch (e) {
    throw new Error(`stickyd (${name}) did not listen on ${port}: ${(e as Error).message}\n${proc.output().slice(-2000)}`);
  }
  return proc;
}

interface Step { path: string; cookie: string | null; status: number; page: SessionPage | null; setSessionId: string | null; error?: string }

/** One browser-like client: follows Set-Cookie for JSESSIONID. */
class Client {
  cookie: string | null = null;
  readonly steps: Step[] = [];
  constructor(readonly port: number) {}

  async hit(pathAndQuery = `${CONTEXT}/index.jsp`, useCookie = true): Promise<Step> {
    const cookie = useCookie ? this.cookie : null;
    let step: Step;
    try {
      const r = await get(this.port, pathAndQuery, cookie);
      step = { path: pathAndQuery, cookie, status: r.status, page: r.status === 200 ? sessionPage(r) : null, setSessionId: r.setSessionId };
      if (r.setSessionId) this.cookie = r.setSessionId;
    } catch (e) {
      step = { path: pathAndQuery, cookie, status: 0, page: null, setSessionId: null, error: (e as Error).message };
    }
    this.steps.push(step);
    return step;
  }

  /** The same session through the URL form: ;jsessionid=<id>, no cookie sent. */
  hitUrlForm(): Promise<Step> {
    return this.hit(`${CONTEXT}/index.jsp;jsessionid=${this.cookie}`, false);
  }
}

async function scenario(dir: string, configs: TomcatNodeConfig[]): Promise<void> {
  const [ajpPort, httpPort] = await freePorts(2);
  await startStickyd(dir, 'stickyd-ajp', ajpPort!, configs.map((c) => ({ url: `ajp://127.0.0.1:${c.ajpPort}`, route: c.jvmRoute, secret: SECRET })));
  await startStickyd(dir, 'stickyd-http', httpPort!, configs.map((c) => ({ url: `http://127.0.0.1:${c.httpPort}`, route: c.jvmRoute })));
  emit({ type: 'stickyd-started', ajpPort, httpPort });

  // 1. A new session, then stickiness (cookie and URL forms).
  const ajp = new Client(ajpPort!);
  const httpClients: Client[] = [];
  await ajp.hit();
  for (let i = 0; i < 4; i++) await ajp.hit();
  await ajp.hitUrlForm();
  await ajp.hit();
  const victim = ajp.steps[0]!.page?.node;
  if (!victim) throw new Error(`no session page through stickyd over AJP: ${JSON.stringify(ajp.steps[0])}`);
  // The HTTP session must live on the same node, so one kill tests both: new sessions alternate.
  let http: Client | null = null;
  for (let i = 0; i < 4 && http === null; i++) {
    const c = new Client(httpPort!);
    httpClients.push(c);
    const first = await c.hit();
    if (first.page?.node === victim) http = c;
  }
  if (http === null) throw new Error(`no HTTP session landed on ${victim}: ${JSON.stringify(httpClients.map((c) => c.steps))}`);
  for (let i = 0; i < 4; i++) await http.hit();
  await http.hitUrlForm();
  await http.hit();
  emit({ type: 'sticky', victim, ajp: ajp.steps, http: http.steps, httpTries: httpClients.length });
  const mark = { ajp: ajp.steps.length, http: http.steps.length };

  // 2. Kill the node holding both sessions, without a graceful cluster leave.
  const dead = nodes.find((n) => n.config.jvmRoute === victim)!;
  const survivor = nodes.find((n) => n !== dead)!;
  const survivorMark = survivor.mark();
  await dead.kill9();
  emit({ type: 'killed', node: victim, pid: dead.pid });

  // 3. Failover: the survivor serves the same session and renames it to its own route.
  for (const c of [ajp, http]) {
    await c.hit();
    await c.hit();
    await c.hit();
    await c.hitUrlForm();
  }
  emit({ type: 'failover', survivor: survivor.config.jvmRoute, ajp: ajp.steps.slice(mark.ajp), http: http.steps.slice(mark.http) });
  const mark2 = { ajp: ajp.steps.length, http: http.steps.length };

  // 4. The killed node comes back and rejoins.
  const restartStarted = Date.now();
  const again = startNode(dead.base, dead.config);
  nodes.splice(nodes.indexOf(dead), 1, again);
  await again.waitFor(STARTED, 90_000);
  await again.waitFor(MEMBER_ADDED, 30_000);
  await survivor.waitFor(MEMBER_ADDED, 30_000, survivorMark);
  // Past the members' retry (1 s) so stickyd tries the revived member again.
  await new Promise((r) => setTimeout(r, 1_500));
  emit({ type: 'rejoined', node: victim, ms: Date.now() - restartStarted, pid: again.pid });

  // 5. Old sessions keep their new route; new sessions are balanced over both again.
  for (const c of [ajp, http]) {
    await c.hit();
    await c.hit();
  }
  // byrequests first pays back the lbstatus the sticky hits on the killed node built up (spec
  // §2.6), then alternates 1:1 (equal loadfactors): 24 new sessions show both.
  const fresh: Record<string, Step[]> = { ajp: [], http: [] };
  for (const [name, port] of [['ajp', ajpPort!], ['http', httpPort!]] as const) {
    for (let i = 0; i < 24; i++) fresh[name]!.push(await new Client(port).hit());
  }
  emit({ type: 'after-rejoin', ajp: ajp.steps.slice(mark2.ajp), http: http.steps.slice(mark2.http), fresh });
}

async function main(): Promise<void> {
  setUpNamespace();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stickyd-tomcat-'));
  try {
    const [aHttp, aAjp, aRecv, bHttp, bAjp, bRecv] = await freePorts(6);
    const common = { ajpSecret: SECRET, mcastAddress: '228.0.0.4', mcastPort: 45564, channelSendOptions: 6, contextPath: CONTEXT };
    const configs: TomcatNodeConfig[] = [
      { jvmRoute: 'jvm_a', httpPort: aHttp!, ajpPort: aAjp!, receiverPort: aRecv!, ...common },
      { jvmRoute: 'jvm_b', httpPort: bHttp!, ajpPort: bAjp!, receiverPort: bRecv!, ...common },
    ];
    await startCluster(dir, configs);
    await connectorChecks(nodes[0]!);
    await scenario(dir, configs);
    emit({ type: 'done', totalMs: Date.now() - t0 });
  } catch (e) {
    emit({
      type: 'error',
      message: (e as Error).stack ?? String(e),
      logs: Object.fromEntries(nodes.map((n) => [`${n.config.jvmRoute}#${n.pid}`, n.output().slice(-4000)])),
      stickyd: procs.map((p) => p.output().slice(-2000)),
    });
    process.exitCode = 1;
  } finally {
    await stopAll();
    await Promise.all(nodes.map((n) => n.kill9()));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

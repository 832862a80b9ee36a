/**
 * Two stickyd behind one virtual address, made highly available with keepalived (VRRP), on a
 * network of network namespaces the test builds (test/ha/netns.ts):
 *
 *   front 192.0.2.0/24     client .50 ── proxy-a .11, proxy-b .12 ── virtual address .10
 *   back  198.51.100.0/24  proxy-a .11, proxy-b .12 ── jvm_a .21, jvm_b .22 (demo backends that
 *                          replicate their sessions to each other on these addresses)
 *
 * Both proxies run stickyd with examples/keepalived/stickyd.yaml and keepalived with
 * examples/keepalived/keepalived-{a,b}.conf, the scripts of that directory included; only the
 * install paths and `script_user` are changed (see `keepalivedConf`). The client uses curl with a
 * cookie jar, as a browser would. The story, one step per test: a session through the virtual
 * address; proxy-b routes it to the same member by its cookie alone; kill -9 of proxy-a's
 * stickyd moves the address to proxy-b and the session carries on; proxy-a's stickyd comes back
 * and takes the address back (preemption, as the example configures); a member dies and each
 * proxy fails the session over to the other member, each learning of the death on its own.
 *
 * VRRP multicast stays inside the namespaces. Needs root, iproute2, curl and keepalived; skipped
 * loudly without them (CI has them). Runs from the built dist/ (the health check starts a
 * process every 2 s, so it must start fast): `npm run test:slow` builds first. About 40 s on a
 * quiet machine.
 */
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';
import { Lab, removeStale, netnsUnavailable, type HostProcess } from './netns.js';

const KEEPALIVED = '/usr/sbin/keepalived';
const EXAMPLES = path.join(repoRoot, 'examples/keepalived');
const STICKYD = [process.execPath, path.join(repoRoot, 'bin/stickyd.js')];

const VIP = '192.0.2.10';
const PROXY = { 'proxy-a': '192.0.2.11', 'proxy-b': '192.0.2.12' } as const;
type ProxyHost = keyof typeof PROXY;
const CLIENT = '192.0.2.50';
const MEMBER = { jvm_a: '198.51.100.21', jvm_b: '198.51.100.22' } as const;
type Route = keyof typeof MEMBER;
const PORT = 8051; // examples/keepalived/stickyd.yaml
const MEMBER_PORT = 8081;
const CLUSTER_PORT = 4000;

const unavailable = netnsUnavailable() ?? (existsSync(KEEPALIVED) ? null : `${KEEPALIVED} is missing (apt-get install keepalived)`);
if (unavailable) {
  console.warn(`\n!!! test/ha SKIPPED: ${unavailable}. CI runs it (npm run test:slow) !!!\n`);
}

/** The newest modification time under a directory. */
function newest(dir: string): number {
  return Math.max(...readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => statSync(path.join(e.parentPath, e.name)).mtimeMs));
}

/**
 * An example keepalived.conf with its install paths pointed into this checkout and the temporary
 * directory. Each replacement must match exactly once, so the example and the test cannot drift
 * apart unnoticed.
 */
function keepalivedConf(host: ProxyHost, tmp: string): string {
  let text = readFileSync(path.join(EXAMPLES, host === 'proxy-a' ? 'keepalived-a.conf' : 'keepalived-b.conf'), 'utf8');
  const replace = (from: string, to: string): void => {
    const count = text.split(from).length - 1;
    if (count !== 1) throw new Error(`examples/keepalived: expected "${from}" once in ${host}'s file, found it ${count} times`);
    text = text.replace(from, to);
  };
  replace('script "/etc/keepalived/check_stickyd.sh"',
    `script "${EXAMPLES}/check_stickyd.sh ${EXAMPLES}/stickyd.yaml ${tmp}/stickyd.env"`);
  replace('notify "/etc/keepalived/notify_stickyd.sh /run/keepalived-stickyd.state" root',
    `notify "${EXAMPLES}/notify_stickyd.sh ${tmp}/${host}.state" root`);
  // The test creates no user; CI runs as root.
  replace('script_user stickyd', 'script_user root');
  return text;
}

interface Page { node: Route; sessionId: string; originalSessionId: string | null; creationTime: string; hits: number }
interface Answer { status: number; setCookie: string | null; page: Page }
interface MemberView { url: string; route: string; flags: string; usable: boolean }

describe.skipIf(unavailable)('two stickyd behind one virtual address (keepalived VRRP, network namespaces)', () => {
  let lab: Lab;
  let tmp: string;
  const token = randomBytes(24).toString('hex');
  const stickyd: Record<ProxyHost, HostProcess[]> = { 'proxy-a': [], 'proxy-b': [] };
  const keepalived: Partial<Record<ProxyHost, HostProcess>> = {};
  const members: Partial<Record<Route, HostProcess>> = {};
  const all: HostProcess[] = [];
  let request = 0;

  /** What each process printed, for failure messages. */
  function logs(): string {
    return all.map((p) => `--- ${p.role} (pid ${p.pid}${p.running() ? '' : ', exited'})\n${p.output().split('\n').slice(-40).join('\n')}`).join('\n');
  }

  async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<number> {
    const start = Date.now();
    while (!(await check())) {
      if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}\n${logs()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    return Date.now() - start;
  }

  const holdsVip = (host: ProxyHost): boolean => lab.addresses(host, 'eth0').includes(VIP);
  const vrrpState = (host: ProxyHost): string => {
    try { return readFileSync(path.join(tmp, `${host}.state`), 'utf8').trim(); } catch { return ''; }
  };

  function startStickyd(host: ProxyHost): HostProcess {
    const p = lab.spawn(host, [...STICKYD, '-c', path.join(EXAMPLES, 'stickyd.yaml')], { STICKYD_ADMIN_TOKEN: token });
    stickyd[host].push(p);
    all.push(p);
    return p;
  }

  function startMember(route: Route): HostProcess {
    const other = route === 'jvm_a' ? MEMBER.jvm_b : MEMBER.jvm_a;
    const p = lab.spawn(route, [...STICKYD, 'demo-backend', '--route', route, '--address', MEMBER[route], '--port', String(MEMBER_PORT),
      '--cluster-port', String(CLUSTER_PORT), '--members', `${other}:${CLUSTER_PORT}`], { CLUSTER_SECRET: 'ha-test-cluster-secret' });
    members[route] = p;
    all.push(p);
    return p;
  }

  /**
   * GET http://192.0.2.10:8051/ from the client host with a cookie jar, as `curl -b jar -c jar`
   * does. `via` sends the connection to one proxy's own address instead of the virtual one while
   * the URL, and so the cookies the jar sends, stay the same.
   */
  async function get(jar: string, via?: ProxyHost): Promise<Answer & { n: number }> {
    const n = ++request;
    const raw = await lab.exec('client', ['curl', '-sS', '--max-time', '15', '-b', path.join(tmp, jar), '-c', path.join(tmp, jar), '-D', '-',
      ...(via ? ['--connect-to', `${VIP}:${PORT}:${PROXY[via]}:${PORT}`] : []), `http://${VIP}:${PORT}/?format=json&r=${n}`]);
    const split = raw.indexOf('\r\n\r\n');
    const head = raw.slice(0, split).split('\r\n');
    const status = Number(head[0]!.split(' ')[1]);
    const cookie = head.find((l) => /^set-cookie:\s*JSESSIONID=/i.test(l));
    const body = raw.slice(split + 4);
    if (status !== 200) throw new Error(`request ${n}${via ? ` via ${via}` : ''}: ${status}\n${body}\n${logs()}`);
    return { n, status, setCookie: cookie ? /JSESSIONID=([^;]+)/.exec(cookie)![1]! : null, page: JSON.parse(body) as Page };
  }

  /**
   * The proxy hosts whose stickyd wrote an access record for request n. The log is written in
   * batches a few milliseconds after the response, so this waits for the first record.
   */
  async function servedBy(n: number): Promise<ProxyHost[]> {
    const url = `/?format=json&r=${n}`;
    const logged = (host: ProxyHost): boolean => stickyd[host].some((p) => p.output().split('\n').some((line) => {
      if (!line.startsWith('{')) return false;
      const rec = JSON.parse(line) as { type?: string; url?: string; client?: string };
      return rec.type === 'access' && rec.url === url && rec.client === CLIENT;
    }));
    const hosts = Object.keys(PROXY) as ProxyHost[];
    await until(`an access record of request ${n}`, () => hosts.some(logged), 10_000);
    await new Promise((r) => setTimeout(r, 200)); // and a moment for any other proxy's batch
    return hosts.filter(logged);
  }

  async function memberView(host: ProxyHost, route: Route): Promise<MemberView> {
    const out = await lab.exec(host, ['curl', '-sS', '--max-time', '10', '-H', `Authorization: Bearer ${token}`,
      `http://127.0.0.1:8052/api/balancers/app/members`]);
    const found = (JSON.parse(out) as { members: MemberView[] }).members.find((m) => m.route === route);
    if (!found) throw new Error(`${host}: no member with route ${route} in ${out}`);
    return found;
  }

  beforeAll(async () => {
    const stale = removeStale();
    if (stale.length > 0) console.warn(`test/ha: deleted namespaces left by an earlier run: ${stale.join(', ')}`);
    if (!existsSync(path.join(repoRoot, 'dist/main.js')) || newest(path.join(repoRoot, 'src')) > statSync(path.join(repoRoot, 'dist/main.js')).mtimeMs) {
      throw new Error('dist/ is missing or older than src/: run `npm run build` (npm run test:slow builds first)');
    }
    for (const p of [...STICKYD, EXAMPLES]) {
      // keepalived splits its script lines at white space.
      if (/\s/.test(p)) throw new Error(`this test needs paths without white space: ${p}`);
    }

    lab = new Lab(['front', 'back']);
    tmp = lab.tmpDir();
    writeFileSync(path.join(tmp, 'stickyd.env'),
      `# what /etc/default/stickyd holds on a real host\nSTICKYD_ADMIN_TOKEN=${token}\nSTICKYD="${STICKYD.join(' ')}"\n`);

    lab.addHost('client', [{ segment: 'front', address: `${CLIENT}/24` }]);
    for (const host of Object.keys(PROXY) as ProxyHost[]) {
      const last = PROXY[host].split('.')[3];
      lab.addHost(host, [{ segment: 'front', address: `${PROXY[host]}/24` }, { segment: 'back', address: `198.51.100.${last}/24` }]);
    }
    for (const route of Object.keys(MEMBER) as Route[]) lab.addHost(route, [{ segment: 'back', address: `${MEMBER[route]}/24` }]);

    const started = [startMember('jvm_a'), startMember('jvm_b')];
    started.push(startStickyd('proxy-a'), startStickyd('proxy-b'));
    await Promise.all(started.map((p) => p.waitFor(/ready on http|stickyd listening on/, 60_000)));

    for (const host of Object.keys(PROXY) as ProxyHost[]) {
      const conf = path.join(tmp, `keepalived-${host}.conf`);
      writeFileSync(conf, keepalivedConf(host, tmp));
      // Its own pid files, console logging only, VRRP only, in the foreground, in the host's
      // namespace; at a raised CPU priority as docs/ha.md advises (a systemd Nice=), which its
      // health checks inherit: they must not queue behind everything else on a busy machine.
      const p = lab.spawn(host, ['nice', '-n', '-10', KEEPALIVED, '--use-file', conf, '--pid', path.join(tmp, `${host}.pid`),
        '--vrrp_pid', path.join(tmp, `${host}-vrrp.pid`), '--checkers_pid', path.join(tmp, `${host}-checkers.pid`),
        '--vrrp', '--dont-fork', '--log-console', '--log-detail', '--no-syslog']);
      keepalived[host] = p;
      all.push(p);
    }
    await until('proxy-a holds the virtual address', () => holdsVip('proxy-a'));
    for (const host of Object.keys(PROXY) as ProxyHost[]) {
      expect(keepalived[host]!.output(), `${host}'s keepalived refused a script`).not.toMatch(/SECURITY VIOLATION|Unable to|not found|Disabling track script/i);
    }
  }, 180_000);

  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.log(`test/ha: "${task.name}" failed; what the hosts printed:\n${logs()}`);
  });

  afterAll(() => {
    for (const p of all) p.signal('SIGKILL');
    lab?.destroy(); // also kills what the processes started there (keepalived's VRRP child, scripts)
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  let session: Page; // the client's session, as last seen

  it('gives the client a session through the virtual address, served by proxy-a, the MASTER', async () => {
    expect(holdsVip('proxy-b')).toBe(false);
    await until('both notify scripts ran', () => vrrpState('proxy-a') === 'VI_STICKYD MASTER 150' && vrrpState('proxy-b') === 'VI_STICKYD BACKUP 100', 20_000);

    const first = await get('jar');
    expect(first.page.hits).toBe(1);
    expect(first.page.sessionId).toMatch(new RegExp(`^[0-9A-F]{32}\\.${first.page.node}$`));
    expect(first.setCookie).toBe(first.page.sessionId);
    expect(await servedBy(first.n)).toEqual(['proxy-a']);

    const second = await get('jar');
    expect(second.page).toMatchObject({ node: first.page.node, sessionId: first.page.sessionId, hits: 2 });
    expect(await servedBy(second.n)).toEqual(['proxy-a']);
    session = second.page;
  });

  it('is routed to the same member by proxy-b, which has never seen it: the route is in the cookie', async () => {
    const r = await get('jar', 'proxy-b');
    expect(r.page).toMatchObject({ node: session.node, sessionId: session.sessionId, creationTime: session.creationTime, hits: 3 });
    expect(r.setCookie).toBeNull();
    expect(await servedBy(r.n)).toEqual(['proxy-b']);
    session = r.page;
  });

  it('moves the virtual address to proxy-b when proxy-a\'s stickyd is killed (-9); the session carries on', async () => {
    const victim = stickyd['proxy-a'][0]!;
    victim.signal('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');

    const ms = await until('the virtual address moves to proxy-b', () => holdsVip('proxy-b') && !holdsVip('proxy-a'));
    console.log(`test/ha: the virtual address moved to proxy-b ${ms} ms after kill -9 of proxy-a's stickyd`);
    // fall 2 failed checks, then weight -60: 150 → 90, below proxy-b's 100.
    expect(keepalived['proxy-a']!.output()).toMatch(/Changing effective priority from 150 to 90/);
    await until('the notify scripts saw it', () => vrrpState('proxy-a') === 'VI_STICKYD BACKUP 90' && vrrpState('proxy-b') === 'VI_STICKYD MASTER 100', 20_000);

    for (const hits of [4, 5]) {
      const r = await get('jar');
      expect(r.page).toMatchObject({ node: session.node, sessionId: session.sessionId, creationTime: session.creationTime, hits, originalSessionId: null });
      expect(r.setCookie).toBeNull();
      expect(await servedBy(r.n)).toEqual(['proxy-b']);
    }
    session = { ...session, hits: 5 };
  });

  it('gives the address back to proxy-a once its stickyd is healthy again (preemption, as configured)', async () => {
    await startStickyd('proxy-a').waitFor(/stickyd listening on/, 120_000);
    const ms = await until('proxy-a takes the virtual address back', () => holdsVip('proxy-a') && !holdsVip('proxy-b'));
    console.log(`test/ha: proxy-a took the virtual address back ${ms} ms after its stickyd listened again`);
    // rise 2 passed checks: 90 → 150, above proxy-b's 100, and proxy-a preempts.
    expect(keepalived['proxy-a']!.output()).toMatch(/Changing effective priority from 90 to 150/);
    await until('the notify scripts saw it', () => vrrpState('proxy-a') === 'VI_STICKYD MASTER 150' && vrrpState('proxy-b') === 'VI_STICKYD BACKUP 100', 20_000);

    const r = await get('jar');
    expect(r.page).toMatchObject({ node: session.node, sessionId: session.sessionId, hits: 6 });
    expect(await servedBy(r.n)).toEqual(['proxy-a']);
    expect(stickyd['proxy-a'][1]!.output()).toContain(`"url":"/?format=json&r=${r.n}"`);
    session = r.page;
  });

  it('fails a session over to the other member through either proxy when its member dies; each proxy learns of it on its own', async () => {
    const dead = session.node;
    const survivor: Route = dead === 'jvm_a' ? 'jvm_b' : 'jvm_a';
    const hex = session.sessionId.split('.')[0]!;

    // A second client whose session lives on the same member, made through proxy-b.
    let other: Page | null = null;
    for (let i = 0; i < 4 && other === null; i++) {
      const r = await get(`jar2-${i}`, 'proxy-b');
      if (r.page.node === dead) other = r.page;
      else rmSync(path.join(tmp, `jar2-${i}`), { force: true });
    }
    expect(other, 'proxy-b balanced four new sessions away from one member').not.toBeNull();
    const otherJar = readdirSync(tmp).find((f) => f.startsWith('jar2-'))!;

    const member = members[dead]!;
    member.signal('SIGKILL');
    await member.exited;

    // Through the virtual address (proxy-a): connection refused, failover, the survivor renames
    // the session to its own route and says so in Set-Cookie; nothing of the session is lost.
    const r = await get('jar');
    expect(r.page).toMatchObject({ node: survivor, sessionId: `${hex}.${survivor}`, originalSessionId: session.sessionId, creationTime: session.creationTime, hits: 7 });
    expect(r.setCookie).toBe(`${hex}.${survivor}`);
    expect(await servedBy(r.n)).toEqual(['proxy-a']);

    // proxy-a put the member in error; proxy-b, which has not sent it anything since, has no idea.
    expect(await memberView('proxy-a', dead)).toMatchObject({ usable: false, flags: expect.stringContaining('E') });
    expect(await memberView('proxy-b', dead)).toMatchObject({ usable: true, flags: expect.not.stringContaining('E') });

    // Through proxy-b: it finds the member dead itself (a refused connect), and fails over too.
    const r2 = await get(otherJar, 'proxy-b');
    expect(r2.page).toMatchObject({ node: survivor, sessionId: `${other!.sessionId.split('.')[0]}.${survivor}`, originalSessionId: other!.sessionId, hits: other!.hits + 1 });
    expect(await servedBy(r2.n)).toEqual(['proxy-b']);
    expect(await memberView('proxy-b', dead)).toMatchObject({ usable: false, flags: expect.stringContaining('E') });

    // And the renamed session goes straight to the survivor through either proxy.
    const r3 = await get('jar', 'proxy-b');
    expect(r3.page).toMatchObject({ node: survivor, sessionId: `${hex}.${survivor}`, originalSessionId: null, hits: 8 });
    expect(r3.setCookie).toBeNull();
  });

  it('leaves no namespace behind', () => {
    const id = lab.id;
    lab.destroy();
    expect(lab.gone(), `namespaces of run ${id} still listed by ip netns`).toBe(true);
  });
});

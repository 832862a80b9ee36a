/**
 * The seed experiment against real Tomcat 10.1 (Debian tomcat10): two cluster nodes with
 * DeltaManager replication, stickyd in front over AJP and over HTTP. A session sticks to its
 * node; that node is killed with SIGKILL; the next requests are served by the survivor with the
 * same session (id hex, creation time, hit count), renamed to the survivor's route by
 * JvmRouteBinderValve, and stickyd follows the new route; the killed node comes back, rejoins,
 * and new sessions are balanced over both again.
 *
 * Everything runs in a private network namespace (multicast): test/tomcat/runner.ts does the
 * work there and reports JSON lines; this file checks them. Skipped, loudly, only when tomcat10
 * is not installed (CI installs it). Takes about 20 s: three Tomcat starts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/spawn.js';
import type { SessionPage } from './client.js';
import { tomcatInstalled } from './harness.js';

interface Step { path: string; cookie: string | null; status: number; page: SessionPage | null; setSessionId: string | null; error?: string }
type Event = Record<string, any> & { type: string; atMs: number };

const installed = tomcatInstalled();
if (!installed) {
  console.warn('\n!!! test/tomcat SKIPPED: tomcat10 is not installed (apt-get install tomcat10); CI installs it and runs these tests !!!\n');
}

describe.skipIf(!installed)('real Tomcat cluster behind stickyd (private network namespace)', () => {
  let child: ChildProcess | null = null;
  const events = new Map<string, Event>();
  let stderr = '';

  beforeAll(async () => {
    child = spawn('unshare', ['-rnpf', '--kill-child', process.execPath, '--conditions=stickyd-source', '--import', 'tsx',
      path.join(repoRoot, 'test/tomcat/runner.ts')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise<number | string>((resolve) => child!.once('exit', (c, s) => resolve(c ?? s ?? 'unknown')));
    child = null;
    for (const line of out.split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as Event;
      events.set(e.type, e);
    }
    const err = events.get('error');
    if (err) throw new Error(`the Tomcat scenario failed: ${err.message}\n\nnode logs:\n${JSON.stringify(err.logs, null, 1)}\n\nstickyd:\n${err.stickyd?.join('\n---\n')}`);
    if (code !== 0 || !events.has('done')) throw new Error(`runner exited with ${code}; stderr:\n${stderr.slice(-4000)}\nstdout:\n${out.slice(-4000)}`);
    console.log(`test/tomcat: scenario took ${events.get('done')!.totalMs} ms (cluster start ${events.get('cluster-started')!.ms} ms, restart ${events.get('rejoined')!.ms} ms)`);
  }, 240_000);

  afterAll(() => {
    // The runner is PID 1 of its PID namespace: killing unshare (--kill-child) takes everything down.
    if (child?.pid) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });

  describe('AjpConnector against Tomcat directly', () => {
    it('forwards the client facts Tomcat exposes to servlets', () => {
      const c = events.get('connector')!;
      expect(c.echo.status).toBe(200);
      expect(c.echo.body).toMatchObject({
        method: 'GET', uri: '/myweb/echo.jsp', query: 'x=1&y=%20', remoteAddr: '127.0.0.9', remotePort: 54321,
        serverName: 'shop.example', serverPort: 8051, secure: false, node: 'jvm_a',
      });
    });

    it('is refused with 403 when the secret is wrong (secretRequired)', () => {
      expect(events.get('connector')!.wrongSecretStatus).toBe(403);
    });

    it('uploads 1.5 MB intact with Content-Length and chunked, and downloads 2 MB intact', () => {
      const { upload, download } = events.get('connector')!;
      expect(upload.withLength).toMatchObject({ ...upload.expected, contentLength: upload.expected.length });
      expect(upload.chunked).toMatchObject({ ...upload.expected, contentLength: -1 });
      expect(download).toMatchObject({ status: 200, length: download.expected, firstBad: -1 });
    });

    it('gets a session cookie with the node route, all over one pooled connection with CPing', () => {
      const { session, pool } = events.get('connector')!;
      expect(session.setCookie).toEqual([`JSESSIONID=${session.body.id}; Path=/myweb; HttpOnly`]);
      expect(session.body.id).toMatch(/^[0-9A-F]{32}\.jvm_a$/);
      expect(pool.opened).toBe(1);
    });
  });

  for (const proto of ['ajp', 'http'] as const) {
    describe(`through stickyd over ${proto.toUpperCase()}`, () => {
      const hex = (id: string) => id.slice(0, id.indexOf('.'));

      it('keeps a new session on its node, by cookie and by ;jsessionid=', () => {
        const sticky = events.get('sticky')!;
        const victim = sticky.victim as string;
        const steps = sticky[proto] as Step[];
        const first = steps[0]!.page!;
        expect(first.id).toMatch(new RegExp(`^[0-9A-F]{32}\\.${victim}$`));
        expect(steps[0]!.setSessionId).toBe(first.id);
        steps.forEach((s, i) => {
          expect(s.status, s.path).toBe(200);
          expect(s.page).toMatchObject({ id: first.id, node: victim, created: first.created, hits: i + 1 });
        });
        const urlForm = steps.find((s) => s.path.includes(';jsessionid='))!;
        expect(urlForm.cookie).toBeNull();
        expect(urlForm.page!.requestedId).toBe(first.id);
      });

      it('fails over to the survivor with the same session, renamed to the survivor\'s route', () => {
        const before = (events.get('sticky')![proto] as Step[]).at(-1)!.page!;
        const failover = events.get('failover')!;
        const survivor = failover.survivor as string;
        const steps = failover[proto] as Step[];
        const renamed = `${hex(before.id)}.${survivor}`;
        expect(steps[0]!.cookie).toBe(before.id);
        expect(steps[0]!.status).toBe(200);
        expect(steps[0]!.setSessionId).toBe(renamed);
        steps.forEach((s, i) => {
          expect(s.status, s.path).toBe(200);
          expect(s.page).toMatchObject({ id: renamed, node: survivor, created: before.created, hits: before.hits + i + 1 });
        });
        // The renamed id works in the URL form too.
        expect(steps.at(-1)!.path).toContain(`;jsessionid=${renamed}`);
      });

      it('keeps the renamed session on the survivor after the killed node is back', () => {
        const last = (events.get('failover')![proto] as Step[]).at(-1)!.page!;
        const steps = events.get('after-rejoin')![proto] as Step[];
        steps.forEach((s, i) => {
          expect(s.cookie).toBe(last.id);
          expect(s.page).toMatchObject({ id: last.id, node: last.node, created: last.created, hits: last.hits + i + 1 });
        });
      });

      it('balances new sessions over both nodes again (byrequests, equal loadfactors)', () => {
        const fresh = (events.get('after-rejoin')!.fresh[proto] as Step[]).map((s) => {
          expect(s.status).toBe(200);
          expect(s.cookie).toBeNull();
          expect(s.page!.hits).toBe(1);
          expect(s.page!.id).toBe(`${hex(s.page!.id)}.${s.page!.node}`);
          return s.page!.node;
        });
        const { victim } = events.get('sticky')!;
        expect(fresh).toContain(victim);
        // Once the lbstatus the sticky traffic built up is paid back (apache-semantics §2.6), picks alternate.
        const tail = fresh.slice(-10);
        tail.slice(1).forEach((n, i) => expect(n, tail.join(' ')).not.toBe(tail[i]));
      });
    });
  }
});

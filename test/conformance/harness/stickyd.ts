/**
 * stickyd as a real process, configured from the same Apache scenario file httpd runs: the
 * scenario is converted by the importer (`importApache`, what `stickyd import-apache` runs), so
 * every differential test also checks that the importer carries each directive over. A scenario
 * directive the importer does not convert fails the start with the importer's own message.
 *
 * The BALANCER_* values come from the daemon's JSON access log on stdout (src/log.ts); member
 * state comes from the admin JSON API when the daemon runs an admin listener.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { formatDiagnostic, importApache } from '../../../src/importer/index.js';
import type { AccessRecord } from '../../../src/log.js';
import { waitForPort } from '../../helpers/ports.js';
import { spawnStickyd, type Proc } from '../../helpers/spawn.js';

export interface StickydServer {
  port: number;
  url: string;
  pid: number;
  /** The balancer file the importer produced (with the admin and log sections added). */
  yaml: string;
  /** Access records written so far, in the order requests finished. */
  records(): AccessRecord[];
  /** Resolves with the n-th access record (1-based) once the daemon has written it. */
  record(n: number, timeoutMs?: number): Promise<AccessRecord>;
  /** GET on the admin listener's JSON API; null when the daemon runs no admin listener. */
  api(pathname: string): Promise<unknown>;
  adminUp: boolean;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Convert `scenarioFile` (with a `Listen 127.0.0.1:port` in front, as httpd gets) to a balancer
 * file. Throws when the importer leaves any directive of the scenario unconverted.
 */
export function importScenario(dir: string, port: number, adminPort: number, scenarioFile: string): string {
  const source = path.join(dir, 'stickyd-source.conf');
  writeFileSync(source, `Listen 127.0.0.1:${port}\nInclude ${scenarioFile}\n`);
  const result = importApache(source, { show: (p) => p });
  // upgrade= is accepted with a note (stickyd tunnels every protocol): nothing was lost.
  const lost = result.diagnostics.filter((d) => d.file === scenarioFile && !/^upgrade=\S+: accepted, nothing to carry over/.test(d.message));
  if (lost.length > 0) {
    throw new Error(`import-apache did not convert every scenario directive:\n${lost.map(formatDiagnostic).join('\n')}`);
  }
  const doc = parseDocument(result.yaml);
  doc.set('admin', { address: '127.0.0.1', port: adminPort });
  doc.set('log', { level: 'info', access: true });
  // httpd runs with -X: one process, one connection pool per member. stickyd with one worker is
  // the same; with more, each worker's first request to a member opens its own connection (as each
  // of httpd's children does), which resets retries (§4.3) once per worker.
  doc.setIn(['server', 'workers'], 1);
  return doc.toString();
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

export async function startStickyd(dir: string, port: number, adminPort: number, scenarioFile: string): Promise<StickydServer> {
  const yaml = importScenario(dir, port, adminPort, scenarioFile);
  const file = path.join(dir, 'stickyd.yaml');
  writeFileSync(file, yaml);
  const proc: Proc = spawnStickyd(['-c', file]);
  try {
    await proc.waitFor(/stickyd listening on/, 60_000);
  } catch (err) {
    await proc.stop(1_000);
    throw err;
  }
  // The admin listener starts with the proxy listeners when the daemon wires it; a daemon that
  // does not is told apart here, so that only the member-state comparisons depend on it.
  const adminUp = await waitForPort(adminPort, 5_000).then(() => true, () => false);

  let parsed = 0;
  const records: AccessRecord[] = [];
  const refresh = (): void => {
    const lines = proc.output().split('\n');
    // The last element may be a line still being written.
    for (; parsed < lines.length - 1; parsed++) {
      const line = lines[parsed]!;
      if (!line.startsWith('{')) continue;
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        if (obj.type === 'access') records.push(obj as unknown as AccessRecord);
      } catch {
        // Not JSON (a stack trace): not a record.
      }
    }
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    yaml,
    adminUp,
    output: () => proc.output(),
    records() {
      refresh();
      return records.slice();
    },
    async record(n, timeoutMs = 3_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        refresh();
        if (records.length >= n) return records[n - 1]!;
        if (Date.now() > deadline) throw new Error(`stickyd wrote ${records.length} access records, expected at least ${n}; output:\n${proc.output()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async api(pathname) {
      if (!adminUp) return null;
      const r = await get(`http://127.0.0.1:${adminPort}${pathname}`);
      if (r.status !== 200) throw new Error(`admin API ${pathname}: ${r.status} ${r.body}`);
      return JSON.parse(r.body) as unknown;
    },
    async stop() {
      await proc.stop(3_000);
    },
  };
}

/**
 * `npm run bench [-- PART] [options]`: one entry for the benchmarks that print figures.
 *
 *   npm run bench                  the proxy against the backend, Apache, nginx and HAProxy (bench/run.ts)
 *   npm run bench -- proxy ...     the same, with its options (bench/lib/options.ts)
 *   npm run bench -- cluster       stickyd/cluster: peer replication (bench/cluster.ts), then the
 *                                  Redis session store beside the delta and backup managers (bench/redis.ts)
 *   npm run bench -- cluster --quick
 *   npm run bench -- edge          TLS handshakes (full and resumed) and h2 / HTTP/1.1-over-TLS req/s,
 *                                  stickyd with 1 and 2 workers beside nginx, HAProxy and Apache (bench/edge.ts)
 *
 * Each part runs as its own Node process (the cluster part needs --expose-gc for stable heap
 * figures) and is bounded in time by its own script; this entry only chooses and waits.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const PARTS: Record<string, Array<{ script: string; nodeFlags: string[] }>> = {
  proxy: [{ script: 'run.ts', nodeFlags: [] }],
  cluster: [
    { script: 'cluster.ts', nodeFlags: ['--expose-gc'] },
    { script: 'redis.ts', nodeFlags: [] },
  ],
  edge: [{ script: 'edge.ts', nodeFlags: [] }],
};

const args = process.argv.slice(2);
const first = args[0];
const named = first !== undefined && !first.startsWith('-');
const part = named ? first : 'proxy';
const rest = named ? args.slice(1) : args;
const scripts = PARTS[part];
if (scripts === undefined) {
  console.error(`bench: unknown part '${part}' (one of: ${Object.keys(PARTS).join(', ')})`);
  process.exit(2);
}
let code = 0;
for (const { script, nodeFlags } of scripts) {
  const r = spawnSync(process.execPath, ['--conditions=stickyd-source', '--import', 'tsx', ...nodeFlags, path.join(here, script), ...rest], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench: ${script} ended with ${r.status ?? r.signal}`);
    code = 1;
  }
}
process.exit(code);

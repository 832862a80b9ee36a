/**
 * The fallback load generator: autocannon's API in a child process pinned like wrk would be
 * (bench/lib/autocannon-child.ts), returning the same figures. Sticky traffic gives each
 * connection the list of cookie requests to cycle through; a fixed rate uses `overallRate`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadRun } from './load.js';
import type { ProcessGroup } from './processes.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'autocannon-child.ts');
let runs = 0;

export async function runAutocannon(group: ProcessGroup, run: LoadRun): Promise<LoadResult> {
  const out = path.join(run.dir, `autocannon-${++runs}.out`);
  const proc = group.start('autocannon', process.execPath, ['--import', 'tsx', child, JSON.stringify(run)], { cpu: run.cpu, logFile: out });
  const guard = setTimeout(() => void group.stop(proc, 1000), (run.seconds + 20) * 1000);
  const code = await proc.exited;
  clearTimeout(guard);
  await group.stop(proc);
  const text = await readFile(out, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('LOADJSON '));
  if (!line) throw new Error(`autocannon exited (${code}) without a summary for ${run.url}:\n${text.slice(-1000)}`);
  return JSON.parse(line.slice('LOADJSON '.length)) as LoadResult;
}

/**
 * Runs one autocannon load (argument: a LoadRun as JSON) and prints `LOADJSON {...}` with the
 * figures bench/lib/load.ts expects. Started by bench/lib/autocannon.ts, pinned to the load CPU.
 */
import { createRequire } from 'node:module';
import type { LoadResult, LoadRun } from './load.js';

// autocannon ships no types: describe the part of its result that is read here.
interface Result {
  duration: number;
  requests: { total: number };
  latency: { p50: number; p90: number; p99: number; p99_9: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<Result>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const run = JSON.parse(process.argv[2] ?? '{}') as LoadRun;
const r = await autocannon({
  url: run.url,
  connections: run.connections,
  duration: run.seconds,
  ...(run.rate ? { overallRate: Math.round(run.rate) } : {}),
  ...(run.cookies.length > 0 ? { requests: run.cookies.map((c) => ({ method: 'GET', headers: { cookie: `JSESSIONID=${c}` } })) } : {}),
});
const result: LoadResult = {
  requests: r.requests.total,
  seconds: r.duration,
  rps: r.requests.total / r.duration,
  p50: r.latency.p50,
  p90: r.latency.p90,
  p99: r.latency.p99,
  p999: r.latency.p99_9,
  max: r.latency.max,
  mean: r.latency.mean,
  errors: r.errors, // autocannon counts timeouts among errors
  non2xx: r.non2xx,
};
console.log(`LOADJSON ${JSON.stringify(result)}`);

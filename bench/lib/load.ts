/**
 * The load generator behind every figure: wrk when it is installed (C, microsecond histogram),
 * otherwise autocannon (the devDependency, a Node process: it needs more CPU per request, so its
 * figures are lower bounds and are labelled as such).
 */
import { existsSync } from 'node:fs';
import { runAutocannon } from './autocannon.js';
import type { ProcessGroup } from './processes.js';
import { runWrk } from './wrk.js';

export interface LoadRun {
  url: string;
  connections: number;
  seconds: number;
  /** JSESSIONID values to cycle through; empty: cookieless traffic. */
  cookies: string[];
  /** Requests per second over all connections; undefined: as fast as possible. */
  rate?: number;
  cpu: number | null;
  /** Directory for scripts and the generator's output. */
  dir: string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  /** Requests per second. */
  rps: number;
  /** Latency percentiles and mean in milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** Socket errors (connect/read/write/timeout). */
  errors: number;
  /** Of `errors`, requests the generator gave up waiting for (wrk's --timeout); absent: not told apart. */
  timeouts?: number;
  /** Responses that were not 2xx/3xx. */
  non2xx: number;
}

export const WRK = '/usr/bin/wrk';

export interface LoadGenerator {
  name: string;
  run(group: ProcessGroup, run: LoadRun): Promise<LoadResult>;
}

export function pickGenerator(): LoadGenerator {
  if (existsSync(WRK)) return { name: 'wrk -t1', run: runWrk };
  return { name: 'autocannon (wrk not installed: figures are lower bounds)', run: runAutocannon };
}

/**
 * A BenchReport with nothing measured, for the report tests: the fields a test cares about are
 * given in `parts` (`env` merged into a fixed test environment), everything else is empty.
 */
import type { BenchReport } from '../../bench/lib/report.js';

export function benchReport(parts: Partial<Omit<BenchReport, 'env'>> & { env?: Partial<BenchReport['env']> }): BenchReport {
  const { env, ...rest } = parts;
  return {
    env: {
      cpu: 'test CPU', cores: 2, machineLoad: 'quiet', pinning: 'pinned', node: '24', generator: 'wrk -t1', backend: 'nginx', backendChoice: 'nginx',
      stickyd: 'test', apache: 'Apache httpd 2.4', nginx: null, haproxy: null, connections: 50, rounds: 1, seconds: 5, warmup: 2, jitWarmup: 30, latencySeconds: 6, pairedRounds: 0,
      ...env,
    },
    throughput: [],
    throughputRounds: [],
    paired: [],
    latency: [],
    workers: [],
    scaling: null,
    rss: null,
    profile: null,
    allocations: null,
    skipped: [],
    ...rest,
  };
}

/**
 * How many worker threads `server.workers` asks for. auto = the CPUs this process may use:
 * os.availableParallelism() follows the CPU affinity mask and (libuv ≥ 1.49) the cgroup CPU quota,
 * so `taskset -c 0-3` or a container's `--cpus=4` both give 4, as nginx's `worker_processes auto`
 * and HAProxy's default nbthread do. At most MAX_WORKERS (the scoreboard's per-thread cells).
 */
import os from 'node:os';
import { MAX_WORKERS } from '../balancer/scoreboard.js';

export function workerCount(setting: number | 'auto'): number {
  const n = setting === 'auto' ? os.availableParallelism() : setting;
  return Math.max(1, Math.min(MAX_WORKERS, n));
}

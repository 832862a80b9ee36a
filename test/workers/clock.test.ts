// One balancer clock for every thread (src/balancer/clock.ts): a worker reads the clock the main
// thread hands it, not one made from the system clock at its own start.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { clockBase } from '../../src/balancer/clock.js';
import { balancerNow } from '../../src/proxy/context.js';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

/** The worker's clock read between two readings of ours. */
async function readWorker(base: number): Promise<{ before: number; theirs: number; after: number }> {
  const w = new Worker(new URL('./fixtures/clock-worker.ts', import.meta.url), { workerData: { clockBase: base }, execArgv: ['--conditions=stickyd-source', '--import', 'tsx'] });
  workers.push(w);
  // A first exchange loads the worker; the second is the one measured.
  const ask = () => new Promise<number>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.postMessage('now');
  });
  await ask();
  const before = balancerNow();
  const theirs = await ask();
  return { before, theirs, after: balancerNow() };
}

describe('the balancer clock across threads', () => {
  it('a worker given the main thread\'s base reads the main thread\'s clock', async () => {
    const r = await readWorker(clockBase());
    expect(r.theirs).toBeGreaterThanOrEqual(r.before - 1);
    expect(r.theirs).toBeLessThanOrEqual(r.after + 1);
  });

  it('a worker follows the base it is given, whatever the system clock said when it started', async () => {
    // As if the system clock had been stepped an hour ahead since the main thread started.
    const r = await readWorker(clockBase() - 3_600_000);
    expect(r.theirs).toBeGreaterThanOrEqual(r.before - 3_600_000 - 1);
    expect(r.theirs).toBeLessThanOrEqual(r.after - 3_600_000 + 1);
  });
});

/**
 * Worker threads running TypeScript from this repository (tests run against src/ through tsx, so
 * a thread needs the same loader as the processes test/helpers/spawn.ts starts). Every thread
 * started here is terminated by `stopThreads()`, which test files call from afterEach.
 */
import { Worker } from 'node:worker_threads';

const running = new Set<Worker>();

export function startTsThread(file: URL, workerData: unknown): Worker {
  const w = new Worker(file, { workerData, execArgv: ['--conditions=stickyd-source', '--import', 'tsx'] });
  running.add(w);
  w.once('exit', () => running.delete(w));
  return w;
}

/** Ask a thread that answers { id, value } or { id, error } to messages { id, ... }. */
export function ask<T>(w: Worker, message: Record<string, unknown>): Promise<T> {
  const id = Math.random();
  return new Promise<T>((resolve, reject) => {
    const onMessage = (m: { id: number; value?: T; error?: string }) => {
      if (m.id !== id) return;
      w.off('message', onMessage);
      w.off('exit', onExit);
      if (m.error !== undefined) reject(new Error(m.error));
      else resolve(m.value as T);
    };
    const onExit = (code: number) => {
      w.off('message', onMessage);
      reject(new Error(`thread exited (${code}) before answering ${JSON.stringify(message)}`));
    };
    w.on('message', onMessage);
    w.once('exit', onExit);
    w.postMessage({ ...message, id });
  });
}

export async function stopThreads(): Promise<void> {
  await Promise.all([...running].map((w) => w.terminate()));
}

/**
 * Helpers for the channel's socket tests: in-process channels on 127.0.0.1 with short timings, and
 * small waiting utilities. Every channel made here is stopped by `stopChannels()` (afterEach).
 */
import type { EventEmitter } from 'node:events';
import { createChannel, type Channel, type ChannelOptions } from '../../../src/cluster/channel/index.js';
import { patience } from '../../helpers/patience.js';
import { freePorts } from '../../helpers/ports.js';

/** Short timings so failure detection tests take seconds, not minutes. */
export const FAST = { frequency: 100, dropTime: 600, connectTimeout: 300 } as const;

const made = new Set<Channel>();

export function channel(options: ChannelOptions): Channel {
  const c = createChannel(options);
  made.add(c);
  return c;
}

export async function stopChannels(): Promise<void> {
  const all = [...made];
  made.clear();
  await Promise.all(all.map((c) => c.stop()));
}

export interface StaticClusterOptions {
  secret?: string;
  domain?: string;
  maxQueueBytes?: number;
  senderTimeout?: number;
  maxFrameSize?: number;
}

/** Options for node `i` of a static cluster whose receivers are `ports` (every node lists all of them). */
export function staticOptions(route: string, port: number, ports: number[], o: StaticClusterOptions = {}): ChannelOptions {
  return {
    jvmRoute: route,
    domain: o.domain,
    receiver: { address: '127.0.0.1', port, maxFrameSize: o.maxFrameSize },
    membership: { type: 'static', members: ports.map((p) => `127.0.0.1:${p}`), frequency: FAST.frequency, dropTime: FAST.dropTime },
    secret: o.secret,
    sender: { timeout: o.senderTimeout, maxQueueBytes: o.maxQueueBytes },
    failureDetector: { connectTimeout: FAST.connectTimeout },
  };
}

/** Starts `routes.length` channels one after the other (the first is the oldest) and waits until all see each other. */
export async function staticCluster(routes: string[], o: StaticClusterOptions = {}): Promise<Channel[]> {
  const ports = await freePorts(routes.length);
  const nodes = routes.map((r, i) => channel(staticOptions(r, ports[i]!, ports, o)));
  for (const n of nodes) await n.start();
  await waitFor(() => nodes.every((n) => n.members().length === nodes.length - 1), 5000, 'full membership');
  return nodes;
}

/** Waits until `pred` holds; `timeoutMs` or PATIENCE_MS, whichever is longer (test/helpers/patience.ts). */
export async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  timeoutMs = patience(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The next `event` whose arguments satisfy `pred`, within `timeoutMs` or PATIENCE_MS (the longer). */
export function nextEvent<T extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  timeoutMs: number,
  pred: (...args: T) => boolean = () => true,
): Promise<T> {
  timeoutMs = patience(timeoutMs);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: unknown[]) => {
      if (!pred(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as T);
    };
    emitter.on(event, listener);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

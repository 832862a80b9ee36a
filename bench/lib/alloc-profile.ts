/**
 * Where stickyd's garbage comes from: V8's sampling heap profiler over the inspector protocol,
 * keeping samples of objects the GC already collected (what a short-lived request allocates is
 * exactly what the scavenger has to clear, and every scavenge stops the event loop). Sites are
 * named as src/ file:line through the source maps, like the CPU profile's.
 *
 * The daemon runs with `--inspect=127.0.0.1:PORT` for this phase only; nothing else connects.
 */
import WebSocket from 'ws';
import { locate, origin, type CallFrame } from './profile.js';

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  id: number;
  children: HeapNode[];
}

export interface AllocationSite {
  name: string;
  where: string;
  /** Bytes per request allocated here (sampled estimate). */
  bytesPerRequest: number;
  percent: number;
}

export interface AllocationSummary {
  /** Estimated bytes allocated per request, all sites. */
  bytesPerRequest: number;
  /** Bytes per request by the allocating function itself (with its innermost stickyd caller). */
  selfTop: AllocationSite[];
  /** Bytes per request by the innermost stickyd function on the allocating stack. */
  bySrcFrame: AllocationSite[];
  /** Bytes per request by origin (stickyd src/, undici, pino, node internals...). */
  byOrigin: Record<string, number>;
}

async function debuggerUrl(port: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json/list`);
      const list = (await res.json()) as Array<{ webSocketDebuggerUrl?: string }>;
      const url = list[0]?.webSocketDebuggerUrl;
      if (url) return url;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`no inspector on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `load` (which resolves with the number of requests it made) while sampling allocations. */
export async function sampleAllocations(inspectPort: number, repoRoot: string, load: () => Promise<number>, top = 15): Promise<AllocationSummary> {
  const ws = new WebSocket(await debuggerUrl(inspectPort));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (data: Buffer) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const p = msg.id === undefined ? undefined : pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id!);
    if (msg.error) p.reject(new Error(msg.error.message));
    else p.resolve(msg.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) => new Promise<unknown>((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  try {
    await call('HeapProfiler.enable');
    await call('HeapProfiler.startSampling', {
      samplingInterval: 8192,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const requests = await load();
    const { profile } = (await call('HeapProfiler.stopSampling')) as { profile: { head: HeapNode } };
    return summarize(profile.head, Math.max(1, requests), repoRoot, top);
  } finally {
    ws.close();
  }
}

function summarize(head: HeapNode, requests: number, repoRoot: string, top: number): AllocationSummary {
  const bySrc = new Map<string, number>();
  const self = new Map<string, number>();
  const byOrigin: Record<string, number> = {};
  let total = 0;
  const walk = (node: HeapNode, innermostSrc: string | null) => {
    const where = locate(node.callFrame, repoRoot);
    const o = origin(node.callFrame, where);
    const key = o === 'stickyd src/' ? `${node.callFrame.functionName || '(anonymous)'}\u0000${where}` : innermostSrc;
    if (node.selfSize > 0) {
      total += node.selfSize;
      byOrigin[o] = (byOrigin[o] ?? 0) + node.selfSize;
      const k = key ?? `(no stickyd frame: ${o})\u0000`;
      bySrc.set(k, (bySrc.get(k) ?? 0) + node.selfSize);
      const caller = key === null ? '' : ` ← ${key.split('\u0000')[1]}`;
      const sk = `${node.callFrame.functionName || '(anonymous)'}\u0000${where || '(native)'}${o === 'stickyd src/' ? '' : caller}`;
      self.set(sk, (self.get(sk) ?? 0) + node.selfSize);
    }
    for (const c of node.children) walk(c, key);
  };
  walk(head, null);
  for (const k of Object.keys(byOrigin)) byOrigin[k] = byOrigin[k]! / requests;
  const rank = (m: Map<string, number>): AllocationSite[] =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, bytes]) => {
      const [name, where] = key.split('\u0000') as [string, string];
      return { name, where: where || '–', bytesPerRequest: bytes / requests, percent: (100 * bytes) / (total || 1) };
    });
  return { bytesPerRequest: total / requests, byOrigin, selfTop: rank(self), bySrcFrame: rank(bySrc) };
}

/**
 * Benchmarks of the cluster channel on 127.0.0.1; prints figures, asserts nothing.
 *
 *   node --conditions=stickyd-source --import tsx bench/cluster-channel.ts [--quick]
 *
 * - message latency p50/p99: one message at a time; no-ack = send → peer's handler runs,
 *   ack = send → ack back (the handler ran); without and with a secret (HMAC)
 * - throughput: many small messages in flight (no-ack, and ack), and 64 KiB messages (MB/s)
 * - membership (static, default timings 500/3000/1000): join (joiner's start() → memberAdded on the
 *   existing node), graceful leave (stop() → memberRemoved), kill -9 of a node process → memberRemoved
 * - kill -9 detected from heartbeats alone (multicast, default timings), measured inside a private
 *   network namespace by bench/cluster-channel-mcast.ts when `unshare -rn` is available
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { createChannel, type Channel, type ChannelOptions, type ClusterMember } from '../src/cluster/channel/index.js';
import { freePorts } from '../test/helpers/ports.js';
import { repoRoot, spawnTs, stopAll } from '../test/helpers/spawn.js';

const quick = process.argv.includes('--quick');
const rows: Array<[string, string, string]> = [];
const row = (what: string, value: string, note = '') => {
  rows.push([what, value, note]);
  console.error(`  ${what}: ${value} ${note}`);
};

function opts(route: string, port: number, ports: number[], secret?: string): ChannelOptions {
  return {
    jvmRoute: route,
    receiver: { address: '127.0.0.1', port },
    membership: { type: 'static', members: ports.map((p) => `127.0.0.1:${p}`) },
    secret,
  };
}

async function pair(secret?: string): Promise<[Channel, Channel, ClusterMember]> {
  const ports = await freePorts(2);
  const a = createChannel(opts('A', ports[0]!, ports, secret));
  const b = createChannel(opts('B', ports[1]!, ports, secret));
  await a.start();
  await b.start();
  while (a.members().length === 0) await new Promise((r) => setTimeout(r, 5));
  return [a, b, a.members()[0]!];
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (x: number) => `${x.toFixed(3)} ms`;

async function latency(secret: string | undefined, label: string): Promise<void> {
  const [a, b, peer] = await pair(secret);
  const n = quick ? 500 : 5000;
  const msg = { id: 'A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6.A', delta: { user: 'alice', cart: [1, 2, 3] } };
  let delivered: (() => void) | undefined;
  b.onMessage(() => delivered?.());
  const noAck: number[] = [];
  const ack: number[] = [];
  for (let i = 0; i < n + 200; i++) {
    const got = new Promise<void>((r) => (delivered = r));
    const t0 = performance.now();
    await a.send(msg, { ack: false }, [peer]);
    await got;
    if (i >= 200) noAck.push(performance.now() - t0);
  }
  delivered = undefined;
  for (let i = 0; i < n + 200; i++) {
    const t0 = performance.now();
    await a.send(msg, { ack: true }, [peer]);
    if (i >= 200) ack.push(performance.now() - t0);
  }
  noAck.sort((x, y) => x - y);
  ack.sort((x, y) => x - y);
  row(`latency no-ack ${label}`, `p50 ${ms(pct(noAck, 50))}, p99 ${ms(pct(noAck, 99))}`, `(${n} msgs, send → handler)`);
  row(`latency ack ${label}`, `p50 ${ms(pct(ack, 50))}, p99 ${ms(pct(ack, 99))}`, `(${n} msgs, send → ack)`);
  await Promise.all([a.stop(), b.stop()]);
}

async function throughput(secret: string | undefined, label: string): Promise<void> {
  const [a, b, peer] = await pair(secret);
  const n = quick ? 20_000 : 100_000;
  let count = 0;
  let done: (() => void) | undefined;
  b.onMessage(() => {
    if (++count === n) done?.();
  });
  const msg = { id: 'A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6.A', delta: { k: 'v'.repeat(64) } };
  const all = new Promise<void>((r) => (done = r));
  let t0 = performance.now();
  // Not awaited one by one (that would measure round trips); `all` waits for their delivery.
  for (let i = 0; i < n; i++) a.send(msg, { ack: false }, [peer]).catch((err: unknown) => console.error(`send failed: ${String(err)}`));
  await all;
  let s = (performance.now() - t0) / 1000;
  row(`throughput no-ack ${label}`, `${Math.round(n / s).toLocaleString('en')} msg/s`, `(${n} × ~130 B)`);

  const windowSize = 1000;
  const m = quick ? 10_000 : 50_000;
  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: windowSize }, async () => {
      while (next < m) {
        next++;
        await a.send(msg, { ack: true }, [peer]);
      }
    }),
  );
  s = (performance.now() - t0) / 1000;
  row(`throughput ack ${label}`, `${Math.round(m / s).toLocaleString('en')} msg/s`, `(${m} msgs, ${windowSize} in flight)`);

  const big = { blob: 'x'.repeat(64 * 1024) };
  const k = quick ? 500 : 2000;
  count = 0;
  const bigDone = new Promise<void>((r) => (done = r));
  b.onMessage(() => {
    if (++count === k) done?.();
  });
  t0 = performance.now();
  for (let i = 0; i < k; i++) {
    // Respect back-pressure as a caller should: a full queue (maxQueueBytes) means wait and retry.
    for (;;) {
      const r = await a.send(big, { ack: false }, [peer]);
      if (!r.failed.length) break;
      if ((r.failed[0]!.error as { code?: string }).code !== 'ERR_QUEUE_FULL') throw r.failed[0]!.error;
      await new Promise((res) => setTimeout(res, 1));
    }
  }
  await bigDone;
  s = (performance.now() - t0) / 1000;
  row(`throughput 64 KiB ${label}`, `${((k * 64) / 1024 / s).toFixed(0)} MiB/s`, `(${k} msgs)`);
  await Promise.all([a.stop(), b.stop()]);
}

async function membership(): Promise<void> {
  const runs = quick ? 2 : 5;
  const join: number[] = [];
  const leave: number[] = [];
  const kill: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ports = await freePorts(3);
    const a = createChannel(opts('A', ports[0]!, ports));
    await a.start();
    // Join: an in-process joiner.
    const b = createChannel(opts('B', ports[1]!, ports));
    const added = new Promise<number>((r) => a.once('memberAdded', () => r(performance.now())));
    const t0 = performance.now();
    await b.start();
    join.push((await added) - t0);
    // Graceful leave.
    const removed = new Promise<number>((r) => a.once('memberRemoved', () => r(performance.now())));
    const t1 = performance.now();
    await b.stop();
    leave.push((await removed) - t1);
    // kill -9 of a node process.
    const child = spawnTs('test/cluster/channel/fixtures/node.ts', [JSON.stringify(opts('C', ports[2]!, ports))]);
    await child.waitFor(/"event":"started"/);
    while (a.members().length === 0) await new Promise((r) => setTimeout(r, 5));
    const gone = new Promise<number>((r) => a.once('memberRemoved', () => r(performance.now())));
    const t2 = performance.now();
    child.signal('SIGKILL');
    kill.push((await gone) - t2);
    await a.stop();
  }
  const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
  row('join (static, defaults)', `${list(join)} ms`, "(joiner's start() → memberAdded on the existing node)");
  row('graceful leave (static)', `${list(leave)} ms`, '(stop() → memberRemoved; target ≤ 200 ms)');
  row('kill -9 (static)', `${list(kill)} ms`, '(connection reset → early TCP probe refused → memberRemoved)');
  await stopAll();
}

function multicastDetection(): void {
  const ok = spawnSync('unshare', ['-rn', 'true']).status === 0;
  if (!ok) {
    row('kill -9 heartbeat-only (multicast)', 'not measured', '(unshare -rn unavailable)');
    return;
  }
  const script = path.join(repoRoot, 'bench/cluster-channel-mcast.ts');
  const runs = quick ? 2 : 5;
  const r = spawnSync(
    'unshare',
    [
      '-rn',
      'sh',
      '-c',
      `ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo && exec '${process.execPath}' --conditions=stickyd-source --import tsx '${script}' ${runs}`,
    ],
    { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) {
    row('kill -9 heartbeat-only (multicast)', 'failed', r.stderr.slice(0, 200));
    return;
  }
  const res = JSON.parse(line.slice(7)) as { killMs: number[]; leaveMs: number[] };
  row('kill -9 heartbeat-only (multicast, defaults)', `${res.killMs.join(', ')} ms`, '(dropTime 3000 + tick + probe; target ≤ 4000)');
  row('graceful leave (multicast)', `${res.leaveMs.join(', ')} ms`, '(shutdown heartbeat; target ≤ 200 ms)');
}

console.error(`cluster channel benchmark${quick ? ' (quick)' : ''} — Node ${process.version}, loopback`);
await latency(undefined, 'no secret');
await latency('bench secret', 'with secret');
await throughput(undefined, 'no secret');
await throughput('bench secret', 'with secret');
await membership();
multicastDetection();

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`\n${'metric'.padEnd(w0)}  ${'value'.padEnd(w1)}  note`);
console.log(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ----`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);

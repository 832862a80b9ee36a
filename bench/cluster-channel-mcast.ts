/**
 * Part of bench/cluster-channel.ts that needs multicast: runs ONLY inside a private network namespace
 * (`unshare -rn`, multicast routed to its loopback) and refuses to run anywhere else. With Tomcat's
 * default timings (frequency 500, dropTime 3000, connectTimeout 1000) it measures, `argv[2]` times:
 * kill -9 of a node known only from its heartbeats → memberRemoved, and graceful leave → memberRemoved.
 * Prints `RESULT {"killMs":[…],"leaveMs":[…]}`.
 */
import { readFileSync } from 'node:fs';
import { createChannel, type ChannelOptions, type ClusterMember } from '../src/cluster/channel/index.js';
import { freePorts } from '../test/helpers/ports.js';
import { spawnTs, stopAll } from '../test/helpers/spawn.js';

const ifaces = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean);
if (ifaces.join(',') !== 'lo') {
  console.error(`refusing to run outside a private network namespace (interfaces: ${ifaces.join(',')})`);
  process.exit(2);
}

const runs = Number(process.argv[2] ?? 3);
const opts = (route: string, port: number): ChannelOptions => ({
  jvmRoute: route,
  receiver: { address: '127.0.0.1', port },
  membership: { type: 'multicast' },
  secret: 'bench multicast secret', // multicast always needs one
});
const killMs: number[] = [];
const leaveMs: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const ports = await freePorts(3);
    const o = createChannel(opts('O', ports[0]!));
    await o.start();
    const k = spawnTs('test/cluster/channel/fixtures/node.ts', [JSON.stringify(opts('K', ports[1]!))]);
    const l = spawnTs('test/cluster/channel/fixtures/node.ts', [JSON.stringify(opts('L', ports[2]!))]);
    await Promise.all([k.waitFor(/"event":"started"/, 30_000), l.waitFor(/"event":"started"/, 30_000)]);
    while (o.members().length < 2) await new Promise((r) => setTimeout(r, 10));
    const removedAt = (route: string) =>
      new Promise<number>((resolve) => {
        const f = (m: ClusterMember) => {
          if (m.route !== route) return;
          o.off('memberRemoved', f);
          resolve(performance.now());
        };
        o.on('memberRemoved', f);
      });
    // Random phase relative to the heartbeat schedule, like a real crash.
    await new Promise((r) => setTimeout(r, 500 + Math.random() * 500));
    const kGone = removedAt('K');
    let t0 = performance.now();
    k.signal('SIGKILL');
    killMs.push(Math.round((await kGone) - t0));
    const lGone = removedAt('L');
    t0 = performance.now();
    l.signal('SIGTERM');
    leaveMs.push(Math.round((await lGone) - t0));
    await o.stop();
    await stopAll();
  }
} finally {
  await stopAll();
}
console.log(`RESULT ${JSON.stringify({ killMs, leaveMs })}`);

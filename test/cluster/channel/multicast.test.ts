// Multicast membership (McastService semantics, cluster-semantics §1.1) — only inside a private network
// namespace: the scenario (fixtures/multicast-scenario.ts) runs under `unshare -rn` with multicast
// routed to that namespace's loopback, spawns its nodes there and prints what it observed.
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runScenario, stopScenarios, unshareWorks } from '../../helpers/netns-scenario.js';
import { repoRoot } from '../../helpers/spawn.js';

const DROP = 600; // the scenario's dropTime

const MULTICAST_SETUP = 'ip link set lo up multicast on && ip route add 224.0.0.0/4 dev lo';
const canUnshare = unshareWorks(MULTICAST_SETUP);

afterEach(stopScenarios);

it.skipIf(!canUnshare)(
  'multicast: join, domain filter, wrong secret, forged and replayed datagrams, SIGSTOP/SIGCONT, graceful leave, kill -9 (inside unshare -rn)',
  async () => {
    // The scenario stops its own nodes on SIGTERM.
    const r = await runScenario({ script: path.join(repoRoot, 'test/cluster/channel/fixtures/multicast-scenario.ts'), setup: MULTICAST_SETUP, stopWith: 'SIGTERM' });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    console.log(
      `multicast: leave ${r.leave.ms} ms (${r.leave.reason}); kill -9 with a TCP connection ${r.killConnected.ms} ms ` +
        `(${r.killConnected.reason}); kill -9 heartbeat-only ${r.killHeartbeatOnly.ms} ms (${r.killHeartbeatOnly.reason}, dropTime ${DROP})`,
    );
    // Join: both shop nodes see O and each other; the other domain and the wrong secret stay out.
    expect(r.members.sort()).toEqual(['N1', 'N3']); // (members() is oldest first; start order varies)
    expect(r.n1Members.sort()).toEqual(['N3', 'O']);
    expect(r.n2SawShop).toBe(false);
    expect(r.n5Added).toBe(false);
    // Forged (wrong secret, unsigned) and foreign datagrams: dropped and counted, never a member.
    expect(r.forgedDropped).toBeGreaterThanOrEqual(3);
    expect(r.evilAdded).toBe(false);
    // Replayed heartbeats: a captured one of a live member (sequence number) and a correctly signed
    // stale one of a member whose receiver answers (time window): dropped, counted, no member.
    // (N5, the wrong-secret node, keeps adding 'forged' drops meanwhile.)
    expect(r.replayOfLive.filter((x: string) => x === 'replayed')).toEqual(['replayed']);
    expect(r.staleReplay.dropped.filter((x: string) => x === 'replayed')).toEqual(['replayed']);
    expect(r.staleReplay.member).toBe(false);
    expect(r.echo).toBe('over tcp');
    // Frozen node: kept while its port answers; heartbeats resuming clear it without a re-add.
    expect(r.frozen).toEqual({ member: true, suspectsKept: 1 });
    expect(r.thawed).toEqual({ member: true, readded: false, removed: false });
    // Graceful leave: at once, without probing (the reason says it was the leave message, not the
    // silence; how fast that was depends on the machine and is only printed above).
    expect(r.leave.reason).toBe('shutdown');
    // kill -9: removed only after the probe failed; heartbeat-only detection comes from the
    // silence, and not before dropTime has passed (a timer may fire a little early; the scenario's
    // waits bound the other side, so a detection that never comes fails there).
    expect(r.killConnected.reason).not.toBe('shutdown');
    expect(r.killHeartbeatOnly.reason).toBe('timeout');
    expect(r.killHeartbeatOnly.ms).toBeGreaterThanOrEqual(DROP - 150);
  },
  60_000,
);

// A receiver bound to every interface (0.0.0.0 / ::) with DNS membership — only inside a private
// network namespace (fixtures/dns-wildcard-scenario.ts runs under `unshare -rn` with a veth pair as
// its "host network"): the node finds its own address in the DNS answer and advertises it, never
// connects to itself although every interface address is its own, and an explicit `advertise` wins.
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { runScenario, stopScenarios, unshareWorks } from '../../helpers/netns-scenario.js';
import { repoRoot } from '../../helpers/spawn.js';

const NETNS_SETUP =
  'ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add 10.9.0.1/24 dev v0 && ' +
  'ip addr add 10.9.0.2/24 dev v1 && ip link set v0 up && ip link set v1 up';

const canUnshare = unshareWorks(NETNS_SETUP);

afterEach(stopScenarios);

it.skipIf(!canUnshare)(
  'a receiver on 0.0.0.0 advertises its address from the DNS answer and skips every address of its own; :: with advertise; a static node outside DNS joins (inside unshare -rn)',
  async () => {
    const r = await runScenario({ script: path.join(repoRoot, 'test/cluster/channel/fixtures/dns-wildcard-scenario.ts'), setup: NETNS_SETUP });
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    const { p1, p2, p3, p4 } = r.ports;
    // X (0.0.0.0) found 10.9.0.1 — its interface address that the DNS answer gives with its port.
    expect(r.advertised.X).toBe(`10.9.0.1:${p1}`);
    expect(r.advertiseSource).toMatchObject({ advertise: '10.9.0.1', from: 'dns' });
    // Z (::) advertises what it was told to; W (0.0.0.0, static, in no DNS answer) one of its interfaces.
    expect(r.advertised.Z).toBe(`10.9.0.2:${p3}`);
    expect(r.advertised.W).toMatch(new RegExp(`^10\\.9\\.0\\.[12]:${p4}$`));
    // Peers know every node by its advertised address; W joined Y by contacting it.
    expect(r.yMembers).toEqual([`W@${r.advertised.W}`, `X@10.9.0.1:${p1}`, `Z@10.9.0.2:${p3}`]);
    // Their own entries were recognised in the answer; nobody ever connected to itself.
    expect(r.xChanged.self).toEqual([`10.9.0.1:${p1}`]);
    expect(r.xChanged.targets.sort()).toEqual([`10.9.0.2:${p2}`, `10.9.0.2:${p3}`].sort());
    expect(r.zChanged.self).toEqual([`10.9.0.2:${p3}`]);
    expect(r.selfConnects).toEqual({ X: 0, Y: 0, Z: 0, W: 0 });
    expect(r.ackedBy).toEqual(['Y', 'Z']);
    // While its first DNS answer is on its way, a wildcard receiver already names an interface.
    expect(r.vHostWhileStarting).toMatch(/^10\.9\.0\.[12]$/);
    expect(r.vHostStarted).toMatch(/^10\.9\.0\.[12]$/);
  },
  60_000,
);

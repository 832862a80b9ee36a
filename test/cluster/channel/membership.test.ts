// The membership table's decisions (cluster-semantics §1.1 Membership, §1.2 TcpFailureDetector), exhaustively,
// without sockets: the clock is a number we pass in, probes are actions we answer.
import { describe, expect, it } from 'vitest';
import { SHUTDOWN_COMMAND } from '../../../src/cluster/channel/member.js';
import { MembershipTable, type MembershipAction } from '../../../src/cluster/channel/membership.js';
import type { ClusterMember } from '../../../src/cluster/channel/types.js';

const DROP = 3000;
const REPROBE = 5000;
const TOMBSTONE = 60_000;
const LOCAL = 'f'.repeat(32);

function member(n: number, over: Partial<ClusterMember> = {}): ClusterMember {
  return {
    id: n.toString(16).padStart(32, '0'),
    route: `n${n}`,
    host: '127.0.0.1',
    port: 4000 + n,
    startedAt: 1000 + n,
    domain: '',
    ...over,
  };
}

function table(domain = ''): MembershipTable {
  return new MembershipTable(LOCAL, domain, { dropTime: DROP, reprobeInterval: REPROBE, tombstoneTime: TOMBSTONE });
}

/** Action types with the member's route, e.g. "probe n1", "removed n1 timeout". */
function names(actions: MembershipAction[]): string[] {
  return actions.map((a) => [a.type, a.member.route, 'reason' in a ? a.reason : ''].join(' ').trim());
}

/** Heartbeat + successful verification: the member is alive at time `at`. */
function join(t: MembershipTable, m: ClusterMember, at = 0): void {
  expect(names(t.heartbeat(m, '', at))).toEqual([`probe ${m.route}`]);
  expect(names(t.probeResult(m.id, true, at))).toEqual([`added ${m.route}`]);
}

describe('adding members', () => {
  it('adds a member only after its first heartbeat was verified by a live probe', () => {
    const t = table();
    const a = member(1);
    expect(names(t.heartbeat(a, '', 0))).toEqual(['probe n1']);
    expect(t.members()).toEqual([]);
    expect(t.state(a.id)).toBe('verifying');
    expect(t.verifying()).toBe(true);
    // Heartbeats while verifying start no second probe.
    expect(names(t.heartbeat(a, '', 100))).toEqual([]);
    expect(names(t.probeResult(a.id, true, 120))).toEqual(['added n1']);
    expect(t.members()).toEqual([a]);
    expect(t.verifying()).toBe(false);
    // Later heartbeats only refresh it: no second 'added'.
    expect(names(t.heartbeat(a, '', 600))).toEqual([]);
  });

  it('does not add a member whose receiver does not answer, and re-probes it every reprobeInterval', () => {
    const t = table();
    const a = member(1);
    t.heartbeat(a, '', 0);
    expect(names(t.probeResult(a.id, false, 10))).toEqual(['rejected n1']);
    expect(t.state(a.id)).toBe('unreachable');
    expect(t.members()).toEqual([]);
    expect(names(t.heartbeat(a, '', 500))).toEqual([]);
    expect(names(t.heartbeat(a, '', 10 + REPROBE - 1))).toEqual([]);
    expect(names(t.heartbeat(a, '', 10 + REPROBE))).toEqual(['probe n1']);
    expect(names(t.probeResult(a.id, true, 10 + REPROBE + 5))).toEqual(['added n1']);
  });

  it('forgets an unreachable member that went silent, so its next heartbeat is verified at once', () => {
    const t = table();
    const a = member(1);
    t.heartbeat(a, '', 0);
    t.probeResult(a.id, false, 0);
    expect(names(t.tick(DROP + 1))).toEqual([]);
    expect(t.state(a.id)).toBeUndefined();
    expect(names(t.heartbeat(a, '', DROP + 2))).toEqual(['probe n1']);
  });

  it('ignores its own heartbeats', () => {
    const t = table();
    expect(t.heartbeat(member(1, { id: LOCAL }), '', 0)).toEqual([]);
    expect(t.members()).toEqual([]);
  });

  it('ignores members of another domain (DomainFilterInterceptor), reporting each only once', () => {
    const t = table('shop');
    const other = member(1, { domain: 'blog' });
    expect(names(t.heartbeat(other, '', 0))).toEqual(['ignored n1 domain']);
    expect(t.heartbeat(other, '', 500)).toEqual([]);
    expect(t.discovered(other, 600)).toEqual([]);
    expect(t.members()).toEqual([]);
    join(t, member(2, { domain: 'shop' }));
    expect(t.members().map((m) => m.route)).toEqual(['n2']);
  });

  it('starts verification on discovery (a HELLO), like on a heartbeat', () => {
    const t = table();
    expect(names(t.discovered(member(1), 0))).toEqual(['probe n1']);
    expect(names(t.probeResult(member(1).id, true, 1))).toEqual(['added n1']);
  });

  it('lists members oldest first, ties broken by id', () => {
    const t = table();
    const young = member(1, { startedAt: 5000 });
    const old = member(2, { startedAt: 100 });
    const tieB = member(4, { startedAt: 300 });
    const tieA = member(3, { startedAt: 300 });
    for (const m of [young, old, tieB, tieA]) join(t, m);
    expect(t.members().map((m) => m.route)).toEqual(['n2', 'n3', 'n4', 'n1']);
  });
});

describe('crash detection: suspect after dropTime, remove only when the probe fails', () => {
  it('suspects a silent member after dropTime and removes it when the probe fails (reason timeout)', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    expect(t.tick(DROP)).toEqual([]); // exactly dropTime is not yet "more than"
    expect(names(t.tick(DROP + 1))).toEqual(['suspected n1', 'probe n1']);
    expect(t.members()).toEqual([a]); // a suspect is still a member until the probe says otherwise
    expect(names(t.tick(DROP + 400))).toEqual([]); // probe in flight: no second one
    expect(names(t.probeResult(a.id, false, DROP + 10))).toEqual(['removed n1 timeout']);
    expect(t.members()).toEqual([]);
    expect(t.state(a.id)).toBeUndefined();
  });

  it('keeps a suspect whose port answers (counted once), re-probes it, and clears it when heartbeats resume', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.tick(DROP + 1);
    expect(names(t.probeResult(a.id, true, DROP + 2))).toEqual(['kept n1']);
    expect(t.state(a.id)).toBe('suspect');
    expect(t.members()).toEqual([a]);
    expect(names(t.tick(DROP + 2 + REPROBE - 1))).toEqual([]);
    expect(names(t.tick(DROP + 2 + REPROBE))).toEqual(['probe n1']);
    expect(names(t.probeResult(a.id, true, DROP + 3 + REPROBE))).toEqual([]); // same episode: not counted again
    expect(names(t.heartbeat(a, '', 9000))).toEqual(['cleared n1']); // no 'added': no state transfer storm
    expect(t.state(a.id)).toBe('alive');
    // A new episode is counted again.
    t.tick(9000 + DROP + 1);
    expect(names(t.probeResult(a.id, true, 9000 + DROP + 2))).toEqual(['kept n1']);
  });

  it('removes a kept suspect once a re-probe fails', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.tick(DROP + 1);
    t.probeResult(a.id, true, DROP + 1);
    t.tick(DROP + 1 + REPROBE);
    expect(names(t.probeResult(a.id, false, DROP + 2 + REPROBE))).toEqual(['removed n1 timeout']);
  });

  it('a discovery claim (non-fresh) does not keep a member alive', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.discovered(a, 2000);
    t.discovered(a, DROP);
    expect(names(t.tick(DROP + 1))).toEqual(['suspected n1', 'probe n1']);
    expect(names(t.discovered(a, DROP + 2))).toEqual([]); // nor clears a suspicion
  });

  it('a heartbeat arriving while the suspicion probe runs clears it, and the late verdict is ignored', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.tick(DROP + 1);
    expect(names(t.heartbeat(a, '', DROP + 5))).toEqual(['cleared n1']);
    expect(names(t.probeResult(a.id, false, DROP + 10))).toEqual([]);
    expect(t.members()).toEqual([a]);
  });
});

describe('early checks after a lost connection or failed send', () => {
  it('probes a live member at once and removes it only if the probe fails (reason send-failure)', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    expect(names(t.connectionLost(a.id, 100))).toEqual(['probe n1']);
    expect(t.connectionLost(a.id, 101)).toEqual([]); // one probe at a time
    expect(names(t.probeResult(a.id, true, 102))).toEqual([]); // port answers: nothing changes
    expect(t.state(a.id)).toBe('alive');
    t.connectionLost(a.id, 200);
    expect(names(t.probeResult(a.id, false, 201))).toEqual(['removed n1 send-failure']);
  });

  it('ignores a failed early probe when a heartbeat arrived after the probe started', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.connectionLost(a.id, 100);
    t.heartbeat(a, '', 150);
    expect(t.probeResult(a.id, false, 200)).toEqual([]);
    expect(t.members()).toEqual([a]);
  });

  it('uses the timeout reason when the member became a suspect while the early probe ran', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.connectionLost(a.id, DROP);
    expect(names(t.tick(DROP + 1))).toEqual(['suspected n1']); // the probe in flight serves
    expect(names(t.probeResult(a.id, false, DROP + 2))).toEqual(['removed n1 timeout']);
  });

  it("an address leaving the DNS answer probes its member at once: kept while its port answers, removed ('dns') when not", () => {
    const t = table();
    const a = member(1);
    join(t, a);
    expect(names(t.connectionLost(a.id, 100, 'dns'))).toEqual(['probe n1']);
    expect(names(t.probeResult(a.id, true, 101))).toEqual([]); // DNS alone never removes a live member
    expect(t.members()).toEqual([a]);
    t.connectionLost(a.id, 200, 'dns');
    expect(names(t.probeResult(a.id, false, 201))).toEqual(['removed n1 dns']);
    // A later lost connection of another member is reported as such, not as 'dns'.
    const b = member(2);
    join(t, b);
    t.connectionLost(b.id, 300, 'dns');
    t.probeResult(b.id, true, 301);
    t.connectionLost(b.id, 400);
    expect(names(t.probeResult(b.id, false, 401))).toEqual(['removed n2 send-failure']);
  });

  it('does nothing for members it does not track or has not verified', () => {
    const t = table();
    expect(t.connectionLost(member(1).id, 0)).toEqual([]);
    t.heartbeat(member(2), '', 0);
    expect(t.connectionLost(member(2).id, 1)).toEqual([]);
    expect(t.probeResult(member(3).id, false, 2)).toEqual([]);
  });
});

describe('graceful leave (shutdown command)', () => {
  it('removes a live member at once without probing and never re-adds that identity', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    expect(names(t.heartbeat(a, SHUTDOWN_COMMAND, 100))).toEqual(['removed n1 shutdown']);
    expect(t.state(a.id)).toBe('departed');
    expect(t.heartbeat(a, '', 110)).toEqual([]); // a late or replayed heartbeat
    expect(t.discovered(a, 120)).toEqual([]);
    expect(t.heartbeat(a, SHUTDOWN_COMMAND, 130)).toEqual([]); // repeated shutdowns: one event
  });

  it('removes a suspect at once too', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.tick(DROP + 1);
    expect(names(t.heartbeat(a, SHUTDOWN_COMMAND, DROP + 2))).toEqual(['removed n1 shutdown']);
    expect(t.probeResult(a.id, false, DROP + 3)).toEqual([]);
  });

  it('silently forgets a member that leaves while still being verified', () => {
    const t = table();
    const a = member(1);
    t.heartbeat(a, '', 0);
    expect(t.heartbeat(a, SHUTDOWN_COMMAND, 1)).toEqual([]);
    expect(t.probeResult(a.id, true, 2)).toEqual([]);
    expect(t.members()).toEqual([]);
  });

  it('forgets departed ids after tombstoneTime', () => {
    const t = table();
    const a = member(1);
    join(t, a);
    t.heartbeat(a, SHUTDOWN_COMMAND, 0);
    t.tick(TOMBSTONE);
    expect(t.state(a.id)).toBe('departed');
    t.tick(TOMBSTONE + 1);
    expect(t.state(a.id)).toBeUndefined();
  });
});

describe('restarts', () => {
  it('a restarted process at the same host:port is a new member, and the old identity is probed at once', () => {
    const t = table();
    const old = member(1);
    join(t, old);
    const restarted = member(9, { host: old.host, port: old.port, route: 'n1-again', startedAt: 9000 });
    expect(names(t.heartbeat(restarted, '', 500))).toEqual(['probe n1-again']);
    expect(names(t.probeResult(restarted.id, true, 501))).toEqual(['added n1-again', 'probe n1']);
    // The probe of the old identity meets the new process, which answers with another id: dead.
    expect(names(t.probeResult(old.id, false, 502))).toEqual(['removed n1 send-failure']);
    expect(t.members()).toEqual([restarted]);
  });
});

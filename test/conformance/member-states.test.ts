// Member states, httpd vs stickyd: a sticky route to a member in each state with nofailover Off
// and On (apache-semantics §2.4, §2.5, §9.4), the lbstatus accounting of sticky hits (§2.6, §9.2), and which
// members load-balancing may pick: drain, disabled, stopped, hot standby, hot spare, lbset tiers
// (§3.1, §5, §9.5). Member states are set with `status=` in the configuration; every case has a
// balancer of its own.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBackend, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Pair, type Step } from './harness/pair.js';

interface StateCase {
  name: string;
  /** BalancerMember lines: backend letter and parameters. */
  members: Array<[string, string]>;
  /** ProxySet parameters. */
  params: string;
  steps: Array<Omit<Step, 'path'> & { path?: string }>;
  /** What the spec says httpd answers: the member (or the status when not 200) per step. */
  expected: string[];
}

const sticky = (route: string, n = 1): StateCase['steps'] =>
  Array.from({ length: n }, (_, i) => ({ label: `route ${route} #${i + 1}`, headers: [['Cookie', `JSESSIONID=s${i}.${route}`]] }));
const plain = (n: number): StateCase['steps'] => Array.from({ length: n }, (_, i) => ({ label: `no session #${i + 1}` }));

/** a, b, c routed; e takes the load-balanced picks of a fresh balancer (loadfactor 5). */
function routed(b: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  return [['a', 'route=a'], ['b', `route=b ${b}`], ['c', 'route=c'], ...extra, ['e', 'route=z loadfactor=5']];
}

const NOFAILOVER = [
  ['Off', 'stickysession=JSESSIONID nofailover=Off'],
  ['On', 'stickysession=JSESSIONID nofailover=On'],
] as const;

const STICKY_CASES: StateCase[] = NOFAILOVER.flatMap(([nf, params]): StateCase[] => [
  { name: `route to an OK member, nofailover ${nf}`, members: routed(''), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['b', 'b', 'e'] },
  { name: `route to a draining (N) member, nofailover ${nf}`, members: routed('status=+N'), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['b', 'b', 'e'] },
  { name: `route to a hot standby (H), nofailover ${nf}`, members: routed('status=+H'), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['b', 'b', 'e'] },
  { name: `route to a hot spare (R), nofailover ${nf}`, members: routed('status=+R'), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['b', 'b', 'e'] },
  { name: `route to an ignore-errors (I) member, nofailover ${nf}`, members: routed('status=+I'), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['b', 'b', 'e'] },
  { name: `route to a member with status=+E (error_time 0: retried at once), nofailover ${nf}`, members: routed('status=+E'), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['b', 'b', 'e'] },
  {
    name: `route to a disabled (D) member, nofailover ${nf}`,
    members: routed('status=+D'),
    params,
    steps: [...sticky('b', 2), ...plain(1)],
    expected: nf === 'On' ? ['503', '503', 'e'] : ['e', 'e', 'a'],
  },
  {
    name: `route to a stopped (S) member, nofailover ${nf}`,
    members: routed('status=+S'),
    params,
    steps: [...sticky('b', 2), ...plain(1)],
    expected: nf === 'On' ? ['503', '503', 'e'] : ['e', 'e', 'a'],
  },
  { name: `route to a disabled member with redirect=c, nofailover ${nf}`, members: routed('status=+D redirect=c'), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['c', 'c', 'e'] },
  { name: `route to a stopped member with redirect=c, nofailover ${nf}`, members: routed('status=+S redirect=c'), params, steps: [...sticky('b', 2), ...plain(1)], expected: ['c', 'c', 'e'] },
  {
    name: `redirect chain: b (D) -> d (D) -> a, nofailover ${nf}`,
    members: routed('status=+D redirect=d', [['d', 'route=d status=+D redirect=a']]),
    params,
    steps: [...sticky('b', 2), ...plain(1)],
    expected: ['a', 'a', 'e'],
  },
  {
    name: `redirect to a disabled member without redirect, nofailover ${nf}`,
    members: routed('status=+D redirect=d', [['d', 'route=d status=+D']]),
    params,
    steps: [...sticky('b', 2), ...plain(1)],
    expected: nf === 'On' ? ['503', '503', 'e'] : ['e', 'e', 'a'],
  },
  { name: `redirect is not used without a route, nofailover ${nf}`, members: routed('redirect=c'), params, steps: plain(3), expected: ['e', 'a', 'e'] },
  { name: `unknown route: load-balanced, nofailover ${nf}`, members: routed(''), params, steps: [...sticky('q', 2), ...plain(1)], expected: ['e', 'a', 'e'] },
]);

const ACCOUNTING_CASES: StateCase[] = [
  {
    // The spec's [V] trace: a=200 c=-100 d=-100 after 5 picks of a and sticky hits to c and d.
    name: 'lbstatus after sticky hits to a draining and a standby member (§2.6)',
    members: [['a', 'route=a'], ['c', 'route=c status=+N'], ['d', 'route=d status=+H']],
    params: 'stickysession=JSESSIONID',
    steps: [...plain(5), ...sticky('c'), ...sticky('d')],
    expected: ['a', 'a', 'a', 'a', 'a', 'c', 'd'],
  },
  {
    name: 'a sticky hit adds lbfactor to every usable member of every lbset, then the next picks follow',
    members: [['a', 'route=a'], ['b', 'route=b loadfactor=2'], ['c', 'route=c lbset=1'], ['d', 'route=d status=+D'], ['e', 'route=e status=+R']],
    params: 'stickysession=JSESSIONID',
    steps: [...sticky('c', 3), ...plain(4), ...sticky('a'), ...plain(3)],
    expected: ['c', 'c', 'c', 'b', 'b', 'a', 'e', 'a', 'b', 'b', 'e'],
  },
];

const LB_CASES: StateCase[] = [
  { name: 'a draining member is never load-balanced', members: [['a', 'status=+N'], ['b', ''], ['c', '']], params: '', steps: plain(4), expected: ['b', 'c', 'b', 'c'] },
  { name: 'a disabled member is skipped', members: [['a', 'status=+D'], ['b', ''], ['c', '']], params: '', steps: plain(4), expected: ['b', 'c', 'b', 'c'] },
  { name: 'a stopped member is skipped', members: [['a', 'status=+S'], ['b', ''], ['c', '']], params: '', steps: plain(4), expected: ['b', 'c', 'b', 'c'] },
  { name: 'a hot standby waits while a regular member is usable', members: [['a', ''], ['b', 'status=+D'], ['c', 'status=+H']], params: '', steps: plain(3), expected: ['a', 'a', 'a'] },
  { name: 'hot standbys take over when no regular member is usable', members: [['a', 'status=+D'], ['b', 'status=+S'], ['c', 'status=+H'], ['d', 'status=+H loadfactor=2']], params: '', steps: plain(6), expected: ['d', 'c', 'd', 'd', 'c', 'd'] },
  { name: 'a hot standby does not stand in for a draining member', members: [['a', 'status=+N'], ['b', 'status=+H']], params: '', steps: plain(2), expected: ['b', 'b'] },
  { name: 'hot spares fill gaps one for one, in configuration order', members: [['a', ''], ['b', 'status=+D'], ['c', 'status=+R'], ['d', 'status=+R']], params: '', steps: plain(4), expected: ['a', 'c', 'a', 'c'] },
  { name: 'two gaps admit two spares', members: [['a', ''], ['b', 'status=+D'], ['e', 'status=+S'], ['c', 'status=+R'], ['d', 'status=+R']], params: '', steps: plain(6), expected: ['a', 'c', 'd', 'a', 'c', 'd'] },
  { name: 'no gap, no spare', members: [['a', ''], ['b', ''], ['c', 'status=+R']], params: '', steps: plain(4), expected: ['a', 'b', 'a', 'b'] },
  { name: 'a draining member is a gap a spare fills', members: [['a', 'status=+N'], ['b', ''], ['c', 'status=+R']], params: '', steps: plain(4), expected: ['b', 'c', 'b', 'c'] },
  { name: 'a draining spare is not a gap', members: [['a', 'status=+NR'], ['b', ''], ['c', 'status=+R']], params: '', steps: plain(3), expected: ['b', 'b', 'b'] },
  { name: 'lbset 1 only when lbset 0 has no usable member', members: [['a', 'lbset=0 status=+D'], ['b', 'lbset=1'], ['c', 'lbset=1'], ['d', 'lbset=2']], params: '', steps: plain(4), expected: ['b', 'c', 'b', 'c'] },
  { name: 'lbset 0 wins over lbset 1 whatever the loadfactors', members: [['b', 'lbset=1 loadfactor=10'], ['a', 'lbset=0']], params: '', steps: plain(3), expected: ['a', 'a', 'a'] },
  { name: "lbset 0's hot standby comes before lbset 1", members: [['a', 'lbset=0 status=+D'], ['b', 'lbset=0 status=+H'], ['c', 'lbset=1']], params: '', steps: plain(3), expected: ['b', 'b', 'b'] },
  { name: "lbset 1's hot standby when lbsets 0 and 1 have no usable regular", members: [['a', 'lbset=0 status=+D'], ['b', 'lbset=1 status=+D'], ['c', 'lbset=1 status=+H'], ['d', 'lbset=2']], params: '', steps: plain(3), expected: ['c', 'c', 'c'] },
  { name: 'empty lbsets in between are skipped', members: [['a', 'lbset=0 status=+D'], ['b', 'lbset=3']], params: '', steps: plain(2), expected: ['b', 'b'] },
  { name: 'no usable member at all: 503', members: [['a', 'status=+D'], ['b', 'status=+N'], ['c', 'status=+S']], params: '', steps: plain(2), expected: ['503', '503'] },
  { name: 'ignore-errors and status=+E members are load-balanced', members: [['a', 'status=+I'], ['b', 'status=+E'], ['c', '']], params: '', steps: plain(3), expected: ['a', 'b', 'c'] },
  { name: 'status letters persist after + and -: -E+DH', members: [['a', 'status=-E+DH'], ['b', 'status=+D'], ['c', 'status=+H']], params: '', steps: plain(2), expected: ['c', 'c'] },
];

const CASES = [...STICKY_CASES, ...ACCOUNTING_CASES, ...LB_CASES];

let pair: Pair;
let backends: Backend[];

describeConformance('conformance: member states', () => {
  beforeAll(async () => {
    backends = await Promise.all(['a', 'b', 'c', 'd', 'e'].map(startBackend));
    const url = Object.fromEntries(backends.map((b) => [b.name, b.url]));
    const blocks = CASES.map((k, i) => `
<Proxy balancer://m${i}>
${k.members.map(([b, p]) => `  BalancerMember ${url[b]} ${p}`.trimEnd()).join('\n')}
${k.params ? `  ProxySet ${k.params}` : ''}
</Proxy>
ProxyPass /m${i} balancer://m${i}`);
    pair = await startPair(`ServerName front.test\n${blocks.join('\n')}`, backends);
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it.each(CASES.map((k, i) => [k.name, k, i] as const))('%s', async (_name, k, i) => {
    const r = await pair.run(k.steps.map((s) => ({ ...s, path: `/m${i}${s.path ?? '/x'}` })));
    expect(r.apache.map((o) => o.servedBy ?? String(o.status))).toEqual(k.expected);
    expect(r.stickyd).toEqual(r.apache);
    const m = await pair.members(`m${i}`);
    expect(m.stickyd).toEqual(m.apache);
  });
});

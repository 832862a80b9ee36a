// A member that comes back, httpd vs stickyd (apache-semantics §2.6, §3.2, §4.3, §4.4): member a
// was down, its sessions failed over to b, a is up again — and new sessions go to a for a while.
// The same story runs on both fronts, request by request, with each member's lbstatus after every
// phase, and the two must agree exactly. What it shows (README, "The demo"):
//
// - while a is in error it is not usable, so the sticky accounting of §2.6 credits nobody but b,
//   and b pays it back at once: nothing builds up while a is away;
// - once a's retry has passed, a is back in the accounting: at the very next request when a comes
//   before the first healthy member (force_recovery, §4.4, retries those at every request),
//   otherwise at the next load-balanced pick;
// - from then on every sticky hit on b — the old sessions are all there now — credits a its
//   lbfactor and charges b: byrequests balances *requests* since a came back, so the new sessions
//   go to a until a has had as many requests as b (weighted by loadfactor);
// - with a smaller loadfactor for a, each credit is smaller and a takes fewer of the new sessions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, startBackendOn, type Backend } from './harness/backends.js';
import { describeConformance, startPair, type Front, type Pair, type Step } from './harness/pair.js';

let pair: Pair;
let a: Backend;
let b: Backend;

/** A request without a session (load-balanced), and one of a session on `route` (sticky). */
const fresh = (mount: string, label: string): Step => ({ label, path: `/${mount}/x` });
const sticky = (mount: string, route: string, label: string): Step => ({ label, path: `/${mount}/x`, headers: [['Cookie', `JSESSIONID=s.${route}`]] });

interface Phase {
  /** The member that answered each request of the phase ("503" when none). */
  served: string;
  /** The lbstatus of a and of b after the phase. */
  lbstatus: { a: number; b: number };
}

const PHASES = ['both up', 'a down', 'a up, retry passed', 'first new session', 'sticky on b', 'new sessions'] as const;
type Story = Record<(typeof PHASES)[number], Phase>;

/**
 * The whole story on one front: a and b up, a dies, its session fails over, a comes back, then
 * sticky traffic on b and new sessions.
 */
async function story(front: Front, mount: string): Promise<Story> {
  const phases: Partial<Story> = {};
  const phase = async (name: (typeof PHASES)[number], steps: Step[]): Promise<void> => {
    const served: string[] = [];
    for (const step of steps) {
      const x = await pair.send(front, step);
      served.push(x.observation.servedBy ?? String(x.observation.status));
    }
    const members = (await pair.members(mount))[front];
    const of = (backend: Backend) => members.find((m) => m.name === backend.url)!.lbstatus;
    phases[name] = { served: served.join(' '), lbstatus: { a: of(a), b: of(b) } };
  };
  await phase('both up', [1, 2, 3, 4].map((i) => fresh(mount, `new ${i}`)));
  await a.close();
  await phase('a down', [sticky(mount, 'a', 'session of a'), ...[1, 2, 3].map((i) => sticky(mount, 'b', `session of b ${i}`)), fresh(mount, 'new 5'), fresh(mount, 'new 6')]);
  a = await startBackendOn('a', a.port);
  await new Promise((r) => setTimeout(r, 1100)); // retry=1
  await phase('a up, retry passed', [sticky(mount, 'b', 'session of b 4'), sticky(mount, 'b', 'session of b 5')]);
  await phase('first new session', [fresh(mount, 'new 7')]);
  await phase('sticky on b', [1, 2, 3, 4, 5, 6].map((i) => sticky(mount, 'b', `session of b ${5 + i}`)));
  await phase('new sessions', [8, 9, 10, 11, 12, 13, 14, 15].map((i) => fresh(mount, `new ${i}`)));
  return phases as Story;
}

/** What httpd answered, as the spec's accounting predicts it (checked before comparing stickyd). */
const EXPECTED: Record<string, Story> = {
  // a first, loadfactors 1 and 1.
  first: {
    'both up': { served: 'a b a b', lbstatus: { a: 0, b: 0 } },
    // The sticky request for a is charged to a (a was still usable), fails, goes to b; then only b counts.
    'a down': { served: 'b b b b b b', lbstatus: { a: -100, b: 100 } },
    // force_recovery retries a (it comes before b) at each request: a is credited on b's sticky hits at once.
    'a up, retry passed': { served: 'b b', lbstatus: { a: 100, b: -100 } },
    'first new session': { served: 'a', lbstatus: { a: 0, b: 0 } },
    'sticky on b': { served: 'b b b b b b', lbstatus: { a: 600, b: -600 } },
    // Six credits to catch up: the next seven new sessions go to a (the seventh breaks the tie for the earlier member).
    'new sessions': { served: 'a a a a a a a b', lbstatus: { a: 0, b: 0 } },
  },
  // a second: nothing retries a until a load-balanced pick does, so b's sticky hits before it credit nobody.
  second: {
    'both up': { served: 'b a b a', lbstatus: { a: 0, b: 0 } },
    'a down': { served: 'b b b b b b', lbstatus: { a: -100, b: 100 } },
    'a up, retry passed': { served: 'b b', lbstatus: { a: -100, b: 100 } },
    'first new session': { served: 'b', lbstatus: { a: 0, b: 0 } },
    'sticky on b': { served: 'b b b b b b', lbstatus: { a: 600, b: -600 } },
    'new sessions': { served: 'a a a a a a b a', lbstatus: { a: 0, b: 0 } },
  },
  // a first with loadfactor 1, b with 3: each credit to a is 100, b's picks cost 400: a takes 4 of the 8.
  lighter: {
    'both up': { served: 'b a b b', lbstatus: { a: 0, b: 0 } },
    'a down': { served: 'b b b b b b', lbstatus: { a: -300, b: 300 } },
    'a up, retry passed': { served: 'b b', lbstatus: { a: -100, b: 100 } },
    'first new session': { served: 'b', lbstatus: { a: 0, b: 0 } },
    'sticky on b': { served: 'b b b b b b', lbstatus: { a: 600, b: -600 } },
    'new sessions': { served: 'a a b a b b b a', lbstatus: { a: -200, b: 200 } },
  },
};

describeConformance('conformance: a member that comes back', () => {
  beforeAll(async () => {
    a = await startBackend('a');
    b = await startBackend('b');
    pair = await startPair(
      `
ServerName front.test
<Proxy balancer://first>
  BalancerMember ${a.url} route=a retry=1
  BalancerMember ${b.url} route=b retry=1
  ProxySet stickysession=JSESSIONID
</Proxy>
<Proxy balancer://second>
  BalancerMember ${b.url} route=b retry=1
  BalancerMember ${a.url} route=a retry=1
  ProxySet stickysession=JSESSIONID
</Proxy>
<Proxy balancer://lighter>
  BalancerMember ${a.url} route=a retry=1 loadfactor=1
  BalancerMember ${b.url} route=b retry=1 loadfactor=3
  ProxySet stickysession=JSESSIONID
</Proxy>
ProxyPass /first balancer://first
ProxyPass /second balancer://second
ProxyPass /lighter balancer://lighter
`,
      [a, b],
    );
  });
  afterAll(async () => {
    await pair?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  describe.each(Object.keys(EXPECTED))('balancer://%s', (mount) => {
    it('new sessions favour the member that came back, by the sticky hits on the other since it came back', async () => {
      const apache = await story('apache', mount);
      expect(apache).toEqual(EXPECTED[mount]);
      const stickyd = await story('stickyd', mount);
      expect(stickyd).toEqual(apache);
    }, 30_000);
  });
});

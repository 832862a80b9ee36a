/**
 * A model of httpd's attempt loop (proxy_handler, P:1213-1550, apache-semantics §1) over the balancer core, for
 * tests that count connects: the real loop lives in src/proxy/ and goes over sockets. `dead` members
 * refuse connections (a 503 from the scheme handler: member in error, failover); the others answer.
 */
import type { Balancer } from '../../src/balancer/balancer.js';
import type { Member } from '../../src/balancer/member.js';
import { recordChoice, type BalancerVariables } from '../../src/balancer/env.js';
import { connectSucceeded, markInError, preRequest, releaseMember, type StickyRequest } from '../../src/balancer/select.js';
import { letter } from './fixtures.js';

export interface RequestResult {
  /** 200 when a live member answered, 503 otherwise. */
  status: number;
  /** Letters of the members connected to, in order. */
  connects: string;
  env: BalancerVariables | null;
}

export function request(b: Balancer, dead: ReadonlySet<string>, req: StickyRequest, now: number): RequestResult {
  let attempts = 0;
  let maxAttempts = 0;
  let connects = '';
  let env: BalancerVariables | null = null;
  const given: Member[] = [];
  let member: Member;
  let status: number;
  do {
    const sel = preRequest(b, req, now);
    if (sel.kind !== 'member') {
      status = 503;
      break;
    }
    member = sel.member;
    given.push(member);
    env = recordChoice(env, b, sel);
    // P:1391: the balancer's value is read once it is set, at the first attempt that has it.
    if (b.maxAttemptsSet && maxAttempts === 0) maxAttempts = b.maxAttempts;
    connects += letter(member);
    if (dead.has(letter(member))) {
      markInError(member, now);
      status = 503;
    } else {
      connectSucceeded(member);
      status = 200;
      break;
    }
  } while (!member.usable && maxAttempts > attempts++);
  for (const m of given) releaseMember(m);
  return { status, connects, env };
}

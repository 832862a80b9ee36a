// The balancer decision core (apache-semantics §1-§6): plain data, synchronous functions, injected clock.
export { Flag, isUsable, statusText, statusLetters, applyStatus, flagBit, StatusSyntaxError, SETTABLE_LETTERS } from './flags.js';
export { Member, retry, lbfactorOf, MANAGER_FLAGS, type RuntimeSetting, type ManagerFlag } from './member.js';
export { Balancer, ManagerError, balancerUrl, type BalancerSetting } from './balancer.js';
export { findBestMember, resetLbMethod, isLbMethod, LB_METHODS } from './lbmethod.js';
export { pathParam, cookieParam, sessionRoute, findRouteMember, type SessionRoute } from './sticky.js';
export {
  preRequest,
  retryWait,
  releaseMember,
  markInError,
  connectSucceeded,
  postRequest,
  forceRecovery,
  type StickyRequest,
  type Chosen,
  type PendingWait,
  type Selection,
} from './select.js';
export { recordChoice, type BalancerVariables } from './env.js';

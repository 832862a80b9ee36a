/**
 * `req.session`: the application's view of its session for one request (Tomcat's HttpSession).
 *
 * Attributes are plain properties (`req.session.cart = [...]`, `delete req.session.user`), as in
 * express-session. Each request works on its own parsed copy; at the end of the request the
 * attributes it changed — compared as JSON texts, so in-place mutations count — are merged into the
 * node's session and replicated. Hence the concurrency rule: for one attribute, the session (and,
 * through per-peer FIFO replication, every replica) ends with the value of the request that
 * COMPLETED last; requests changing different attributes never undo each other.
 *
 * A request without a valid session gets an empty view; the session itself is created the moment
 * the application first stores an attribute (Tomcat's getSession(true)), which is also where
 * maxActiveSessions can refuse it (TooManyActiveSessionsError is thrown from that assignment).
 * Values must be JSON (AttributeNotSerializableError otherwise); `undefined` removes the attribute.
 *
 * Reserved names (not usable as attribute properties): id, isNew, creationTime, lastAccessedTime,
 * maxInactiveInterval, invalidate, changeSessionId. Forbidden names (a TypeError at the assignment,
 * and refused from peers): `__proto__`, `constructor`, `prototype`. `maxInactiveInterval` takes 1 s
 * to 366 days (≤ 0, never expires, only where the node's option is ≤ 0): a RangeError otherwise.
 */
import { attributeNameProblem, encodeAttribute } from '../session/attributes.js';

export interface HttpSession {
  /** `<32 HEX>.<jvmRoute>`; '' while no session exists yet (nothing stored so far). */
  readonly id: string;
  /** True when the session was created by this request (or none exists yet). */
  readonly isNew: boolean;
  /** ms since the epoch; 0 while no session exists. */
  readonly creationTime: number;
  /** ms since the epoch of the previous request that used it. */
  readonly lastAccessedTime: number;
  /** Idle timeout in seconds for this session; assigning changes it (and replicates the change). */
  maxInactiveInterval: number;
  /** Ends the session now, cluster-wide; a later attribute assignment in this request starts a new one. */
  invalidate(): void;
  /** New id (same route suffix rules: `<new HEX>.<jvmRoute>`), attributes kept; session fixation protection. Returns the new id. */
  changeSessionId(): string;
  /** Session attributes (JSON values). */
  [attribute: string]: unknown;
}

/** What the view needs from the request's bookkeeping (middleware/request-session.ts). */
export interface SessionViewHost {
  readonly values: Record<string, unknown>;
  id(): string;
  isNew(): boolean;
  creationTime(): number;
  lastAccessedTime(): number;
  maxInactiveInterval(): number;
  setMaxInactiveInterval(seconds: number): void;
  /** Creates the session if there is none yet (may throw TooManyActiveSessionsError). */
  ensureSession(): void;
  invalidate(): void;
  changeSessionId(): string;
}

const RESERVED = new Set(['id', 'isNew', 'creationTime', 'lastAccessedTime', 'maxInactiveInterval', 'invalidate', 'changeSessionId']);

export function createSessionView(host: SessionViewHost): HttpSession {
  const invalidate = () => host.invalidate();
  const changeSessionId = () => host.changeSessionId();
  const handler: ProxyHandler<Record<string, unknown>> = {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && RESERVED.has(prop)) {
        switch (prop) {
          case 'id': return host.id();
          case 'isNew': return host.isNew();
          case 'creationTime': return host.creationTime();
          case 'lastAccessedTime': return host.lastAccessedTime();
          case 'maxInactiveInterval': return host.maxInactiveInterval();
          case 'invalidate': return invalidate;
          case 'changeSessionId': return changeSessionId;
        }
      }
      return Reflect.get(target, prop, receiver);
    },
    set(target, prop, value) {
      if (typeof prop !== 'string') return false;
      if (prop === 'maxInactiveInterval') {
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError('maxInactiveInterval must be a number of seconds');
        host.setMaxInactiveInterval(value); // RangeError before a session is created for it
        host.ensureSession();
        return true;
      }
      if (RESERVED.has(prop)) throw new TypeError(`session property "${prop}" is read-only`);
      const badName = attributeNameProblem(prop);
      if (badName) throw new TypeError(`${badName}: it cannot be a session attribute`);
      // Validate now, so a non-JSON value fails at the assignment, not silently at the end (cluster-semantics §6.2 Limits).
      if (encodeAttribute(prop, value) === null) {
        delete target[prop];
        return true;
      }
      host.ensureSession();
      target[prop] = value;
      return true;
    },
    defineProperty(target, prop, desc) {
      if (typeof prop !== 'string' || RESERVED.has(prop) || !('value' in desc)) return false;
      return handler.set!(target, prop, desc.value, target);
    },
    deleteProperty(target, prop) {
      if (typeof prop === 'string' && RESERVED.has(prop)) return false;
      return Reflect.deleteProperty(target, prop);
    },
  };
  return new Proxy(host.values, handler) as HttpSession;
}

/**
 * A replicating express-session Store (cluster-semantics §5.1–§5.3) over the node's session manager.
 *
 * - `class extends session.Store` (express-session is the application's, loaded lazily: it is an
 *   optional peer dependency of stickyd). Every method takes an optional callback and returns a
 *   promise.
 * - get: local read from this node's copy (BackupManager: a proxy entry is fetched from its backup).
 * - set: per-key delta. express-session hands over the whole session; we compare it with the copy
 *   this request loaded (remembered in `createSession`) so that concurrent requests changing
 *   different keys do not undo each other, and with the current state when there is no such copy.
 *   `cookie` is a key like any other (its metadata replicates with the next delta); a numeric
 *   `cookie.originalMaxAge` sets the session's idle timeout (maxInactiveInterval).
 * - touch: replicated as an access (keeps replicas' idle clocks fresh); the cookie's new `expires`
 *   is NOT replicated by a touch — replicas expire by their own idle clock, never by a stale cookie.
 * - destroy (logout, regenerate): replicated at once as an expire.
 * - set/touch/destroy call back per `sendOptions`: 'async' at once, 'ack'/'sync' after the peers'
 *   acknowledgement (express-session holds the response's last chunk until then). A replication
 *   failure is passed to the callback only with `onReplicationFailure: 'error'`.
 * - all(): an object keyed by session id (MemoryStore's shape), of the sessions this node holds a
 *   value for (with store: redis, of every session in Redis, like connect-redis). length(),
 *   clear() (clear invalidates cluster-wide), ids().
 * - Never emits 'disconnect': a peer going away is not a store outage (cluster-semantics §5.3 MUST 10).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ReplicationOutcome, SessionManager } from '../managers/manager.js';
import type { ResolvedNodeOptions } from '../options.js';
import { decodeAttributes, requestChanges, type AttributeTexts } from '../session/attributes.js';
import { MAX_INACTIVE_INTERVAL } from '../session/expiry.js';

/** The part of express-session's module we use. */
export interface ExpressSessionModule {
  Store: abstract new () => EventEmitter;
}

type Callback<T> = (err: unknown, value?: T) => void;
/** An express-session session as the store sees it: JSON-able data with a `cookie`. */
export interface StoreSessionData {
  /** express-session's cookie data (`originalMaxAge`, `expires`, `path`, ...); typed loosely to match its types. */
  cookie: any;
  [key: string]: any;
}

export interface ClusterStore extends EventEmitter {
  get(sid: string, cb?: Callback<StoreSessionData | null>): Promise<StoreSessionData | null>;
  set(sid: string, session: StoreSessionData, cb?: Callback<void>): Promise<void>;
  destroy(sid: string, cb?: Callback<void>): Promise<void>;
  touch(sid: string, session: StoreSessionData, cb?: Callback<void>): Promise<void>;
  all(cb?: Callback<Record<string, StoreSessionData>>): Promise<Record<string, StoreSessionData>>;
  length(cb?: Callback<number>): Promise<number>;
  clear(cb?: Callback<void>): Promise<void>;
  ids(cb?: Callback<string[]>): Promise<string[]>;
  /* Inherited from express-session's Store (typed loosely: they take express-session's own types). */
  regenerate(req: any, callback: (err?: any) => any): void;
  load(sid: string, callback: (err: any, session?: any) => any): void;
  createSession(req: any, session: any): any;
}

export interface StoreContext {
  manager: SessionManager;
  options: ResolvedNodeOptions;
  log: Logger;
  ready: Promise<void>;
}

/** express-session from the application: resolved from the working directory, then from here. */
export function loadExpressSession(): ExpressSessionModule {
  const tried: string[] = [];
  for (const base of [path.join(process.cwd(), 'noop.js'), import.meta.url]) {
    try {
      const mod = createRequire(base)('express-session') as ExpressSessionModule;
      if (typeof mod?.Store === 'function') return mod;
    } catch (err) {
      tried.push((err as Error).message.split('\n')[0]!);
    }
  }
  throw new Error(
    `node.store() needs express-session, which could not be loaded (${tried.join('; ')}). ` +
      "Install it (npm install express-session) or pass it in: node.store(session) with `import session from 'express-session'`.",
  );
}

/**
 * Runs `work`, then reports to `cb` if given; the promise is returned either way. A callback that
 * throws (the application's bug) is reported through `onError`: it must not become an unhandled
 * rejection that takes the process down.
 */
function settle<T>(work: Promise<T>, cb: Callback<T> | undefined, onError: (err: unknown) => void): Promise<T> {
  if (cb) {
    work
      .then(
        (v) => cb(null, v),
        (err: unknown) => cb(err),
      )
      .catch(onError);
  }
  return work;
}

export function createStore(ctx: StoreContext, sessionModule?: ExpressSessionModule): ClusterStore {
  const Store = (sessionModule ?? loadExpressSession()).Store as unknown as new () => EventEmitter & {
    regenerate(req: any, callback: (err?: any) => any): void;
    load(sid: string, callback: (err: any, session?: any) => any): void;
  };
  const { manager, options } = ctx;
  const callbackThrew = (err: unknown) => manager.reportError('express-session store callback', err);
  /** The texts each request's session object was loaded with (express-session passes the same object to set). */
  const loaded = new WeakMap<object, AttributeTexts>();

  function toData(texts: AttributeTexts): StoreSessionData {
    const data = { ...decodeAttributes(texts) } as StoreSessionData;
    // A session created by stickyd's own middleware has no express-session cookie: give it one.
    if (typeof data.cookie !== 'object' || data.cookie === null) data.cookie = { originalMaxAge: null, path: options.cookie.path, httpOnly: options.cookie.httpOnly };
    return data;
  }

  /** cookie.originalMaxAge as a session timeout: whole seconds, rounded up, at most 366 days (expiry.ts). */
  function timeoutOf(sess: StoreSessionData): number | undefined {
    const ms = sess.cookie?.originalMaxAge;
    return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? Math.min(Math.ceil(ms / 1000), MAX_INACTIVE_INTERVAL) : undefined;
  }

  async function completion(outcomes: Array<Promise<ReplicationOutcome>>): Promise<void> {
    const all = await Promise.all(outcomes);
    const failed = all.find((o) => !o.ok);
    if (failed && !failed.ok && options.onReplicationFailure === 'error') throw failed.error;
  }

  /** The sessions this node holds, or every session of a shared store (Redis: SCAN). */
  function listIds(): Promise<string[]> {
    return manager.allSessionIds ? manager.allSessionIds() : Promise.resolve(manager.sessionIds());
  }

  class ClusterSessionStore extends Store implements ClusterStore {
    get(sid: string, cb?: Callback<StoreSessionData | null>): Promise<StoreSessionData | null> {
      return settle(
        (async () => {
          await ctx.ready;
          const s = await manager.findSession(sid);
          if (!s) return null;
          manager.beginRequest(s);
          manager.endRequest(s);
          return toData(s.attributes);
        })(),
        cb,
        callbackThrew,
      );
    }

    set(sid: string, sess: StoreSessionData, cb?: Callback<void>): Promise<void> {
      return settle(
        (async () => {
          await ctx.ready;
          const outcomes: Array<Promise<ReplicationOutcome>> = [];
          let s = await manager.findSession(sid);
          let base = loaded.get(sess);
          if (!s) {
            const created = manager.createSession(sid); // TooManyActiveSessionsError → callback → next(err)
            s = created.session;
            outcomes.push(created.replication);
            base = new Map();
          }
          const { delta, texts, errors } = requestChanges(base ?? s.attributes, sess);
          if (errors.length > 0) throw errors[0];
          loaded.set(sess, texts);
          const timeout = timeoutOf(sess);
          const changes = { attributes: delta, ...(timeout !== undefined && timeout !== s.maxInactiveInterval ? { maxInactiveInterval: timeout } : {}) };
          outcomes.push(manager.commit(s, changes, true));
          await completion(outcomes);
        })(),
        cb,
        callbackThrew,
      );
    }

    touch(sid: string, sess: StoreSessionData, cb?: Callback<void>): Promise<void> {
      return settle(
        (async () => {
          await ctx.ready;
          const s = await manager.findSession(sid);
          if (!s) return;
          const timeout = timeoutOf(sess);
          const changes = { attributes: { set: [], remove: [] }, ...(timeout !== undefined && timeout !== s.maxInactiveInterval ? { maxInactiveInterval: timeout } : {}) };
          await completion([manager.commit(s, changes, true)]);
        })(),
        cb,
        callbackThrew,
      );
    }

    destroy(sid: string, cb?: Callback<void>): Promise<void> {
      return settle(
        (async () => {
          await ctx.ready;
          const s = await manager.findSession(sid);
          if (!s) return;
          await completion([manager.invalidate(s)]);
        })(),
        cb,
        callbackThrew,
      );
    }

    all(cb?: Callback<Record<string, StoreSessionData>>): Promise<Record<string, StoreSessionData>> {
      return settle(
        (async () => {
          const out: Record<string, StoreSessionData> = Object.create(null);
          if (manager.allSessionIds) {
            // A shared store (Redis): every session it holds, read through the manager.
            for (const id of await manager.allSessionIds()) {
              const s = await manager.findSession(id);
              if (s) out[id] = toData(s.attributes);
            }
            return out;
          }
          for (const id of manager.sessionIds()) {
            const info = manager.inspect(id);
            if (info && info.role !== 'proxy') out[id] = toData(new Map(Object.entries(info.attributes).map(([k, v]) => [k, JSON.stringify(v)])));
          }
          return out;
        })(),
        cb,
        callbackThrew,
      );
    }

    length(cb?: Callback<number>): Promise<number> {
      return settle(listIds().then((ids) => ids.length), cb, callbackThrew);
    }

    ids(cb?: Callback<string[]>): Promise<string[]> {
      return settle(listIds(), cb, callbackThrew);
    }

    clear(cb?: Callback<void>): Promise<void> {
      return settle(
        (async () => {
          const outcomes: Array<Promise<ReplicationOutcome>> = [];
          for (const id of await listIds()) {
            const s = await manager.findSession(id);
            if (s) outcomes.push(manager.invalidate(s));
          }
          await completion(outcomes);
        })(),
        cb,
        callbackThrew,
      );
    }

    /** express-session calls this with what `get` returned; remember it as this request's base copy. */
    createSession(req: unknown, sess: StoreSessionData): unknown {
      const texts = requestChanges(new Map(), sess).texts;
      const session = (Store.prototype as unknown as { createSession: (r: unknown, s: unknown) => object }).createSession.call(this, req, sess);
      loaded.set(session, texts);
      return session;
    }
  }

  return new ClusterSessionStore();
}

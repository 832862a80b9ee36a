/**
 * The bookkeeping of one request's session: the copy the request started with, lazy creation,
 * invalidation, id changes, and the end-of-request commit that merges the request's changes and
 * replicates them. The middleware owns one per request; `req.session` is its view.
 */
import type { Logger } from 'pino';
import type { ReplicationOutcome, SessionManager } from '../managers/manager.js';
import { REPLICATION_OK } from '../managers/manager.js';
import { decodeAttributes, requestChanges, type AttributeTexts } from '../session/attributes.js';
import { generateSessionId, type RandomSource } from '../session/id.js';
import type { ClusterSession } from '../session/session.js';
import type { SessionViewHost } from './http-session.js';

export class RequestSession implements SessionViewHost {
  session: ClusterSession | null = null;
  /** The request's copy of the attributes; req.session is a view over this object (never replaced after the view exists). */
  values: Record<string, unknown> = Object.create(null);
  private base: AttributeTexts = new Map();
  private created = false;
  private newTimeout: number | undefined;
  /** The client must get a Set-Cookie for the current id (new session, rename, id change). */
  cookieNeeded = false;
  /** Replication promises of this request (create, rename, invalidate, commit), awaited in sync modes. */
  readonly pending: Array<Promise<ReplicationOutcome>> = [];
  private finished = false;

  constructor(
    private readonly manager: SessionManager,
    private readonly jvmRoute: string,
    private readonly log: Logger,
    private readonly random: RandomSource | undefined,
    /** Tells the middleware a session was created after the headers went out (no cookie possible). */
    private readonly headersSent: () => boolean,
  ) {}

  /** Attach an existing session (found or taken over by the binder). */
  attach(session: ClusterSession): void {
    this.session = session;
    this.manager.beginRequest(session);
    this.base = new Map(session.attributes);
    this.values = decodeAttributes(session.attributes, (name) =>
      this.log.warn({ id: session.id, attribute: name }, 'session attribute is not valid JSON; left out of this request'),
    );
  }

  /* SessionViewHost */
  id(): string {
    return this.session?.id ?? '';
  }
  isNew(): boolean {
    return this.session === null || this.created;
  }
  creationTime(): number {
    return this.session?.creationTime ?? 0;
  }
  lastAccessedTime(): number {
    return this.session?.lastAccessedTime ?? 0;
  }
  maxInactiveInterval(): number {
    return this.newTimeout ?? this.session?.maxInactiveInterval ?? 0;
  }
  setMaxInactiveInterval(seconds: number): void {
    // The same range every peer checks (session/expiry.ts): refused here, at the assignment.
    const bad = this.manager.timeoutProblem(seconds);
    if (bad) throw new RangeError(bad);
    this.newTimeout = seconds;
  }

  ensureSession(): void {
    if (this.session) return;
    const { session, replication } = this.manager.createSession(); // may throw TooManyActiveSessionsError
    this.pending.push(replication);
    this.session = session;
    this.created = true;
    this.manager.beginRequest(session);
    this.base = new Map();
    this.cookieNeeded = true;
    if (this.headersSent()) {
      this.log.warn({ id: session.id }, 'session created after the response headers were sent: the client gets no cookie for it');
    }
  }

  invalidate(): void {
    const s = this.session;
    if (!s) return;
    this.manager.endRequest(s);
    this.pending.push(this.manager.invalidate(s));
    // Like Tomcat, a later getSession(true) in the same request starts a new session.
    this.session = null;
    this.created = false;
    this.cookieNeeded = false;
    // Emptied in place: req.session is a view over this very object.
    for (const key of Object.keys(this.values)) delete this.values[key];
    this.base = new Map();
    this.newTimeout = undefined;
  }

  changeSessionId(): string {
    this.ensureSession();
    const s = this.session!;
    const newId = generateSessionId(this.jvmRoute, this.random);
    this.pending.push(this.manager.changeSessionId(s, newId));
    this.cookieNeeded = true;
    // The id the session got: a Redis Cluster store draws it within the old id's hash slot.
    return s.id;
  }

  /**
   * End of the request: merge what it changed into the session and replicate (unless `replicate`
   * is false: a filtered URL). Resolves with the combined outcome of everything this request sent.
   */
  finish(replicate: boolean): Promise<ReplicationOutcome> {
    if (this.finished) return Promise.resolve(REPLICATION_OK);
    this.finished = true;
    const s = this.session;
    if (s) {
      this.manager.endRequest(s);
      if (s.valid) {
        const { delta, errors } = requestChanges(this.base, this.values);
        for (const err of errors) this.log.warn({ id: s.id }, `${err.message}; the previous value is kept`);
        const changes = { attributes: delta, ...(this.newTimeout !== undefined ? { maxInactiveInterval: this.newTimeout } : {}) };
        this.pending.push(this.manager.commit(s, changes, replicate));
      }
    }
    if (this.pending.length === 0) return Promise.resolve(REPLICATION_OK);
    return Promise.all(this.pending).then((all) => all.find((o) => !o.ok) ?? REPLICATION_OK);
  }
}

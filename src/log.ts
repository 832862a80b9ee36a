/**
 * The daemon's logs: its own messages and the access log, both pino JSON lines on stdout through one
 * asynchronous destination (writes are batched off the request path; `flushLogs` empties it before
 * the process exits).
 *
 * The access record carries what Apache's LogFormat can show for a balanced request: the
 * BALANCER_* variables of spec §2.7 plus the usual fields. In-process observers (metrics) get the
 * same record through `AccessLog.subscribe`; when nobody logs and nobody subscribes the record is
 * never built.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from './config/types.js';
import type { BackendErrorKind } from './proxy/connector.js';

export type { Logger } from 'pino';

/** One finished request, as the access log writes it. */
export interface AccessRecord {
  /** When the request arrived (ISO 8601). */
  time: string;
  /** Client IP address. */
  client: string;
  method: string;
  /** The request target as the client sent it. */
  url: string;
  /** Status sent to the client; null when the client went away before any status was sent. */
  status: number | null;
  /** Response body bytes sent to the client. */
  bytes: number;
  /** Milliseconds from the request's arrival to the end of its response. */
  duration: number;
  /** BALANCER_NAME: `balancer://name`; null when no balancer was involved (404, 400). */
  balancer: string | null;
  /** BALANCER_WORKER_NAME: the member's URL; null when no member was chosen. */
  member: string | null;
  /** BALANCER_WORKER_ROUTE ("" when the member has none); null when no member was chosen. */
  memberRoute: string | null;
  /** BALANCER_SESSION_ROUTE: the route found in the request; null when none was extracted. */
  sessionRoute: string | null;
  /** BALANCER_SESSION_STICKY: the name that carried the route; null when none was extracted. */
  stickyName: string | null;
  /** BALANCER_ROUTE_CHANGED. */
  routeChanged: boolean;
  /** Members tried (0 when none was chosen). */
  attempts: number;
  /** The attempts that failed, in order, with why (BackendError kinds); absent when none did. */
  failures?: AttemptFailure[];
}

/** One failed attempt: the member's URL (BALANCER_WORKER_NAME) and the BackendError kind. */
export interface AttemptFailure {
  member: string;
  kind: BackendErrorKind;
}

export type RequestObserver = (record: AccessRecord) => void;

/** The process-wide destination: stdout, asynchronous. */
export function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 0 });
}

/** The daemon's logger for its own messages. */
export function createLogger(config: LogConfig, destination: DestinationStream = stdoutDestination()): Logger {
  return pino({ level: config.level, base: { name: 'stickyd' } }, destination);
}

/** A logger for access records on the same destination as `logger`: no pid/hostname, no second time field. */
export function createAccessLogger(logger: Logger): Logger {
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym];
  return pino({ level: 'info', base: { type: 'access' }, timestamp: false }, stream);
}

/** Write out what the asynchronous destination still holds (before exit). */
export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}

/** Access records to the log and to in-process observers. */
export class AccessLog {
  private observers: RequestObserver[] = [];

  constructor(private logger: Logger | null) {}

  /** Someone wants records: build them. */
  get wanted(): boolean {
    return this.logger !== null || this.observers.length > 0;
  }

  /** Turn the log line on or off (a reload may change `log.access`). */
  setLogger(logger: Logger | null): void {
    this.logger = logger;
  }

  /** Observe every finished request; returns the function that stops observing. */
  subscribe(observer: RequestObserver): () => void {
    this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((o) => o !== observer);
    };
  }

  emit(record: AccessRecord): void {
    if (this.logger !== null) this.logger.info(record);
    for (const o of this.observers) {
      try {
        o(record);
      } catch {
        // An observer's bug must not break the request path.
      }
    }
  }
}

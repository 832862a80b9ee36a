/**
 * The access record: one finished request, as the access log formats it and as in-process
 * observers (metrics) see it. Its data fields are what the JSON access line shows, unchanged since
 * the first release; `context` carries what Apache LogFormat directives read beyond them
 * (headers, protocol, ports, the connection), and exists only in the thread that served the
 * request: it is never serialised or sent elsewhere.
 */
import type { BackendErrorKind, ClientInfo } from '../members/connector.js';
import type { ClientRequest, ClientResponse } from '../proxy/client-messages.js';

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
  /** The worker thread that served the request (1..server.workers); absent with one worker. */
  worker?: number;
  /** What LogFormat directives read besides the fields above (absent in records made elsewhere, e.g. tests). */
  context?: AccessContext;
}

/** One failed attempt: the member's URL (BALANCER_WORKER_NAME) and the BackendError kind. */
export interface AttemptFailure {
  member: string;
  kind: BackendErrorKind;
}

/** The request's surroundings, for `%{…}i`, `%H`, `%p`, `%X`, `%I`/`%O` and the like. */
export interface AccessContext {
  /** The request: rawHeaders, httpVersion, rawTrailers, socket (byte counts). */
  readonly req: ClientRequest;
  /** The response; null for an Upgrade request (its answer went out on the socket). */
  readonly res: ClientResponse | null;
  /** Date.now() when the request arrived. */
  readonly startMs: number;
  /** Requests this client connection served before this one (httpd's %k). */
  readonly keepalives: number;
  /** Addresses and ports of the client connection, and ServerName. */
  readonly client: ClientInfo;
  /**
   * The request went to a direct worker (`proxypass` to a plain URL): mod_proxy_balancer declines
   * those, so httpd sets no BALANCER_* variables for them.
   */
  readonly implicit: boolean;
}

export type RequestObserver = (record: AccessRecord) => void;

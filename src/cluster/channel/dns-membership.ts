/**
 * DNS membership (Tomcat's DNSMembershipProvider, a CloudMembershipService provider): the addresses
 * a name resolves to are where this node looks for members, looked up again every `interval` on the
 * library's clock. A and AAAA records give addresses (the receiver port is configured), an SRV
 * record gives host and port per member.
 *
 * One model, shared with static membership: **DNS says where to look, heartbeats and TCP probes say
 * who is alive.** The answer (this node's own addresses left out) becomes the channel's list of
 * addresses to connect to and heartbeat, exactly like a static member list that changes. A member
 * is added only once it answered over TCP and proved the secret; it is removed only as any member
 * is — a graceful leave, or a failed TCP probe (after missed heartbeats, a broken connection, or its
 * address leaving the DNS answer, which probes it at once: Tomcat's memberDisappeared verified by
 * the TcpFailureDetector). So a DNS answer can never empty the cluster, and a node that is not in
 * the answer yet (a Kubernetes pod before its readiness probe passed: it must fetch the sessions
 * before it is ready) still joins by contacting the others — Tomcat's DNS provider accepts such
 * senders too.
 *
 * A failed lookup (NXDOMAIN, SERVFAIL, timeout, no records, server unreachable) keeps the last known
 * list: it is counted (`dnsFailures`) and logged once per outage (warn), and the recovery once
 * (info). Lookups never overlap; a slow server delays the next refresh, it does not pile them up.
 */
import net from 'node:net';
import { Resolver } from 'node:dns/promises';
import type { Logger } from 'pino';
import type { Counters } from './counters.js';
import { addressOf } from './member.js';
import type { HostPort } from './options.js';

export interface DnsContext {
  name: string;
  /** Receiver port for A/AAAA answers; undefined = look the name up as SRV. */
  port: number | undefined;
  /** ms between lookups (from the start of one to the start of the next). */
  interval: number;
  /** DNS servers ("ip:port"), or undefined for the system's. */
  servers: string[] | undefined;
  /** node:dns Resolver per-try timeout (ms) and tries per server. */
  timeout: number;
  tries: number;
  /** The library's clock (ms). */
  now(): number;
  logger: Logger;
  counters: Counters;
  /** This node's own receiver addresses ("host:port", as addressOf writes them): never a target. */
  selfAddresses(): Set<string>;
  /** A lookup succeeded and the list of other nodes' addresses changed (also called for the first answer). */
  onTargets(targets: HostPort[], previous: HostPort[]): void;
}

/** DNS error codes in words, for the log (node:dns codes). */
const REASONS: Record<string, string> = {
  ENOTFOUND: 'NXDOMAIN (no such name)',
  ENODATA: 'no records of that type',
  ESERVFAIL: 'SERVFAIL',
  ETIMEOUT: 'timeout',
  ECONNREFUSED: 'DNS server refused the connection',
  EREFUSED: 'REFUSED',
};
/** Answers that say "nothing here", as opposed to a server that could not answer. */
const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA']);

export class DnsLookupError extends Error {
  override name = 'DnsLookupError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class DnsMembership {
  private readonly resolver: Resolver;
  private current: HostPort[] = [];
  private answer: HostPort[] = [];
  private answered = false;
  private inFlight: Promise<void> | undefined;
  private nextAt = -Infinity;
  private outage: { since: number; failures: number } | null = null;
  /** The last lookup failed because the server could not answer (not "no such name / no records"). */
  private troubled = false;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly ctx: DnsContext) {
    this.resolver = new Resolver({ timeout: ctx.timeout, tries: ctx.tries });
    if (ctx.servers) this.resolver.setServers(ctx.servers);
    this.log = ctx.logger.child({ dns: ctx.name });
  }

  /** Whether a lookup is due at `now` (none in flight, `interval` since the last one began, or the clock went back). */
  due(now: number): boolean {
    if (this.closed || this.inFlight) return false;
    return now >= this.nextAt || now < this.nextAt - this.ctx.interval;
  }

  /** Looks the name up and applies the answer; never rejects. Joins a lookup already in flight. */
  refresh(): Promise<void> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * The first lookup, in start(). A node that finds nobody starts alone and skips the state
   * transfer, so a server that could not answer (SERVFAIL, timeout, unreachable — unlike NXDOMAIN or
   * no records, which are answers) is asked again, up to `attempts` lookups `pauseMs` apart.
   */
  async initial(attempts: number, pauseMs: number): Promise<void> {
    for (let i = 1; ; i++) {
      await this.refresh();
      if (this.closed || this.answered || !this.troubled || i >= attempts) return;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** The other nodes' addresses from the last successful lookup (this node left out). */
  targets(): HostPort[] {
    return this.current;
  }

  /** The last successful answer as it came, this node included (to find the address to advertise). */
  lastAnswer(): HostPort[] {
    return this.answer;
  }

  close(): void {
    this.closed = true;
    this.resolver.cancel();
  }

  private async run(): Promise<void> {
    const started = this.ctx.now();
    this.nextAt = started + this.ctx.interval;
    let answer: HostPort[];
    try {
      answer = await this.lookup();
    } catch (err) {
      if (!this.closed) this.failed(err);
      return;
    }
    if (this.closed) return;
    this.troubled = false;
    this.ctx.counters.stats.dnsRefreshes++;
    if (this.outage) {
      this.log.info(
        { failures: this.outage.failures, downMs: this.ctx.now() - this.outage.since },
        'DNS membership: the name resolves again',
      );
      this.outage = null;
    }
    this.answer = answer;
    const self = this.ctx.selfAddresses();
    const next = answer.filter((t) => !self.has(addressOf(t)));
    const previous = this.current;
    if (this.answered && sameAddresses(previous, next)) return;
    this.answered = true;
    this.current = next;
    this.log.info(
      {
        targets: next.map(addressOf),
        self: answer.filter((t) => self.has(addressOf(t))).map(addressOf),
        added: next.filter((t) => !previous.some((p) => addressOf(p) === addressOf(t))).map(addressOf),
        removed: previous.filter((p) => !next.some((t) => addressOf(p) === addressOf(t))).map(addressOf),
      },
      'DNS membership: addresses changed',
    );
    this.ctx.onTargets(next, previous);
  }

  private failed(err: unknown): void {
    this.ctx.counters.stats.dnsFailures++;
    const code = err instanceof DnsLookupError ? err.code : ((err as NodeJS.ErrnoException)?.code ?? 'ERROR');
    this.troubled = !EMPTY_ANSWER.has(code);
    const detail = { code, reason: REASONS[code] ?? (err as Error)?.message ?? String(err), keeping: this.current.map(addressOf) };
    if (this.outage) {
      this.outage.failures++;
      this.log.debug(detail, 'DNS membership: lookup failed again');
      return;
    }
    this.outage = { since: this.ctx.now(), failures: 1 };
    this.log.warn(detail, 'DNS membership: lookup failed; keeping the last known addresses until the name resolves again');
  }

  /** The answer: one entry per distinct address and port. Throws DnsLookupError when there is none. */
  private async lookup(): Promise<HostPort[]> {
    const out = new Map<string, HostPort>();
    const add = (host: string, port: number) => out.set(addressOf({ host, port }), { host, port });
    if (this.ctx.port !== undefined) {
      for (const host of await this.addresses(this.ctx.name)) add(host, this.ctx.port);
      return [...out.values()];
    }
    let records;
    try {
      records = await this.resolver.resolveSrv(this.ctx.name);
    } catch (err) {
      throw asLookupError(err, `SRV ${this.ctx.name}`);
    }
    // RFC 2782: a target of "." means the service is decidedly not available here.
    const targets = records.filter((r) => r.name !== '' && r.name !== '.');
    const resolved = await Promise.allSettled(
      targets.map(async (r) => ({ port: r.port, hosts: net.isIP(r.name) ? [r.name] : await this.addresses(r.name) })),
    );
    let trouble: DnsLookupError | undefined;
    resolved.forEach((res) => {
      if (res.status === 'fulfilled') for (const h of res.value.hosts) add(h, res.value.port);
      else if (!EMPTY_ANSWER.has((res.reason as DnsLookupError).code)) trouble ??= res.reason as DnsLookupError;
    });
    // A target that could not be resolved now keeps its member only through the heartbeats; if
    // none could be, the answer is no answer.
    if (out.size === 0) throw trouble ?? new DnsLookupError('ENODATA', `SRV ${this.ctx.name}: no target has an address`);
    return [...out.values()];
  }

  /**
   * A and AAAA of `name`, united. One family may have no records (ENODATA) or fail while the other
   * answers: the answer is what resolved (a peer missing from it is only probed, never dropped).
   */
  private async addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(name), this.resolver.resolve6(name)]);
    const hosts = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (hosts.length > 0) return hosts;
    const errors = [v4, v6].flatMap((r) => (r.status === 'rejected' ? [asLookupError(r.reason, name)] : []));
    // Prefer the error that says the server had trouble over "no such records".
    throw errors.find((e) => !EMPTY_ANSWER.has(e.code)) ?? errors.find((e) => e.code === 'ENOTFOUND') ?? errors[0] ??
      new DnsLookupError('ENODATA', `${name}: no A or AAAA records`);
  }
}

function asLookupError(err: unknown, what: string): DnsLookupError {
  if (err instanceof DnsLookupError) return err;
  const code = (err as NodeJS.ErrnoException)?.code ?? 'ERROR';
  return new DnsLookupError(code, `${what}: ${REASONS[code] ?? (err as Error)?.message ?? String(err)}`);
}

function sameAddresses(a: HostPort[], b: HostPort[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map(addressOf));
  return b.every((t) => set.has(addressOf(t)));
}

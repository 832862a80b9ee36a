/**
 * GroupChannel: Tribes' GroupChannel for Node — membership (static over TCP, DNS, or multicast), the
 * TcpFailureDetector, the DomainFilterInterceptor and the TCP transport, behind the `Channel`
 * interface the session managers use (types.ts).
 *
 * The parts and who decides what:
 * - membership.ts decides (pure): add after a live probe, suspect after dropTime, remove only when a
 *   probe fails or on graceful leave.
 * - static and DNS heartbeats go over each PeerSender's connection; multicast ones over UDP. All feed
 *   the same table, so the modes share all add/suspect/remove rules. DNS membership is a static
 *   list that dns-membership.ts replaces on every answer (the addresses to contact, never a verdict
 *   on who is alive).
 * - peer-sender.ts (outgoing) and receiver.ts (incoming) move frames; inbox.ts runs each peer's
 *   handlers one at a time, in order.
 *
 * Messages from a member that is still being verified are held in its inbox, not dropped (see
 * inbox.ts): a joiner's state-transfer request must not be lost. Liveness comes only from
 * heartbeats and from handshake answers (which are bound to our nonce, so they cannot be replayed).
 */
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import type { Counters, DropReason } from './counters.js';
import { emptyStats } from './counters.js';
import { DnsMembership } from './dns-membership.js';
import { ChannelError } from './errors.js';
import { probeMember } from './failure-detector.js';
import { FrameType, idAndText } from './frame.js';
import { PeerInbox, type InboxItem } from './inbox.js';
import { interfaceAddresses, pickAdvertiseAddress } from './local-addresses.js';
import { SHUTDOWN_COMMAND, addressOf, createLocalMember, describeMember } from './member.js';
import { MembershipTable, type MembershipAction } from './membership.js';
import { MulticastMembership } from './multicast-membership.js';
import { ChannelConfigError, isWildcard, type HostPort, type ResolvedChannelOptions } from './options.js';
import { PeerSender, type PeerSenderContext } from './peer-sender.js';
import { Receiver, type InboundConnection } from './receiver.js';
import { parseClusterJson, toClusterJson } from './safe-json.js';
import type { Channel, ChannelStats, ClusterMember, SendOptions, SendResult } from './types.js';

type MessageHandler = (from: ClusterMember, msg: unknown) => void | Promise<void>;
type RequestHandler = (from: ClusterMember, msg: unknown) => unknown | Promise<unknown>;

/** How often suspects and unverifiable members are probed again: Tribes' channel heartbeat (5 s). */
const REPROBE_INTERVAL_MS = 5000;
/** Lookups of a DNS membership's name at start while its server cannot answer, before starting alone. */
const DNS_START_ATTEMPTS = 3;
/** Failed sends that say something about the peer's health (not its handler's verdict). */
const HEALTH_ERRORS = new Set(['ERR_TIMEOUT', 'ERR_CONNECTION_LOST', 'ERR_QUEUE_FULL']);

export class GroupChannel extends EventEmitter implements Channel {
  readonly local: ClusterMember;
  private readonly log: Logger;
  private readonly counters: Counters;
  private readonly table: MembershipTable;
  private readonly receiver: Receiver;
  private readonly senders = new Map<string, PeerSender>();
  private readonly inboxes = new Map<string, PeerInbox>();
  private readonly senderContext: PeerSenderContext;
  /** Addresses to contact and heartbeat: the static member list, or the last DNS answer. */
  private targets: HostPort[];
  private multicast: MulticastMembership | undefined;
  private dns: DnsMembership | undefined;
  private messageHandler: MessageHandler | undefined;
  private requestHandler: RequestHandler | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly lastDropLog = new Map<string, number>();

  /** The library's one time source (options.clock, default Date.now). */
  private readonly now: () => number;

  constructor(private readonly opts: ResolvedChannelOptions, logger: Logger | undefined) {
    super();
    this.now = opts.now;
    // A wildcard receiver without `advertise` learns its address in start().
    const host = opts.receiver.advertise ?? opts.receiver.address;
    this.local = createLocalMember(opts.jvmRoute, host, opts.receiver.port, opts.domain, this.now());
    this.log = (logger ?? pino({ level: 'silent' })).child({ component: 'cluster-channel', route: opts.jvmRoute });
    const stats = emptyStats();
    this.counters = { stats, drop: (reason, detail) => this.onDrop(reason, detail) };
    // A departed id is remembered as long as a replayed heartbeat of it could still pass the
    // replay window; after that the window itself refuses it.
    const replayWindow = heartbeatReplayWindow(opts.membership.dropTime);
    this.table = new MembershipTable(this.local.id, opts.domain, {
      dropTime: opts.membership.dropTime,
      reprobeInterval: Math.max(REPROBE_INTERVAL_MS, opts.membership.frequency),
      tombstoneTime: replayWindow,
    });
    this.targets = opts.membership.type === 'static' ? opts.membership.members : [];
    this.senderContext = {
      local: this.local,
      now: this.now,
      secret: opts.secret,
      connectTimeout: opts.connectTimeout,
      handshakeTimeout: opts.senderTimeout,
      maxQueueBytes: opts.maxQueueBytes,
      maxFrameSize: opts.receiver.maxFrameSize,
      logger: this.log,
      counters: this.counters,
      onHandshake: (_sender, remote) => this.apply(this.table.heartbeat(remote, '', this.now())),
      onTrouble: (sender, targets) => this.onSenderTrouble(sender, targets),
      internalError: (err, where) => this.internalError(err, where),
    };
    this.receiver = new Receiver({
      local: () => this.local,
      secret: opts.secret,
      maxFrameSize: opts.receiver.maxFrameSize,
      handshakeTimeout: opts.senderTimeout,
      logger: this.log,
      counters: this.counters,
      trust: (id) => {
        const st = this.table.state(id);
        if (st === 'alive' || st === 'suspect') return 'verified';
        return st === 'unreachable' || st === 'departed' ? 'refused' : 'pending';
      },
      onHello: (conn) => this.apply(this.table.discovered(conn.remote!, this.now())),
      onFrame: (conn, type, payload) => this.onFrame(conn, type, payload),
      onClosed: (conn) => {
        if (!conn.left && this.state === 'running') this.apply(this.table.connectionLost(conn.remote!.id, this.now()));
      },
      internalError: (err, where) => this.internalError(err, where),
    });
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('channel.start() can only be called once');
    this.state = 'starting';
    try {
      // A wildcard receiver answers handshakes from the moment it listens, and a peer keeps the
      // address it hears first: advertise an interface address already (DNS refines it below),
      // never the wildcard itself, which a peer would dial as its own host.
      if (this.opts.receiver.advertise === undefined && isWildcard(this.opts.receiver.address)) {
        this.local.host = pickAdvertiseAddress(this.opts.receiver.address, []) ?? this.local.host;
      }
      this.local.port = await this.receiver.listen(this.opts.receiver.address, this.opts.receiver.port);
      this.local.startedAt = this.now();
      const m = this.opts.membership;
      if (m.type === 'multicast') {
        this.multicast = new MulticastMembership({
          address: m.address,
          port: m.port,
          ttl: m.ttl,
          bind: m.bind,
          replayWindow: heartbeatReplayWindow(m.dropTime),
          secret: this.opts.secret,
          local: () => this.local,
          now: this.now,
          logger: this.log,
          counters: this.counters,
          onHeartbeat: (member, command) => this.apply(this.table.heartbeat(member, command, this.now())),
          internalError: (err, where) => this.internalError(err, where),
        });
        await this.multicast.start();
      } else if (m.type === 'dns') {
        this.dns = new DnsMembership({
          name: m.name,
          port: m.port,
          interval: m.interval,
          servers: m.servers,
          timeout: m.timeout,
          tries: m.tries,
          now: this.now,
          logger: this.log,
          counters: this.counters,
          selfAddresses: () => this.selfAddresses(),
          onTargets: (next, previous) => this.onDnsTargets(next, previous),
        });
        // The first answer before anyone is contacted: a joiner must know the members (and the
        // oldest of them) before it asks for state. A server in trouble is asked again a few
        // times; after that (or on NXDOMAIN: nobody there yet) the node starts alone.
        await this.dns.initial(DNS_START_ATTEMPTS, m.frequency);
      }
      if (this.opts.receiver.advertise === undefined) this.local.host = this.advertisedAddress();
    } catch (err) {
      this.state = 'stopped';
      this.dns?.close();
      this.multicast?.close();
      await this.receiver.close();
      throw err;
    }
    this.state = 'running';
    this.tick();
    // The tick runs after pending I/O (setImmediate): after a stall of this process, heartbeats
    // already waiting in its sockets are read before anyone is judged silent.
    this.ticker = setInterval(
      () => setImmediate(() => this.guarded('membership tick', () => this.tick())),
      this.opts.membership.frequency,
    );
    this.ticker.unref();
    await this.waitForMembers();
    this.log.info(
      {
        id: this.local.id,
        receiver: addressOf(this.local),
        bound: addressOf({ host: this.opts.receiver.address, port: this.local.port }),
        members: this.table.members().map(describeMember),
      },
      'cluster channel started',
    );
  }

  stop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return Promise.resolve();
    }
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  members(): ClusterMember[] {
    return this.table.members().slice();
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  async send(msg: unknown, options: SendOptions, to?: ClusterMember[]): Promise<SendResult> {
    const json = toClusterJson(msg);
    const targets = to ?? this.table.members();
    const timeout = options.timeoutMs ?? this.opts.senderTimeout;
    const outcomes = await Promise.allSettled(targets.map((m) => this.sendOne(m, json, options.ack, timeout)));
    const result: SendResult = { ok: [], failed: [] };
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') result.ok.push(targets[i]!);
      else result.failed.push({ member: targets[i]!, error: o.reason as Error });
    });
    return result;
  }

  async request(to: ClusterMember, msg: unknown, timeoutMs: number): Promise<unknown> {
    const json = toClusterJson(msg);
    this.checkTarget(to);
    try {
      return await this.memberSender(to).request(to.id, json, timeoutMs);
    } catch (err) {
      this.onSendFailure(to, err as Error);
      throw err;
    }
  }

  stats(): ChannelStats {
    return { ...this.counters.stats };
  }

  // ── sending ────────────────────────────────────────────────────────────────────────────────

  private checkTarget(m: ClusterMember): void {
    if (this.state !== 'running') throw new ChannelError('ERR_CHANNEL_STOPPED', `the channel is ${this.state}`);
    if (!this.table.member(m.id)) {
      throw new ChannelError('ERR_NOT_A_MEMBER', `${describeMember(m)} is not a live member of the cluster`);
    }
  }

  private async sendOne(m: ClusterMember, json: string, ack: boolean, timeout: number): Promise<void> {
    this.checkTarget(m);
    try {
      await this.memberSender(m).message(m.id, json, ack, timeout);
    } catch (err) {
      this.onSendFailure(m, err as Error);
      throw err;
    }
  }

  /** Like Tribes: a failed send makes the failure detector check that member now (cluster-semantics §1.2). */
  private onSendFailure(m: ClusterMember, err: Error): void {
    if (err instanceof ChannelError && HEALTH_ERRORS.has(err.code) && this.state === 'running') {
      this.apply(this.table.connectionLost(m.id, this.now()));
    }
  }

  /**
   * The sender for a member: the one already connected to it if there is one (a static target
   * written differently from the address the member advertises, "localhost:4001" vs
   * "127.0.0.1:4001"), so that each member gets one connection from us — which is also what a
   * receiver without a secret expects of a real peer (receiver.ts).
   */
  private memberSender(m: ClusterMember): PeerSender {
    for (const s of this.senders.values()) if (s.remote?.id === m.id && s.isConnected()) return s;
    return this.senderFor(m);
  }

  private senderFor(m: { host: string; port: number }): PeerSender {
    const key = addressOf(m);
    let s = this.senders.get(key);
    if (!s) {
      s = new PeerSender(m.host, m.port, this.senderContext);
      this.senders.set(key, s);
    }
    return s;
  }

  /**
   * Closes the senders nobody needs any more — not a target (static or DNS), not a live member's
   * address, not the open connection to a live member — so members that come and go on new ports,
   * and addresses that leave the DNS answer, do not accumulate connections.
   */
  private retireSenders(): void {
    const needed = new Set([...this.targets.map(addressOf), ...this.table.members().map(addressOf)]);
    for (const [key, s] of this.senders) {
      if (needed.has(key)) continue;
      if (s.remote && this.table.member(s.remote.id) && s.isConnected()) continue;
      this.senders.delete(key);
      s.close();
    }
  }

  private onSenderTrouble(sender: PeerSender, targets: Set<string>): void {
    if (this.state !== 'running') return;
    for (const id of targets) {
      if (this.table.member(id)) this.apply(this.table.connectionLost(id, this.now()));
      else sender.failFor(id, new ChannelError('ERR_NOT_A_MEMBER', `member ${id.slice(0, 8)} at ${sender.address} is gone`));
    }
  }

  // ── membership ─────────────────────────────────────────────────────────────────────────────

  private tick(): void {
    if (this.state !== 'running') return;
    const now = this.now();
    this.apply(this.table.tick(now));
    if (this.multicast) {
      this.multicast.send();
      this.multicast.prune(now);
    } else {
      this.staticHeartbeats();
    }
    if (this.dns?.due(now)) this.dns.refresh().catch((err: unknown) => this.internalError(err, 'DNS membership'));
    for (const [id, inbox] of this.inboxes) {
      const st = this.table.state(id);
      if (inbox.isEmpty() && st !== 'alive' && st !== 'suspect' && st !== 'verifying') this.inboxes.delete(id);
    }
  }

  /**
   * Static and DNS membership: a heartbeat frame to every target address, and to every member we
   * know (so a node listed on only one side still hears from both: lists need not be symmetric).
   */
  private staticHeartbeats(): void {
    const done = new Set<string>([addressOf(this.local)]);
    for (const t of this.targets) {
      const key = addressOf(t);
      if (done.has(key)) continue;
      done.add(key);
      this.senderFor(t).heartbeat();
    }
    for (const m of this.table.members()) {
      if (done.has(addressOf(m))) continue;
      const s = this.memberSender(m);
      if (!done.has(s.address)) s.heartbeat();
    }
  }

  /**
   * Tomcat waits 2 × frequency for heartbeats before it calls the cluster started (cluster-semantics §1.1), so
   * that a joiner knows the oldest member before it asks for state. Static membership can tell
   * sooner: once every listed address answered or refused and every answer is verified.
   */
  private async waitForMembers(): Promise<void> {
    const began = this.now();
    const window = 2 * this.opts.membership.frequency;
    const limit = window + this.opts.connectTimeout + 500;
    const listed = this.opts.membership.type === 'static' || this.opts.membership.type === 'dns';
    for (;;) {
      if (this.state !== 'running') return;
      const elapsed = this.now() - began;
      const staticSettled =
        listed && this.targets.every((t) => addressOf(t) === addressOf(this.local) || this.senderFor(t).settled());
      if ((elapsed >= window || staticSettled) && !this.table.verifying()) return;
      if (elapsed >= limit) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /**
   * A DNS answer changed the targets. An address that left it is verified at once (Tomcat's
   * memberDisappeared → TcpFailureDetector): its member is removed only if the probe fails. A new
   * address is contacted at once rather than at the next heartbeat.
   */
  private onDnsTargets(next: HostPort[], previous: HostPort[]): void {
    this.targets = next;
    if (this.state !== 'running') return;
    const now = this.now();
    const keys = new Set(next.map(addressOf));
    const before = new Set(previous.map(addressOf));
    for (const gone of previous) {
      const key = addressOf(gone);
      if (keys.has(key)) continue;
      for (const m of this.table.members()) {
        if (addressOf(m) === key) this.apply(this.table.connectionLost(m.id, now, 'dns'));
      }
    }
    this.retireSenders();
    for (const t of next) if (!before.has(addressOf(t)) && addressOf(t) !== addressOf(this.local)) this.senderFor(t).heartbeat();
  }

  /** This node's own receiver in a DNS answer: the advertised address, and with a wildcard bind every interface's. */
  private selfAddresses(): Set<string> {
    const port = this.local.port;
    const hosts = new Set([this.local.host.toLowerCase(), this.opts.receiver.address.toLowerCase()]);
    if (isWildcard(this.opts.receiver.address)) for (const i of interfaceAddresses()) hosts.add(i.address);
    return new Set([...hosts].map((host) => addressOf({ host, port })));
  }

  /** The address peers reach a wildcard receiver at (options.ts: receiver.advertise). */
  private advertisedAddress(): string {
    const fromDns = (this.dns?.lastAnswer() ?? []).filter((t) => t.port === this.local.port).map((t) => t.host);
    const host = pickAdvertiseAddress(this.opts.receiver.address, fromDns);
    if (!host) {
      throw new ChannelConfigError(
        `receiver.address ${JSON.stringify(this.opts.receiver.address)}: this host has no address peers could connect to ` +
          `(no non-internal interface); set receiver.advertise`,
      );
    }
    this.log.info({ advertise: host, from: fromDns.includes(host) ? 'dns' : 'interfaces' }, 'cluster receiver: advertising this address');
    return host;
  }

  private apply(actions: MembershipAction[]): void {
    for (const a of actions) {
      const m = a.member;
      switch (a.type) {
        case 'probe':
          this.probe(m);
          break;
        case 'added':
          this.counters.stats.membersAdded++;
          this.log.info({ member: describeMember(m) }, 'member added (verified by TCP probe)');
          // The application hears of the member before any of its held frames reach a handler.
          this.emitSafely('memberAdded', m);
          this.inboxes.get(m.id)?.release();
          this.receiver.memberVerified(m.id);
          break;
        case 'rejected':
          this.log.warn({ member: describeMember(m) }, 'member announced itself but its receiver does not answer; not added');
          this.inboxes.get(m.id)?.refuseHeld((item) => this.refuse(item, 'unverified', 'sender could not be verified'));
          this.receiver.memberRefused(m.id, 'sender could not be verified');
          break;
        case 'suspected':
          this.log.info({ member: describeMember(m) }, 'no heartbeat within dropTime; verifying');
          break;
        case 'kept':
          this.counters.stats.suspectsKept++;
          this.log.info({ member: describeMember(m) }, 'verification complete: member still alive, kept as suspect');
          break;
        case 'cleared':
          this.log.info({ member: describeMember(m) }, 'heartbeats resumed: suspicion cleared');
          this.receiver.memberVerified(m.id);
          break;
        case 'removed': {
          this.counters.stats.membersRemoved++;
          this.log.info({ member: describeMember(m), reason: a.reason }, 'member removed');
          const gone = new ChannelError('ERR_NOT_A_MEMBER', `${describeMember(m)} left the cluster (${a.reason})`);
          for (const s of this.senders.values()) s.failFor(m.id, gone);
          this.retireSenders();
          this.receiver.memberRefused(m.id, `sender left the cluster (${a.reason})`);
          this.emitSafely('memberRemoved', m, a.reason);
          break;
        }
        case 'ignored':
          this.log.info({ member: describeMember(m), domain: m.domain }, 'ignoring member of another domain');
          break;
      }
    }
  }

  private probe(m: ClusterMember): void {
    probeMember(m, { connectTimeout: this.opts.connectTimeout, secret: this.opts.secret })
      .then((verdict) => {
        this.log.debug({ member: describeMember(m), ...verdict }, 'TCP verification');
        if (this.state === 'running' || this.state === 'starting') {
          this.apply(this.table.probeResult(m.id, verdict.alive, this.now()));
        }
      })
      .catch((err: unknown) => this.internalError(err, 'TCP verification'));
  }

  // ── receiving ──────────────────────────────────────────────────────────────────────────────

  private onFrame(conn: InboundConnection, type: number, payload: Buffer): void {
    const from = conn.remote!;
    if (type === FrameType.HEARTBEAT) {
      this.apply(this.table.heartbeat(from, '', this.now()));
      return;
    }
    if (from.domain !== this.local.domain) {
      // DomainFilterInterceptor: another application's traffic is not ours to handle (its leave is
      // simply irrelevant; its messages are dropped and counted).
      if (type === FrameType.LEAVE) return;
      this.refuse({ conn, type, payload }, 'domain', `member of domain "${from.domain}"`);
      return;
    }
    if (type === FrameType.LEAVE) conn.left = true;
    let inbox = this.inboxes.get(from.id);
    if (!inbox) {
      inbox = new PeerInbox(
        (item) => this.deliver(item),
        (err) => this.internalError(err, 'cluster frame delivery'),
      );
      this.inboxes.set(from.id, inbox);
    }
    if (!inbox.isReleased()) {
      const st = this.table.state(from.id);
      if (st === 'alive' || st === 'suspect') inbox.release();
      else if (type === FrameType.LEAVE) {
        this.apply(this.table.heartbeat(from, SHUTDOWN_COMMAND, this.now()));
        inbox.refuseHeld((held) => this.refuse(held, 'unverified', `sender ${describeMember(from)} left before it was verified`));
        return;
      } else if (st === 'departed' || st === 'unreachable') {
        this.refuse({ conn, type, payload }, 'unverified', `sender ${describeMember(from)} is ${st}`);
        return;
      } else if (st === undefined) {
        this.apply(this.table.discovered(from, this.now()));
      }
    }
    inbox.push({ conn, type, payload });
  }

  /** Drops a frame that will not be handled, answering an ack/request so its sender is not left waiting. */
  private refuse(item: InboxItem, reason: DropReason, detail: string): void {
    this.counters.drop(reason, detail);
    if (item.payload.length < 4) return;
    const id = item.payload.readUInt32BE(0);
    if (item.type === FrameType.MESSAGE && id !== 0) item.conn.reply(FrameType.FAIL_ACK, idAndText(id, `dropped: ${reason}`));
    if (item.type === FrameType.REQUEST) item.conn.reply(FrameType.RESPONSE_ERROR, idAndText(id, `dropped: ${reason}`));
  }

  /** Runs in the member's inbox: one frame at a time, in order. Never throws. */
  private async deliver(item: InboxItem): Promise<void> {
    const { conn, type, payload } = item;
    const from = this.table.member(conn.remote!.id) ?? conn.remote!;
    if (type === FrameType.LEAVE) {
      this.apply(this.table.heartbeat(from, SHUTDOWN_COMMAND, this.now()));
      return;
    }
    if (payload.length < 4) {
      this.counters.drop('malformed', `frame type ${type} without id from ${describeMember(from)}`);
      return;
    }
    const id = payload.readUInt32BE(0);
    const parsed = parseClusterJson(payload.toString('utf8', 4));
    if (!parsed.ok) {
      this.refuse(item, parsed.reason, `from ${describeMember(from)}`);
      return;
    }
    if (type === FrameType.MESSAGE) {
      try {
        this.emitSafely('message', from, parsed.value);
        const r = this.messageHandler?.(from, parsed.value);
        if (r && typeof (r as Promise<void>).then === 'function') await r;
        if (id !== 0) conn.reply(FrameType.ACK, idAndText(id, ''));
      } catch (err) {
        this.log.warn({ err, from: describeMember(from) }, 'message handler failed');
        if (id !== 0) conn.reply(FrameType.FAIL_ACK, idAndText(id, errorText(err)));
      }
      return;
    }
    // REQUEST
    try {
      if (!this.requestHandler) throw new Error('no request handler registered on this node');
      const value = await this.requestHandler(from, parsed.value);
      conn.reply(FrameType.RESPONSE, idAndText(id, toClusterJson(value === undefined ? null : value)));
    } catch (err) {
      this.log.warn({ err, from: describeMember(from) }, 'request handler failed');
      conn.reply(FrameType.RESPONSE_ERROR, idAndText(id, errorText(err)));
    }
  }

  // ── housekeeping ───────────────────────────────────────────────────────────────────────────

  private onDrop(reason: DropReason, detail: string): void {
    this.counters.stats.framesDropped++;
    // A flood of bad frames must not flood the log: one warning per reason per second.
    const now = this.now();
    if (now - (this.lastDropLog.get(reason) ?? 0) >= 1000) {
      this.lastDropLog.set(reason, now);
      this.log.warn({ reason, detail, dropped: this.counters.stats.framesDropped }, 'cluster frame dropped');
    } else {
      this.log.debug({ reason, detail }, 'cluster frame dropped');
    }
    this.emitSafely('dropped', reason);
  }

  /** An exception where none was expected (a bug): logged and counted, never fatal to the process. */
  private internalError(err: unknown, where: string): void {
    this.counters.stats.internalErrors++;
    this.log.error({ err, where }, 'cluster channel: unexpected error (a bug; the channel carries on)');
  }

  /** Runs a timer callback so that an exception in it is reported instead of crashing the process. */
  private guarded(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.internalError(err, where);
    }
  }

  /** Listener exceptions are the application's bug; they must not break the channel. */
  private emitSafely(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'cluster channel event listener threw');
    }
  }

  private async shutdown(): Promise<void> {
    this.state = 'stopping';
    clearInterval(this.ticker);
    // Graceful leave (cluster-semantics §1.1): peers remove us at once, without waiting for dropTime.
    for (const s of this.senders.values()) s.leave();
    await Promise.all([
      this.multicast?.leave(),
      ...[...this.senders.values()].map((s) => s.drain(this.opts.senderTimeout)),
    ]);
    for (const s of this.senders.values()) s.close();
    this.multicast?.close();
    this.dns?.close();
    await this.receiver.close();
    this.state = 'stopped';
    this.log.info('cluster channel stopped');
  }
}

/**
 * How far a multicast heartbeat's timestamp may be from our clock (heartbeat.ts): generous enough for
 * hosts whose clocks differ by up to a minute, and never shorter than ten drop times.
 */
export function heartbeatReplayWindow(dropTime: number): number {
  return Math.max(60_000, 10 * dropTime);
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 1000);
}

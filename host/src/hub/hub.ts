/**
 * The agent hub: accepts agents and web-verifier pages over its listeners
 * (TCP, WebSocket, virtio-serial chardev sockets), runs one Session per
 * connection, dedupes by (key, bootId, seq), commits to the EventStore
 * before acknowledging, and serves consumer streams read back from the store.
 * A session's key is its hello's agentId, unless a binding (bindings.ts: a
 * token bound with hub.bind, a channel bound in connectVirtio) names it; the
 * key is what the store, streams, clocks and status are keyed by. One session
 * per key: a newer one supersedes the older.
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { AtpError, type AgentMessage, type ErrorBody, type BackoffOptions, type ClockEstimate, type HelloBody, type ObservedEvent } from '@atp/protocol';
import { AckBatcher } from './ack-batcher.js';
import { TokenChecker, type HubAuthOptions } from './auth.js';
import { IdentityBindings, type ChannelBinding, type SessionIdentity, type VmBinding } from './bindings.js';
import { ClockTracker } from './clock-tracker.js';
import { dedupeBatch } from './dedupe.js';
import { resolveLimits, type HubLimits } from './limits.js';
import { ListenerGuard } from './listener-guard.js';
import { newCounters, type HubCounters, type HubMetrics } from './metrics.js';
import { RefusalLog, type HubRefusal } from './refusals.js';
import { Session, type SessionHost, type SessionState, type SessionTiming } from './session.js';
import type { EventStore } from './store.js';
import { MemoryEventStore } from './store-memory.js';
import { followSelected, type StreamOptions, type StreamSelector } from './stream.js';
import { TcpListener } from './tcp-listener.js';
import { summarizeHello, type HubItem, type HubItemInput, type Listener, type MessageConnection, type TransportKind } from './types.js';
import { VirtioClient } from './virtio-client.js';
import type { StreamTarget } from '../vm/connect.js';
import { WsListener } from './ws-listener.js';

/**
 * AgentHub.connectVirtio's options: where the chardev socket is (a StreamTarget), plus how to name and retry it,
 * and optionally the VM it belongs to (`bind`: every session over it gets that key and must be in that VM).
 */
export type VirtioConnectOptions = StreamTarget & { name?: string; backoff?: BackoffOptions; connectTimeoutMs?: number; bind?: ChannelBinding };

export interface AgentHubOptions {
  auth: HubAuthOptions;
  /** Where delivered items live; an in-memory store when omitted. */
  store?: EventStore;
  limits?: Partial<HubLimits>;
  timing?: Partial<SessionTiming>;
  /** Host clock in ms (default: performance.timeOrigin + performance.now()). */
  now?: () => number;
}

/**
 * ackDelayMs: acks are cumulative and only trim the agent's resend buffer
 * (100,000 events), so one per session per 250 ms is plenty; shorter windows
 * cost a socket write per event at 20 events/s per agent (100 ms: 10,000 ack
 * writes/s at 1,000 agents; 250 ms: 4,000).
 */
export const DEFAULT_SESSION_TIMING: SessionTiming = { pingIntervalMs: 5000, pingBurst: 5, pingBurstIntervalMs: 25, ackDelayMs: 250 };

export interface SessionStatus {
  sessionId: string;
  state: SessionState;
  transport: TransportKind;
  remote: string;
  /** The session key (a binding's key, else the hello's agentId): what stream(), clock() and agentHello() take. */
  agentId: string | undefined;
  /** The agentId the hello said (equals agentId unless a binding names the session). */
  helloAgentId: string | undefined;
  /** The SMBIOS UUID the hello said, if any. */
  vmUuid: string | undefined;
  bootId: string | undefined;
  connectedAt: number;
  lastMessageAt: number;
  /** The last cumulative ack sent (or the welcome's). */
  ackedSeq: number | null;
}

export interface HubClockEstimate extends ClockEstimate {
  /** The session key. */
  agentId: string;
  bootId: string;
}

export class AgentHub implements SessionHost {
  readonly limits: HubLimits;
  readonly timing: SessionTiming;
  readonly counters: HubCounters = newCounters();
  readonly store: EventStore;
  readonly acks = new AckBatcher(() => this.timing.ackDelayMs);
  private readonly tokens: TokenChecker;
  private readonly bindings: IdentityBindings;
  private readonly refused = new RefusalLog();
  private readonly clockNow: () => number;
  private readonly listeners: Listener[] = [];
  private readonly connections = new Set<Session>();
  private readonly guard: ListenerGuard;
  private readonly byAgent = new Map<string, Session>();
  /** Highest seq accepted per agent and boot (committed or in flight). */
  private readonly accepted = new Map<string, number | null>();
  /** The latest append per agent, so a duplicates-only batch is acked only after what precedes it. */
  private readonly lastCommit = new Map<string, Promise<unknown>>();
  private readonly storeFailures = new Map<string, { error: AtpError; count: number }>();
  private readonly clocks = new Map<string, { bootId: string; tracker: ClockTracker }>();
  /** Highest cumulative ack sent per agent and boot by sessions that ended (this process only; the store keeps the rest). */
  private readonly ackedByBoot = new Map<string, number>();
  /** When the last batch of fresh events of each agent (session key) arrived, host clock ms. */
  private readonly lastEvents = new Map<string, number>();
  private readonly lifetime = new AbortController();
  private isClosed = false;

  private constructor(options: AgentHubOptions) {
    this.tokens = new TokenChecker(options.auth);
    this.bindings = new IdentityBindings(this.tokens);
    this.limits = resolveLimits(options.limits);
    this.timing = { ...DEFAULT_SESSION_TIMING, ...options.timing };
    this.store = options.store ?? new MemoryEventStore();
    this.clockNow = options.now ?? ((): number => performance.timeOrigin + performance.now());
    this.guard = new ListenerGuard(this.limits, this.counters, () => this.connections);
  }

  /** Creates a hub and opens (restores) its store; add listeners next. */
  static async create(options: AgentHubOptions): Promise<AgentHub> {
    const hub = new AgentHub(options);
    await hub.store.open();
    return hub;
  }

  now(): number {
    return this.clockNow();
  }

  async listenTcp(options: { host?: string; port?: number } = {}): Promise<TcpListener> {
    const { maxFrameBytes, maxHelloBytes } = this.limits;
    const listener = new TcpListener({ ...options, maxFrameBytes, maxHelloBytes });
    await this.addListener(listener);
    return listener;
  }

  async listenWs(options: { host?: string; port?: number; path?: string } = {}): Promise<WsListener> {
    const { maxFrameBytes, wsMaxPayloadBytes, maxHelloBytes } = this.limits;
    const listener = new WsListener({ ...options, maxFrameBytes, wsMaxPayloadBytes, maxHelloBytes });
    await this.addListener(listener);
    return listener;
  }

  /**
   * Connects to a QEMU virtio-serial chardev socket and keeps reconnecting while
   * the hub lives. Where is any StreamTarget: `{ path }` on this machine, or a
   * `{ stream }` factory such as an SSH forward to the socket on a remote
   * hypervisor, called again on each reconnect.
   */
  async connectVirtio(options: VirtioConnectOptions): Promise<VirtioClient> {
    const { name, backoff, connectTimeoutMs } = options;
    if (this.isClosed) throw new AtpError('ATP_HUB_CLOSED', 'the hub is closed');
    const reserved = options.bind === undefined ? undefined : this.bindings.reserveChannel(options.bind);
    const target: StreamTarget = 'stream' in options ? { stream: options.stream } : 'path' in options ? { path: options.path } : { host: options.host, port: options.port };
    const client = new VirtioClient({
      target,
      maxFrameBytes: this.limits.maxFrameBytes,
      ...(name === undefined ? {} : { name }),
      ...(backoff === undefined ? {} : { backoff }),
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    });
    if (reserved !== undefined) {
      // The key stays reserved while the channel is open; closing the client frees it.
      const stop = client.watch((status) => {
        if (status.state !== 'closed') return;
        stop();
        reserved.release();
      });
    }
    try {
      await this.startListener(client, reserved?.channel);
    } catch (error) {
      reserved?.release();
      throw error;
    }
    return client;
  }

  async addListener(listener: Listener): Promise<void> {
    await this.startListener(listener, undefined);
  }

  /**
   * Binds a VM's own token: an agent presenting it gets the session key `key`
   * (whatever agentId its hello says) and, when `vmUuid` is given, must be in
   * that VM (else ATP_HUB_IDENTITY). The token must not be one of the hub's own.
   * The returned function unbinds: the token is refused from then on, and
   * sessions admitted with it end (ATP_HUB_AUTH). Bind before the VM's agent
   * connects: sessions admitted earlier are not checked again.
   */
  bind(binding: VmBinding): () => void {
    if (this.isClosed) throw new AtpError('ATP_HUB_CLOSED', 'the hub is closed');
    const { entry, unbind } = this.bindings.bind(binding);
    return () => {
      unbind();
      const revoked = new AtpError('ATP_HUB_AUTH', `the token bound to ${binding.key} was unbound`, { details: { key: binding.key } });
      for (const s of [...this.connections]) if (s.tokenBinding === entry) s.fail(revoked);
    };
  }

  /** The latest hello refusals (bad token, wrong VM), newest last; at most MAX_REFUSALS_KEPT. */
  refusals(): HubRefusal[] {
    return this.refused.list();
  }

  /** Delivered items (events and notices) for the selected agents, read from the store: each exactly once, in order per agent. */
  stream(selector: StreamSelector = {}, options: StreamOptions = {}): AsyncGenerator<HubItem> {
    const signal = options.signal === undefined ? this.lifetime.signal : AbortSignal.any([options.signal, this.lifetime.signal]);
    setMaxListeners(0, signal);
    return followSelected(this.store, selector, { ...options, signal });
  }

  sessions(): SessionStatus[] {
    return [...this.connections].map((s) => ({
      sessionId: s.sessionId,
      state: s.state,
      transport: s.connection.transport,
      remote: s.connection.remote,
      agentId: s.key,
      helloAgentId: s.agentId,
      vmUuid: s.hello?.vmUuid,
      bootId: s.bootId,
      connectedAt: s.connectedAt,
      lastMessageAt: s.lastMessageAt,
      ackedSeq: s.ackedSeq,
    }));
  }

  /** The clock-offset estimate (guest − host, ms) for the agent's current boot, once a pong came back. */
  /**
   * Sends a host message (e.g. a `status` for the web verifier's banner) to the
   * agent's current active session; false when the agent has none or the
   * connection did not take it. Best effort: nothing is queued or resent.
   */
  send(agentId: string, message: AgentMessage): boolean {
    const session = this.byAgent.get(agentId);
    if (session?.state !== 'active') return false;
    const bytes = session.connection.send(message);
    if (bytes === 0) return false;
    this.counters.framesOut++;
    this.counters.bytesOut += bytes;
    return true;
  }

  /**
   * The hello of the current session under this key (without its token): its devices and problems at connect
   * time, its own agentId and vmUuid as the agent said them, and `key`, the session key.
   */
  agentHello(key: string): (Omit<HelloBody, 'token'> & { key: string }) | undefined {
    const hello = this.byAgent.get(key)?.hello;
    if (hello === undefined) return undefined;
    const { token: _token, ...rest } = hello;
    return { ...rest, key };
  }

  /** When the agent's (session key's) last fresh events arrived (host clock, ms), in this process; undefined before any. */
  lastEventAt(agentId: string): number | undefined {
    return this.lastEvents.get(agentId);
  }

  /**
   * The latest failure to store the agent's (session key's) items in this process
   * and how many there were, if any: a full journal disk, say. Its streams cannot
   * tell (what failed to be stored never reaches them, notices included), so a
   * consumer asks here; a broken journal rejects every append with one error, so
   * a new failure shows as a higher count.
   */
  storeFailure(agentId: string): { error: AtpError; count: number } | undefined {
    return this.storeFailures.get(agentId);
  }

  clock(agentId: string): HubClockEstimate | undefined {
    const entry = this.clocks.get(agentId);
    const estimate = entry?.tracker.estimate();
    return entry === undefined || estimate === undefined ? undefined : { agentId, bootId: entry.bootId, ...estimate };
  }

  metrics(): HubMetrics {
    const badFramesTotal = Object.values(this.counters.badFrames).reduce((a, b) => a + b, 0);
    const sessionsActive = [...this.connections].filter((s) => s.state === 'active').length;
    const { awaitingHello: connectionsAwaitingHello, throttledAddresses } = this.guard;
    return { ...this.counters, badFrames: { ...this.counters.badFrames }, cuts: { ...this.counters.cuts }, connectionsActive: this.connections.size, sessionsActive, badFramesTotal, connectionsAwaitingHello, throttledAddresses };
  }

  /** Ends every session (with a `disconnected` notice each), stops the listeners, finishes the streams, closes the store. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.guard.stop();
    const closing = new AtpError('ATP_HUB_CLOSED', 'the hub is shutting down');
    for (const s of [...this.connections]) s.fail(closing);
    this.acks.clear();
    await Promise.all(this.listeners.map((l) => l.close()));
    await Promise.allSettled([...this.lastCommit.values()]);
    this.lifetime.abort();
    await this.store.close();
  }

  /** Drops everything at once, writing nothing more: what a crash leaves behind, as far as a process can simulate it. */
  async abort(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.guard.stop();
    for (const s of [...this.connections]) s.drop();
    this.acks.clear();
    await Promise.all(this.listeners.map((l) => l.close()));
    this.lifetime.abort();
  }

  // ---- SessionHost ----

  identify(session: Session, hello: HelloBody): SessionIdentity | AtpError {
    // A throttled address gets no token check and no refusal record: that is what a flood would burn.
    const throttled = this.guard.helloArrived(session);
    if (throttled !== undefined) return throttled;
    const identity = this.bindings.identify(hello, session.channel);
    if (!(identity instanceof AtpError)) return identity;
    if (identity.code === 'ATP_HUB_IDENTITY') this.counters.identityRefusals++;
    else {
      this.counters.authFailures++;
      this.guard.authRefused(session);
    }
    const { transport, remote } = session.connection;
    const key = typeof identity.details['key'] === 'string' ? identity.details['key'] : session.channel?.key;
    this.refused.add({ at: this.now(), code: identity.code, message: identity.message, key, agentId: hello.agentId, vmUuid: hello.vmUuid, transport, remote });
    return identity;
  }

  async admit(session: Session, hello: HelloBody): Promise<number | null> {
    const { bootId } = hello;
    const agentId = session.key;
    if (agentId === undefined) throw new AtpError('ATP_HUB_PROTOCOL', 'admit before identify');
    const previous = this.byAgent.get(agentId);
    if (previous !== undefined && previous !== session) {
      this.counters.superseded++;
      previous.fail(new AtpError('ATP_HUB_SUPERSEDED', `a newer session (${session.sessionId}) took over agent ${agentId}`));
    }
    this.byAgent.set(agentId, session);
    const summary = summarizeHello(hello, agentId);
    const receivedAt = this.now();
    const items: HubItemInput[] = [];
    const last = this.store.lastBoot(agentId);
    if (last !== undefined && last.bootId !== bootId) {
      this.counters.bootChanges++;
      const lastSeq = this.acceptedHigh(agentId, last.bootId);
      const sent = this.ackedByBoot.get(`${agentId}\n${last.bootId}`);
      const ackedSeq = sent === undefined ? last.ackedSeq : Math.max(sent, last.ackedSeq ?? 0);
      items.push({ kind: 'boot-changed', agentId, bootId, receivedAt, previous: { bootId: last.bootId, lastSeq, ackedSeq, hello: last.hello }, hello: summary });
    }
    const ackedSeq = this.acceptedHigh(agentId, bootId);
    const { transport, remote } = session.connection;
    items.push({ kind: 'connected', agentId, bootId, receivedAt, sessionId: session.sessionId, transport, remote, hello: summary, ackedSeq });
    await this.commit(agentId, items);
    const clock = this.clocks.get(agentId);
    if (clock?.bootId !== bootId) this.clocks.set(agentId, { bootId, tracker: new ClockTracker() });
    return ackedSeq;
  }

  async ingest(session: Session, events: readonly ObservedEvent[], receivedAt: number): Promise<number | null> {
    const agentId = session.key;
    const bootId = session.bootId;
    if (agentId === undefined || bootId === undefined) return null;
    const key = `${agentId}\n${bootId}`;
    const result = dedupeBatch(this.acceptedHigh(agentId, bootId), events);
    this.counters.duplicates += result.duplicates;
    if (result.fresh.length === 0) {
      await this.lastCommit.get(agentId);
      return result.highest;
    }
    const items: HubItemInput[] = [];
    let g = 0;
    for (const event of result.fresh) {
      const gap = result.gaps[g];
      if (gap !== undefined && gap.got === event.seq) {
        g++;
        this.counters.gaps++;
        this.counters.gapMissing += gap.got - gap.expected;
        items.push({ kind: 'gap', agentId, bootId, receivedAt, expected: gap.expected, got: gap.got });
      }
      items.push({ kind: 'event', agentId, bootId, receivedAt, seq: event.seq, event });
    }
    this.accepted.set(key, result.highest);
    try {
      await this.commit(agentId, items);
    } catch (error) {
      this.accepted.set(key, this.store.highestSeq(agentId, bootId));
      throw error;
    }
    this.counters.eventsDelivered += result.fresh.length;
    this.lastEvents.set(agentId, receivedAt);
    return result.highest;
  }

  problem(session: Session, body: ErrorBody): void {
    const agentId = session.key;
    const bootId = session.bootId;
    if (agentId === undefined || bootId === undefined) return;
    const receivedAt = this.now();
    const { code, message, details, since, resolvedAt } = body;
    const problem = { code, message, since: since ?? receivedAt, ...(resolvedAt === undefined ? {} : { resolvedAt }), ...(details === undefined ? {} : { details }) };
    this.commit(agentId, [{ kind: 'problem', agentId, bootId, receivedAt, problem }]).catch((error: unknown) =>
      session.fail(error instanceof AtpError ? error : new AtpError('ATP_HUB_STORE', String(error))),
    );
  }

  clockFor(agentId: string, bootId: string): ClockTracker {
    const entry = this.clocks.get(agentId);
    if (entry?.bootId === bootId) return entry.tracker;
    const tracker = new ClockTracker();
    this.clocks.set(agentId, { bootId, tracker });
    return tracker;
  }

  ended(session: Session, reason: AtpError | undefined): void {
    const agentId = session.key;
    const bootId = session.bootId;
    if (agentId === undefined || bootId === undefined) return;
    if (this.byAgent.get(agentId) === session) this.byAgent.delete(agentId);
    const key = `${agentId}\n${bootId}`;
    if (session.ackedSeq !== null) this.ackedByBoot.set(key, Math.max(session.ackedSeq, this.ackedByBoot.get(key) ?? 0));
    if (this.lifetime.signal.aborted || this.store.closed || (this.isClosed && reason?.code !== 'ATP_HUB_CLOSED')) return;
    const item: HubItemInput = {
      kind: 'disconnected',
      agentId,
      bootId,
      receivedAt: this.now(),
      sessionId: session.sessionId,
      reason: reason === undefined ? null : { code: reason.code, message: reason.message },
      lastSeq: this.acceptedHigh(agentId, bootId),
      ackedSeq: session.ackedSeq,
    };
    this.commit(agentId, [item]).catch(() => undefined);
  }

  disconnected(session: Session): void {
    if (this.connections.delete(session)) this.guard.disconnected(session);
  }

  // ---- internals ----

  private async startListener(listener: Listener, channel: ChannelBinding | undefined): Promise<void> {
    if (this.isClosed) throw new AtpError('ATP_HUB_CLOSED', 'the hub is closed');
    await listener.start((connection) => this.accept(connection, channel));
    this.listeners.push(listener);
    this.guard.start();
  }

  private accept(connection: MessageConnection, channel: ChannelBinding | undefined): void {
    this.counters.connections++;
    // Screened in O(1) and refused without a session: a flood must not make each accept dearer.
    const refusal = this.isClosed ? new AtpError('ATP_HUB_CLOSED', 'the hub is shutting down') : this.guard.screen(connection);
    if (refusal !== undefined) {
      this.refuse(connection, refusal);
      return;
    }
    const session = new Session(this, connection, channel);
    this.connections.add(session);
    this.guard.admitted(session);
  }

  /** A fatal `error` and a close, for a connection refused before it had a session; counted like a session's cut. */
  private refuse(connection: MessageConnection, error: AtpError): void {
    const { code, message } = error;
    this.counters.cuts[code] = (this.counters.cuts[code] ?? 0) + 1;
    // Typed literal, no zod pass: the details are this hub's own numbers and strings.
    const bytes = connection.send({ v: 1, type: 'error', body: { code, message, details: { reason: code, ...error.details }, fatal: true } });
    if (bytes > 0) {
      this.counters.framesOut++;
      this.counters.bytesOut += bytes;
    }
    connection.close();
  }

  private acceptedHigh(agentId: string, bootId: string): number | null {
    const key = `${agentId}\n${bootId}`;
    if (!this.accepted.has(key)) this.accepted.set(key, this.store.highestSeq(agentId, bootId));
    return this.accepted.get(key) ?? null;
  }

  private commit(agentId: string, items: HubItemInput[]): Promise<HubItem[]> {
    const p = this.store.append(agentId, items);
    this.lastCommit.set(agentId, p.catch((error: unknown) => this.storeFailed(agentId, error)));
    return p;
  }

  private storeFailed(agentId: string, error: unknown): void {
    this.counters.storeErrors++;
    const count = (this.storeFailures.get(agentId)?.count ?? 0) + 1;
    this.storeFailures.set(agentId, { error: error instanceof AtpError ? error : new AtpError('ATP_HUB_STORE', String(error)), count });
  }
}

/**
 * AgentSession drives one Link for the life of the agent. It is a thin driver
 * of the shared session engine (protocol-schemas/src/session/engine.ts, which
 * decides the handshake, heartbeat, backoff, flushing and resend): this file
 * owns only the connection, the timers and the clock, feeds the engine what
 * happened and carries out what it decides. Delivery state (seq, resend
 * buffer, overflow) is the pure ReliableSender inside the engine.
 */
import { EventEmitter } from 'node:events';
import { AtpError, PROTOCOL_VERSION, ReliableSender, SessionEngine, SESSION_AUTH_BACKOFF } from '@atp/protocol';
import type { AgentMessage, AgentProblem, BackoffOptions, EventsBody, ObservedEvent, SessionDecision, SessionInput, SessionTimer, UnsequencedEvent, WelcomeBody } from '@atp/protocol';
import { identityOf } from './handshake.js';
import type { IdentitySource } from './handshake.js';
import { dispatchHostMessage } from './dispatch.js';
import { fineWallClock } from './fine-clock.js';
import type { SessionHandlers } from './dispatch.js';
import type { Link, LinkConnection, SessionLogger } from './types.js';

const silent: SessionLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface AgentSessionOptions {
  link: Link;
  identity: IdentitySource;
  /** The boot id (also in the identity); seq restarts at 1 with it. */
  bootId: string;
  /** Default: a new ReliableSender for bootId with resendCapacity. */
  sender?: ReliableSender;
  resendCapacity?: number;
  /**
   * At most one event frame per this many ms on average under load (the session
   * engine's FlushBudget); a quiet session may send ceil(32 / batchWindowMs)
   * frames back to back, so a keystroke's events leave at once. Default 1 ms.
   */
  batchWindowMs?: number;
  welcomeTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Backoff after a refused token. Default SESSION_AUTH_BACKOFF: 5 s doubling to 60 s. */
  authBackoff?: BackoffOptions;
  /** The agent clock for pongs and timers; events carry `t` on the same clock. Default fineWallClock() (Date.now with sub-ms resolution). */
  clock?: () => number;
  handlers?: SessionHandlers;
  logger?: SessionLogger;
  random?: () => number;
}

export type SessionState = 'idle' | 'connecting' | 'handshake' | 'ready' | 'backoff' | 'stopped';

export interface SessionStats {
  connects: number;
  welcomes: number;
  /** Events written, resends included. */
  sentEvents: number;
  /** Events written again after a reconnect. */
  resentEvents: number;
}

export interface SessionEvents {
  state: [SessionState];
  welcome: [WelcomeBody];
  /** A connection failed or ended; the session retries after delayMs. */
  failure: [AtpError, number];
}

/** The one refused-token backoff of every observer (see the session engine's header). */
export const DEFAULT_AUTH_BACKOFF: BackoffOptions = SESSION_AUTH_BACKOFF;

export class AgentSession extends EventEmitter<SessionEvents> {
  readonly sender: ReliableSender;
  readonly stats: SessionStats = { connects: 0, welcomes: 0, sentEvents: 0, resentEvents: 0 };
  private readonly engine: SessionEngine;
  private readonly log: SessionLogger;
  private readonly clock: () => number;
  private conn: LinkConnection | undefined;
  private connecting: Promise<void> | undefined;
  private readonly timers = new Map<SessionTimer, { cancel(): void }>();
  private readonly queue: SessionInput[] = [];
  private busy = false;

  constructor(private readonly options: AgentSessionOptions) {
    super();
    this.sender = options.sender ?? new ReliableSender({ bootId: options.bootId, capacity: options.resendCapacity });
    this.log = options.logger ?? silent;
    this.clock = options.clock ?? fineWallClock();
    this.engine = new SessionEngine({
      sender: this.sender,
      random: options.random ?? Math.random,
      ...(options.welcomeTimeoutMs === undefined ? {} : { welcomeTimeoutMs: options.welcomeTimeoutMs }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.authBackoff === undefined ? {} : { authBackoff: options.authBackoff }),
      ...(options.batchWindowMs === undefined ? {} : { minFlushIntervalMs: options.batchWindowMs }),
    });
  }

  get state(): SessionState {
    return this.engine.phase;
  }

  start(): void {
    this.input({ type: 'start', now: this.clock() });
  }

  /** Numbers and queues one event; throws ATP_SCHEMA_INVALID for an invalid one. */
  push(event: UnsequencedEvent): ObservedEvent {
    const sequenced = this.sender.push(event);
    this.input({ type: 'events-pushed', now: this.clock() });
    return sequenced;
  }

  /**
   * Graceful stop: no more reconnects; waits up to deadlineMs for the host's
   * ack of everything (also while a connect or handshake is still under way),
   * then closes. Returns how many events were still unacknowledged.
   */
  async stop(deadlineMs = 2_000): Promise<{ unacked: number }> {
    // With no time to wait, nothing more is sent (stop(0) is a crash as far as the host can tell).
    if (deadlineMs > 0) this.input({ type: 'drain', now: this.clock() });
    const deadline = Date.now() + deadlineMs;
    const linked = (): boolean => ['connecting', 'handshake', 'ready'].includes(this.state);
    while (Date.now() < deadline && this.sender.unacked > 0 && linked()) await new Promise((resolve) => setTimeout(resolve, 5));
    this.input({ type: 'stop', now: this.clock() });
    // A connect still under way: the engine closes its connection as it completes.
    await this.connecting;
    return { unacked: this.sender.unacked };
  }

  /**
   * Tells the host about a problem on the agent's side (a non-fatal `error`
   * message) if a session is up; otherwise the next hello carries it (the
   * identity lists the agent's problems).
   */
  reportProblem(problem: AgentProblem): void {
    const { code, message, details, since, resolvedAt } = problem;
    this.input({
      type: 'send',
      now: this.clock(),
      message: {
        v: PROTOCOL_VERSION,
        type: 'error',
        body: { code, message, fatal: false, since, ...(resolvedAt === undefined ? {} : { resolvedAt }), ...(details === undefined ? {} : { details }) },
      },
    });
  }

  /** Inputs raised while decisions are carried out wait their turn: the engine sees one input at a time. */
  private input(input: SessionInput): void {
    this.queue.push(input);
    if (this.busy) return;
    this.busy = true;
    try {
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        for (const decision of this.engine.handle(next)) this.apply(decision);
      }
    } finally {
      this.busy = false;
    }
  }

  private apply(d: SessionDecision): void {
    switch (d.type) {
      case 'phase':
        this.emit('state', d.phase);
        return;
      case 'connect':
        this.connecting = this.open().finally(() => (this.connecting = undefined));
        return;
      case 'send':
        this.write(d.message);
        return;
      case 'pong':
        this.write({ v: PROTOCOL_VERSION, type: 'pong', body: { id: d.id, t1: d.t1, t2: d.t2, t3: this.clock() } });
        return;
      case 'send-events':
        this.stats.sentEvents += d.bodies.reduce((n, body) => n + body.events.length, 0);
        this.stats.resentEvents += d.resent;
        void this.writeEvents(d.bodies);
        return;
      case 'arm':
        return this.arm(d.timer, d.delayMs);
      case 'cancel':
        this.timers.get(d.timer)?.cancel();
        this.timers.delete(d.timer);
        return;
      case 'close': {
        const conn = this.conn;
        this.conn = undefined;
        void conn?.close();
        return;
      }
      case 'backoff':
        return this.onBackoff(d);
      case 'welcomed':
        this.stats.welcomes++;
        this.log.info('welcomed by the host', { link: this.options.link.description, sessionId: d.welcome.sessionId, ackedSeq: d.welcome.ackedSeq, resending: d.resending });
        this.emit('welcome', d.welcome);
        return;
      case 'deliver':
        dispatchHostMessage(d.message, { clock: this.clock, handlers: this.options.handlers ?? {}, log: this.log, send: (reply) => this.input({ type: 'send', now: this.clock(), message: reply }) });
        return;
      case 'bad-frame':
        this.log.warn('bad frame from the host', { code: d.error.code, error: d.error.message });
        return;
      case 'ignored':
        this.log.warn('host message ignored', { type: d.message.type, why: d.why });
        return;
      case 'stopped':
        return;
    }
  }

  private onBackoff(d: Extract<SessionDecision, { type: 'backoff' }>): void {
    const fields = { code: d.reason.code, error: d.reason.message, retryInMs: d.delayMs, unacked: this.sender.unacked };
    if (d.auth) this.log.error('the host refused the agent token; fix token/tokenFile (retrying with backoff)', fields);
    else if (d.welcomed) this.log.warn('link down; reconnecting', fields);
    else this.log.warn('cannot reach the host', fields);
    this.emit('failure', d.reason, d.delayMs);
  }

  private arm(timer: SessionTimer, delayMs: number): void {
    this.timers.get(timer)?.cancel();
    const fire = (): void => {
      this.timers.delete(timer);
      this.input({ type: 'timer', now: this.clock(), timer });
    };
    if (delayMs <= 0) {
      // Same-turn pushes (one evdev read) share a frame; nothing waits for a timer tick.
      const immediate = setImmediate(fire);
      this.timers.set(timer, { cancel: () => clearImmediate(immediate) });
    } else {
      const timeout = setTimeout(fire, delayMs);
      this.timers.set(timer, { cancel: () => clearTimeout(timeout) });
    }
  }

  private async open(): Promise<void> {
    let conn: LinkConnection;
    try {
      conn = await this.options.link.connect({ clock: this.clock });
    } catch (cause) {
      const error = cause instanceof AtpError ? cause : new AtpError('ATP_AGENT_DISCONNECTED', String(cause), { cause });
      this.input({ type: 'connect-failed', now: this.clock(), error });
      return;
    }
    this.stats.connects++;
    this.conn = conn;
    this.log.debug('connected; sending hello', { link: conn.description, ...this.sender.counters() });
    this.input({ type: 'connected', now: this.clock(), identity: identityOf(this.options.identity), where: conn.description });
    if (this.conn === conn) void this.read(conn);
  }

  private async read(conn: LinkConnection): Promise<void> {
    for await (const item of conn.received) {
      if (this.conn !== conn) break;
      const now = item.at ?? this.clock();
      this.input(item.kind === 'error' ? { type: 'bad-frame', now, error: item.error } : { type: 'frame', now, message: item.message });
    }
    const error = await conn.down;
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.input({ type: 'closed', now: this.clock(), error });
  }

  private write(message: AgentMessage): void {
    this.conn?.send(message).catch((error: unknown) => this.log.debug('send failed', { type: message.type, error: String(error) }));
  }

  private async writeEvents(bodies: readonly EventsBody[]): Promise<void> {
    const conn = this.conn;
    if (conn === undefined) return;
    try {
      for (const body of bodies) await conn.send({ v: PROTOCOL_VERSION, type: 'events', body });
    } catch (error) {
      // The events stay in the resend buffer; the reconnect resends them.
      this.log.debug('flush interrupted', { error: String(error) });
      return;
    }
    if (this.conn === conn) this.input({ type: 'written', now: this.clock() });
  }
}

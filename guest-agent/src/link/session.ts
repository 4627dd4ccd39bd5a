/**
 * AgentSession drives one Link for the life of the agent: connect → hello →
 * welcome → resend what follows welcome.ackedSeq → stream new events in small
 * batches, process acks, answer pings, send heartbeats; on any failure reconnect
 * with exponential backoff and jitter (a refused token backs off much longer).
 * Delivery state (seq, resend buffer, overflow) is the pure ReliableSender.
 */
import { EventEmitter } from 'node:events';
import { AtpError, PROTOCOL_VERSION, ReliableSender, backoffDelay } from '@atp/protocol';
import type { AgentMessage, AgentProblem, BackoffOptions, ObservedEvent, UnsequencedEvent, WelcomeBody } from '@atp/protocol';
import { awaitWelcome, helloMessage } from './handshake.js';
import type { IdentitySource } from './handshake.js';
import { dispatchHostMessage } from './dispatch.js';
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
  /** Least time between two event flushes; an idle session flushes at once. Default 2 ms. */
  batchWindowMs?: number;
  welcomeTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Backoff after a refused token. Default 5 s doubling to 5 min. */
  authBackoff?: BackoffOptions;
  /** The agent clock for pongs; events carry `t` on the same clock. Default Date.now. */
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

export const DEFAULT_AUTH_BACKOFF: BackoffOptions = { initialMs: 5_000, maxMs: 300_000, factor: 2, jitter: 0.3 };

export class AgentSession extends EventEmitter<SessionEvents> {
  readonly sender: ReliableSender;
  readonly stats: SessionStats = { connects: 0, welcomes: 0, sentEvents: 0, resentEvents: 0 };
  private currentState: SessionState = 'idle';
  private readonly log: SessionLogger;
  private readonly clock: () => number;
  private conn: LinkConnection | undefined;
  private ready = false;
  private stopping = false;
  /** Set once stop() gives up waiting, every connection still open or opening is closed. */
  private closing = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private flushing = false;
  private flushAgain = false;
  private lastFlushAt = 0;
  private maxSentSeq = 0;
  private deadReason: AtpError | undefined;

  constructor(private readonly options: AgentSessionOptions) {
    super();
    this.sender = options.sender ?? new ReliableSender({ bootId: options.bootId, capacity: options.resendCapacity });
    this.log = options.logger ?? silent;
    this.clock = options.clock ?? Date.now;
  }

  get state(): SessionState {
    return this.currentState;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Numbers and queues one event; throws ATP_SCHEMA_INVALID for an invalid one. */
  push(event: UnsequencedEvent): ObservedEvent {
    const sequenced = this.sender.push(event);
    this.requestFlush();
    return sequenced;
  }

  /**
   * Graceful stop: flushes and waits for the host's ack of everything within
   * deadlineMs (also while a handshake is still under way), then closes.
   * Returns how many events were still unacknowledged.
   */
  async stop(deadlineMs = 2_000): Promise<{ unacked: number }> {
    this.stopping = true;
    this.wake?.();
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline && this.loop !== undefined) {
      if (this.ready) await this.flush();
      if (this.sender.unacked === 0 || this.currentState === 'backoff' || this.currentState === 'stopped') break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    this.closing = true;
    await this.conn?.close();
    await this.loop;
    this.setState('stopped');
    return { unacked: this.sender.unacked };
  }

  private setState(state: SessionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit('state', state);
  }

  private async run(): Promise<void> {
    const random = this.options.random ?? Math.random;
    let attempt = 0;
    let authAttempt = 0;
    while (!this.stopping) {
      this.setState('connecting');
      let welcomed = false;
      let error: AtpError;
      try {
        const conn = await this.options.link.connect();
        this.stats.connects++;
        const outcome = await this.serve(conn);
        welcomed = outcome.welcomed;
        error = outcome.error ?? new AtpError('ATP_AGENT_CLOSED', 'the session closed its link');
      } catch (cause) {
        error = cause instanceof AtpError ? cause : new AtpError('ATP_AGENT_DISCONNECTED', String(cause), { cause });
      }
      if (this.stopping) break;
      if (welcomed) attempt = authAttempt = 0;
      const auth = error.code === 'ATP_AGENT_AUTH';
      const delayMs = auth
        ? backoffDelay(authAttempt++, this.options.authBackoff ?? DEFAULT_AUTH_BACKOFF, random)
        : backoffDelay(attempt++, this.options.backoff, random);
      const fields = { code: error.code, error: error.message, retryInMs: delayMs, unacked: this.sender.unacked };
      if (auth) this.log.error('the host refused the agent token; fix token/tokenFile (retrying with backoff)', fields);
      else if (welcomed) this.log.warn('link down; reconnecting', fields);
      else this.log.warn('cannot reach the host', fields);
      this.setState('backoff');
      this.emit('failure', error, delayMs);
      await this.pause(delayMs);
    }
    this.setState('stopped');
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** One connection, from hello to down. Rejects on handshake failure; resolves with why it ended. */
  private async serve(conn: LinkConnection): Promise<{ welcomed: boolean; error: AtpError | undefined }> {
    this.conn = conn;
    this.deadReason = undefined;
    // A connect that completed after stop() closed the previous connection.
    if (this.closing) void conn.close();
    this.setState('handshake');
    const iterator = conn.received[Symbol.asyncIterator]();
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      this.log.debug('connected; sending hello', { link: conn.description, ...this.sender.counters() });
      await conn.send(helloMessage(this.options.identity, this.sender.counters()));
      const welcome = await awaitWelcome(conn, iterator, this.options.welcomeTimeoutMs ?? 10_000, {
        onOther: (message) => this.handle(conn, message),
        onBadFrame: (error) => this.log.warn('bad frame from the host', { code: error.code, error: error.message }),
      });
      this.sender.restart(welcome.ackedSeq);
      this.stats.welcomes++;
      this.ready = true;
      this.setState('ready');
      this.log.info('welcomed by the host', { link: conn.description, sessionId: welcome.sessionId, ackedSeq: welcome.ackedSeq, resending: this.sender.pending });
      this.emit('welcome', welcome);
      this.requestFlush();
      let lastRx = Date.now();
      let pingId = 0;
      heartbeat = setInterval(() => {
        if (Date.now() - lastRx > 3 * welcome.heartbeatMs) {
          this.deadReason = new AtpError('ATP_AGENT_TIMEOUT', `no traffic from ${conn.description} for ${Date.now() - lastRx} ms (3 heartbeats)`);
          void conn.close();
          return;
        }
        this.trySend(conn, { v: PROTOCOL_VERSION, type: 'ping', body: { id: ++pingId, t1: this.clock() } });
      }, welcome.heartbeatMs);
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) break;
        lastRx = Date.now();
        if (next.value.kind === 'error') this.log.warn('bad frame from the host', { code: next.value.error.code, error: next.value.error.message });
        else this.handle(conn, next.value.message);
      }
      return { welcomed: true, error: this.deadReason ?? (await conn.down) };
    } finally {
      clearInterval(heartbeat);
      this.ready = false;
      this.cancelFlush();
      await conn.close();
      this.conn = undefined;
    }
  }

  private handle(conn: LinkConnection, message: AgentMessage): void {
    dispatchHostMessage(message, {
      bootId: this.sender.bootId,
      clock: this.clock,
      handlers: this.options.handlers ?? {},
      log: this.log,
      send: (reply) => this.trySend(conn, reply),
      ack: (seq) => this.sender.ack(seq),
    });
  }

  /**
   * Tells the host about a problem on the agent's side (a non-fatal `error`
   * message) if a session is up; otherwise the next hello carries it (the
   * identity lists the agent's problems).
   */
  reportProblem(problem: AgentProblem): void {
    const conn = this.conn;
    if (!this.ready || conn === undefined) return;
    const { code, message, details, since, resolvedAt } = problem;
    this.trySend(conn, {
      v: PROTOCOL_VERSION,
      type: 'error',
      body: { code, message, fatal: false, since, ...(resolvedAt === undefined ? {} : { resolvedAt }), ...(details === undefined ? {} : { details }) },
    });
  }

  private trySend(conn: LinkConnection, message: AgentMessage): void {
    conn.send(message).catch((error: unknown) => this.log.debug('send failed', { type: message.type, error: String(error) }));
  }

  private requestFlush(): void {
    if (!this.ready || this.flushTimer !== undefined) return;
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    const wait = this.lastFlushAt + (this.options.batchWindowMs ?? 2) - Date.now();
    const run = (): void => {
      this.flushTimer = undefined;
      void this.flush();
    };
    this.flushTimer = wait <= 0 ? setImmediate(run) : setTimeout(run, wait);
  }

  private cancelFlush(): void {
    if (this.flushTimer === undefined) return;
    clearTimeout(this.flushTimer as NodeJS.Timeout);
    clearImmediate(this.flushTimer as NodeJS.Immediate);
    this.flushTimer = undefined;
  }

  private async flush(): Promise<void> {
    const conn = this.conn;
    if (!this.ready || conn === undefined || this.flushing) return;
    const batches = this.sender.takeBatches();
    if (batches.length === 0) return;
    this.flushing = true;
    this.lastFlushAt = Date.now();
    try {
      for (const body of batches) {
        for (const e of body.events) if (e.seq <= this.maxSentSeq) this.stats.resentEvents++;
        this.stats.sentEvents += body.events.length;
        this.maxSentSeq = Math.max(this.maxSentSeq, body.events.at(-1)?.seq ?? 0);
        await conn.send({ v: PROTOCOL_VERSION, type: 'events', body });
      }
    } catch (error) {
      // The events stay in the resend buffer; the reconnect resends them.
      this.log.debug('flush interrupted', { error: String(error) });
    } finally {
      this.flushing = false;
      if (this.flushAgain) {
        this.flushAgain = false;
        this.requestFlush();
      }
    }
  }
}

/**
 * The session engine of an observer's link to the hub (the guest agent over
 * TCP, WebSocket or virtio-serial, and the web verifier page over WebSocket):
 * a pure state machine. A driver feeds it inputs (connected, frame, timer
 * fired, events pushed, written, closed, ...) with the time they happened on
 * the observer's clock, and carries out the decisions it returns (connect,
 * send, pong, arm/cancel a timer, close, back off, deliver to the app). No
 * sockets, no timers, no clock inside, so every rule below is tested without
 * a network (protocol-schemas/test/session-engine*.test.ts).
 *
 * - Handshake: on connect, a hello with the sender's delivery counters and a
 *   welcome timer (10 s); the welcome restarts the ReliableSender from
 *   `welcome.ackedSeq` and everything after it is resent in order; an `error`
 *   instead of the welcome is a refusal (refusal.ts), closed at once.
 * - Exactly once (delivery.ts, unchanged): events stay in the sender's buffer
 *   until a cumulative ack; after every reconnect the rest is resent; the hub
 *   dedupes by (agentId, bootId, seq).
 * - Heartbeat: a ping every `welcome.heartbeatMs`; a link silent for three
 *   heartbeats is closed (ATP_AGENT_TIMEOUT). A host ping is answered in the
 *   same turn, with t2 = the frame's arrival time; the driver stamps t3 as it
 *   writes, so neither leg includes the observer's own processing.
 * - Flushing: new events go out on the next turn (pushes of the same turn
 *   share a frame); while one `send-events` is being written, later events
 *   wait for its `written` and then go together; a sustained flood is paced
 *   by a FlushBudget (flush-budget.ts) to one frame per minFlushIntervalMs on
 *   average, with a burst of ceil(32 ms / interval) frames for a session that
 *   was quiet (a keystroke's down and up each leave at once). A drain (graceful
 *   stop) sends whatever the budget still holds back at once.
 * - Backoff, ONE policy for every observer (this replaces the agent's 5 s →
 *   300 s and the page's 5 s → 60 s refused-token schedules, which had
 *   drifted): a failure retries after backoffDelay(attempt, DEFAULT_BACKOFF)
 *   (100 ms doubling to 10 s, jitter 0.5); a refused token or identity after
 *   backoffDelay(authAttempt, SESSION_AUTH_BACKOFF): 5 s doubling to 60 s,
 *   jitter 0.3. A refusal is fixed by a person editing a token; the 60 s cap
 *   means the observer is back within a minute of the fix, and one hello per
 *   minute per observer costs the hub nothing. A welcome resets both counters.
 * - Supersede (another peer took the agent id): reconnect (the agent, whose
 *   id is its VM's) or stop (the page: two tabs must not fight over one id).
 */
import { AtpError } from '../errors.js';
import { PROTOCOL_VERSION, type AgentMessage, type ErrorBody } from '../agent-protocol.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from '../backoff.js';
import type { ReliableSender } from '../delivery.js';
import { FlushBudget } from './flush-budget.js';
import { refusalError, SUPERSEDED_CODE } from './refusal.js';
import type { SessionDecision, SessionEngineOptions, ObserverIdentity, SessionInput, SessionPhase, SessionTimer } from './types.js';

export const SESSION_AUTH_BACKOFF: Required<BackoffOptions> = { initialMs: 5_000, maxMs: 60_000, factor: 2, jitter: 0.3 };
export const DEFAULT_WELCOME_TIMEOUT_MS = 10_000;
export const DEFAULT_MIN_FLUSH_INTERVAL_MS = 1;
/** A quiet session may write this many ms worth of frames back to back (at least one): ceil(32 / interval). */
export const FLUSH_BURST_SPAN_MS = 32;
/** A link silent for this many heartbeats is dead. */
export const SILENT_HEARTBEATS = 3;

export class SessionEngine {
  readonly sender: ReliableSender;
  private current: SessionPhase = 'idle';
  private out: SessionDecision[] = [];
  private where = 'the host';
  private attempt = 0;
  private authAttempt = 0;
  private welcomed = false;
  private draining = false;
  private lastRx = 0;
  private heartbeatMs = 0;
  private pingId = 0;
  private writing = false;
  private flushArmed = false;
  private maxSentSeq = 0;
  private hostError: ErrorBody | undefined;
  private readonly budget: FlushBudget;

  constructor(private readonly options: SessionEngineOptions) {
    this.sender = options.sender;
    const interval = options.minFlushIntervalMs ?? DEFAULT_MIN_FLUSH_INTERVAL_MS;
    this.budget = new FlushBudget(interval, options.flushBurst ?? (interval > 0 ? Math.max(1, Math.ceil(FLUSH_BURST_SPAN_MS / interval)) : 1));
  }

  get phase(): SessionPhase {
    return this.current;
  }

  /** Feeds one input; returns what the driver must do, in order. */
  handle(input: SessionInput): SessionDecision[] {
    this.out = [];
    this.step(input);
    return this.out;
  }

  private step(input: SessionInput): void {
    switch (input.type) {
      case 'start':
        if (this.current === 'idle') this.connect();
        return;
      case 'connected':
        return this.onConnected(input.now, input.identity, input.where);
      case 'connect-failed':
        if (this.current === 'connecting') this.fail(input.error, undefined);
        return;
      case 'frame':
        if (!this.linked()) return;
        this.lastRx = input.now;
        return this.onFrame(input.message, input.now);
      case 'bad-frame':
        if (!this.linked()) return;
        this.lastRx = input.now;
        this.out.push({ type: 'bad-frame', error: input.error });
        return;
      case 'timer':
        return this.onTimer(input.timer, input.now);
      case 'events-pushed':
        if (this.current === 'ready') this.requestFlush(input.now);
        return;
      case 'written':
        this.writing = false;
        if (this.current === 'ready' && this.sender.pending > 0) this.requestFlush(input.now);
        return;
      case 'send':
        if (this.current === 'ready') this.out.push({ type: 'send', message: input.message });
        return;
      case 'closed':
        return this.onClosed(input.error);
      case 'drain':
        this.draining = true;
        if (this.current === 'backoff' || this.current === 'idle') this.stopNow(undefined);
        // Whatever the flush budget still holds back goes now.
        else if (this.current === 'ready' && !this.writing) {
          if (this.flushArmed) this.out.push({ type: 'cancel', timer: 'flush' });
          this.flushArmed = false;
          this.flushNow(input.now);
        }
        return;
      case 'stop':
        if (this.linked()) this.out.push({ type: 'close', reason: undefined });
        this.stopNow(undefined);
        return;
    }
  }

  private linked(): boolean {
    return this.current === 'handshake' || this.current === 'ready';
  }

  private setPhase(phase: SessionPhase): void {
    if (phase === this.current) return;
    this.current = phase;
    this.out.push({ type: 'phase', phase });
  }

  private arm(timer: SessionTimer, delayMs: number): void {
    this.out.push({ type: 'arm', timer, delayMs });
  }

  private connect(): void {
    this.setPhase('connecting');
    this.out.push({ type: 'connect' });
  }

  private onConnected(now: number, identity: ObserverIdentity, where: string): void {
    if (this.current !== 'connecting') {
      // A connect that completed after a stop: close it at once.
      this.out.push({ type: 'close', reason: undefined });
      return;
    }
    this.where = where;
    this.welcomed = false;
    this.hostError = undefined;
    this.lastRx = now;
    this.setPhase('handshake');
    this.out.push({ type: 'send', message: { v: PROTOCOL_VERSION, type: 'hello', body: { ...identity, ...this.sender.counters() } } });
    this.arm('welcome', this.options.welcomeTimeoutMs ?? DEFAULT_WELCOME_TIMEOUT_MS);
  }

  private onFrame(message: AgentMessage, now: number): void {
    switch (message.type) {
      case 'welcome':
        if (this.current !== 'handshake') break;
        this.out.push({ type: 'cancel', timer: 'welcome' });
        this.sender.restart(message.body.ackedSeq);
        this.welcomed = true;
        this.attempt = this.authAttempt = 0;
        this.heartbeatMs = message.body.heartbeatMs;
        this.setPhase('ready');
        this.out.push({ type: 'welcomed', welcome: message.body, resending: this.sender.pending });
        this.arm('heartbeat', this.heartbeatMs);
        this.flushNow(now);
        return;
      case 'ping':
        this.out.push({ type: 'pong', id: message.body.id, t1: message.body.t1, t2: now });
        return;
      case 'ack':
        if (message.body.bootId === this.sender.bootId) this.sender.ack(message.body.seq);
        else this.out.push({ type: 'ignored', message, why: `ack for boot id ${message.body.bootId}, ours is ${this.sender.bootId}` });
        return;
      case 'error':
        if (this.current === 'handshake') {
          const refusal = refusalError(message.body, this.where);
          this.out.push({ type: 'deliver', message });
          this.out.push({ type: 'close', reason: refusal });
          this.fail(refusal, message.body);
          return;
        }
        if (message.body.code === SUPERSEDED_CODE) this.hostError = message.body;
        break;
      default:
        break;
    }
    this.out.push({ type: 'deliver', message });
  }

  private onTimer(timer: SessionTimer, now: number): void {
    if (timer === 'reconnect') {
      if (this.current === 'backoff') this.connect();
    } else if (timer === 'flush') {
      this.flushArmed = false;
      if (this.current === 'ready') this.flushNow(now);
    } else if (timer === 'welcome') {
      if (this.current !== 'handshake') return;
      const timeoutMs = this.options.welcomeTimeoutMs ?? DEFAULT_WELCOME_TIMEOUT_MS;
      this.closeAndFail(new AtpError('ATP_AGENT_TIMEOUT', `${this.where} sent no welcome within ${timeoutMs} ms`, { details: { timeoutMs } }));
    } else if (this.current === 'ready') {
      const silentMs = now - this.lastRx;
      if (silentMs > SILENT_HEARTBEATS * this.heartbeatMs) {
        this.closeAndFail(new AtpError('ATP_AGENT_TIMEOUT', `no traffic from ${this.where} for ${Math.round(silentMs)} ms (${SILENT_HEARTBEATS} heartbeats)`, { details: { silentMs } }));
        return;
      }
      this.out.push({ type: 'send', message: { v: PROTOCOL_VERSION, type: 'ping', body: { id: ++this.pingId, t1: now } } });
      this.arm('heartbeat', this.heartbeatMs);
    }
  }

  private onClosed(error: AtpError | undefined): void {
    if (!this.linked()) return;
    const reason =
      error ??
      (this.welcomed
        ? new AtpError('ATP_AGENT_CLOSED', 'the session closed its link')
        : new AtpError('ATP_AGENT_DISCONNECTED', `${this.where} closed before its welcome`));
    this.fail(reason, this.hostError);
  }

  private closeAndFail(reason: AtpError): void {
    this.out.push({ type: 'close', reason });
    this.fail(reason, undefined);
  }

  /** The connection (or attempt) is over: stop, or back off and reconnect. */
  private fail(reason: AtpError, refusal: ErrorBody | undefined): void {
    for (const timer of ['welcome', 'heartbeat', 'flush'] as const) this.out.push({ type: 'cancel', timer });
    this.writing = false;
    this.flushArmed = false;
    const welcomed = this.welcomed;
    this.welcomed = false;
    this.hostError = undefined;
    if (this.draining || (refusal?.code === SUPERSEDED_CODE && this.options.onSuperseded === 'stop')) {
      this.stopNow(reason);
      return;
    }
    const auth = reason.code === 'ATP_AGENT_AUTH';
    const delayMs = auth
      ? backoffDelay(this.authAttempt++, this.options.authBackoff ?? SESSION_AUTH_BACKOFF, this.options.random)
      : backoffDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF, this.options.random);
    this.setPhase('backoff');
    this.out.push({ type: 'backoff', delayMs, reason, auth, welcomed, refusal });
    this.arm('reconnect', delayMs);
  }

  private stopNow(reason: AtpError | undefined): void {
    if (this.current === 'stopped') return;
    for (const timer of ['welcome', 'heartbeat', 'flush', 'reconnect'] as const) this.out.push({ type: 'cancel', timer });
    this.writing = false;
    this.flushArmed = false;
    this.setPhase('stopped');
    this.out.push({ type: 'stopped', reason });
  }

  private requestFlush(now: number): void {
    if (this.writing || this.flushArmed) return;
    this.flushArmed = true;
    this.arm('flush', this.draining ? 0 : this.budget.waitMs(now));
  }

  private flushNow(now: number): void {
    if (this.writing) return;
    const bodies = this.sender.takeBatches();
    if (bodies.length === 0) return;
    this.budget.take(now);
    let resent = 0;
    for (const body of bodies) {
      for (const e of body.events) if (e.seq <= this.maxSentSeq) resent++;
      this.maxSentSeq = Math.max(this.maxSentSeq, body.events.at(-1)?.seq ?? 0);
    }
    this.writing = true;
    this.out.push({ type: 'send-events', bodies, resent });
  }
}

/**
 * One agent session on one connection: hello within a timeout, token and
 * identity check (the hub names the session: its key, bindings.ts), welcome
 * with the hub's cumulative ack, events handed to the hub in arrival
 * order, acks sent (coalesced) once the store committed them, ping/pong for the
 * clock offset, rate limit and idle timeout. Any violation ends the session with
 * an `error` message (fatal) carrying the reason code, then closes the
 * connection; the hub itself never throws because of a peer.
 * The frequent messages (ack, ping, pong) are built as typed literals, not
 * through agentMessage(): the compiler checks them and the hot path skips zod.
 */
import { agentMessage, AtpError, type AgentMessage, type ErrorBody, type HelloBody, type ObservedEvent } from '@atp/protocol';
import type { AckBatcher } from './ack-batcher.js';
import type { ChannelBinding, SessionIdentity } from './bindings.js';
import type { ClockTracker } from './clock-tracker.js';
import { TokenBucket, type HubLimits } from './limits.js';
import type { HubCounters } from './metrics.js';
import type { MessageConnection } from './types.js';

export interface SessionTiming {
  /** Periodic ping interval, also the welcome's heartbeatMs. */
  pingIntervalMs: number;
  /** Pings sent right after hello for a quick first estimate. */
  pingBurst: number;
  pingBurstIntervalMs: number;
  /** Acks are coalesced for this long (0 = one ack per committed batch). */
  ackDelayMs: number;
}

/** What a session needs from the hub (implemented by AgentHub). */
export interface SessionHost {
  readonly limits: HubLimits;
  readonly timing: SessionTiming;
  readonly counters: HubCounters;
  /** Coalesces the acks of all sessions into one timer per ack window. */
  readonly acks: AckBatcher;
  now(): number;
  /** Checks the hello's token and identity: the session's key, or the refusal to send (counted by the host). */
  identify(session: Session, hello: HelloBody): SessionIdentity | AtpError;
  /** Registers the session (by session.key); resolves with the ackedSeq for its welcome once the notices are committed. */
  admit(session: Session, hello: HelloBody): Promise<number | null>;
  /** Dedupes and commits; resolves with the seq to acknowledge (null: nothing to ack). */
  ingest(session: Session, events: readonly ObservedEvent[], receivedAt: number): Promise<number | null>;
  clockFor(key: string, bootId: string): ClockTracker;
  /** The agent reported a problem on its side (a non-fatal `error` message) during an active session. */
  problem(session: Session, body: ErrorBody): void;
  /** The admitted agent identity of the session ended (the connection may live on: virtio-serial). */
  ended(session: Session, reason: AtpError | undefined): void;
  /** The connection is gone. */
  disconnected(session: Session): void;
}

export type SessionState = 'awaiting-hello' | 'admitting' | 'active' | 'closed';

let sessionCounter = 0;

export class Session {
  sessionId: string;
  state: SessionState = 'awaiting-hello';
  hello: HelloBody | undefined;
  /** Who the admitted hello speaks for (a binding's key, else its agentId); undefined before and between hellos. */
  key: string | undefined;
  /** The token binding the session was admitted through, if any. */
  tokenBinding: object | undefined;
  readonly connectedAt: number;
  lastMessageAt: number;
  ackedSeq: number | null = null;
  private readonly bucket: TokenBucket;
  private readonly timers = new Set<NodeJS.Timeout>();
  private helloTimer: NodeJS.Timeout | undefined;
  private readonly ackFlush = (): void => this.flushAck();
  private pendingAck: number | null = null;
  private queued: AgentMessage[] = [];
  private tracker: ClockTracker | undefined;
  /** Bumped by every hello on this connection, so late callbacks of an older one are ignored. */
  private generation = 0;

  constructor(
    private readonly host: SessionHost,
    readonly connection: MessageConnection,
    /** The VM the connection's channel is bound to (connectVirtio's bind). */
    readonly channel?: ChannelBinding,
  ) {
    this.sessionId = `${connection.id}.${(++sessionCounter).toString(36)}`;
    this.connectedAt = host.now();
    this.lastMessageAt = this.connectedAt;
    this.bucket = new TokenBucket(host.limits.messagesPerSecond, host.limits.messageBurst, this.connectedAt);
    connection.attach({
      received: (bytes) => {
        host.counters.bytesIn += bytes;
      },
      message: (message) => this.onMessage(message),
      badFrame: (error) => {
        host.counters.badFrames[error.code] = (host.counters.badFrames[error.code] ?? 0) + 1;
        this.fail(error);
      },
      closed: () => this.finish(undefined),
    });
    if (!connection.persistent) {
      this.helloTimer = setTimeout(() => {
        host.counters.helloTimeouts++;
        this.fail(new AtpError('ATP_HUB_HELLO_TIMEOUT', `no hello within ${host.limits.helloTimeoutMs} ms`));
      }, host.limits.helloTimeoutMs);
    }
  }

  /** The agentId the hello said (the session's key unless a binding names it). */
  get agentId(): string | undefined {
    return this.hello?.agentId;
  }

  get bootId(): string | undefined {
    return this.hello?.bootId;
  }

  /** Ends the session with an error message (fatal) and closes the connection. */
  fail(error: AtpError): void {
    if (this.state === 'closed') return;
    this.host.counters.cuts[error.code] = (this.host.counters.cuts[error.code] ?? 0) + 1;
    const details = { reason: error.code, ...error.details };
    // Typed literal, no zod pass (a flood's cuts are many): the code is registered by type, the details made JSON-safe.
    this.send({ v: 1, type: 'error', body: { code: error.code, message: error.message, details: jsonSafe(details), fatal: true } });
    this.connection.close();
    this.finish(error);
  }

  /** Drops the connection without a word (hub abort). */
  drop(): void {
    this.connection.destroy();
    this.finish(undefined);
  }

  private onMessage(message: AgentMessage): void {
    if (this.state === 'closed') return;
    const now = this.host.now();
    this.lastMessageAt = now;
    this.host.counters.framesIn++;
    if (!this.bucket.take(now)) {
      this.host.counters.rateLimited++;
      const { messagesPerSecond, messageBurst } = this.host.limits;
      this.fail(new AtpError('ATP_HUB_LIMIT_RATE', `more than ${messagesPerSecond} messages/s (burst ${messageBurst})`, { details: { messagesPerSecond, messageBurst } }));
      return;
    }
    if (this.state === 'admitting') {
      this.queued.push(message);
      return;
    }
    this.handle(message, now);
  }

  private handle(message: AgentMessage, now: number): void {
    switch (message.type) {
      case 'hello':
        if (this.state === 'awaiting-hello') this.onHello(message.body);
        else if (this.connection.persistent) {
          // The agent in the guest restarted on the same channel: end this session, start a new one.
          this.endIdentity(undefined);
          this.onHello(message.body);
        } else this.protocolError('a second hello on the same connection');
        return;
      case 'events':
        if (this.state !== 'active') return this.protocolError('events before hello');
        if (message.body.bootId !== this.bootId) {
          return this.protocolError(`events for boot ${message.body.bootId} on a session of boot ${this.bootId ?? '?'}`);
        }
        this.ingest(message.body.events, now);
        return;
      case 'ping':
        if (this.state !== 'active') return this.protocolError('ping before hello');
        this.host.counters.pingsAnswered++;
        this.send({ v: 1, type: 'pong', body: { id: message.body.id, t1: message.body.t1, t2: now, t3: this.host.now() } });
        return;
      case 'pong':
        if (this.state !== 'active') return this.protocolError('pong before hello');
        if (this.tracker?.pong(message.body, now)) this.host.counters.pongsReceived++;
        else this.host.counters.pongsUnmatched++;
        return;
      case 'error':
        this.host.counters.peerErrors++;
        if (message.body.fatal) {
          this.connection.close();
          this.finish(undefined);
        } else if (this.state === 'active') this.host.problem(this, message.body);
        return;
      case 'exec-result':
        this.host.counters.ignored++;
        return;
      default:
        this.protocolError(`${message.type} is a host-to-agent message`);
    }
  }

  private onHello(hello: HelloBody): void {
    clearTimeout(this.helloTimer);
    const identity = this.host.identify(this, hello);
    if (identity instanceof AtpError) {
      this.fail(identity);
      return;
    }
    const key = identity.key;
    this.key = key;
    this.tokenBinding = identity.tokenBinding;
    this.hello = hello;
    this.state = 'admitting';
    const generation = ++this.generation;
    this.host.admit(this, hello).then(
      (ackedSeq) => {
        if (this.state !== 'admitting' || generation !== this.generation) return;
        this.ackedSeq = ackedSeq;
        this.tracker = this.host.clockFor(key, hello.bootId);
        this.host.counters.sessionsAdmitted++;
        this.send(agentMessage('welcome', { sessionId: this.sessionId, ackedSeq, hostTime: this.host.now(), heartbeatMs: this.host.timing.pingIntervalMs }));
        this.state = 'active';
        this.startPings(generation);
        const queued = this.queued.splice(0);
        for (const m of queued) if (this.state === 'active') this.handle(m, this.host.now());
      },
      (error: unknown) => this.fail(error instanceof AtpError ? error : new AtpError('ATP_HUB_STORE', String(error))),
    );
  }

  private ingest(events: readonly ObservedEvent[], receivedAt: number): void {
    const generation = this.generation;
    this.host.ingest(this, events, receivedAt).then(
      (seq) => {
        if (seq !== null && generation === this.generation) this.scheduleAck(seq);
      },
      (error: unknown) => this.fail(error instanceof AtpError ? error : new AtpError('ATP_HUB_STORE', String(error))),
    );
  }

  private scheduleAck(seq: number): void {
    this.pendingAck = Math.max(seq, this.pendingAck ?? 0);
    this.host.acks.add(this.ackFlush);
  }

  private flushAck(): void {
    const seq = this.pendingAck;
    const bootId = this.bootId;
    if (seq === null || bootId === undefined || this.state !== 'active') return;
    this.pendingAck = null;
    if (this.ackedSeq !== null && seq <= this.ackedSeq) return;
    this.ackedSeq = seq;
    this.host.counters.acksSent++;
    this.send({ v: 1, type: 'ack', body: { bootId, seq } });
  }

  private startPings(generation: number): void {
    const { pingBurst, pingBurstIntervalMs, pingIntervalMs } = this.host.timing;
    const ping = (): void => {
      if (this.state !== 'active' || generation !== this.generation || this.tracker === undefined) return;
      const t1 = this.host.now();
      this.host.counters.pingsSent++;
      this.send({ v: 1, type: 'ping', body: { id: this.tracker.ping(t1), t1 } });
    };
    for (let i = 0; i < pingBurst; i++) this.later(ping, i * pingBurstIntervalMs);
    const tick = setInterval(() => {
      if (this.host.now() - this.lastMessageAt > this.host.limits.idleTimeoutMs) {
        this.host.counters.idleTimeouts++;
        this.fail(new AtpError('ATP_HUB_IDLE_TIMEOUT', `nothing received for ${this.host.limits.idleTimeoutMs} ms`));
        return;
      }
      ping();
    }, pingIntervalMs);
    this.timers.add(tick);
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private protocolError(what: string): void {
    this.host.counters.protocolErrors++;
    this.fail(new AtpError('ATP_HUB_PROTOCOL', `protocol violation: ${what}`));
  }

  private send(message: AgentMessage): void {
    const bytes = this.connection.send(message);
    if (bytes === 0) return;
    this.host.counters.framesOut++;
    this.host.counters.bytesOut += bytes;
  }

  /** Ends the current agent identity (notices, timers) but keeps the connection. */
  private endIdentity(reason: AtpError | undefined): void {
    const wasAdmitted = this.state === 'active' || this.state === 'admitting';
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.host.acks.delete(this.ackFlush);
    this.pendingAck = null;
    this.queued = [];
    if (wasAdmitted) this.host.ended(this, reason);
    this.key = undefined;
    this.tokenBinding = undefined;
    this.state = 'awaiting-hello';
    this.ackedSeq = null;
    this.tracker = undefined;
    this.sessionId = `${this.connection.id}.${(++sessionCounter).toString(36)}`;
  }

  private finish(reason: AtpError | undefined): void {
    if (this.state === 'closed') return;
    clearTimeout(this.helloTimer);
    const wasAdmitted = this.state === 'active' || this.state === 'admitting';
    for (const t of this.timers) clearTimeout(t);
    this.host.acks.delete(this.ackFlush);
    this.generation++;
    this.state = 'closed';
    if (wasAdmitted) this.host.ended(this, reason);
    this.host.disconnected(this);
  }
}

/** Keeps details JSON-friendly (they travel in the error message). */
function jsonSafe(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(details)) as Record<string, unknown>;
  } catch {
    return { reason: details.reason };
  }
}

/**
 * The page's link to the agent hub over WebSocket, with the same delivery
 * semantics as the guest agent: hello (token, delivery counters) → welcome →
 * resend everything after welcome.ackedSeq (ReliableSender) → stream new events
 * in batches, trim on cumulative acks, answer pings on the page clock, ping the
 * host every heartbeat and drop a link that is silent for three heartbeats.
 * Any failure reconnects with exponential backoff and jitter; a refused token
 * backs off longer. A session taken over by another page with the same agent id
 * (ATP_HUB_SUPERSEDED) stops: two pages must not fight over one id.
 */
import { parseAgentMessage, PROTOCOL_VERSION, ReliableSender, backoffDelay, AtpError } from '@atp/protocol';
import type { AgentMessage, BackoffOptions, DeliveryCounters, ErrorBody, HelloBody, ObservedEvent, StatusBody, UnsequencedEvent } from '@atp/protocol';
import { now } from './clock.js';

export type LinkState = 'idle' | 'connecting' | 'handshake' | 'ready' | 'backoff' | 'refused' | 'stopped';
export type PageIdentity = Omit<HelloBody, 'lastSeq' | 'unacked' | 'overflowed'>;

export interface LinkStatus {
  state: LinkState;
  /** One line for the tester. */
  detail: string;
  /** The last error the host sent or the link met. */
  lastError: { code: string; message: string } | undefined;
  sessionId: string | undefined;
  /** Connections opened / welcomed since the page loaded. */
  connects: number;
  welcomes: number;
  retryInMs: number | undefined;
  delivery: DeliveryCounters & { acked: number | null };
}

export interface VerifierLinkOptions {
  url: string;
  identity: PageIdentity;
  bootId: string;
  backoff?: BackoffOptions;
  authBackoff?: BackoffOptions;
  welcomeTimeoutMs?: number;
  onStatus(status: LinkStatus): void;
  /** The host's `status` message: the suite step and verdict to show. */
  onHostStatus?(status: StatusBody): void;
}

export const PAGE_AUTH_BACKOFF: BackoffOptions = { initialMs: 5_000, maxMs: 60_000, factor: 2, jitter: 0.3 };

export class VerifierLink {
  readonly sender: ReliableSender;
  private state: LinkState = 'idle';
  private detail = 'not started';
  private lastError: { code: string; message: string } | undefined;
  private socket: WebSocket | undefined;
  private sessionId: string | undefined;
  private ready = false;
  private attempt = 0;
  private authAttempt = 0;
  private refusal: ErrorBody | undefined;
  private connects = 0;
  private welcomes = 0;
  private retryInMs: number | undefined;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private lastRx = 0;
  private pingId = 0;

  constructor(private readonly options: VerifierLinkOptions) {
    this.sender = new ReliableSender({ bootId: options.bootId });
  }

  start(): void {
    if (this.state === 'idle') this.connect();
  }

  stop(): void {
    this.setState('stopped', 'stopped by the page');
    this.teardown();
  }

  /** Numbers, buffers and (when connected) sends one event. */
  push(event: UnsequencedEvent): ObservedEvent {
    const sequenced = this.sender.push(event);
    this.scheduleFlush();
    this.report();
    return sequenced;
  }

  status(): LinkStatus {
    return {
      state: this.state,
      detail: this.detail,
      lastError: this.lastError,
      sessionId: this.sessionId,
      connects: this.connects,
      welcomes: this.welcomes,
      retryInMs: this.retryInMs,
      delivery: { ...this.sender.counters(), acked: this.sender.ackedSeq },
    };
  }

  private connect(): void {
    this.retryInMs = undefined;
    this.refusal = undefined;
    this.setState('connecting', `connecting to ${this.options.url}`);
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.options.url);
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
      return;
    }
    this.socket = socket;
    this.connects++;
    socket.onopen = (): void => {
      if (socket !== this.socket) return;
      this.setState('handshake', 'connected; waiting for the welcome');
      this.send({ v: PROTOCOL_VERSION, type: 'hello', body: { ...this.options.identity, ...this.sender.counters() } });
      this.later(() => {
        if (socket === this.socket && !this.ready) this.fail(`no welcome within ${this.options.welcomeTimeoutMs ?? 10_000} ms`);
      }, this.options.welcomeTimeoutMs ?? 10_000);
    };
    socket.onmessage = (e: MessageEvent): void => {
      if (socket === this.socket) this.onFrame(e.data);
    };
    socket.onclose = (e: CloseEvent): void => {
      if (socket === this.socket) this.fail(`connection closed (code ${e.code}${e.reason === '' ? '' : `, ${e.reason}`})`);
    };
  }

  private onFrame(data: unknown): void {
    // A ping's t2 is its arrival, taken before parsing: time spent parsing is the
    // page's, not the path's, and would otherwise lengthen the inbound leg.
    const t2 = now();
    this.lastRx = t2;
    let message: AgentMessage;
    try {
      if (typeof data !== 'string') throw new AtpError('ATP_HUB_FRAME', 'binary frame from the host');
      message = parseAgentMessage(JSON.parse(data) as unknown, 'hub');
    } catch (error) {
      this.lastError = { code: error instanceof AtpError ? error.code : 'ATP_FRAME_INVALID_JSON', message: String(error) };
      this.report();
      return;
    }
    switch (message.type) {
      case 'welcome':
        this.onWelcome(message.body.sessionId, message.body.ackedSeq, message.body.heartbeatMs);
        return;
      case 'ack':
        if (message.body.bootId === this.sender.bootId) this.sender.ack(message.body.seq);
        this.report();
        return;
      case 'ping':
        this.send({ v: PROTOCOL_VERSION, type: 'pong', body: { id: message.body.id, t1: message.body.t1, t2, t3: now() } });
        return;
      case 'exec-request':
        this.send(execRefused(message.body.id));
        return;
      case 'status':
        this.options.onHostStatus?.(message.body);
        return;
      case 'error':
        this.lastError = { code: message.body.code, message: message.body.message };
        if (!this.ready || message.body.code === 'ATP_HUB_SUPERSEDED') this.refusal = message.body;
        this.report();
        return;
      default:
        // pong, capture-start/stop: the page always captures; nothing to do.
        return;
    }
  }

  private onWelcome(sessionId: string, ackedSeq: number | null, heartbeatMs: number): void {
    this.clearTimers();
    this.sessionId = sessionId;
    this.sender.restart(ackedSeq);
    this.ready = true;
    this.welcomes++;
    this.attempt = 0;
    this.authAttempt = 0;
    this.setState('ready', `connected, session ${sessionId}`);
    this.lastRx = now();
    this.heartbeat = setInterval(() => {
      if (now() - this.lastRx > 3 * heartbeatMs) {
        this.fail(`no traffic from the hub for ${Math.round(now() - this.lastRx)} ms (3 heartbeats)`);
        return;
      }
      this.send({ v: PROTOCOL_VERSION, type: 'ping', body: { id: ++this.pingId, t1: now() } });
    }, heartbeatMs);
    this.flush();
  }

  private scheduleFlush(): void {
    if (!this.ready || this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, 0);
  }

  private flush(): void {
    if (!this.ready) return;
    for (const body of this.sender.takeBatches()) this.send({ v: PROTOCOL_VERSION, type: 'events', body });
    this.report();
  }

  private send(message: AgentMessage): void {
    // A send on a closing socket is dropped by the browser; events stay in the resend buffer.
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** The connection is over: decide how long to wait, and why. */
  private fail(why: string): void {
    if (this.state === 'stopped') return;
    const refusal = this.refusal;
    this.teardown();
    if (refusal?.code === 'ATP_HUB_SUPERSEDED') {
      this.setState('stopped', `another page took over agent id ${this.options.identity.agentId} (${refusal.message}); reload to take it back`);
      return;
    }
    const auth = refusal?.code === 'ATP_HUB_AUTH';
    const delay = auth ? backoffDelay(this.authAttempt++, this.options.authBackoff ?? PAGE_AUTH_BACKOFF) : backoffDelay(this.attempt++, this.options.backoff);
    this.retryInMs = delay;
    if (refusal !== undefined) this.setState(auth ? 'refused' : 'backoff', `${auth ? 'token refused' : 'refused'}: ${refusal.code}: ${refusal.message}`);
    else this.setState('backoff', why);
    this.later(() => this.connect(), delay);
  }

  private teardown(): void {
    this.ready = false;
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined && socket.readyState <= WebSocket.OPEN) socket.close();
  }

  private clearTimers(): void {
    for (const t of this.timers.splice(0)) clearTimeout(t);
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private later(fn: () => void, ms: number): void {
    this.timers.push(setTimeout(fn, ms));
  }

  private setState(state: LinkState, detail: string): void {
    this.state = state;
    this.detail = detail;
    this.report();
  }

  private report(): void {
    this.options.onStatus(this.status());
  }
}

function execRefused(id: string): AgentMessage {
  const body = { id, exitCode: null, signal: null, stdoutB64: '', stderrB64: '', stdoutTruncated: false, stderrTruncated: false, durationMs: 0 };
  return { v: PROTOCOL_VERSION, type: 'exec-result', body: { ...body, error: { code: 'ATP_EXEC_DISABLED', message: 'the web verifier page cannot run commands' } } };
}

/**
 * The page's link to the agent hub over WebSocket: a thin driver of the same
 * session engine the guest agent runs (protocol-schemas/src/session/engine.ts:
 * handshake, heartbeat, backoff, flushing, resend after ackedSeq). This file
 * owns only the browser's WebSocket, the timers and the page clock, and turns
 * the engine's decisions into the status line the tester sees. A refused token
 * shows as 'refused'; a session taken over by another page with the same agent
 * id (ATP_HUB_SUPERSEDED) stops: two pages must not fight over one id.
 */
import { parseAgentMessage, PROTOCOL_VERSION, ReliableSender, SessionEngine, AtpError } from '@atp/protocol';
import type { AgentMessage, BackoffOptions, DeliveryCounters, ObservedEvent, ObserverIdentity, SessionDecision, SessionInput, SessionTimer, StatusBody, UnsequencedEvent } from '@atp/protocol';
import { now } from './clock.js';

export type LinkState = 'idle' | 'connecting' | 'handshake' | 'ready' | 'backoff' | 'refused' | 'stopped';
export type PageIdentity = ObserverIdentity;

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

export class VerifierLink {
  readonly sender: ReliableSender;
  private readonly engine: SessionEngine;
  private state: LinkState = 'idle';
  private detail = 'not started';
  private lastError: { code: string; message: string } | undefined;
  private socket: WebSocket | undefined;
  private sessionId: string | undefined;
  private connects = 0;
  private welcomes = 0;
  private retryInMs: number | undefined;
  private readonly timers = new Map<SessionTimer, () => void>();
  private readonly queue: SessionInput[] = [];
  private busy = false;

  constructor(private readonly options: VerifierLinkOptions) {
    this.sender = new ReliableSender({ bootId: options.bootId });
    this.engine = new SessionEngine({
      sender: this.sender,
      random: Math.random,
      // The page's frames are small and the browser batches writes itself: no pacing.
      minFlushIntervalMs: 0,
      onSuperseded: 'stop',
      ...(options.welcomeTimeoutMs === undefined ? {} : { welcomeTimeoutMs: options.welcomeTimeoutMs }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.authBackoff === undefined ? {} : { authBackoff: options.authBackoff }),
    });
  }

  start(): void {
    this.input({ type: 'start', now: now() });
  }

  stop(): void {
    this.input({ type: 'stop', now: now() });
  }

  /** Numbers, buffers and (when connected) sends one event. */
  push(event: UnsequencedEvent): ObservedEvent {
    const sequenced = this.sender.push(event);
    this.input({ type: 'events-pushed', now: now() });
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
    this.report();
  }

  private apply(d: SessionDecision): void {
    switch (d.type) {
      case 'phase':
        if (d.phase === 'connecting') this.setState('connecting', `connecting to ${this.options.url}`);
        else if (d.phase === 'handshake') this.setState('handshake', 'connected; waiting for the welcome');
        else if (d.phase === 'stopped' && this.state !== 'stopped') this.setState('stopped', 'stopped by the page');
        return;
      case 'connect':
        return this.open();
      case 'send':
        return this.send(d.message);
      case 'pong':
        return this.send({ v: PROTOCOL_VERSION, type: 'pong', body: { id: d.id, t1: d.t1, t2: d.t2, t3: now() } });
      case 'send-events':
        for (const body of d.bodies) this.send({ v: PROTOCOL_VERSION, type: 'events', body });
        // The browser took the frames (a closing socket drops them; they stay in the resend buffer).
        this.input({ type: 'written', now: now() });
        return;
      case 'arm':
        return this.arm(d.timer, d.delayMs);
      case 'cancel':
        this.timers.get(d.timer)?.();
        this.timers.delete(d.timer);
        return;
      case 'close':
        return this.closeSocket();
      case 'backoff': {
        this.retryInMs = d.delayMs;
        const refusal = d.refusal;
        if (refusal !== undefined) {
          this.lastError = { code: refusal.code, message: refusal.message };
          this.setState(d.auth ? 'refused' : 'backoff', `${d.auth ? 'token refused' : 'refused'}: ${refusal.code}: ${refusal.message}`);
        } else this.setState('backoff', d.reason.message);
        return;
      }
      case 'welcomed':
        this.sessionId = d.welcome.sessionId;
        this.welcomes++;
        this.setState('ready', `connected, session ${d.welcome.sessionId}`);
        return;
      case 'deliver':
        return this.deliver(d.message);
      case 'bad-frame':
        this.lastError = { code: d.error.code, message: d.error.message };
        return;
      case 'ignored':
        return;
      case 'stopped': {
        const host = this.lastError;
        if (d.reason !== undefined && host?.code === 'ATP_HUB_SUPERSEDED') {
          this.setState('stopped', `another page took over agent id ${this.options.identity.agentId} (${host.message}); reload to take it back`);
        }
        return;
      }
    }
  }

  private deliver(message: AgentMessage): void {
    switch (message.type) {
      case 'exec-request':
        this.input({ type: 'send', now: now(), message: execRefused(message.body.id) });
        return;
      case 'status':
        this.options.onHostStatus?.(message.body);
        return;
      case 'error':
        this.lastError = { code: message.body.code, message: message.body.message };
        return;
      default:
        // pong, capture-start/stop: the page always captures; nothing to do.
        return;
    }
  }

  private open(): void {
    this.retryInMs = undefined;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.options.url);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.input({ type: 'connect-failed', now: now(), error: new AtpError('ATP_AGENT_CONNECT', message) });
      return;
    }
    this.socket = socket;
    this.connects++;
    let opened = false;
    socket.onopen = (): void => {
      if (socket !== this.socket) return;
      opened = true;
      this.input({ type: 'connected', now: now(), identity: this.options.identity, where: this.options.url });
    };
    socket.onmessage = (e: MessageEvent): void => {
      // A ping's t2 is its arrival, taken before parsing: time spent parsing is the page's, not the path's.
      const at = now();
      if (socket === this.socket) this.input(this.decode(e.data, at));
    };
    socket.onclose = (e: CloseEvent): void => {
      if (socket !== this.socket) return;
      this.socket = undefined;
      const error = new AtpError('ATP_AGENT_DISCONNECTED', `connection closed (code ${e.code}${e.reason === '' ? '' : `, ${e.reason}`})`);
      this.input(opened ? { type: 'closed', now: now(), error } : { type: 'connect-failed', now: now(), error });
    };
  }

  private decode(data: unknown, at: number): SessionInput {
    try {
      if (typeof data !== 'string') throw new AtpError('ATP_HUB_FRAME', 'binary frame from the host');
      return { type: 'frame', now: at, message: parseAgentMessage(JSON.parse(data) as unknown, 'hub') };
    } catch (error) {
      const code = error instanceof AtpError ? error.code : 'ATP_FRAME_INVALID_JSON';
      return { type: 'bad-frame', now: at, error: error instanceof AtpError ? error : new AtpError(code, String(error)) };
    }
  }

  private arm(timer: SessionTimer, delayMs: number): void {
    this.timers.get(timer)?.();
    const fire = (): void => {
      this.timers.delete(timer);
      this.input({ type: 'timer', now: now(), timer });
    };
    if (delayMs <= 0) {
      // After the current task's pushes (one DOM event may give several events): they share a frame.
      let live = true;
      queueMicrotask(() => live && fire());
      this.timers.set(timer, () => (live = false));
    } else {
      const handle = setTimeout(fire, delayMs);
      this.timers.set(timer, () => clearTimeout(handle));
    }
  }

  private send(message: AgentMessage): void {
    // A send on a closing socket is dropped by the browser; events stay in the resend buffer.
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private closeSocket(): void {
    const socket = this.socket;
    this.socket = undefined;
    if (socket !== undefined && socket.readyState <= WebSocket.OPEN) socket.close();
  }

  private setState(state: LinkState, detail: string): void {
    this.state = state;
    this.detail = detail;
  }

  private report(): void {
    this.options.onStatus(this.status());
  }
}

function execRefused(id: string): AgentMessage {
  const body = { id, exitCode: null, signal: null, stdoutB64: '', stderrB64: '', stdoutTruncated: false, stderrTruncated: false, durationMs: 0 };
  return { v: PROTOCOL_VERSION, type: 'exec-result', body: { ...body, error: { code: 'ATP_EXEC_DISABLED', message: 'the web verifier page cannot run commands' } } };
}

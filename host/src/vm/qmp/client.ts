/**
 * QmpClient: a QMP connection with id-routed concurrent commands, per-command
 * timeouts, events, and optional reconnect.
 *
 * States: 'connecting' → 'ready' → 'closed', with 'ready' ⇄ 'reconnecting' when
 * reconnect is on. Rules:
 * - `connect()` resolves once the greeting is read and `qmp_capabilities` is
 *   accepted (with 'oob' when offered); it does not retry a failed first connect.
 * - A reply for a timed-out command is dropped quietly (counted in stats).
 * - When the link drops, every in-flight command rejects ATP_QMP_DISCONNECTED.
 *   Commands issued while 'reconnecting' WAIT for 'ready', bounded by their own
 *   timeout; if it does not come back in time they reject ATP_QMP_DISCONNECTED
 *   (never sent). Without reconnect the client goes to 'closed' and later
 *   commands reject ATP_QMP_DISCONNECTED; after `close()` they reject ATP_QMP_CLOSED.
 * - Bad bytes from QEMU never throw: they are counted and reported to 'error' listeners.
 * - A command's `onSent` hook hears hostNow() just before its bytes are handed
 *   to the socket, so a wait for 'ready' is not counted as time on the wire.
 *   Before, not after: the write wakes QEMU, which on a busy host can take this
 *   thread's CPU and deliver the input to the guest before the write returns
 *   (measured here: 6-11 ms later), so a stamp after the write could postdate
 *   the guest's own timestamp of the event.
 */
import { AtpError, backoffDelay, type BackoffOptions } from '@atp/protocol';
import { encodeQmpCommand, type QmpDecoded } from './codec.js';
import { QmpEventHub, type QmpEventOverflow, type QmpEventStream, type WaitForEventOptions } from './event-hub.js';
import { reportSent, type QmpExecuteOptions, type QmpExecutor, type SentHook } from './executor.js';
import { openStream } from '../connect.js';
import { describeQmpTarget, QmpLink, type QmpTarget } from './link.js';
import { Listeners } from './listeners.js';
import { PendingCommands } from './pending.js';
import { timerDelay } from '../../util/timers.js';
import type { QmpEvent, QmpGreeting } from './messages.js';

export type QmpState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface QmpReconnectOptions extends BackoffOptions {
  /** Give up (and go to 'closed') after this many failed attempts; default unlimited. */
  maxAttempts?: number;
}

export interface QmpClientOptions {
  /** Bound on opening the stream + greeting + negotiation, per attempt (default 5000). */
  connectTimeoutMs?: number;
  /** Command timeout when `execute` is given none (default 30000). */
  defaultTimeoutMs?: number;
  /** Reconnect when the link drops (default off). `true` uses DEFAULT_BACKOFF. */
  reconnect?: boolean | QmpReconnectOptions;
  /** Largest line accepted from QEMU (default 1 MiB). */
  maxLineBytes?: number;
}

export interface QmpCommandOptions extends QmpExecuteOptions {
  /** Send as `exec-oob` (QEMU must offer 'oob' and the command must allow it). */
  oob?: boolean;
}

export interface QmpClientNotifications {
  state: QmpState;
  reconnected: { attempts: number; greeting: QmpGreeting };
  disconnected: AtpError;
  /** Protocol errors (bad lines, unroutable replies) and failed reconnect attempts. */
  error: AtpError;
  eventsDropped: QmpEventOverflow;
}

export interface QmpClientStats {
  protocolErrors: number;
  lateReplies: number;
  reconnects: number;
  eventsDropped: number;
  listenerFailures: number;
}

export class QmpClient implements QmpExecutor {
  private currentState: QmpState = 'connecting';
  private link: QmpLink | undefined;
  private lastGreeting: QmpGreeting | undefined;
  private readonly pending = new PendingCommands();
  private closedByOwner = false;
  private readonly notes = new Listeners<QmpClientNotifications>();
  private readonly hub: QmpEventHub;
  private readonly readyWaiters = new Set<{ ready: () => void; fail: (e: AtpError) => void }>();
  private reconnectTimer: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private readonly counters = { protocolErrors: 0, lateReplies: 0, reconnects: 0, eventsDropped: 0 };
  private readonly reconnectOptions: QmpReconnectOptions | undefined;
  private readonly connectTimeoutMs: number;
  private readonly defaultTimeoutMs: number;

  private constructor(
    private readonly target: QmpTarget,
    private readonly options: QmpClientOptions,
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
    this.reconnectOptions = options.reconnect === true ? {} : options.reconnect || undefined;
    this.hub = new QmpEventHub((overflow) => {
      this.counters.eventsDropped += 1;
      this.notes.emit('eventsDropped', overflow);
    });
  }

  /** Connects, reads the greeting and negotiates capabilities. Rejects ATP_QMP_CONNECT / _GREETING / _NEGOTIATION. */
  static async connect(target: QmpTarget, options: QmpClientOptions = {}): Promise<QmpClient> {
    const client = new QmpClient(target, options);
    try {
      await client.openLink();
    } catch (cause) {
      const error = cause instanceof AtpError ? cause : new AtpError('ATP_QMP_CONNECT', `cannot connect: ${String(cause)}`, { cause });
      client.finish(error);
      throw error;
    }
    return client;
  }

  get state(): QmpState {
    return this.currentState;
  }

  /** The greeting of the current (or last) connection. */
  get greeting(): QmpGreeting | undefined {
    return this.lastGreeting;
  }

  get stats(): QmpClientStats {
    return { ...this.counters, listenerFailures: this.notes.failures + this.hub.listenerFailures };
  }

  on<K extends keyof QmpClientNotifications>(name: K, listener: (value: QmpClientNotifications[K]) => void): () => void {
    return this.notes.on(name, listener);
  }

  /** Resolves when the client is in `state` (now or later); rejects ATP_QMP_TIMEOUT after `timeoutMs`. */
  waitForState(state: QmpState, timeoutMs: number): Promise<void> {
    if (this.currentState === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new AtpError('ATP_QMP_TIMEOUT', `QMP client not '${state}' within ${timeoutMs} ms (is '${this.currentState}')`, { details: { state, timeoutMs } }));
      }, timerDelay(timeoutMs));
      const off = this.on('state', (s) => {
        if (s !== state) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  async execute<T = unknown>(command: string, args?: Record<string, unknown>, options: QmpCommandOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const started = Date.now();
    if (this.currentState === 'reconnecting' || this.currentState === 'connecting') await this.waitReady(command, timeoutMs);
    const link = this.link;
    if (this.currentState !== 'ready' || !link) throw this.notUsableError(command);
    const remaining = Math.max(1, timerDelay(timeoutMs) - (Date.now() - started));
    return (await this.send(link, command, args, remaining, options.oob === true, options.onSent)) as T;
  }

  /** Every event, through a bounded buffer (see event-hub.ts for overflow). */
  events(options: { bufferSize?: number } = {}): QmpEventStream {
    return this.hub.events(options);
  }

  /** The next `name` event after this call; subscribe before issuing the command that causes it. */
  waitForEvent(name: string, options: WaitForEventOptions): Promise<QmpEvent> {
    return this.hub.waitForEvent(name, options);
  }

  /** `name` '*' listens to every event. Returns the unsubscribe function. */
  onEvent(name: string, listener: (event: QmpEvent) => void): () => void {
    return this.hub.onEvent(name, listener);
  }

  /** Closes the connection; everything pending rejects ATP_QMP_CLOSED. */
  async close(): Promise<void> {
    this.closedByOwner = true;
    const link = this.link;
    this.finish(new AtpError('ATP_QMP_CLOSED', 'the QMP client was closed'));
    if (link && !link.stream.closed) await new Promise<void>((resolve) => link.stream.once('close', () => resolve()));
  }

  /**
   * Opens a link, negotiates, and goes 'ready' in the same turn as it checks the
   * link is still up: a link that drops between the qmp_capabilities reply and
   * that check is a failed attempt, never a 'ready' client without a connection.
   */
  private async openLink(): Promise<void> {
    const stream = await openStream(this.target, this.connectTimeoutMs, 'ATP_QMP_CONNECT');
    if (this.currentState === 'closed') {
      stream.destroy();
      throw new AtpError('ATP_QMP_CLOSED', 'the QMP client was closed while connecting');
    }
    const link = new QmpLink(stream, { onDecoded: (l, item) => this.onDecoded(l, item), onDown: (l, e) => this.onDown(l, e) }, this.options.maxLineBytes);
    this.link = link;
    const greeting = await link.waitForGreeting(this.connectTimeoutMs);
    const enable = greeting.capabilities.includes('oob') ? ['oob'] : [];
    try {
      await this.send(link, 'qmp_capabilities', enable.length ? { enable } : undefined, this.connectTimeoutMs, false);
    } catch (cause) {
      link.destroy();
      const message = cause instanceof Error ? cause.message : String(cause);
      throw new AtpError('ATP_QMP_NEGOTIATION', `qmp_capabilities failed on ${describeQmpTarget(this.target)}: ${message}`, { cause });
    }
    if (link.down || this.link !== link || this.isClosed()) {
      throw new AtpError('ATP_QMP_CONNECT', `the QMP connection to ${describeQmpTarget(this.target)} closed right after negotiation`, { details: { target: describeQmpTarget(this.target) } });
    }
    link.phase = 'ready';
    this.lastGreeting = greeting;
    this.setState('ready');
    for (const waiter of [...this.readyWaiters]) waiter.ready();
  }

  /** Writes one command; `onSent` hears the moment just before the bytes go to the socket (after any wait for 'ready'). */
  private send(link: QmpLink, command: string, args: Record<string, unknown> | undefined, timeoutMs: number, oob: boolean, onSent?: SentHook): Promise<unknown> {
    if (link.down) return Promise.reject(new AtpError('ATP_QMP_DISCONNECTED', `${command}: not sent, the QMP connection is closed`, { details: { command } }));
    const id = this.pending.allocateId();
    let bytes: Uint8Array;
    try {
      bytes = encodeQmpCommand({ command, id, oob, ...(args === undefined ? {} : { arguments: args }) }, this.options.maxLineBytes);
    } catch (cause) {
      if (cause instanceof AtpError) return Promise.reject(cause);
      return Promise.reject(new AtpError('ATP_SCHEMA_INVALID', `${command}: arguments cannot be encoded as JSON`, { cause, details: { command } }));
    }
    const reply = this.pending.track(id, command, timeoutMs);
    reportSent(onSent);
    link.write(bytes);
    return reply;
  }

  private onDecoded(link: QmpLink, item: QmpDecoded): void {
    if (link !== this.link) return;
    if (item.kind === 'error') return this.reportProtocolError(item.error);
    const message = item.message;
    if (message.kind === 'event') return this.hub.publish(message);
    if (message.kind === 'greeting') return this.reportProtocolError(new AtpError('ATP_QMP_PROTOCOL', 'QEMU sent a second greeting'));
    const outcome = this.pending.settle(message);
    if (outcome === 'late') this.counters.lateReplies += 1;
    else if (outcome === 'unknown') {
      this.reportProtocolError(new AtpError('ATP_QMP_PROTOCOL', `QEMU sent a reply with an unknown id ${JSON.stringify(message.id)}`, { details: { id: message.id } }));
    }
  }

  private onDown(link: QmpLink, error: AtpError): void {
    if (link !== this.link) return;
    this.link = undefined;
    this.pending.rejectAll(error);
    if (link.phase !== 'ready' || this.currentState === 'closed') return; // a handshake failure: openLink reports it
    this.notes.emit('disconnected', error);
    if (this.reconnectOptions) void this.reconnectLoop(this.reconnectOptions);
    else this.finish(error);
  }

  private async reconnectLoop(options: QmpReconnectOptions): Promise<void> {
    this.setState('reconnecting');
    const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      await new Promise<void>((wake) => {
        this.reconnectTimer = { timer: setTimeout(wake, timerDelay(backoffDelay(attempt, options))), wake };
      });
      this.reconnectTimer = undefined;
      if (this.isClosed()) return;
      try {
        await this.openLink();
      } catch (error) {
        if (this.isClosed()) return;
        if (error instanceof AtpError) this.notes.emit('error', error);
        continue;
      }
      if (this.isClosed()) return; // a 'state' listener closed the client; finish() dropped the link
      this.counters.reconnects += 1;
      if (this.lastGreeting) this.notes.emit('reconnected', { attempts: attempt + 1, greeting: this.lastGreeting });
      return;
    }
    this.finish(new AtpError('ATP_QMP_DISCONNECTED', `QMP did not come back after ${maxAttempts} reconnect attempts`, { details: { maxAttempts } }));
  }

  private waitReady(command: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = {
        ready: (): void => {
          clearTimeout(timer);
          this.readyWaiters.delete(waiter);
          resolve();
        },
        fail: (error: AtpError): void => {
          clearTimeout(timer);
          this.readyWaiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.fail(new AtpError('ATP_QMP_DISCONNECTED', `${command}: not sent, QMP did not reconnect within ${timeoutMs} ms`, { details: { command, timeoutMs } }));
      }, timerDelay(timeoutMs));
      this.readyWaiters.add(waiter);
    });
  }

  private notUsableError(command: string): AtpError {
    if (this.closedByOwner) return new AtpError('ATP_QMP_CLOSED', `${command}: the QMP client was closed`, { details: { command } });
    return new AtpError('ATP_QMP_DISCONNECTED', `${command}: the QMP connection is closed`, { details: { command } });
  }

  /** Terminal: state 'closed', everything pending fails with `error`. */
  private finish(error: AtpError): void {
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer.timer);
      this.reconnectTimer.wake();
    }
    this.setState('closed');
    const link = this.link;
    this.link = undefined;
    link?.destroy();
    this.pending.rejectAll(error);
    for (const waiter of [...this.readyWaiters]) waiter.fail(error);
    this.hub.end(error);
  }

  /** A method, not a field test, so TypeScript does not narrow across awaits. */
  private isClosed(): boolean {
    return this.currentState === 'closed';
  }

  private reportProtocolError(error: AtpError): void {
    this.counters.protocolErrors += 1;
    this.notes.emit('error', error);
  }

  private setState(state: QmpState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.notes.emit('state', state);
  }
}

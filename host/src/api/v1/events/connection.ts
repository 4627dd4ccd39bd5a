/**
 * One /api/v1/events client: authentication (already done by its cookie or
 * bearer header, else its first message), its one subscription, and the pump
 * that sends it the event log from its cursor.
 *
 * The event log is the queue: a client holds only a cursor (the last index it
 * was sent or that its filter skipped), so a client behind costs no memory of
 * its own. The pump sends from the cursor until the socket holds
 * `highWaterBytes` unread, then waits for the socket's 'drain'; a client
 * that leaves that much unread for `stallMs` is closed (4413,
 * ATP_API_EVENTS_SLOW) instead of being buffered for. Events go out in index
 * order, each once: the cursor only moves forward.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { AtpError, EVENTS_CLOSE_CODES, EventsClientMessageSchema, parseWith, type ApiEvent, type ApiEventKind, type EventsClientMessage, type EventsServerMessage } from '@atp/protocol';
import type { ApiAuth } from '../auth.js';
import type { EventLog } from '../event-log.js';

export interface EventsConnectionSettings {
  log: EventLog;
  auth: ApiAuth;
  /** Numbering epoch sent in `ready`. */
  epoch: string;
  highWaterBytes: number;
  stallMs: number;
  authTimeoutMs: number;
  /** After a close frame, how long the peer has to answer before the socket is destroyed. */
  closeGraceMs: number;
  /** The `event` frame of an event (cached by the endpoint for the one event every client is sent). */
  frame(event: ApiEvent): Buffer;
  note(line: string): void;
}

type State = 'auth' | 'ready' | 'subscribed' | 'closed';

/** A WebSocket close reason is at most 123 bytes. */
function closeReason(error: AtpError): string {
  const text = `${error.code}: ${error.message}`;
  if (Buffer.byteLength(text) <= 123) return text;
  let cut = text.slice(0, 120);
  while (Buffer.byteLength(cut) > 120) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** One client frame as a message, or the ATP_SCHEMA_INVALID error that closes the connection. */
function parseClientMessage(data: Buffer, isBinary: boolean): EventsClientMessage | AtpError {
  let message: unknown;
  try {
    if (isBinary) throw new Error('binary frame');
    message = JSON.parse(data.toString('utf8'));
  } catch {
    return new AtpError('ATP_SCHEMA_INVALID', 'events: a client message must be one JSON text frame', { details: { field: 'message' } });
  }
  try {
    return parseWith(EventsClientMessageSchema, message, { source: 'events', what: 'client message' });
  } catch (error) {
    return error instanceof AtpError ? error : new AtpError('ATP_SCHEMA_INVALID', String(error));
  }
}

export class EventsConnection {
  private state: State;
  private cursor = 0;
  private kinds: ReadonlySet<ApiEventKind> | undefined;
  private runId: string | undefined;
  private blocked = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  /** Answered the last keep-alive ping. */
  alive = true;
  /** Most unread bytes seen right after a send (the bound the pump keeps: highWaterBytes + one frame). */
  maxBuffered = 0;
  eventsSent = 0;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly settings: EventsConnectionSettings,
    authenticated: boolean,
    private readonly onGone: (connection: EventsConnection) => void,
  ) {
    this.state = authenticated ? 'ready' : 'auth';
    ws.on('message', (data: Buffer, isBinary: boolean) => this.received(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('error', () => undefined);
    ws.on('close', () => this.gone());
    socket.on('drain', () => this.drained());
    if (authenticated) this.sendReady();
    else {
      this.authTimer = setTimeout(() => this.fail(new AtpError('ATP_API_AUTH', `no auth message within ${settings.authTimeoutMs} ms`), EVENTS_CLOSE_CODES.authTimeout), settings.authTimeoutMs);
      this.authTimer.unref();
    }
  }

  get subscribed(): boolean {
    return this.state === 'subscribed';
  }

  get buffered(): number {
    return this.ws.bufferedAmount;
  }

  /** Events were published: send what this client has not been sent yet (unless it is not reading). */
  catchUp(): void {
    this.pump();
  }

  /** Keep-alive: a client that did not answer the previous ping is dropped. */
  ping(): void {
    if (this.state === 'closed') return;
    if (!this.alive) {
      this.settings.note('events: a client did not answer the keep-alive ping; dropped');
      this.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Closes with `code` (server shutdown: 1001). */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearTimers();
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), this.settings.closeGraceMs).unref();
  }

  terminate(): void {
    this.state = 'closed';
    this.clearTimers();
    this.ws.terminate();
  }

  private received(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed') return;
    const parsed = parseClientMessage(data, isBinary);
    if (parsed instanceof AtpError) {
      this.fail(parsed, EVENTS_CLOSE_CODES.badMessage);
      return;
    }
    if (parsed.type === 'auth') {
      if (!this.settings.auth.tokenMatches(parsed.token)) {
        this.fail(new AtpError('ATP_API_AUTH', 'wrong API token'), EVENTS_CLOSE_CODES.auth);
        return;
      }
      if (this.state === 'auth') {
        clearTimeout(this.authTimer);
        this.state = 'ready';
        this.sendReady();
      }
      return;
    }
    if (this.state === 'auth') {
      this.fail(new AtpError('ATP_API_AUTH', 'send {"type":"auth","token":...} before subscribing'), EVENTS_CLOSE_CODES.auth);
      return;
    }
    if (this.state === 'subscribed') {
      this.fail(new AtpError('ATP_SCHEMA_INVALID', 'events: one subscribe per connection (open another connection for another filter)', { details: { field: 'type' } }), EVENTS_CLOSE_CODES.badMessage);
      return;
    }
    this.kinds = parsed.kinds === undefined ? undefined : new Set(parsed.kinds);
    this.runId = parsed.runId;
    // 0 asks for whatever is held (no gap). An index beyond the newest one comes from another epoch (the server
    // restarted): the client is told of the gap and gets what is held.
    const { log } = this.settings;
    this.cursor = parsed.after === 0 ? Math.max(0, log.oldest - 1) : parsed.after > log.lastIndex ? 0 : parsed.after;
    this.state = 'subscribed';
    this.pump();
  }

  private matches(event: ApiEvent): boolean {
    return (this.kinds === undefined || this.kinds.has(event.kind)) && (this.runId === undefined || event.runId === this.runId);
  }

  /** Sends from the cursor until caught up or the socket holds highWaterBytes unread. */
  private pump(): void {
    if (this.state !== 'subscribed' || this.blocked || this.ws.readyState !== this.ws.OPEN) return;
    const { log } = this.settings;
    if (this.cursor < log.oldest - 1) {
      this.sendMessage({ type: 'gap', oldest: log.oldest });
      this.cursor = log.oldest - 1;
    }
    const pending = log.since(this.cursor);
    if (pending.length === 0) return;
    // One write to the kernel for the whole batch, not one per frame.
    this.socket.cork();
    try {
      for (const event of pending) {
        this.cursor = event.index;
        if (!this.matches(event)) continue;
        this.sendFrame(this.settings.frame(event));
        if (this.blocked || this.state !== 'subscribed') return;
      }
    } finally {
      this.socket.uncork();
    }
  }

  private sendFrame(frame: Buffer): void {
    this.ws.send(frame, { binary: false });
    this.eventsSent++;
    const buffered = this.ws.bufferedAmount;
    if (buffered > this.maxBuffered) this.maxBuffered = buffered;
    if (buffered >= this.settings.highWaterBytes) this.block();
  }

  private sendMessage(message: EventsServerMessage): void {
    this.ws.send(JSON.stringify(message));
  }

  private sendReady(): void {
    const { log, epoch } = this.settings;
    this.sendMessage({ type: 'ready', lastIndex: log.lastIndex, oldest: log.oldest, epoch });
  }

  private block(): void {
    this.blocked = true;
    this.stallTimer ??= setTimeout(() => {
      const unread = this.ws.bufferedAmount;
      this.settings.note(`events: closed a client that left ${unread} bytes unread for ${this.settings.stallMs} ms`);
      this.fail(new AtpError('ATP_API_EVENTS_SLOW', `client stopped reading (${unread} bytes unread for ${this.settings.stallMs} ms); reconnect and resume`, { details: { unread } }), EVENTS_CLOSE_CODES.slowClient);
    }, this.settings.stallMs);
    this.stallTimer.unref();
  }

  private drained(): void {
    if (!this.blocked || this.state === 'closed') return;
    if (this.ws.bufferedAmount >= this.settings.highWaterBytes) return;
    this.blocked = false;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.pump();
  }

  /** Tells the client why (an `error` message, then the close frame with the code in its reason). */
  private fail(error: AtpError, code: number): void {
    if (this.state === 'closed') return;
    this.sendMessage({ type: 'error', error: { code: error.code, message: error.message } });
    this.close(code, closeReason(error));
  }

  private clearTimers(): void {
    clearTimeout(this.authTimer);
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private gone(): void {
    this.state = 'closed';
    this.clearTimers();
    this.onGone(this);
  }
}

/**
 * The live event stream (/api/v1/events; the conversation is described in
 * protocol-schemas/src/api/events.ts): a WebSocket on the page's own origin,
 * authenticated by the session cookie. The server greets with `ready` (its
 * newest index and its numbering epoch); the client then subscribes with
 * `after` = the last index it handled, so a dropped connection loses nothing,
 * and an event at or below that index (a resend) is dropped, so nothing is
 * handled twice. A new epoch means the server restarted and numbers from 1
 * again: the cursor starts over. A `gap` says events we asked for are gone:
 * the view reloads its state over HTTP. Reconnects back off with jitter
 * (@atp/protocol backoffDelay) and stop when the view closes the stream.
 */
import { backoffDelay, EventsServerMessageSchema, type ApiEvent, type ApiEventKind } from '@atp/protocol';

export type StreamState = 'connecting' | 'live' | 'retrying' | 'closed';

export interface EventStreamOptions {
  kinds?: ApiEventKind[];
  runId?: string;
  /** Start after this index (0: everything the server still holds), or 'now': only what happens from the first connection on. */
  after: number | 'now';
  onEvent(event: ApiEvent): void;
  /** Events the stream asked for are gone (or the server restarted): reload over HTTP. */
  onGap?(): void;
  onState?(state: StreamState, detail: string): void;
}

/** What the driver does with a server message: send a subscribe, hand on an event, tell the view to reload (gap), note an error. */
export interface CursorAction {
  send?: Record<string, unknown>;
  event?: ApiEvent;
  /** Events before this index (of the current epoch) are gone, or the server restarted: reload over HTTP. */
  gap?: number;
  error?: string;
}

/** The resume rule, apart from the socket: what to send and which events to hand on. Pure, so it is tested without a server. */
export class EventCursor {
  private epoch: string | undefined;
  private last: number | undefined;

  constructor(
    start: number | 'now',
    private readonly filter: { kinds?: ApiEventKind[]; runId?: string } = {},
  ) {
    if (start !== 'now') this.last = start;
  }

  /** The last index handed on (or skipped to). */
  get lastIndex(): number {
    return this.last ?? 0;
  }

  /** A server message → what to do with it (undefined: nothing). */
  take(message: unknown): CursorAction | undefined {
    const parsed = EventsServerMessageSchema.safeParse(message);
    if (!parsed.success) return undefined;
    const m = parsed.data;
    switch (m.type) {
      case 'ready': {
        const restarted = this.epoch !== undefined && this.epoch !== m.epoch;
        this.epoch = m.epoch;
        // First connection in 'now' mode: from here on. A restarted server numbers from 1 again: everything it holds is new to us.
        if (this.last === undefined) this.last = m.lastIndex;
        else if (restarted) this.last = 0;
        const subscribe = { type: 'subscribe', after: this.last, ...(this.filter.kinds === undefined ? {} : { kinds: this.filter.kinds }), ...(this.filter.runId === undefined ? {} : { runId: this.filter.runId }) };
        return restarted ? { send: subscribe, gap: m.oldest } : { send: subscribe };
      }
      case 'event':
        if (this.last === undefined || m.event.index <= this.last) return undefined;
        this.last = m.event.index;
        return { event: m.event };
      case 'gap':
        this.last = Math.max(this.last ?? 0, m.oldest - 1);
        return { gap: m.oldest };
      case 'error':
        return { error: `${m.error.code}: ${m.error.message}` };
    }
  }
}

/** The highest event index any stream of this page has handled. */
let highest = 0;
export const lastSeenIndex = (): number => highest;

export class EventStream {
  private readonly cursor: EventCursor;
  private socket: WebSocket | undefined;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly options: EventStreamOptions) {
    this.cursor = new EventCursor(options.after, { ...(options.kinds === undefined ? {} : { kinds: options.kinds }), ...(options.runId === undefined ? {} : { runId: options.runId }) });
    this.connect();
  }

  get lastIndex(): number {
    return this.cursor.lastIndex;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, 'view closed');
    this.socket = undefined;
  }

  private connect(): void {
    if (this.closed) return;
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/events`;
    this.options.onState?.('connecting', 'connecting to the event stream');
    const socket = new WebSocket(url);
    this.socket = socket;
    let lastError = '';
    socket.addEventListener('message', (message: MessageEvent<unknown>) => {
      if (this.socket !== socket || typeof message.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(message.data);
      } catch {
        return;
      }
      const action = this.cursor.take(parsed);
      if (action === undefined) return;
      if (action.send !== undefined) {
        socket.send(JSON.stringify(action.send));
        this.attempt = 0;
        this.options.onState?.('live', 'live');
      }
      if (action.gap !== undefined) this.options.onGap?.();
      if (action.error !== undefined) lastError = action.error;
      if (action.event !== undefined) {
        highest = Math.max(highest, action.event.index);
        this.options.onEvent(action.event);
      }
    });
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket || this.closed) return;
      this.socket = undefined;
      const delay = backoffDelay(this.attempt++, { initialMs: 500, maxMs: 15_000 });
      const why = lastError !== '' ? lastError : `closed (${event.code}${event.reason === '' ? '' : ` ${event.reason}`})`;
      this.options.onState?.('retrying', `event stream ${why}; retrying in ${Math.ceil(delay / 1000)} s`);
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }
}
